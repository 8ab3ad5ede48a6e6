#!/usr/bin/python3
"""verify_dkimpy.py [--expect-fail] DNSFILE MSG...: verify every DKIM signature
of each message with dkimpy, keys from DNSFILE (no DNS). Prints one line per
message; exit 0 when every message has at least one signature and all verify
(or, with --expect-fail, when every message has at least one that fails)."""
import sys
import dkim

args = sys.argv[1:]
expect_fail = args and args[0] == "--expect-fail"
if expect_fail:
    args = args[1:]
records = {}
for line in open(args[0]):
    name, _, txt = line.rstrip("\n").partition("\t")
    records[(name + ".").encode()] = txt.encode()

def dnsfunc(name, timeout=5):
    return records.get(name if name.endswith(b".") else name + b".")

bad = 0
for path in args[1:]:
    msg = open(path, "rb").read()
    d = dkim.DKIM(msg)
    n = len([h for h in d.headers if h[0].lower() == b"dkim-signature"])
    results = []
    for i in range(n):
        try:
            results.append(d.verify(idx=i, dnsfunc=dnsfunc))
        except dkim.DKIMException as e:      # dkimpy raises for some failures
            results.append("error: %s" % e)
    results = [r is True or r for r in results]
    ok = n > 0 and all(r is True for r in results)
    print("%s dkimpy %s %s" % ("ok" if ok != expect_fail else "FAIL", path, results))
    bad += ok == expect_fail
sys.exit(1 if bad else 0)
