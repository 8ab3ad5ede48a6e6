#!/usr/bin/python3
"""smtp_send.py --port P [--login L] [--password S] --mail-from A [--rcpt R]
                [--starttls] [--raw-mail LINE] MSG [MSG...]
(--rcpt may be given several times)
Sends each message file (CRLF or LF; sent byte for byte as CRLF lines) in one
SMTP session after AUTH PLAIN, over a raw socket (smtplib drops the codes of
continuation lines, and those are what is checked here), and prints one line
per message:
    <n> MAIL <reply>      (when MAIL FROM is refused)
    <n> RCPT <reply>      (when RCPT TO is refused)
    <n> DATA <reply>      (the final reply to the message)
<reply> is "CODE [ENH] TEXT" of the first line, then, for a multi-line reply,
" | " and the texts of the other lines joined by spaces: every line's code
and enhanced code are checked to be the first line's, the last line to end
the reply and no line but the first of a 5.7.515 reply to pass 75 octets;
a reply that breaks any of that is printed as "MALFORMED <raw lines>".
--raw-mail sends LINE instead of "MAIL FROM:<A>". Exit status 0 when the
session ran."""
import argparse
import base64
import re
import socket
import ssl
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--login")
ap.add_argument("--password", default="secret")
ap.add_argument("--mail-from", required=True)
ap.add_argument("--rcpt", action="append")
ap.add_argument("--starttls", action="store_true")
ap.add_argument("--raw-mail")
ap.add_argument("messages", nargs="+")
a = ap.parse_args()
a.rcpt = a.rcpt or ["someone@customer.example"]

LINE = re.compile(rb"^(\d{3})([ -])(.*)$")
ENH = re.compile(rb"^([245]\.\d{1,3}\.\d{1,3}) ?(.*)$")


class Conn:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=30)
        self.buf = b""

    def line(self):
        while b"\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("connection closed")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return line[:-1] if line.endswith(b"\r") else line

    def reply(self):
        """the raw lines of one reply"""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            m = LINE.match(line)
            if not m or m.group(2) == b" ":
                return lines

    def send(self, data):
        self.sock.sendall(data)

    def cmd(self, text):
        self.send(text.encode() + b"\r\n")
        return self.reply()


def code(lines):
    m = LINE.match(lines[0])
    return int(m.group(1)) if m else 0


def show(lines):
    """the reply as one checked line"""
    raw = " | ".join(l.decode("utf-8", "replace") for l in lines)
    parts = [LINE.match(l) for l in lines]
    if not all(parts):
        return "MALFORMED " + raw
    first_enh = ENH.match(parts[0].group(3))
    enh = first_enh.group(1) if first_enh else None
    texts = []
    for i, m in enumerate(parts):
        last = i == len(parts) - 1
        if m.group(1) != parts[0].group(1) or (m.group(2) == b" ") != last:
            return "MALFORMED " + raw
        text = m.group(3)
        if enh is not None:
            e = ENH.match(text)
            if not e or e.group(1) != enh:
                return "MALFORMED " + raw
            text = e.group(2)
        if enh == b"5.7.515" and i > 0 and len(lines[i]) > 75:
            return "MALFORMED " + raw
        texts.append(text.decode("utf-8", "replace"))
    out = parts[0].group(1).decode()
    if enh is not None:
        out += " " + enh.decode()
    out += " " + texts[0]
    if len(texts) > 1:
        out += " | " + " ".join(texts[1:])
    return out


c = Conn(a.host, a.port)
c.reply()
c.cmd("EHLO client.test")
if a.starttls:
    c.cmd("STARTTLS")
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c.sock = ctx.wrap_socket(c.sock)
    c.cmd("EHLO client.test")
if a.login:
    token = base64.b64encode(b"\0" + a.login.encode() + b"\0" + a.password.encode()).decode()
    r = c.cmd("AUTH PLAIN " + token)
    if code(r) != 235:
        print("AUTH " + show(r))
        sys.exit(1)
for n, path in enumerate(a.messages):
    data = open(path, "rb").read()
    mail_from = "" if a.mail_from == "<>" else a.mail_from
    r = c.cmd(a.raw_mail if a.raw_mail else "MAIL FROM:<%s>" % mail_from)
    if code(r) != 250:
        print("%d MAIL %s" % (n, show(r)))
        c.cmd("RSET")
        continue
    refused = None
    for rcpt in a.rcpt:
        r = c.cmd("RCPT TO:<%s>" % rcpt)
        if code(r) // 100 != 2:
            refused = r
    if refused:
        print("%d RCPT %s" % (n, show(refused)))
        c.cmd("RSET")
        continue
    r = c.cmd("DATA")
    if code(r) != 354:
        print("%d DATA %s" % (n, show(r)))
        c.cmd("RSET")
        continue
    lines = data.replace(b"\r\n", b"\n").split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    body = b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)
    c.send(body + b".\r\n")
    print("%d DATA %s" % (n, show(c.reply())))
    sys.stdout.flush()
try:
    c.cmd("QUIT")
except Exception:
    pass
