#!/usr/bin/python3
"""ledger.py - the soak's ledger: what the clients were told against what
was delivered (tests/soak/soak.sh runs it once the queues have drained).

usage: ledger.py --tx TX.jsonl [--tx ...] --mail MAILDIR [--mail ...]
                 --dns DNSFILE --faults FAULTS [--margin 1.2] [--jobs 2]
                 [--show 20]

--tx: client.py's records; --mail: the maildirs the relays deliver to (their
new/ is read; a file left in tmp/ is counted); --dns: the public keys,
"SELECTOR._domainkey.DOMAIN<TAB>TXT" (tests/dkim/pubdns), so that dkimpy
verifies offline; --faults: soak.sh's fault log, "TIME KIND start|end|at".

Rules (each broken one is a failure, the first --show printed):
  - a transaction told 250 at the final dot: delivered exactly once;
  - a delivered message: it is the message as sent byte for byte, only
    Return-path, Received and DKIM-Signature fields added above it; at least
    one DKIM-Signature, every one verified by dkimpy, each d= aligned (same
    organisational domain) with the From domain; exactly one delivery;
  - a spoofed or vanished-mid-DATA message, or one told anything but 250
    at the final dot: never delivered, with two exceptions that are
    "maybe" (delivered at most once, and then intact and signed): a client
    that vanished right after the final dot, which never read its reply, and
    one whose connection broke or that was told 421 after the final dot
    (nginx's "upstream connection lost": the upstream may have taken the
    message before it died - the duplicate window of RFC 1047; the client
    would retry);
  - a spoofed message is never told 250;
  - during a corrupt store (MAIL sent at least --margin seconds after the
    store went bad, its reply read before the good one was back): MAIL
    gets 4xx; during a missing key (MAIL sent --margin seconds after the
    key went, the final reply read before it was back): an aligned message
    of that key's tenant is never told 250; during an unwritable temp path,
    an nginx message that spills to a temporary file (larger than
    --spill octets), whose MAIL was sent after the path became unwritable
    and whose reply was read before it became writable again: never 250. (The
    margin, for store and key only: the processes look at those files
    once a second; a temporary file is created when the message spills.)
  - no delivered message that no client sent;
  - every refusal says why: its first line has text after the codes, not
    ending in ":" (a reason that went missing).

Prints the failures; a "replies:" line (the refusals seen, by reply and
reason), a "faults:" line (how many of each were injected), a "fault
windows:" line (how many transactions fell wholly inside each kind of
window, and how many of those got 4xx), and last one line:
  ledger: sent=N 250=N 4xx=N 5xx=N vanished=N broken=N maybe=N(delivered M)
          delivered=N verified=N faults=N failures=N session_fail=N tmp_left=N
(4xx/5xx: the first refusing reply of the transaction; vanished: the
client's own doing; broken: the connection failed before a reply; maybe:
see above; session_fail: sessions that failed before their first MAIL;
tmp_left: files left in a maildir's tmp/)."""
import argparse
import collections
import hashlib
import json
import multiprocessing
import os
import re
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--tx", action="append", required=True)
ap.add_argument("--mail", action="append", required=True)
ap.add_argument("--dns", required=True)
ap.add_argument("--faults", required=True)
ap.add_argument("--margin", type=float, default=1.2)
ap.add_argument("--spill", type=int, default=1024 * 1024)
ap.add_argument("--jobs", type=int, default=2)
ap.add_argument("--show", type=int, default=20)
a = ap.parse_args()

ADDED = {b"return-path", b"received", b"dkim-signature"}
SOAK_ID = re.compile(rb"^X-Soak-Id: (\S+)\.(\d+)\r\n", re.M)
RECORDS = {}


def load_dns():
    for line in open(a.dns):
        name, _, txt = line.rstrip("\n").partition("\t")
        RECORDS[(name + ".").encode()] = txt.encode()


def dnsfunc(name, timeout=5):
    return RECORDS.get(name if name.endswith(b".") else name + b".")


def org(domain):
    """the organisational domain of the test names (two labels)"""
    return b".".join(domain.lower().rstrip(b".").split(b".")[-2:])


