#!/usr/bin/python3
"""gen_messages.py N OUTDIR SEED: N random messages (CRLF) for signing tests:
random folding and whitespace, long lines, empty bodies, no final CRLF, 8-bit
text, many and duplicate header fields. Same SEED, same messages."""
import os
import random
import sys

n, out, seed = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
rnd = random.Random(seed)
os.makedirs(out, exist_ok=True)

WORDS = ["hello", "world", "Caf\u00e9", "na\u00efve", "\u65e5\u672c", "dinner", "ready?", "x", "A.B", "(c)", "=?utf-8?q?x?="]


def ws():
    return rnd.choice([" ", "  ", "\t", " \t ", " "])


def value():
    parts = [rnd.choice(WORDS) for _ in range(rnd.randint(1, 12))]
    v = ""
    for p in parts:
        v += p + ws()
        if rnd.random() < 0.15:
            v += "\r\n" + rnd.choice([" ", "\t", "  "])   # fold
    return v.rstrip("\r\n \t") + rnd.choice(["", " ", "\t", "  "])


def header():
    h = [("From", "Joe <joe@acme.example>"), ("To", value()), ("Subject", value()),
         ("Date", "Tue, 24 Nov 2026 10:00:00 +0000"), ("Message-ID", "<%d@acme.example>" % rnd.randint(1, 10**9))]
    for _ in range(rnd.randint(0, 40)):
        h.append((rnd.choice(["Received", "X-Trace", "Cc", "Reply-To", "X-" + rnd.choice(WORDS).strip("?().=")
                              .encode("ascii", "ignore").decode() or "X-Y", "Comments", "Keywords"]), value()))
    rnd.shuffle(h)
    lines = []
    for name, v in h:
        sep = rnd.choice([": ", ":", ":  ", ":\t"])
        lines.append(name + sep + v)
    return "\r\n".join(lines) + "\r\n"


def body():
    kind = rnd.random()
    if kind < 0.1:
        return ""
    lines = []
    for _ in range(rnd.randint(1, 60)):
        r = rnd.random()
        if r < 0.1:
            lines.append("")
        elif r < 0.15:
            lines.append(rnd.choice([" ", "\t", "  \t "]))
        elif r < 0.2:
            lines.append("".join(rnd.choice("abc \t") for _ in range(rnd.randint(900, 5000))))
        else:
            lines.append(ws().strip(" ") + "".join(rnd.choice(WORDS) + ws() for _ in range(rnd.randint(1, 15))))
    b = "\r\n".join(lines)
    ending = rnd.choice(["\r\n", "\r\n\r\n\r\n", "", "\r\n \r\n", "\r\n"])
    return b + ending


for i in range(n):
    msg = header() + "\r\n" + body()
    with open(os.path.join(out, "m%03d.eml" % i), "wb") as f:
        f.write(msg.encode("utf-8"))
