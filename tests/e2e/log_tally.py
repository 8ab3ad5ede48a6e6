#!/usr/bin/python3
"""log_tally.py - every decision line an adapter logged, parsed; their tally
against the counter table.

    log_tally.py [--stats STATS.json] LOG...

Reads each LOG (Exim mainlog, nginx error.log), finds every "tenantalign: "
line and parses its decision: key=value (README "Logs": bare or quoted
values, \\" \\\\ \\xHH escapes) or one JSON object. A decision line that does
not parse, lacks a field, or has a value outside its set fails. Other
tenantalign lines (the store alarm, start-up warnings) are prose and are
skipped, but may not start like a decision.

With --stats (the output of `tenantalign stats --json`), the tally by
tenant, stream, verdict and reason class must equal the table's counts
exactly. Prints one summary line; exit 1 on any failure.
"""
import json
import re
import sys

FIELDS = ["stage", "tenant", "login", "stream", "qid", "from", "envelope", "verdict"]
VERDICTS = {"accept", "reject", "tempfail"}
STREAMS = {"transactional", "broadcast", "-"}
NGINX_SUFFIX = re.compile(r"( while [a-z ]+)?, (client|upstream|server|login): .*$")


def parse_kv(text):
    """key=value pairs, in order; raises ValueError"""
    out, i, n = {}, 0, len(text)
    while i < n:
        m = re.compile(r"([a-z_]+)=").match(text, i)
        if not m:
            raise ValueError("no key at %r" % text[i:i + 20])
        key, i = m.group(1), m.end()
        if key in out:
            raise ValueError("key %s twice" % key)
        if i < n and text[i] == '"':
            i += 1
            val = bytearray()
            while True:
                if i >= n:
                    raise ValueError("unterminated quote in %s" % key)
                c = text[i]
                if c == '"':
                    i += 1
                    break
                if c == "\\":
                    e = text[i + 1:i + 2]
                    if e in ('"', "\\"):
                        val += e.encode()
                        i += 2
                    elif e == "x" and re.fullmatch(r"[0-9a-f]{2}", text[i + 2:i + 4]):
                        val.append(int(text[i + 2:i + 4], 16))
                        i += 4
                    else:
                        raise ValueError("bad escape in %s" % key)
                else:
                    if ord(c) < 0x20:
                        raise ValueError("raw control character in %s" % key)
                    val += c.encode("utf-8", "surrogateescape")
                    i += 1
            out[key] = val.decode("utf-8", "replace")
        else:
            m = re.compile(r"[!#-<>-\[\]-~]+").match(text, i)   # printable, no space " \ =
            if not m:
                raise ValueError("empty bare value for %s" % key)
            out[key], i = m.group(0), m.end()
        if i < n:
            if text[i] != " ":
                raise ValueError("no space after %s" % key)
            i += 1
    return out


def decision(payload):
    """the decision dict of a line's payload, None when it is prose"""
    if payload.startswith("{"):
        obj, end = json.JSONDecoder().raw_decode(payload)
        if payload[end:].strip():
            raise ValueError("bytes after the JSON object")
        if obj.get("monitor") not in (None, True) or ("us" in obj and not isinstance(obj["us"], int)):
            raise ValueError("monitor or us of the wrong type")
        return obj
    if payload.startswith("stage="):
        d = parse_kv(payload)
        if "monitor" in d:
            if d["monitor"] != "yes":
                raise ValueError("monitor=%s" % d["monitor"])
            d["monitor"] = True
        if "us" in d:
            d["us"] = int(d["us"])
        return d
    if "stage" in payload[:12]:
        raise ValueError("looks like a decision but is not one")
    return None


def check(d):
    for f in FIELDS + ["code"]:
        if f not in d:
            raise ValueError("no %s field" % f)
    if d["stage"] not in ("mail", "data") or d["verdict"] not in VERDICTS or d["stream"] not in STREAMS:
        raise ValueError("stage/verdict/stream out of their sets")
    if not re.fullmatch(r"[245]\d\d [245]\.\d{1,3}\.\d{1,3}", d["code"]):
        raise ValueError("code %r" % d["code"])
    if d["code"][0] != {"accept": "2", "reject": "5", "tempfail": "4"}[d["verdict"]]:
        raise ValueError("code and verdict disagree")
    clean = d["verdict"] == "accept" and not d.get("monitor")
    if clean != ("class" not in d):
        raise ValueError("class present iff not a clean acceptance")
    if (d["tenant"] == "-") != (d["stream"] == "-"):
        raise ValueError("a stream iff a tenant")


def key_of(d):
    tenant = "(none)" if d["tenant"] == "-" else d["tenant"]
    stream = "transactional" if d["stream"] == "-" else d["stream"]
    if d["verdict"] == "accept":
        verdict = "would_refuse" if d.get("monitor") else "accepted"
    else:
        verdict = {"reject": "refused", "tempfail": "tempfailed"}[d["verdict"]]
    return (tenant, stream, verdict, d.get("class", ""))


def stats_tally(path):
    doc = json.load(open(path))
    out = {}
    for t in doc["tenants"]:
        for stream, s in t["streams"].items():
            if s.get("accepted"):
                out[(t["tenant"], stream, "accepted", "")] = s["accepted"]
            for verdict in ("refused", "tempfailed", "would_refuse"):
                for cls, n in (s.get(verdict) or {}).items():
                    if n:
                        out[(t["tenant"], stream, verdict, cls)] = n
    return out


def main(argv):
    stats = None
    if len(argv) > 2 and argv[1] == "--stats":
        stats, argv = argv[2], argv[2:]
    tally, lines, bad, styles = {}, 0, 0, set()
    for path in argv[1:]:
        for raw in open(path, "rb"):
            text = raw.decode("utf-8", "surrogateescape").rstrip("\n")
            at = text.find("tenantalign: ")
            if at < 0:
                continue
            payload = NGINX_SUFFIX.sub("", text[at + len("tenantalign: "):])
            try:
                d = decision(payload)
                if d is None:
                    continue
                check(d)
            except (ValueError, KeyError, json.JSONDecodeError) as e:
                print("%s: bad decision line (%s): %s" % (path, e, text[:300]))
                bad += 1
                continue
            lines += 1
            styles.add("json" if payload.startswith("{") else "kv")
            k = key_of(d)
            tally[k] = tally.get(k, 0) + 1
    diff = []
    if stats is not None:
        counted = stats_tally(stats)
        for k in sorted(set(tally) | set(counted)):
            if tally.get(k, 0) != counted.get(k, 0):
                diff.append("%s: logged %d, counted %d" % ("/".join(x for x in k if x), tally.get(k, 0),
                                                            counted.get(k, 0)))
    for line in diff:
        print("mismatch " + line)
    print("%d decision lines (%s) parsed, %d bad%s" % (
        lines, ",".join(sorted(styles)) or "none", bad,
        "" if stats is None else ", counts %s (%d keys)" % ("equal" if not diff else "DIFFER", len(tally))))
    return 1 if bad or diff or lines == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