def check_file(path):
    """(run, id, sha of the original, problems) for one delivered file"""
    import dkim
    raw = open(path, "rb").read()
    msg = raw.replace(b"\n", b"\r\n")   # maildir holds LF lines; ours were CRLF only
    m = SOAK_ID.search(msg)
    if not m:
        return (None, None, None, ["%s: no X-Soak-Id" % path])
    run, n = m.group(1).decode(), int(m.group(2))
    problems = []
    prefix, original = msg[:m.start()], msg[m.start():]
    # the fields above ours: only the ones the gate and the relay add
    for field in re.split(rb"\r\n(?![ \t])", prefix.rstrip(b"\r\n")) if prefix else []:
        name = field.split(b":", 1)[0].strip().lower()
        if name not in ADDED:
            problems.append("added field %r" % name.decode("latin-1"))
    nsig = sum(1 for f in re.split(rb"\r\n(?![ \t])", prefix) if f.lower().startswith(b"dkim-signature:"))
    if nsig == 0:
        problems.append("unsigned")
    d = dkim.DKIM(msg)
    from_dom = None
    fm = re.search(rb"^From: .*<[^@>]+@([^>]+)>", original, re.M)
    if fm:
        from_dom = fm.group(1)
    sigs = [h[1] for h in d.headers if h[0].lower() == b"dkim-signature"]
    for i, sig in enumerate(sigs):
        tags = dict(t.strip().split(b"=", 1) for t in sig.split(b";") if b"=" in t)
        dtag = re.sub(rb"\s", b"", tags.get(b"d", b""))
        if from_dom is None or org(dtag) != org(from_dom):
            problems.append("d=%s not aligned with From %s" % (dtag.decode(), from_dom))
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
        except Exception as e:      # dkimpy raises for some failures
            ok = "error %s" % e
        if ok is not True:
            problems.append("signature %d (d=%s) does not verify: %s" % (i, dtag.decode(), ok))
    return (run, n, hashlib.sha256(original).hexdigest(), problems)


def faults():
    """windows per kind: [(start, end)], and counts"""
    open_, wins, count = {}, collections.defaultdict(list), collections.Counter()
    for line in open(a.faults):
        parts = line.split()
        if len(parts) < 3:
            continue
        t, kind, what = float(parts[0]), parts[1], parts[2]
        if what in ("start", "at"):
            count[kind] += 1
        if what == "start":
            open_[kind] = t
        elif what == "end" and kind in open_:
            wins[kind].append((open_.pop(kind), t))
    return wins, count


def within(t0, t1, wins, margin):
    """whether [t0, t1] lies inside a window (its start + margin, its end)"""
    return t0 is not None and t1 is not None and any(
        t0 >= s + margin and t1 <= e for s, e in wins)


def code(reply):
    return int(reply[:3]) if reply and reply[:3].isdigit() else 0


