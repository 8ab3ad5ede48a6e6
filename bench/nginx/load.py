#!/usr/bin/python3
"""load.py PORT LOGIN CONC MSGS SIZE: SMTP load through nginx with AUTH PLAIN,
MAIL/RCPT/DATA pipelined, one reused connection per process. Prints
"msgs/s p50_ms p99_ms failures"."""
import base64
import multiprocessing
import socket
import sys
import time

PORT, LOGIN, CONC, MSGS, SIZE = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
LINE = b"Dear customer, your statement for November is ready. You can see it online.\r\n"
BODY = LINE * max(1, SIZE // len(LINE))     # whole lines: the final dot must start one
HEAD = (b"From: Acme News <news@acme.example>\r\nTo: someone@customer.example\r\n"
        b"Subject: statement\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n")


class C:
    def __init__(self):
        self.s = socket.create_connection(("127.0.0.1", PORT), timeout=60)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.s.makefile("rb")
        self.reply()
        self.s.sendall(b"EHLO load.test\r\n")
        self.reply()
        self.s.sendall(b"AUTH PLAIN " + base64.b64encode(b"\0" + LOGIN.encode() + b"\0secret") + b"\r\n")
        self.reply()

    def reply(self):
        while True:
            line = self.f.readline()
            if len(line) < 4 or line[3:4] != b"-":
                return int(line[:3] or 0)


def worker(n):
    c = C()
    lat, bad = [], 0
    for i in range(n):
        t0 = time.monotonic()
        c.s.sendall(b"MAIL FROM:<bounce@bounces.acme.example>\r\nRCPT TO:<someone@customer.example>\r\nDATA\r\n")
        r = [c.reply() for _ in range(3)]
        c.s.sendall(HEAD + b"Message-ID: <%d.%f@acme.example>\r\n\r\n" % (i, t0) + BODY + b".\r\n")
        r.append(c.reply())
        bad += r != [250, 250, 354, 250]
        lat.append((time.monotonic() - t0) * 1000)
    c.s.sendall(b"QUIT\r\n")
    return lat, bad


t0 = time.monotonic()
with multiprocessing.Pool(CONC) as p:
    res = p.map(worker, [MSGS // CONC] * CONC)
dt = time.monotonic() - t0
lat = sorted(sum((r[0] for r in res), []))
print("%.1f %.2f %.2f %d" % (len(lat) / dt, lat[len(lat) // 2], lat[int(len(lat) * 0.99) - 1], sum(r[1] for r in res)))
