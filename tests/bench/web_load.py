#!/usr/bin/env python3
"""Decisions through contact-web's page for make bench, on loopback only.

  web_load.py post PORT TOKENS THREADS   for each token of TOKENS (one a
                                         line), fetch its page (untimed) for
                                         the form's nonce, then POST "accept"
                                         from THREADS keep-alive connections;
                                         prints: posted redirected seconds
"""
import http.client
import re
import sys
import threading
import time


def main(argv):
    port, threads = int(argv[2]), int(argv[4])
    with open(argv[3]) as f:
        tokens = [line.strip() for line in f if line.strip()]
    nonce_re = re.compile(r'name="nonce" value="([0-9a-f]{64})"')
    jobs = []
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    for t in tokens:
        c.request("GET", "/v/" + t)
        m = nonce_re.search(c.getresponse().read().decode())
        if m:
            jobs.append((t, m.group(1)))
    c.close()
    shares = [jobs[i::threads] for i in range(threads)]
    redirected = [0] * threads

    def run(k):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for t, nonce in shares[k]:
            conn.request("POST", "/v/" + t, body="decision=accept&nonce=" + nonce,
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
            r = conn.getresponse()
            r.read()
            if r.status == 303:
                redirected[k] += 1
        conn.close()

    ts = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    t0 = time.monotonic()
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(len(jobs), sum(redirected), "%.4f" % (time.monotonic() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
