#!/usr/bin/python3
"""Drives the built `phidb phi scan|redact` on sample input and checks its output.

Run by ctest (cmake/phi.cmake) with PHIDB_BUILD pointing at the build directory.
"""
import json
import os
import subprocess
import sys
import tempfile

BUILD = os.environ.get("PHIDB_BUILD", "build")
PHIDB = os.path.join(BUILD, "phidb")
NOTE = ("Patient: Hope Kowalski  MRN: 4471823  DOB: 03/14/1931\n"
        "Seen by Dr. Alan Whitfield on 7/22/2021. Call (617) 555-0142.\n")
failures = 0
passes = 0


def run(args, data=None):
    p = subprocess.run([PHIDB, "phi"] + args, input=data, capture_output=True, timeout=120)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(cond, what):
    global failures, passes
    if cond:
        passes += 1
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what)


# scan from standard input: start, end, type, score, text
rc, out, err = run(["scan"], NOTE.encode())
rows = [line.split("\t") for line in out.splitlines()]
check(rc == 0, "scan exits 0")
found = {(r[2], r[4]) for r in rows if len(r) == 5}
for want in [("NAME", "Hope Kowalski"), ("MRN", "4471823"), ("DATE", "03/14/1931"),
             ("NAME", "Alan Whitfield"), ("DATE", "7/22/2021"), ("PHONE", "(617) 555-0142")]:
    check(want in found, "scan finds %s %s" % want)
for r in rows:
    a, b = int(r[0]), int(r[1])
    check(NOTE.encode()[a:b].decode() == r[4].replace("\\n", "\n"), "offsets of %s are bytes of the input" % r[4])

# files, several: names prefix each row
with tempfile.TemporaryDirectory() as d:
    f1, f2 = os.path.join(d, "a.txt"), os.path.join(d, "b.txt")
    open(f1, "w").write(NOTE)
    open(f2, "w").write("Nothing to see here.\n")
    rc, out, err = run(["scan", f1, f2])
    check(rc == 0 and all(line.startswith(f1 + "\t") for line in out.splitlines()) and out,
          "scan of several files prefixes the file name")
    rc, out, err = run(["scan", os.path.join(d, "missing.txt")])
    check(rc == 1 and "missing.txt" in err, "unreadable file: exit 1 and a message")

# --jsonl
lines = [json.dumps({"id": 1, "text": NOTE}), json.dumps({"id": "b", "text": "Dr. Jose Nu\u00f1ez, 2001:db8::1"}), ""]
rc, out, err = run(["scan", "--jsonl"], "\n".join(lines).encode())
res = [json.loads(line) for line in out.splitlines()]
check(rc == 0 and len(res) == 2 and res[0]["id"] == 1 and res[1]["id"] == "b", "jsonl keeps ids")
ents = res[0]["entities"]
check(all(set(e) == {"start", "end", "type", "score"} for e in ents), "jsonl entity fields")
check(any(e["type"] == "MRN" and NOTE.encode()[e["start"]:e["end"]] == b"4471823" for e in ents),
      "jsonl offsets are byte offsets")
t2 = "Dr. Jose Nu\u00f1ez, 2001:db8::1".encode()
check(any(e["type"] == "IP" and t2[e["start"]:e["end"]] == b"2001:db8::1" for e in res[1]["entities"]),
      "jsonl byte offsets after non-ASCII text")
rc, out, err = run(["scan", "--jsonl"], b'{"id": 3}\nnot json\n')
check(rc == 1 and "expected" in err, "bad jsonl line: exit 1 and a message")
rc, out, err = run(["scan", "--jsonl"], b'{"id": 18446744073709551616, "text": "x"}\n')
check(rc == 1 and "64 bits" in err and "1844674" not in err,
      "an id too big: the reason, without quoting the input")
rc, out, err = run(["scan", "--jsonl"], b'{"id": 1.1, "text": "Call 617-432-1234 now"}\n')
check(rc == 0 and out.startswith('{"id":1.1,') and '"score":0.95}' in out,
      "ids and scores keep their short forms: " + out)

# redact modes
rc, out, err = run(["redact"], NOTE.encode())
check(rc == 0 and "[NAME]" in out and "[MRN]" in out and "Kowalski" not in out, "redact with tags")
rc, out, err = run(["redact", "--mask"], NOTE.encode())
check(rc == 0 and len(out.encode()) == len(NOTE.encode()) and "4471823" not in out, "mask keeps the length")
rc, out1, err = run(["redact", "--surrogate", "--seed", "7"], NOTE.encode())
rc2, out2, err = run(["redact", "--surrogate", "--seed", "7"], NOTE.encode())
check(rc == 0 and out1 == out2 and "Kowalski" not in out1 and "4471823" not in out1,
      "surrogates: deterministic with a seed, originals gone")
rc, out, err = run(["redact", "--jsonl"], (json.dumps({"id": 9, "text": NOTE}) + "\n").encode())
check(rc == 0 and json.loads(out)["id"] == 9 and "[NAME]" in json.loads(out)["text"], "redact --jsonl")

# usage errors exit 2
for args in [[], ["frobnicate"], ["scan", "--bogus"], ["redact", "--seed"], ["redact", "--seed", "x"],
             ["scan", "--min-score", "7"]]:
    rc, out, err = run(args, b"")
    check(rc == 2 and err, "usage error for %r exits 2 with a message" % (args,))
rc, out, err = run(["--help"])
check(rc == 0 and "usage" in out, "help exits 0")

print("%d passed, %d failed" % (passes, failures))
sys.exit(1 if failures else 0)
