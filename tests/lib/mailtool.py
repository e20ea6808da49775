#!/usr/bin/env python3
"""Read what a contact received, as a mail client would: mailtool.py
subject|text|html|header NAME|token FILE.  Also builds replies in the real
clients' styles (reply ...) for the end-to-end tests and the demo."""
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


def send(port, sender, rcpts, data):
    """One SMTP transaction to 127.0.0.1:port; prints the final reply."""
    import smtplib
    s = smtplib.SMTP("127.0.0.1", int(port), timeout=30)
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


def main():
    cmd = sys.argv[1]
    if cmd == "reply":  # reply STYLE ORIGINAL FROM TO FIRSTLINE MSGID
        reply(*sys.argv[2:8])
        return
    if cmd == "send":  # send PORT FROM RCPT[,RCPT...] < message
        sys.exit(send(sys.argv[2], sys.argv[3], sys.argv[4].split(","), sys.stdin.buffer.read()))
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
