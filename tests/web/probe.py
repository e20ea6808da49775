#!/usr/bin/python3
"""Raw HTTP probes of contact-web for tests/web/web.sh, on loopback only.

  probe.py trickle PORT PATH DELAY      a GET sent one byte every DELAY s;
                                        prints the status code
  probe.py concurrent PORT PATH N       N connections opened at once, then
                                        one GET on each; prints how many got
                                        each status, e.g. "200:200"
  probe.py chunked PORT PATH BYTES      a POST of BYTES in chunks without
                                        Content-Length; prints the status
  probe.py inflight PORT PATH BODY PIDFILE
                                        sends a POST's headers and half its
                                        body, sends SIGTERM to the pid in
                                        PIDFILE, then the rest; prints the
                                        status of the answer
"""
import os
import signal
import socket
import sys
import threading
import time


def status_of(sock):
    data = b""
    sock.settimeout(60)
    while b"\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    line = data.split(b"\r\n", 1)[0].decode("latin-1")
    parts = line.split(" ")
    return parts[1] if len(parts) > 1 else "none"


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=60)


def trickle(port, path, delay):
    req = ("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode()
    s = connect(port)
    for i in range(len(req)):
        s.sendall(req[i:i + 1])
        time.sleep(delay)
    print(status_of(s))


def concurrent(port, path, n):
    socks = [connect(port) for _ in range(n)]
    results = [None] * n
    start = threading.Barrier(n)

    def run(i):
        try:
            start.wait()
            socks[i].sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n" % path).encode())
            results[i] = status_of(socks[i])
        except OSError as e:
            results[i] = "error:" + type(e).__name__
        finally:
            socks[i].close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    counts = {}
    for r in results:
        counts[r] = counts.get(r, 0) + 1
    print(" ".join("%s:%d" % kv for kv in sorted(counts.items())))


def chunked(port, path, size):
    s = connect(port)
    s.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" % path).encode())
    piece = b"a" * 65536
    sent = 0
    try:
        while sent < size:
            n = min(len(piece), size - sent)
            s.sendall(b"%x\r\n" % n + piece[:n] + b"\r\n")
            sent += n
        s.sendall(b"0\r\n\r\n")
    except OSError:
        pass  # the daemon may answer and close before the end
    print(status_of(s))


def inflight(port, path, body, pidfile):
    body = body.encode()
    s = connect(port)
    s.sendall(("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\n"
               "Content-Length: %d\r\nConnection: close\r\n\r\n" % (path, len(body))).encode())
    half = len(body) // 2
    s.sendall(body[:half])
    time.sleep(0.3)
    with open(pidfile) as f:
        os.kill(int(f.read().strip()), signal.SIGTERM)
    time.sleep(0.5)
    s.sendall(body[half:])
    print(status_of(s))


def main(argv):
    cmd, port = argv[1], int(argv[2])
    if cmd == "trickle":
        trickle(port, argv[3], float(argv[4]))
    elif cmd == "concurrent":
        concurrent(port, argv[3], int(argv[4]))
    elif cmd == "chunked":
        chunked(port, argv[3], int(argv[4]))
    elif cmd == "inflight":
        inflight(port, argv[3], argv[4], argv[5])
    else:
        print("unknown probe " + cmd, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
