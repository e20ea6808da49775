#!/usr/bin/env python3
"""Read what a contact received, as a mail client would: mailtool.py
subject|text|html|header NAME|token FILE.  Also builds replies in the real
clients' styles (reply ...) for the end-to-end tests and the demo, edits a
raw message (edit ...), builds forged bounces (bounce ...) and runs a small
SMTP relay that refuses chosen recipients (relay ...) for the attack suites."""
import sys
import email
import re
from email import policy


def load(path):
    with open(path, "rb") as f:
        return email.message_from_binary_file(f, policy=policy.default)


def body(m, kind):
    part = m.get_body(preferencelist=(kind,))
    return part.get_content() if part else ""


def quoted(text):
    return "\n".join("> " + l if l else ">" for l in text.splitlines())


def reply(style, orig_path, sender, rcpt, first, msgid):
    """A reply to the validation mail at orig_path, as a real client would
    write it: the answer on top, the original (token and both words) below."""
    from email.message import EmailMessage
    from email.utils import formatdate
    o = load(orig_path)
    otext = body(o, "plain")
    ohtml = body(o, "html")
    m = EmailMessage()
    m["Date"] = formatdate(localtime=False)
    m["Message-ID"] = "<%s>" % msgid
    m["In-Reply-To"] = o["Message-ID"]
    m["References"] = o["Message-ID"]
    m["To"] = rcpt
    m["MIME-Version"] = "1.0"
    if style == "gmail-fr":
        m["From"] = "Contact <%s>" % sender
        m["Subject"] = "Re: " + str(o["Subject"])
        attribution = ("Le jeu. 26 nov. 2026 à 10:00, Telephony contacts <\n"
                       "no-reply@contacts.example.com> a écrit :")
        m.set_content("%s\n\n%s\n\n%s\n" % (first, attribution, quoted(otext)), charset="utf-8",
                      cte="quoted-printable")
        m.add_alternative('<div dir="ltr">%s</div><br><div class="gmail_quote"><div dir="ltr" '
                          'class="gmail_attr">%s<br></div><blockquote class="gmail_quote" style="margin:0px '
                          '0px 0px 0.8ex">%s</blockquote></div>' % (first, attribution, ohtml), subtype="html",
                          charset="utf-8", cte="quoted-printable")
    elif style == "outlook-en":
        m["From"] = "Contact <%s>" % sender
        m["Subject"] = "RE: " + str(o["Subject"])
        m["X-Auto-Response-Suppress"] = "All"  # Outlook sets it on ordinary mail
        m["Thread-Topic"] = str(o["Subject"])
        block = ("From: Telephony contacts <no-reply@contacts.example.com>\nSent: Thursday, November 26, "
                 "2026 10:00 AM\nTo: %s\nSubject: %s\n\n" % (sender, o["Subject"]))
        m.set_content("%s\n\n%s%s" % (first, block, otext), charset="windows-1252",
                      cte="quoted-printable")
    elif style == "signoff-fr":
        # Gmail in French, as a company employee answers: a greeting, the
        # answer, a closing, a signature and the company's disclaimer (which
        # says "refuse"), then the quoted original.
        m["From"] = "Jean Dupont <%s>" % sender
        m["Subject"] = "Re: " + str(o["Subject"])
        attribution = ("Le jeu. 26 nov. 2026 à 10:00, Telephony contacts <\n"
                       "no-reply@contacts.example.com> a écrit :")
        sig = ["Cordialement", "", "Jean Dupont", "Responsable télécom - ACME SAS", "Tél. : 01 23 45 67 89", "",
               "La société ACME refuse toute responsabilité quant au contenu de ce message et de ses pièces "
               "jointes."]
        m.set_content("Bonjour,\n\n%s\n\n%s\n\n%s\n\n%s\n" % (first, "\n".join(sig), attribution, quoted(otext)),
                      charset="utf-8", cte="quoted-printable")
        m.add_alternative('<div dir="ltr"><div>Bonjour,</div><div><br></div><div>%s</div><div><br></div>%s</div>'
                          '<br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">%s<br></div><blockquote '
                          'class="gmail_quote" style="margin:0px 0px 0px 0.8ex">%s</blockquote></div>'
                          % (first, "".join("<div>%s</div>" % (l or "<br>") for l in sig), attribution, ohtml),
                          subtype="html", charset="utf-8", cte="quoted-printable")
    elif style == "signoff-en":
        # Yahoo Mail on Android: a greeting, the answer, a closing, a phone line and the
        # app's footer (which says "accept"), then the quoted original.
        m["From"] = "John Smith <%s>" % sender
        m["Subject"] = "Re: " + str(o["Subject"])
        m.set_content("Hello,\n\n%s\n\nRegards,\nJohn Smith\n+44 20 7946 0958\n\nSent from Yahoo Mail on Android - by "
                      "replying you accept our terms of service.\n\nOn Thu, Nov 26, 2026 at 10:00 AM, Telephony "
                      "contacts <no-reply@contacts.example.com> wrote:\n%s\n" % (first, quoted(otext)),
                      charset="utf-8", cte="quoted-printable")
    elif style == "ooo-headerless-fr":
        # An out-of-office notice without Auto-Submitted or any other header
        # saying so: only its subject tells, and its text says "Oui".
        m["From"] = "Contact <%s>" % sender
        m["Subject"] = "Absente du bureau"
        m.set_content("Bonjour,\n\nOui, je suis absente du bureau jusqu'au 7 décembre. J'accepte vos messages à "
                      "mon retour.\n\n" + quoted(otext) + "\n", charset="utf-8", cte="quoted-printable")
    elif style == "click":
        m["From"] = sender
        m["Subject"] = ""
        m.set_content("\n")
    elif style == "ooo-fr":
        m["From"] = "Contact <%s>" % sender
        m["Subject"] = "Réponse automatique : " + str(o["Subject"])
        m["Auto-Submitted"] = "auto-replied"
        m.set_content("Je suis absent jusqu'au 30 novembre. J'accepte vos messages à mon retour.\n\n"
                      + quoted(otext) + "\n", charset="utf-8", cte="quoted-printable")
    elif style == "dsn":
        # A Postfix-style delivery status notification, written out as the
        # bytes an MTA sends (the email library cannot build one).
        hdrs = "".join("%s: %s\r\n" % (k, str(v).replace("\n", " ")) for k, v in o.items())
        raw = ("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
               "To: %s\r\nSubject: Undelivered Mail Returned to Sender\r\n"
               "Date: %s\r\nMessage-ID: <%s>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\r\n"
               "--B1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.net.\r\n"
               "I'm sorry to have to inform you that your message could not be delivered.\r\n"
               "<%s>: host mx.example.net said: 550 5.1.1 User unknown\r\n\r\n"
               "--B1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n"
               "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
               "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\n%s\r\n--B1--\r\n"
               % (rcpt, formatdate(localtime=False), msgid, first, first, hdrs))
        sys.stdout.buffer.write(raw.encode())
        return
    else:
        sys.exit("unknown style " + style)
    sys.stdout.buffer.write(m.as_bytes(policy=policy.SMTP))


