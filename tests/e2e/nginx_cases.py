#!/usr/bin/python3
"""nginx_cases.py PORT MAILDIR [PASSWORD [LABEL]]: byte-exact cases against
nginx + the module (upstream delivering into MAILDIR/new). The password picks
the upstream in the test's auth_http responder; LABEL prefixes every test
name. Prints TAP lines."""
import base64
import os
import socket
import sys
import time

PORT, MAILDIR = int(sys.argv[1]), sys.argv[2]
PASSWORD = (sys.argv[3] if len(sys.argv) > 3 else "secret").encode()
LABEL = sys.argv[4] + ": " if len(sys.argv) > 4 else ""
failures = 0


def tap(ok, name):
    global failures
    print(("ok " if ok else "not ok ") + LABEL + name)
    sys.stdout.flush()
    failures += 0 if ok else 1


class Client:
    def __init__(self, login="acme", behind_auth=b""):
        """connected and authenticated; behind_auth: commands sent in the same
        write as AUTH (their replies are left to read)"""
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=20)
        self.buf = b""
        self.reply()                                  # greeting
        self.cmd(b"EHLO client.test")
        auth = base64.b64encode(b"\0" + login.encode() + b"\0" + PASSWORD)
        self.send(b"AUTH PLAIN " + auth + b"\r\n" + behind_auth)
        self.login_reply = self.reply()

    def send(self, data):
        self.s.sendall(data)

    def reply(self):
        """one complete reply: (code, text)"""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                d = self.s.recv(65536)
                if not d:
                    return (0, b"".join(lines).decode("latin-1"))
                self.buf += d
            line, self.buf = self.buf.split(b"\r\n", 1)
            lines.append(line + b"\n")
            if len(line) < 4 or line[3:4] != b"-":
                return (int(line[:3] or 0), b"".join(lines).decode("latin-1"))

    def cmd(self, line):
        self.send(line + b"\r\n")
        return self.reply()

    def close(self):
        try:
            self.s.close()
        except OSError:
            pass


def delivered():
    d = os.path.join(MAILDIR, "new")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def wait_delivered(n, secs=10):
    for _ in range(secs * 10):
        if len(delivered()) >= n:
            return True
        time.sleep(0.1)
    return False


MSG = (b"From: Acme News <news@acme.example>\r\nTo: someone@customer.example\r\n"
       b"Subject: pipelined\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
       b"Message-ID: <p.%d@acme.example>\r\n\r\nHello.\r\n..a line that starts with a dot\r\n")

# post-auth commands that must not reach the upstream
c = Client()
tap(c.login_reply[0] == 235, "AUTH through nginx: 235")
code, text = c.cmd(b"EHLO again.test")
caps = text.upper()
tap(code == 250 and "CHUNKING" not in caps and "BINARYMIME" not in caps and "STARTTLS" not in caps
    and "PIPELINING" in caps, "EHLO after AUTH: CHUNKING, BINARYMIME, STARTTLS removed, PIPELINING kept")
tap("SIZE " in caps, "EHLO after AUTH: SIZE advertised")
for verb in (b"STARTTLS", b"AUTH PLAIN AGFjbWUAc2VjcmV0", b"XCLIENT ADDR=1.2.3.4", b"XFORWARD NAME=x"):
    code, text = c.cmd(verb)
    tap(code == 503, "post-auth %s refused (%d)" % (verb.split()[0].decode(), code))
code, text = c.cmd(b"BDAT 10 LAST")
tap(code == 502, "BDAT refused")
code, text = c.cmd(b"NOOP")
tap(code == 250, "NOOP relayed")

# pipelining: MAIL, RCPT, DATA in one write; replies in order
n0 = len(delivered())
c.send(b"RSET\r\nMAIL FROM:<bounce@bounces.acme.example>\r\nRCPT TO:<someone@customer.example>\r\nDATA\r\n")
codes = [c.reply()[0] for _ in range(4)]
tap(codes == [250, 250, 250, 354], "pipelined RSET, MAIL, RCPT, DATA: replies in order %s" % codes)
c.send(MSG % 1 + b".\r\nMAIL FROM:<bounce@other.example>\r\nNOOP\r\n")
codes = [c.reply()[0] for _ in range(3)]
tap(codes == [250, 550, 250], "final dot pipelined with the next commands: %s" % codes)
tap(wait_delivered(n0 + 1), "pipelined message delivered")
f = delivered()[-1] if delivered() else None
body = open(os.path.join(MAILDIR, "new", f), "rb").read() if f else b""
tap(b"\n.a line that starts with a dot\n" in body and b"\n..a line" not in body, "dot-stuffing undone and redone: the line arrives with one dot")

