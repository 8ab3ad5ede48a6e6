#!/usr/bin/python3
"""client.py - the soak's concurrent SMTP clients, with a record of every
transaction (tests/soak/soak.sh starts it; tests/soak/ledger.py reads what it
writes).

usage: client.py --out TX.jsonl --progress FILE --run-id ID
                 --target NAME:PORT [--target NAME:PORT ...]
                 [--clients 32] [--messages N] [--session 1-8]
                 [--mix faulted|memory] [--seed S] [--deadline SECONDS]
                 [--gate FILE] [--rss-pids PID,PID --rss-first 1000]

Each of --clients threads is given a target in turn (so 32 clients on two
targets are 16 each) and opens session after session to it: EHLO, AUTH
PLAIN (password "secret", login acme or globex), then a random number of
transactions (--session MIN-MAX), half the sessions pipelined (MAIL, RCPT and
DATA in one write, and the last final dot with QUIT), half one command at a
time. Together the threads send --messages transactions, then stop.

Kinds of transaction (--mix faulted; --mix memory has no vanishing clients,
fewer large messages, so that 100,000 of them fit on a disk):
  aligned       From at the login's own domain, envelope at its bounce
                domain: expects 250 (4xx during a fault)
  spoof         login acme, From ceo@globex.example: expects 550 5.7.515
  vanish_data   the connection closed (sometimes reset) halfway through the
                message: nothing may be delivered
  vanish_dot    the connection closed right after the final dot, its reply
                unread: may be delivered, at most once
Sizes go from 1 KB to 5 MB, mostly small. Every message is unique: its first
header is "X-Soak-Id: RUN.N" and its Message-ID names N, so the ledger finds
it among the delivered ones; the SHA-256 of the message as sent (CRLF,
before dot-stuffing) is recorded, so the ledger can tell it arrived byte for
byte.

One JSON line per transaction in --out: id, topology, kind, login, From
domain, size, sha256, pipelined, the replies to MAIL, RCPT, DATA and the final
dot (first line "CODE TEXT", or null when not reached), the times
(time.time()) when MAIL was sent, its reply read, the final dot sent and its
reply read, and "error" with the stage where the connection failed. A
session that failed before its first MAIL (the upstream down, nginx
reloading) is a line with "session_fail" instead. The number of transactions
done is written to --progress four times a second (soak.sh schedules its
faults by it); --gate FILE holds a number that soak.sh raises as its
schedule goes on: no transaction with a higher number starts before it does,
so that every fault of the schedule meets traffic however long the faults
before it took (idle clients wait in their sessions meanwhile).

--rss-pids: the nginx workers to watch: their VmRSS is read from /proc when
--rss-first transactions through the target named "nginx" are done, and at
the end; printed as "rss PID first_kB last_kB" lines. In between it is
sampled 40 times; "rss-peaks PID early_kB late_kB" gives each worker's
highest sample in the earlier and in the later half of the run from
--rss-first on: a leak raises the later peak, while the in-flight sessions'
ups and downs are in both.

Every socket operation has a timeout and the whole run a --deadline, so a
client never hangs."""
import argparse
import base64
import hashlib
import json
import os
import random
import re
import socket
import struct
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--out", required=True)
ap.add_argument("--progress", required=True)
ap.add_argument("--run-id", required=True)
ap.add_argument("--target", action="append", required=True)
ap.add_argument("--clients", type=int, default=32)
ap.add_argument("--messages", type=int, default=300)
ap.add_argument("--session", default="1-8")
ap.add_argument("--mix", default="faulted", choices=("faulted", "memory"))
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--deadline", type=float, default=3600)
ap.add_argument("--timeout", type=float, default=60)
ap.add_argument("--gate")
ap.add_argument("--rss-pids", default="")
ap.add_argument("--rss-first", type=int, default=1000)
a = ap.parse_args()

TARGETS = [(t.split(":")[0], int(t.split(":")[1])) for t in a.target]
SMIN, SMAX = (int(x) for x in a.session.split("-"))
START = time.time()
LINE = re.compile(rb"^(\d{3})([ -])")
WORDS = ("statement invoice account balance payment due reminder order shipped "
         "delivery tracking receipt thank you for your business regards team "
         "newsletter offer discount member renewal schedule update notice").split()