def send(port, sender, rcpts, data, source=None):
    """One SMTP transaction to 127.0.0.1:port, from the loopback address
    source when given (a client address of its own); prints the final reply."""
    import smtplib
    s = smtplib.SMTP("127.0.0.1", int(port), timeout=30,
                     source_address=(source, 0) if source else None)
    try:
        s.ehlo("client.example.net")
        code, msg = s.mail(sender)
        if code != 250:
            print(code, msg.decode(errors="replace"))
            return 1
        for r in rcpts:
            code, msg = s.rcpt(r)
            if code not in (250, 251):
                print(code, msg.decode(errors="replace"))
                return 1
        code, msg = s.data(data)
        print(code, msg.decode(errors="replace"))
        return 0 if code == 250 else 1
    except smtplib.SMTPResponseException as e:
        print(e.smtp_code, e.smtp_error.decode(errors="replace"))
        return 1
    finally:
        try:
            s.quit()
        except Exception:
            pass


def find(outdir, to, req=None):
    """The path of the latest validation mail (one with a token in its
    Reply-To) in the sink directory for recipient to, for that request when
    given (its X-Contact-Change-Request header); nothing when there is none."""
    import os
    best = None
    for name in os.listdir(outdir):
        path = os.path.join(outdir, name)
        try:
            with open(path, "rb") as f:
                head = f.read(200000)
        except OSError:
            continue
        if ("X-Rcpt-Args: <%s>" % to).encode() not in head:
            continue
        m = email.message_from_bytes(head, policy=policy.default)
        if not re.search(r"validation\+([0-9A-Z]{26})@", str(m["Reply-To"] or "")):
            continue
        if req and str(m["X-Contact-Change-Request"] or "").strip() != str(req):
            continue
        t = os.stat(path).st_mtime
        if best is None or t >= best[0]:
            best = (t, path)
    if best:
        print(best[1])