# a refused MAIL FROM never reaches the upstream; the session goes on
code, text = c.cmd(b"MAIL FROM:<ceo@globex.example>")
tap(code == 550 and "5.7.515" in text, "MAIL FROM refused locally: 550 5.7.515")
code, _ = c.cmd(b"MAIL FROM:<bounce@acme.example>")
tap(code == 250, "next MAIL FROM accepted (no nested-MAIL confusion upstream)")
code, _ = c.cmd(b"RCPT TO:<someone@customer.example>")
code, _ = c.cmd(b"DATA")
c.send(MSG.replace(b"news@acme.example", b"ceo@globex.example") % 2 + b".\r\n")
code, text = c.reply()
tap(code == 550 and "sending domain globex.example" in text, "spoofed From after DATA: 550 5.7.515")
code, _ = c.cmd(b"MAIL FROM:<bounce@acme.example>")
tap(code == 250, "after a refused message the upstream was reset (hidden RSET)")
c.cmd(b"RSET")
code, _ = c.cmd(b"DATA")
tap(code in (503, 554), "DATA without MAIL/RCPT refused (%d)" % code)
c.close()

# SMTP smuggling: none of the sequences ends the message early
SEQS = [b"\n.\n", b"\n.\r", b"\r.\n", b"\r.\r", b"\n.\r\n", b"\r.\r\n", b"\r\n\x00.\r\n",
        b"\r\n.\r\r\n", b"\r\r\n.\r\r\n", b"\r\n.\n", b"\r\n.\r", b"\r\n.\x00\r\n"]
SMUGGLED = (b"MAIL FROM:<ceo@globex.example>\r\nRCPT TO:<someone@customer.example>\r\nDATA\r\n"
            b"From: ceo@globex.example\r\nSubject: smuggled\r\n\r\nsmuggled\r\n")
for i, seq in enumerate(SEQS):
    n0 = len(delivered())
    c = Client()
    c.cmd(b"MAIL FROM:<bounce@acme.example>")
    c.cmd(b"RCPT TO:<someone@customer.example>")
    c.cmd(b"DATA")
    c.send(b"From: news@acme.example\r\nSubject: carrier %d\r\n\r\nbefore" % i + seq + SMUGGLED + b".\r\n")
    code, text = c.reply()
    c.send(b"QUIT\r\n")
    c.reply()
    c.close()
    wait_delivered(n0 + 1, 5)
    time.sleep(0.3)
    new = delivered()[n0:]
    hidden = False
    for f in new:
        m = open(os.path.join(MAILDIR, "new", f), "rb").read()
        head = m.split(b"\n\n", 1)[0]
        if b"Subject: smuggled" in head:
            hidden = True
    tap(code == 250 and len(new) == 1 and not hidden,
        "smuggling %r: one message, nothing hidden (%d, %d delivered)" % (seq, code, len(new)))

# half-close right after the final dot and QUIT: delivered, then closed
n0 = len(delivered())
c = Client()
c.send(b"MAIL FROM:<bounce@acme.example>\r\nRCPT TO:<someone@customer.example>\r\nDATA\r\n")
codes = [c.reply()[0] for _ in range(3)]
c.send(MSG % 3 + b".\r\nQUIT\r\n")
c.s.shutdown(socket.SHUT_WR)
codes += [c.reply()[0], c.reply()[0]]
c.close()
tap(codes == [250, 250, 354, 250, 221], "half-close after dot and QUIT: %s" % codes)
tap(wait_delivered(n0 + 1), "half-closed session's message delivered")

# the first transaction pipelined behind AUTH, five times: the module's
# hidden EHLO to the upstream (tenantalign_upstream_bdat auto) must be
# answered before MAIL goes up, or Exim drops the session (554 SMTP
# synchronization error)
n0 = len(delivered())
results = []
for k in range(5):
    c = Client(behind_auth=b"MAIL FROM:<bounce@bounces.acme.example>\r\n"
                           b"RCPT TO:<someone@customer.example>\r\nDATA\r\n")
    codes = [c.login_reply[0]] + [c.reply()[0] for _ in range(3)]
    c.send(MSG % (20 + k) + b".\r\nQUIT\r\n")
    codes += [c.reply()[0], c.reply()[0]]
    c.close()
    results.append(codes)
tap(all(r == [235, 250, 250, 354, 250, 221] for r in results),
    "first transaction pipelined behind AUTH, 5 sessions: %s" % results[0])
tap(wait_delivered(n0 + 5), "those 5 messages delivered")

# several transactions, RSET in between
n0 = len(delivered())
c = Client()
for k in range(3):
    c.cmd(b"MAIL FROM:<bounce@acme.example>")
    c.cmd(b"RCPT TO:<someone@customer.example>")
    c.cmd(b"DATA")
    c.send(MSG % (10 + k) + b".\r\n")
    c.reply()
    c.cmd(b"RSET")
c.cmd(b"QUIT")
c.close()
tap(wait_delivered(n0 + 3), "three transactions in one session delivered")

sys.exit(1 if failures else 0)
