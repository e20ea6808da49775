#!/usr/bin/env python3
"""An events receiver for the tests (SPEC section 7): checks each POST's
signature with the events secret, records the events it accepted as JSON
lines, and answers 500 for the first FAIL_FIRST posts (to show retries).

    receiver.py PORT SECRET_FILE LOG [FAIL_FIRST]

Each accepted event is one line of LOG: {"id", "type", "request", "sig_ok",
"ts", "body"}.  A POST whose signature does not verify is answered 401 and
logged with sig_ok false."""
import hashlib
import hmac
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

port, secret_file, log = int(sys.argv[1]), sys.argv[2], sys.argv[3]
fail_first = int(sys.argv[4]) if len(sys.argv) > 4 else 0
seen = {"posts": 0}


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        seen["posts"] += 1
        if seen["posts"] <= fail_first:
            self.send_response(500)
            self.end_headers()
            return
        with open(secret_file, "rb") as f:
            key = f.read()
        ts = self.headers.get("X-Contact-Timestamp", "")
        want = "sha256=" + hmac.new(key, ts.encode() + b"." + body, hashlib.sha256).hexdigest()
        sig_ok = hmac.compare_digest(want, self.headers.get("X-Contact-Signature", ""))
        try:
            ev = json.loads(body)
        except ValueError:
            ev = {}
        rec = {"id": ev.get("id"), "header_id": self.headers.get("X-Contact-Event-Id"), "type": ev.get("type"),
               "request": (ev.get("request") or {}).get("id"), "state": (ev.get("request") or {}).get("state"),
               "sig_ok": sig_ok, "ctype": self.headers.get("Content-Type"), "body": ev}
        with open(log, "a") as f:
            f.write(json.dumps(rec) + "\n")
        self.send_response(204 if sig_ok else 401)
        self.end_headers()

    def log_message(self, *a):
        pass


ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
