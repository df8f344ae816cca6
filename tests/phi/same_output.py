#!/usr/bin/env python3
"""Do two builds of `phidb phi` find the same things? (a check for speed work)

    python3 tests/phi/same_output.py OLD_PHIDB NEW_PHIDB [--presidio PATH] [--keep DIR]

Builds a fixed corpus (seeded, so every run and both binaries see the same bytes) from
the clinical notes, dev2 and the Presidio set (when found), runs `phidb phi scan` and
`redact` of both binaries over it and compares the outputs byte for byte:
  - the notes and sentences as JSON lines (`--jsonl`, which scans in batches), with the
    default threshold and with --min-score 0.01, and upper- and lower-cased;
  - 6,000 lines of shuffled tokens of those texts with random separators;
  - 4,000 files of those texts with random byte changes, insertions and deletions
    (bytes >= 0x80 and stray UTF-8 included), each scanned as its own document;
  - one document of all the texts and 2,000 shuffled lines;
  - surrogate redaction (--seed 7) of the notes, mask redaction of the shuffled lines.
Exit status 0 when every output is the same, 1 otherwise (the differing files named).
Not a ctest: it needs a second binary.
"""
import json
import os
import random
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def corpus(out, presidio):
    rnd = random.Random(12345)
    texts = []
    for name in ("clinical-notes.jsonl", "clinical-notes-dev2.jsonl"):
        with open(os.path.join(HERE, name), encoding="utf-8") as f:
            texts += [json.loads(line)["text"] for line in f]
    pres = []
    if presidio and os.path.exists(presidio):
        with open(presidio, encoding="utf-8") as f:
            pres = [x["full_text"] for x in json.load(f)]
    every = texts + pres

    def dump(name, lines):
        with open(os.path.join(out, name), "w", encoding="utf-8") as f:
            for i, t in enumerate(lines):
                f.write(json.dumps({"id": "%s-%d" % (name, i), "text": t}) + "\n")

    dump("notes.jsonl", texts)
    dump("presidio.jsonl", pres)
    dump("cases.jsonl", [t.upper() for t in every] + [t.lower() for t in every])
    toks = [x for t in every for x in re.findall(r"\S+|\s+", t)]
    seps = [" ", " ", "\n", ", ", ". ", ": ", "-", "/", "'"]
    shuffled = []
    for _ in range(6000):
        n = rnd.randint(1, 120)
        shuffled.append("".join(rnd.choice(toks) if rnd.random() < 0.6 else
                                rnd.choice(seps) + rnd.choice(toks) for _ in range(n)))
    dump("shuffled.jsonl", shuffled)
    os.makedirs(os.path.join(out, "raw"))
    alphabet = b" \n\t.,:;/-'#@()0123456789AaBbZz\xc3\xa9\xff\x80_+"
    for k in range(4000):
        t = bytearray(rnd.choice(every).encode())
        for _ in range(rnd.randint(1, 30)):
            op, p = rnd.random(), rnd.randrange(len(t) + 1)
            if op < 0.33 and p < len(t):
                t[p] = rnd.choice(alphabet)
            elif op < 0.66:
                t[p:p] = bytes([rnd.choice(alphabet)])
            elif p < len(t):
                del t[p:p + rnd.randint(1, 4)]
        with open(os.path.join(out, "raw", "%04d.txt" % k), "wb") as f:
            f.write(bytes(t))
    with open(os.path.join(out, "big.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(every + shuffled[:2000]))


def outputs(phidb, src, dst):
    os.makedirs(dst)

    def run(name, args, cwd=None):
        r = subprocess.run([phidb, "phi"] + args, cwd=cwd, capture_output=True)
        with open(os.path.join(dst, name), "wb") as f:
            f.write(r.stdout + r.stderr + b"exit %d\n" % r.returncode)

    for f in ("notes", "presidio", "cases", "shuffled"):
        path = os.path.join(src, f + ".jsonl")
        run(f + ".out", ["scan", "--jsonl", path])
        run(f + ".low.out", ["scan", "--jsonl", "--min-score", "0.01", path])
    raw = os.path.join(src, "raw")
    run("raw.out", ["scan", "--min-score", "0.01"] + sorted(os.listdir(raw)), cwd=raw)
    run("big.out", ["scan", "--min-score", "0.01", os.path.join(src, "big.txt")])
    run("surrogate.out", ["redact", "--surrogate", "--seed", "7", "--jsonl",
                          os.path.join(src, "notes.jsonl")])
    run("mask.out", ["redact", "--mask", "--jsonl", os.path.join(src, "shuffled.jsonl")])


def main():
    args = sys.argv[1:]
    presidio = os.path.join(HERE, "../../../shared/phi-data/presidio-synth-dev.json")
    keep = None
    if "--presidio" in args:
        i = args.index("--presidio")
        presidio = args[i + 1]
        del args[i:i + 2]
    if "--keep" in args:
        i = args.index("--keep")
        keep = args[i + 1]
        del args[i:i + 2]
    if len(args) != 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    work = keep or tempfile.mkdtemp(prefix="phi-same-")
    src = os.path.join(work, "corpus")
    os.makedirs(src, exist_ok=True)
    corpus(src, presidio)
    old, new = os.path.join(work, "old"), os.path.join(work, "new")
    outputs(os.path.abspath(args[0]), src, old)
    outputs(os.path.abspath(args[1]), src, new)
    differ, names = [], sorted(os.listdir(old))
    for name in names:
        with open(os.path.join(old, name), "rb") as a, open(os.path.join(new, name), "rb") as b:
            if a.read() != b.read():
                differ.append(name)
    if not keep:
        subprocess.run(["rm", "-rf", work])
    if differ:
        print("outputs differ: " + ", ".join(differ))
        return 1
    print("same output: %d outputs compared byte for byte" % len(names))
    return 0


if __name__ == "__main__":
    sys.exit(main())
