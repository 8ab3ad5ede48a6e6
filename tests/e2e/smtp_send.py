#!/usr/bin/python3
"""smtp_send.py --port P [--login L] [--password S] --mail-from A [--rcpt R]
                [--starttls] MSG [MSG...]
Sends each message file (CRLF or LF; sent byte for byte as CRLF lines) in one
SMTP session after AUTH PLAIN, and prints one line per message:
    <n> MAIL <code> <text>      (when MAIL FROM is refused)
    <n> DATA <code> <text>      (the final reply to the message)
Multi-line replies are joined with ' | '. Exit status 0 when the session ran."""
import argparse
import smtplib
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--login")
ap.add_argument("--password", default="secret")
ap.add_argument("--mail-from", required=True)
ap.add_argument("--rcpt", default="someone@customer.example")
ap.add_argument("--starttls", action="store_true")
ap.add_argument("messages", nargs="+")
a = ap.parse_args()


def text(msg):
    if isinstance(msg, bytes):
        msg = msg.decode("utf-8", "replace")
    return " | ".join(msg.splitlines())


s = smtplib.SMTP(a.host, a.port, timeout=30)
s.ehlo("client.test")
if a.starttls:
    s.starttls()
    s.ehlo("client.test")
if a.login:
    s.login(a.login, a.password)
for n, path in enumerate(a.messages):
    data = open(path, "rb").read()
    mail_from = "" if a.mail_from == "<>" else a.mail_from
    code, resp = s.docmd("MAIL FROM:<%s>" % mail_from)
    if code != 250:
        print("%d MAIL %d %s" % (n, code, text(resp)))
        s.rset()
        continue
    code, resp = s.docmd("RCPT TO:<%s>" % a.rcpt)
    if code != 250:
        print("%d RCPT %d %s" % (n, code, text(resp)))
        s.rset()
        continue
    code, resp = s.docmd("DATA")
    if code != 354:
        print("%d DATA %d %s" % (n, code, text(resp)))
        s.rset()
        continue
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
    s.send(body + b".\r\n")
    code, resp = s.getreply()
    print("%d DATA %d %s" % (n, code, text(resp)))
    sys.stdout.flush()
try:
    s.quit()
except Exception:
    pass
