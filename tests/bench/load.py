#!/usr/bin/env python3
"""SMTP load for make bench, on loopback only.

  load.py replies PORT TOKENS SESSIONS   one plain reply ("J'accepte" above the
                                         quoted original) per line of TOKENS,
                                         over SESSIONS parallel SMTP sessions;
                                         prints: sent accepted seconds
  load.py hold PORT SESSIONS SECONDS     opens SESSIONS sessions, each stopped
                                         in the middle of DATA, for SECONDS
"""
import smtplib
import socket
import sys
import threading
import time


def reply(from_addr, token, domain="contacts.example.com"):
    return ("From: Admin <%s>\r\nTo: validation+%s@%s\r\nSubject: Re: Changement de contact\r\n"
            "Message-ID: <load-%s@bench.example.com>\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
            "J'accepte\r\n\r\nLe jeu. 26 nov. 2026 \xe0 09:00, Telephony contacts <no-reply@%s> a \xe9crit :\r\n"
            "> Votre jeton personnel : %s\r\n> R\xe9pondez avec \xab J'accepte \xbb ou \xab Je refuse \xbb.\r\n"
            % (from_addr, token, domain, token, domain, token)).encode("utf-8")


def replies(port, path, sessions):
    jobs = []
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) >= 3:
                jobs.append((parts[1], parts[2]))
    shares = [jobs[i::sessions] for i in range(sessions)]
    accepted = [0] * sessions

    def run(k):
        s = smtplib.SMTP("127.0.0.1", port, timeout=60)
        s.ehlo("load.example.net")
        for sender, token in shares[k]:
            rcpt = "validation+%s@contacts.example.com" % token
            try:
                s.sendmail(sender, [rcpt], reply(sender, token))
                accepted[k] += 1
            except smtplib.SMTPException:
                s.rset()
        s.quit()

    t0 = time.monotonic()
    threads = [threading.Thread(target=run, args=(k,)) for k in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(len(jobs), sum(accepted), "%.4f" % (time.monotonic() - t0))


def hold(port, sessions, seconds):
    socks = []
    for i in range(sessions):
        c = socket.create_connection(("127.0.0.1", port), timeout=30)
        f = c.makefile("rb")
        f.readline()
        for cmd in (b"EHLO hold.example.net\r\n", b"MAIL FROM:<admin@bench.example.com>\r\n",
                    b"RCPT TO:<validation@contacts.example.com>\r\n", b"DATA\r\n"):
            c.sendall(cmd)
            line = f.readline()
            while line[3:4] == b"-":
                line = f.readline()
        c.sendall(b"From: admin@bench.example.com\r\nSubject: held\r\n\r\nJ'accepte\r\n")
        socks.append((c, f))
    print("holding", len(socks), flush=True)
    time.sleep(seconds)
    for c, f in socks:
        c.close()


if __name__ == "__main__":
    if sys.argv[1] == "replies":
        replies(int(sys.argv[2]), sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "hold":
        hold(int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]))