lock = threading.Lock()
state = {"next": 0, "done": 0, "nginx_done": 0, "rss_first": None, "rss_samples": [],
         "gate": 0 if a.gate else a.messages}
out = open(a.out, "w")


def record(rec):
    """one JSON line; counts a transaction as done"""
    with lock:
        out.write(json.dumps(rec, separators=(",", ":")) + "\n")
        if "id" in rec:
            state["done"] += 1
            if rec["topo"] == "nginx":
                state["nginx_done"] += 1


def take_id():
    """the next transaction number, or None when all are handed out; waits
    while the gate holds the next one back"""
    while time.time() - START <= a.deadline:
        with lock:
            if state["next"] >= a.messages:
                return None
            if state["next"] < state["gate"]:
                state["next"] += 1
                return state["next"] - 1
        time.sleep(0.05)
    return None


def pick_size(rnd):
    """1 KB to 5 MB, mostly small (faulted); up to 2 MB, rarer (memory)"""
    r = rnd.random()
    if a.mix == "memory":
        if r < 0.90:
            return rnd.randint(1024, 8 * 1024)
        if r < 0.998:
            return rnd.randint(8 * 1024, 64 * 1024)
        return rnd.randint(64 * 1024, 2 * 1024 * 1024)
    if r < 0.80:
        return rnd.randint(1024, 16 * 1024)
    if r < 0.96:
        return rnd.randint(16 * 1024, 512 * 1024)
    return rnd.randint(512 * 1024, 5 * 1024 * 1024)


def pick_kind(rnd):
    r = rnd.random()
    if r < 0.08:
        return "spoof"
    if a.mix == "faulted" and r < 0.11:
        return "vanish_data"
    if a.mix == "faulted" and r < 0.14:
        return "vanish_dot"
    return "aligned"


def make_message(n, login, from_addr, size, rnd):
    """the message as CRLF lines (unstuffed), about size octets"""
    head = [b"X-Soak-Id: %s.%d" % (a.run_id.encode(), n),
            b"From: Soak <%s>" % from_addr.encode(),
            b"To: Someone <someone@customer.example>",
            b"Subject: soak %d for %s" % (n, login.encode()),
            b"Date: Fri, 04 Dec 2026 10:00:00 +0000",
            b"Message-ID: <soak.%s.%d@%s>" % (a.run_id.encode(), n, from_addr.split("@")[1].encode()),
            b"MIME-Version: 1.0",
            b"Content-Type: text/plain; charset=us-ascii",
            b""]
    # a pool of lines, then drawn from it: fast for 5 MB, and with dots,
    # empty lines and trailing blanks that canonicalisation and
    # dot-stuffing must get right
    pool = []
    for _ in range(48):
        k = rnd.randint(0, 14)
        line = " ".join(rnd.choice(WORDS) for _ in range(k)).encode()
        r = rnd.random()
        if r < 0.10:
            line = b"." + line
        elif r < 0.13:
            line = b".."
        elif r < 0.18:
            line = line + b"  "
        pool.append(line)
    body, total = [], sum(len(h) + 2 for h in head)
    while total < size:
        line = rnd.choice(pool)
        body.append(line)
        total += len(line) + 2
    body.append(b"-- end of %d" % n)
    return head + body


class Conn:
    """one SMTP connection, reading every reply line"""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=a.timeout)
        self.rfile = self.sock.makefile("rb")

    def reply(self):
        """the first line of the next reply, "CODE TEXT" (the rest read)"""
        first = None
        while True:
            line = self.rfile.readline(8192)
            if not line.endswith(b"\n"):
                raise EOFError("connection closed")
            line = line.rstrip(b"\r\n")
            if first is None:
                first = line.decode("utf-8", "replace")
            m = LINE.match(line)
            if not m or m.group(2) == b" ":
                return first

    def send(self, data):
        self.sock.sendall(data)

    def close(self, reset=False):
        try:
            if reset:  # an RST, not a FIN: the client's machine vanished
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.rfile.close()
            self.sock.close()
        except OSError:
            pass