def main():
    load_dns()
    txs, session_fail, run_ids = {}, 0, set()
    for path in a.tx:
        for line in open(path):
            r = json.loads(line)
            if "session_fail" in r:
                session_fail += 1
                continue
            txs[(path, r["id"])] = r
    # a tx file is RUN.jsonl, RUN the run id in its messages' X-Soak-Id
    byrun = {}
    for (path, n), r in txs.items():
        byrun[(os.path.basename(path).split(".")[0], n)] = r
    files = []
    tmp_left = 0
    for d in a.mail:
        files += [os.path.join(d, "new", f) for f in sorted(os.listdir(os.path.join(d, "new")))]
        if os.path.isdir(os.path.join(d, "tmp")):
            tmp_left += len(os.listdir(os.path.join(d, "tmp")))
    with multiprocessing.Pool(a.jobs) as pool:
        results = pool.map(check_file, files, chunksize=16)
    failures = []

    def fail(text):
        failures.append(text)

    delivered = collections.defaultdict(list)
    for path, (run, n, sha, problems) in zip(files, results):
        if run is None:
            fail(problems[0])
            continue
        delivered[(run, n)].append((path, sha, problems))
    wins, fcount = faults()
    c = collections.Counter()
    replies = collections.Counter()
    window = collections.defaultdict(collections.Counter)   # kind -> {4xx?: count}
    verified = 0
    for key, r in byrun.items():
        c["sent"] += 1
        fin = code(r["final"])
        # the first reply that refused decides the outcome
        first = next((x for x, ok in ((r["mail"], (250,)), (r["rcpt"], (250, 251)), (r["data"], (354,)),
                                      (r["final"], (250,))) if x is not None and code(x) not in ok), None)
        if fin == 250:
            c["250"] += 1
        elif first is not None and code(first) // 100 in (4, 5):
            c["%dxx" % (code(first) // 100)] += 1
            replies[fault_label(first)] += 1
            if re.sub(r"^\d{3}[ -]([245]\.\d+\.\d+)?", "", first).strip().endswith(":") or \
                    not re.sub(r"^\d{3}[ -]([245]\.\d+\.\d+)?", "", first).strip():
                fail("%s #%d: a refusal that gives no reason: %r" % (r["topo"], r["id"], first))
        elif (r["error"] or "").startswith("vanished"):
            c["vanished"] += 1
        else:
            c["broken"] += 1        # the connection broke before a reply
        got = delivered.pop(key, [])
        maybe = r["kind"] == "vanish_dot" or (r["t_dot"] is not None and r["final"] is None) \
            or (fin == 421 and r["t_dot"] is not None)
        label = "%s #%d (%s, %s, %d octets)" % (r["topo"], r["id"], r["kind"], r["login"], r["size"])
        if r["kind"] == "spoof" and fin == 250:
            fail("%s: spoofed From told 250" % label)
        if maybe:
            c["maybe"] += 1
            c["maybe_delivered"] += len(got) > 0
            if len(got) > 1:
                fail("%s: delivered %d times" % (label, len(got)))
        elif fin == 250:
            if len(got) != 1:
                fail("%s: told 250, delivered %d times" % (label, len(got)))
        elif got:
            fail("%s: told %r, yet delivered" % (label, r["final"] or r["mail"] or r["error"]))
        for path, sha, problems in got:
            c["delivered"] += 1
            if sha != r["sha"]:
                problems = problems + ["not the message as sent (sha256 differs)"]
            if problems:
                fail("%s: %s: %s" % (label, os.path.basename(path), "; ".join(problems)))
            else:
                verified += 1
        # the fault windows: what a transaction wholly inside one was told
        if within(r["t_mail"], r["t_mail_reply"], wins["store_corrupt"], a.margin):
            window["store_corrupt"][code(r["mail"]) // 100 == 4] += 1
            if code(r["mail"]) // 100 != 4:
                fail("%s: MAIL during a corrupt store told %r" % (label, r["mail"]))
        if r["kind"] == "aligned" and r["login"] == "acme" and code(r["data"]) == 354 and \
                within(r["t_mail"], r["t_final"], wins["key_removed"], a.margin):
            window["key_removed"][fin // 100 == 4] += 1
            if fin == 250:
                fail("%s: told 250 while its tenant's key was missing" % label)
        if r["topo"] == "nginx" and r["size"] > a.spill and r["kind"] == "aligned" and \
                code(r["data"]) == 354 and within(r["t_mail"], r["t_final"], wins["temp_unwritable"], 0):
            window["temp_unwritable"][fin // 100 == 4] += 1
            if fin == 250:
                fail("%s: spilled message told 250 while the temp path was unwritable" % label)
    for key, got in delivered.items():
        for path, sha, problems in got:
            c["delivered"] += 1
            fail("%s: delivered, never sent (run %s #%d)" % (os.path.basename(path), key[0], key[1]))
    for f in failures[:a.show]:
        print("FAIL " + f)
    if len(failures) > a.show:
        print("FAIL ... and %d more" % (len(failures) - a.show))
    print("replies: " + (", ".join("%s=%d" % (k, v) for k, v in sorted(replies.items())) or "none refused"))
    print("faults: " + ", ".join("%s=%d" % (k, v) for k, v in sorted(fcount.items())))
    print("fault windows (transactions wholly inside, 4xx of them): " + ", ".join(
        "%s=%d/%d" % (k, window[k][True], window[k][True] + window[k][False])
        for k in ("store_corrupt", "key_removed", "temp_unwritable")))
    print("ledger: sent=%d 250=%d 4xx=%d 5xx=%d vanished=%d broken=%d maybe=%d(delivered %d) "
          "delivered=%d verified=%d faults=%d failures=%d session_fail=%d tmp_left=%d" % (
              c["sent"], c["250"], c["4xx"], c["5xx"], c["vanished"], c["broken"], c["maybe"],
              c["maybe_delivered"], c["delivered"], verified, sum(fcount.values()), len(failures),
              session_fail, tmp_left))
    return 1 if failures else 0


def fault_label(rep):
    """the reply's codes and a short name for its reason"""
    codes = " ".join(rep.replace("-", " ", 1).split()[:2]) if rep[3:4] == "-" else " ".join(rep.split()[:2])
    return codes + " " + reason(rep)


def reason(rep):
    for pat, name in (("tenant store", "store"), ("DKIM key", "key"), ("temporary file", "temp"),
                      ("Upstream connection lost", "upstream_lost"), ("5.7.515", "policy"),
                      ("too many", "limit")):
        if pat.lower() in rep.lower():
            return name
    return "other"


if __name__ == "__main__":
    sys.exit(main())