def edit(args):
    """edit [--set 'Name: value'] [--top 'Name: value'] [--pad BYTES] < raw > raw:
    the message's bytes kept as they are, except: --set replaces every header
    of that name (or adds it), --top puts a header first, --pad appends a
    text/plain-safe filler of that many bytes to the end of the body."""
    raw = sys.stdin.buffer.read()
    sep = raw.find(b"\r\n\r\n")
    nl = b"\r\n"
    if sep < 0:
        sep, nl = raw.find(b"\n\n"), b"\n"
    head, rest = raw[:sep], raw[sep:]
    lines = head.split(nl)
    i = 0
    while i < len(args):
        opt, val = args[i], args[i + 1]
        i += 2
        if opt == "--set":
            name = val.split(":", 1)[0].strip().lower().encode()
            out, skip = [], False
            for l in lines:
                if l[:1] in (b" ", b"\t"):
                    if not skip:
                        out.append(l)
                    continue
                skip = l.split(b":", 1)[0].strip().lower() == name
                if not skip:
                    out.append(l)
            lines = out + [val.encode()]
        elif opt == "--top":
            lines = [val.encode()] + lines
        elif opt == "--pad":
            filler = (b"> filler line to make the message long, nothing to read here." + nl)
            n = int(val)
            rest = rest + filler * (n // len(filler) + 1)
        else:
            sys.exit("unknown edit option " + opt)
    sys.stdout.buffer.write(nl.join(lines) + rest)


def bounce(kind, to, final, msgid):
    """A forged bounce to address `to`: kind dsn is a well-formed
    multipart/report DSN naming `final` as the recipient that failed; kind
    plain is text that only looks like one."""
    from email.utils import formatdate
    if kind == "dsn":
        raw = ("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
               "To: %s\r\nSubject: Undelivered Mail Returned to Sender\r\n"
               "Date: %s\r\nMessage-ID: <%s>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
               "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\r\n"
               "--B1\r\nContent-Type: text/plain\r\n\r\nThis is the mail system at host mx.example.net.\r\n"
               "Your message could not be delivered.\r\n<%s>: 550 5.1.1 User unknown\r\n\r\n"
               "--B1\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.net\r\n"
               "\r\nFinal-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
               "--B1\r\nContent-Type: text/rfc822-headers\r\n\r\nFrom: no-reply@contacts.example.com\r\n"
               "To: %s\r\nSubject: contact change\r\n\r\n--B1--\r\n"
               % (to, formatdate(localtime=False), msgid, final, final, final))
    elif kind == "plain":
        raw = ("From: Mail Delivery System <MAILER-DAEMON@mx.example.net>\r\n"
               "To: %s\r\nSubject: Undelivered Mail Returned to Sender\r\n"
               "Date: %s\r\nMessage-ID: <%s>\r\nAuto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n"
               "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
               "This is the mail system at host mx.example.net.\r\n"
               "I'm sorry to have to inform you that your message could not be delivered.\r\n\r\n"
               "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n"
               "<%s>: host mx.example.net said: 550 5.1.1 User unknown\r\n"
               % (to, formatdate(localtime=False), msgid, final, final))
    else:
        sys.exit("unknown bounce kind " + kind)
    sys.stdout.buffer.write(raw.encode())


def relay(args):
    """relay PORT DIR [--reject5 ADDR,...] [--reject4 ADDR,...] [--delay SECONDS]:
    a small SMTP server on 127.0.0.1:PORT that answers 550 (or 451) to RCPT
    for the listed recipients and 250 to the rest, writing each mail it
    accepts to DIR (headers X-Mail-From and X-Rcpt-To first).  Runs until
    killed."""
    import socketserver
    import os
    import time
    port, outdir = int(args[0]), args[1]
    rej5, rej4, delay = set(), set(), 0.0
    i = 2
    while i < len(args):
        if args[i] == "--reject5":
            rej5 = set(a.lower() for a in args[i + 1].split(","))
        elif args[i] == "--reject4":
            rej4 = set(a.lower() for a in args[i + 1].split(","))
        elif args[i] == "--delay":
            delay = float(args[i + 1])
        i += 2
    os.makedirs(outdir, exist_ok=True)
    count = [0]

    class H(socketserver.StreamRequestHandler):
        def reply(self, line):
            self.wfile.write(line.encode() + b"\r\n")
            self.wfile.flush()

        def handle(self):
            self.reply("220 relay.example.net ESMTP test relay")
            sender, rcpts = None, []
            while True:
                line = self.rfile.readline(65536)
                if not line:
                    return
                cmd = line.decode("latin-1").strip()
                up = cmd.upper()
                if up.startswith("EHLO"):
                    self.wfile.write(b"250-relay.example.net\r\n250-8BITMIME\r\n250 SIZE 52428800\r\n")
                    self.wfile.flush()
                elif up.startswith("HELO"):
                    self.reply("250 relay.example.net")
                elif up.startswith("MAIL FROM:"):
                    sender, rcpts = cmd[10:].split()[0] if cmd[10:].strip() else "<>", []
                    self.reply("250 2.1.0 Ok")
                elif up.startswith("RCPT TO:"):
                    addr = cmd[8:].split()[0].strip("<>").lower()
                    if addr in rej5:
                        self.reply("550 5.1.1 <%s>: Recipient address rejected: User unknown" % addr)
                    elif addr in rej4:
                        self.reply("451 4.3.0 <%s>: Temporary lookup failure" % addr)
                    else:
                        rcpts.append(addr)
                        self.reply("250 2.1.5 Ok")
                elif up == "DATA":
                    if not rcpts:
                        self.reply("554 5.5.1 Error: no valid recipients")
                        continue
                    self.reply("354 End data with <CR><LF>.<CR><LF>")
                    data = []
                    while True:
                        l = self.rfile.readline(1 << 20)
                        if not l or l in (b".\r\n", b".\n"):
                            break
                        data.append(l[1:] if l.startswith(b"..") else l)
                    if delay:
                        time.sleep(delay)
                    count[0] += 1
                    name = os.path.join(outdir, "%d-%06d.eml" % (os.getpid(), count[0]))
                    with open(name + ".tmp", "wb") as f:
                        f.write(("X-Mail-From: %s\r\n" % sender).encode())
                        for r in rcpts:
                            f.write(("X-Rcpt-To: <%s>\r\n" % r).encode())
                        f.write(b"".join(data))
                    os.rename(name + ".tmp", name)
                    self.reply("250 2.0.0 Ok: queued as R%d" % count[0])
                    sender, rcpts = None, []
                elif up == "RSET":
                    sender, rcpts = None, []
                    self.reply("250 2.0.0 Ok")
                elif up == "NOOP":
                    self.reply("250 2.0.0 Ok")
                elif up == "QUIT":
                    self.reply("221 2.0.0 Bye")
                    return
                else:
                    self.reply("502 5.5.2 Error: command not recognized")

    class S(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True

    S(("127.0.0.1", port), H).serve_forever()


def main():
    cmd = sys.argv[1]
    if cmd == "reply":  # reply STYLE ORIGINAL FROM TO FIRSTLINE MSGID
        reply(*sys.argv[2:8])
        return
    if cmd == "send":  # send PORT FROM RCPT[,RCPT...] < message
        # send PORT FROM RCPT[,RCPT...] [SOURCE-IP] < message
        sys.exit(send(sys.argv[2], sys.argv[3], sys.argv[4].split(","), sys.stdin.buffer.read(),
                      sys.argv[5] if len(sys.argv) > 5 else None))
    if cmd == "find":  # find DIR TO [REQUEST]
        find(*sys.argv[2:5])
        return
    if cmd == "edit":
        edit(sys.argv[2:])
        return
    if cmd == "bounce":  # bounce dsn|plain TO FINAL-RECIPIENT MSGID
        bounce(*sys.argv[2:6])
        return
    if cmd == "relay":
        relay(sys.argv[2:])
        return
    path = sys.argv[-1]
    m = load(path)
    if cmd == "subject":
        print(m["Subject"] or "")
    elif cmd == "text":
        print(body(m, "plain"))
    elif cmd == "html":
        print(body(m, "html"))
    elif cmd == "header":
        print(m[sys.argv[2]] or "")
    elif cmd == "token":
        # The token is in the Reply-To address: validation+TOKEN@domain.
        found = re.search(r"validation\+([0-9A-Z]{26})@", str(m["Reply-To"] or ""))
        print(found.group(1) if found else "")
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