def code(reply):
    return int(reply[:3]) if reply and reply[:3].isdigit() else 0


def stuffed(lines):
    return b"".join((b"." + l if l.startswith(b".") else l) + b"\r\n" for l in lines)


def session(cid, name, port, rnd):
    """one session; False when no transaction could be handed out"""
    login = "globex" if rnd.random() < 0.2 else "acme"
    pipelined = rnd.random() < 0.5
    count = rnd.randint(SMIN, SMAX)
    stage = "connect"
    try:
        c = Conn(port)
        stage = "greeting"
        r = c.reply()
        if code(r) != 220:
            raise EOFError(r)
        stage = "ehlo"
        c.send(b"EHLO soak%d.client.test\r\n" % cid)
        r = c.reply()
        if code(r) != 250:
            raise EOFError(r)
        stage = "auth"
        tok = base64.b64encode(b"\0" + login.encode() + b"\0secret")
        c.send(b"AUTH PLAIN " + tok + b"\r\n")
        r = c.reply()
        if code(r) != 235:
            raise EOFError(r)
    except (OSError, EOFError) as e:
        record({"session_fail": stage, "topo": name, "why": str(e)[:120], "t": time.time()})
        time.sleep(0.2)         # the upstream is down or nginx reloads: not a busy loop
        return True
    for k in range(count):
        n = take_id()
        if n is None:
            break
        last = k == count - 1
        if not transaction(c, n, name, login, pipelined, last, rnd):
            return True         # the connection is gone
    try:
        c.send(b"QUIT\r\n")
        c.reply()
    except (OSError, EOFError):
        pass
    c.close()
    return True


