#!/usr/bin/env python3
"""eom_sessions.py SOCKET N READY_FILE [TIMEOUT]: N milter sessions at once,
each with one reply to our address, speaking the milter protocol (v6) as an
MTA does.  Once every session has sent its end of message, READY_FILE is
created; then each session's final answer is read and printed, one line per
session: "N reply CODE TEXT", "N accept", ..., or "N reset" / "N timeout"
when the connection ended or stayed silent without an answer."""
import os
import socket
import struct
import sys

NOCONNECT, NOHELO, NOMAIL, NORCPT, NOBODY, NOHDRS, NOEOH = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40
NR_HDR, NOUNKNOWN, NODATA = 0x80, 0x100, 0x200
NR_CONN, NR_HELO, NR_MAIL, NR_RCPT, NR_DATA, NR_UNKN, NR_EOH, NR_BODY = (
    0x1000, 0x2000, 0x4000, 0x8000, 0x10000, 0x20000, 0x40000, 0x80000)
OFFER = (NOCONNECT | NOHELO | NOUNKNOWN | NR_CONN | NR_HELO | NR_MAIL | NR_RCPT | NR_DATA | NR_HDR | NR_EOH
         | NR_BODY | NR_UNKN)
FINAL = {b"a": "accept", b"c": "continue", b"d": "discard", b"r": "reject", b"t": "tempfail", b"y": "reply"}


class Closed(Exception):
    pass


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise Closed()
        buf += chunk
    return buf


def send(s, cmd, data=b""):
    s.sendall(struct.pack(">I", len(data) + 1) + cmd + data)


def read(s):
    (n,) = struct.unpack(">I", recv_exact(s, 4))
    body = recv_exact(s, n)
    return body[:1], body[1:]


def step(s, flags, skip_flag, nr_flag, cmd, data=b""):
    """Send a step unless skipped; read its reply unless none is wanted."""
    if flags & skip_flag:
        return
    send(s, cmd, data)
    if flags & nr_flag:
        return
    code, _ = read(s)
    if code != b"c":
        raise RuntimeError("step %r answered %r" % (cmd, code))


def start(path, i):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    send(s, b"O", struct.pack(">III", 6, 0x1FF, OFFER))
    code, data = read(s)
    assert code == b"O", code
    _, _, flags = struct.unpack(">III", data[:12])
    step(s, flags, NOCONNECT, NR_CONN, b"C", b"client.example.net\0U")
    step(s, flags, NOHELO, NR_HELO, b"H", b"client.example.net\0")
    sender = "dave%d@example.net" % i
    rcpt = "validation+00000000000000000000000000@contacts.example.com"
    step(s, flags, NOMAIL, NR_MAIL, b"M", ("<%s>\0" % sender).encode())
    step(s, flags, NORCPT, NR_RCPT, b"R", ("<%s>\0" % rcpt).encode())
    step(s, flags, NODATA, NR_DATA, b"T")
    headers = [("From", "Dave <%s>" % sender), ("To", rcpt), ("Subject", "Re: Contact change"),
               ("Message-ID", "<load-%d-%d@client.example.net>" % (os.getpid(), i)),
               ("Date", "Thu, 26 Nov 2026 10:00:00 +0100"), ("Content-Type", "text/plain; charset=utf-8")]
    for name, value in headers:
        step(s, flags, NOHDRS, NR_HDR, b"L", ("%s\0%s\0" % (name, value)).encode())
    step(s, flags, NOEOH, NR_EOH, b"N")
    step(s, flags, NOBODY, NR_BODY, b"B", "J'accepte\r\n".encode())
    send(s, b"E")
    return s


def finish(s):
    """Skip modifications and progress; return the final answer."""
    while True:
        code, data = read(s)
        if code in FINAL:
            if code == b"y":
                return "reply " + data.rstrip(b"\0").decode(errors="replace")
            return FINAL[code]


def main():
    path, n, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 90
    sessions = [start(path, i) for i in range(n)]
    open(ready, "w").close()
    for i, s in enumerate(sessions):
        s.settimeout(timeout)
        try:
            print(i, finish(s), flush=True)
        except Closed:
            print(i, "reset", flush=True)
        except socket.timeout:
            print(i, "timeout", flush=True)
        except OSError as e:
            print(i, "reset", e, flush=True)
        try:
            send(s, b"Q")
        except OSError:
            pass
        s.close()


if __name__ == "__main__":
    main()
