#!/usr/bin/python3
"""load.py --port P --login L --conc N --msgs M [--size BYTES] [--per-connection]
SMTP load with AUTH PLAIN: N processes send M messages in all, each process
over one reused connection (or one connection per message with
--per-connection). Prints: msgs/s, and p50/p99 per-message latency in ms."""
import argparse
import multiprocessing
import smtplib
import socket
import time

ap = argparse.ArgumentParser()
ap.add_argument("--port", type=int, required=True)
ap.add_argument("--login", default="acme")
ap.add_argument("--conc", type=int, default=1)
ap.add_argument("--msgs", type=int, default=100)
ap.add_argument("--size", type=int, default=2048)
ap.add_argument("--per-connection", action="store_true")
a = ap.parse_args()

BODY = ("Dear customer, your statement for November is ready. You can see it online.\r\n" * (a.size // 78 + 1))[: a.size]


def message(i):
    return ("From: Acme News <news@acme.example>\r\nTo: someone@customer.example\r\n"
            "Subject: statement %d\r\nDate: Tue, 24 Nov 2026 10:00:00 +0000\r\n"
            "Message-ID: <%d.%f@acme.example>\r\n\r\n%s" % (i, i, time.time(), BODY)).encode()


def connect():
    s = smtplib.SMTP("127.0.0.1", a.port, timeout=60)
    s.ehlo("load.test")
    s.login(a.login, "secret")
    return s


def close(s):
    try:
        s.sock.send(b"QUIT\r\n")   # do not wait for Exim's delayed QUIT reply
        s.sock.close()
    except OSError:
        pass


def worker(args):
    n, first = args
    lat = []
    s = None if a.per_connection else connect()
    for i in range(n):
        t0 = time.monotonic()
        if a.per_connection:
            s = connect()
        s.sendmail("bounce@bounces.acme.example", ["someone@customer.example"], message(first + i))
        if a.per_connection:
            close(s)
        lat.append((time.monotonic() - t0) * 1000)
    if not a.per_connection:
        close(s)
    return lat


per = a.msgs // a.conc
t0 = time.monotonic()
with multiprocessing.Pool(a.conc) as p:
    lats = sum(p.map(worker, [(per, k * per) for k in range(a.conc)]), [])
dt = time.monotonic() - t0
lats.sort()
print("%.1f %.1f %.1f" % (len(lats) / dt, lats[len(lats) // 2], lats[int(len(lats) * 0.99) - 1]))