def transaction(c, n, name, login, pipelined, last, rnd):
    """one transaction and its record; False when the connection is gone"""
    kind = pick_kind(rnd)
    if login == "globex" and kind == "spoof":
        kind = "aligned"
    dom = "globex.example" if login == "globex" else "acme.example"
    envelope = "bounce@globex.example" if login == "globex" else "bounce@bounces.acme.example"
    from_addr = ("ceo@globex.example" if kind == "spoof" else "news@" + dom)
    size = pick_size(rnd)
    lines = make_message(n, login, from_addr, size, rnd)
    raw = b"".join(l + b"\r\n" for l in lines)
    rec = {"id": n, "topo": name, "kind": kind, "login": login, "from_dom": from_addr.split("@")[1],
           "size": len(raw), "sha": hashlib.sha256(raw).hexdigest(), "pipelined": pipelined,
           "mail": None, "rcpt": None, "data": None, "final": None,
           "t_mail": None, "t_mail_reply": None, "t_dot": None, "t_final": None, "error": None}
    stage = "mail"
    alive = True
    try:
        cmds = [b"MAIL FROM:<%s>\r\n" % envelope.encode(), b"RCPT TO:<someone@customer.example>\r\n", b"DATA\r\n"]
        rec["t_mail"] = time.time()
        if pipelined:
            c.send(b"".join(cmds))
            rec["mail"] = c.reply()
            rec["t_mail_reply"] = time.time()
            stage = "rcpt"
            rec["rcpt"] = c.reply()
            stage = "data"
            rec["data"] = c.reply()
        else:
            c.send(cmds[0])
            rec["mail"] = c.reply()
            rec["t_mail_reply"] = time.time()
            if code(rec["mail"]) == 250:
                stage = "rcpt"
                c.send(cmds[1])
                rec["rcpt"] = c.reply()
                if code(rec["rcpt"]) // 100 == 2:
                    stage = "data"
                    c.send(cmds[2])
                    rec["data"] = c.reply()
        if code(rec["data"]) != 354:
            stage = "rset"
            c.send(b"RSET\r\n")
            c.reply()
            record(rec)
            backoff(rec)
            return True
        body = stuffed(lines)
        stage = "body"
        if kind == "vanish_data":
            c.send(body[:max(1, len(body) // 2)])
            c.close(reset=rnd.random() < 0.5)
            rec["error"] = "vanished_data"
            record(rec)
            return False
        if kind == "vanish_dot":
            c.send(body + b".\r\n")
            rec["t_dot"] = time.time()
            c.close()
            rec["error"] = "vanished_dot"
            record(rec)
            return False
        quit_too = pipelined and last
        c.send(body + b".\r\n" + (b"QUIT\r\n" if quit_too else b""))
        rec["t_dot"] = time.time()
        stage = "final"
        rec["final"] = c.reply()
        rec["t_final"] = time.time()
        if quit_too:
            try:
                c.reply()
            except (OSError, EOFError):
                pass
            c.close()
            alive = False
    except (OSError, EOFError) as e:
        rec["error"] = "%s: %s" % (stage, str(e)[:100])
        c.close()
        alive = False
    record(rec)
    backoff(rec)
    return alive and not (pipelined and last)


def backoff(rec):
    """after a 4xx, wait a little, as a real client would wait longer: a
    fault window is then not burnt through in a burst of 451s"""
    if 400 <= max(code(rec["mail"]), code(rec["final"])) < 500:
        time.sleep(0.3)


def client(cid):
    name, port = TARGETS[cid % len(TARGETS)]
    rnd = random.Random("%d.%d" % (a.seed, cid))
    while time.time() - START < a.deadline:
        with lock:
            if state["next"] >= a.messages:
                return
        session(cid, name, port, rnd)


def rss(pids):
    """VmRSS in kB of each pid (None for one that is gone)"""
    res = []
    for p in pids:
        try:
            with open("/proc/%s/status" % p) as f:
                res.append(next(int(l.split()[1]) for l in f if l.startswith("VmRSS:")))
        except (OSError, StopIteration):
            res.append(None)
    return res


def progress(stop):
    """the count for soak.sh's schedule; the RSS samples"""
    pids = [p for p in a.rss_pids.split(",") if p]
    every = max(1, (a.messages - a.rss_first) // 40)
    while not stop.is_set():
        with lock:
            done, nd = state["done"], state["nginx_done"]
        if a.gate:
            try:
                with open(a.gate) as f:
                    gate = int(f.read().strip() or 0)
                with lock:
                    state["gate"] = gate
            except (OSError, ValueError):
                pass
        if pids and state["rss_first"] is None and nd >= a.rss_first:
            state["rss_first"] = (nd, rss(pids))
            state["rss_samples"].append(state["rss_first"])
        elif pids and state["rss_samples"] and nd >= state["rss_samples"][-1][0] + every:
            state["rss_samples"].append((nd, rss(pids)))
        tmp = a.progress + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % done)
        os.replace(tmp, a.progress)
        stop.wait(0.25)


stop = threading.Event()
pt = threading.Thread(target=progress, args=(stop,), daemon=True)
pt.start()
threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(a.clients)]
for t in threads:
    t.start()
for t in threads:
    t.join(max(1.0, a.deadline + 2 * a.timeout - (time.time() - START)))
stop.set()
pt.join(2)
with lock:
    out.flush()
    done = state["done"]
pids = [p for p in a.rss_pids.split(",") if p]
if pids:
    first = state["rss_first"] or (state["nginx_done"], [None] * len(pids))
    last = rss(pids)
    print("rss-at %d %d" % (first[0], state["nginx_done"]))
    for p, f, l in zip(pids, first[1], last):
        print("rss %s %s %s" % (p, f, l))
    samples = state["rss_samples"] + [(state["nginx_done"], last)]
    middle = (first[0] + state["nginx_done"]) / 2
    for i, p in enumerate(pids):
        early = [s[1][i] for s in samples if s[0] <= middle and s[1][i] is not None]
        late = [s[1][i] for s in samples if s[0] > middle and s[1][i] is not None]
        print("rss-peaks %s %s %s" % (p, max(early) if early else None, max(late) if late else None))
stuck = sum(t.is_alive() for t in threads)
print("client: %d transactions in %.1f s%s" % (done, time.time() - START,
      ", %d clients still stuck at the deadline" % stuck if stuck else ""))
sys.exit(1 if stuck else 0)
