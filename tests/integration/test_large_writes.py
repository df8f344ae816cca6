"""Writes larger than the durable log's part size (64 MB), against the real phidb-server
(issue 3).

A payload over the part size is written as a chain of records, each part in a record of its
own, and loaded whole (before, one over the log's 1 GB record limit, a transaction of three
400 MB values, was applied in memory, never answered, left every later write refused with
MISCONF until a restart and was lost by it; the part size keeps that path tested at a size a
test can afford):
- a transaction of 3 x 30 MB and a single 70 MB value are acknowledged, written as chains
  (records over 60 MB in the log), pass `phidb check-log`, and are intact after a restart
  (compared by SHA-256), as are writes before and after them;
- a compaction writes the 70 MB value as a chain too, and it loads the same;
- a chain whose last part never reached the disk (the log cut after its first part, as a
  crash would) is cut off whole at start-up with a warning, its bytes kept beside the log;
  the writes before it are there, and writes go on after it and survive a restart;
- a log in format 1 (older phidb: no chains) is compacted into format 2 at start-up.
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import glob
import hashlib
import os
import shutil
import struct
import subprocess

import harness

MB = 1 << 20


def value(tag, n):
    seed = hashlib.sha256(tag.encode()).digest()
    return (seed * (n // len(seed) + 1))[:n]


def records(path):
    """(offset, length) of every record of a log file (4-byte length, then the record)."""
    out, off = [], 64
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        while off + 4 <= size:
            f.seek(off)
            (n,) = struct.unpack(">I", f.read(4))
            out.append((off, n))
            off += 4 + n
    return out


def digests(c, keys):
    got = {}
    for k in keys:
        r = c.call("GET", k, timeout=120)
        got[k] = hashlib.sha256(r[1]).hexdigest() if r[0] == "$" and r[1] is not None else None
    return got


def large_writes(run):
    # No automatic compaction: it would replace the chains written by the commands.
    srv = harness.PhidbServer(extra={"auto-aof-rewrite-percentage": "0"})
    c = srv.raw(timeout=120)
    log = os.path.join(srv.dir, "data", "phidb.log")
    want = {"before": hashlib.sha256(b"small").hexdigest()}
    run.eq(c.call("SET", "before", "small"), ("+", b"OK"), "a small write first")
    run.eq(c.call("MULTI"), ("+", b"OK"), "MULTI")
    for i in range(3):
        v = value(f"tx{i}", 30 * MB)
        want[f"tx:{i}"] = hashlib.sha256(v).hexdigest()
        run.eq(c.call("SET", f"tx:{i}", v), ("+", b"QUEUED"), f"SET tx:{i} (30 MB) queued")
    run.eq(c.call("EXEC", timeout=300), ("*", (("+", b"OK"),) * 3),
           "EXEC of 90 MB of writes is answered")
    v = value("big", 70 * MB)
    want["big"] = hashlib.sha256(v).hexdigest()
    run.eq(c.call("SET", "big", v, timeout=300), ("+", b"OK"), "SET of a 70 MB value")
    del v
    run.eq(c.call("SET", "after", "small"), ("+", b"OK"), "a small write after them")
    want["after"] = want["before"]
    c.close()
    srv.stop()

    recs = records(log)
    huge = [r for r in recs if r[1] > 60 * MB]
    run.check(len(huge) == 2 and all(n < 64 * MB + 4096 for _, n in huge),
              "the transaction and the 70 MB value were each written in parts (a record of "
              "64 MB each, the rest in the next)", [n for _, n in huge])
    r = subprocess.run([srv.tool_bin, "check-log", srv.dir], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=300)
    run.check(r.returncode == 0, "phidb check-log finds the log good", r.stdout[-500:])
    whole = os.path.join(os.path.dirname(srv.dir), "phidb.log.whole")
    shutil.copyfile(log, whole)

    srv.restart()
    c = srv.raw(timeout=120)
    run.eq(digests(c, want), want, "after a restart every value is intact")
    run.eq(c.call("BGREWRITEAOF"), ("+", b"Background append only file rewriting started"),
           "BGREWRITEAOF")
    harness.wait_until(lambda: b"aof_rewrite_in_progress:0" in
                       c.call("INFO", "persistence")[1], timeout=300, what="compaction")
    run.check(b"aof_rewrites:1\r\n" in c.call("INFO", "persistence")[1],
              "the compaction finished")
    c.close()
    srv.stop()
    run.eq(len([r for r in records(log) if r[1] > 60 * MB]), 1,
           "the compaction wrote the 70 MB value in parts")
    srv.restart()
    c = srv.raw(timeout=120)
    run.eq(digests(c, want), want, "after the compaction and a restart every value is intact")
    c.close()
    srv.stop()

    # The log as a crash after the transaction's first part would leave it.
    cut = huge[0][0] + 4 + huge[0][1]
    shutil.copyfile(whole, log)
    os.truncate(log, cut)
    srv.restart()
    text = srv.log_text()
    run.check("cut short before its last part was written" in text,
              "start-up says a write in parts was cut short")
    kept = glob.glob(log + ".torn-*")
    run.check(len(kept) == 1 and os.path.getsize(kept[0]) == cut - huge[0][0],
              "the cut bytes are kept beside the log", kept)
    c = srv.raw(timeout=120)
    got = digests(c, want)
    run.eq(got, {k: (want[k] if k == "before" else None) for k in want},
           "the write before the cut chain is there; the chain and what followed are not")
    run.eq(c.call("SET", "later", "small"), ("+", b"OK"), "writes go on after the cut")
    c.close()
    srv.stop()
    srv.restart()
    c = srv.raw(timeout=120)
    run.eq(digests(c, ["before", "later"]), {"before": want["before"], "later": want["before"]},
           "they survive a restart")
    c.close()
    srv.stop()
    os.unlink(whole)


def format_1_log(run):
    """A log written by an older phidb (format 1: a record per command, no chains) is
    compacted into format 2 at start-up, so that large writes can be chained."""
    srv = harness.PhidbServer()
    srv.stop()
    log = os.path.join(srv.dir, "data", "phidb.log")
    with open(log, "r+b") as f:  # a log of no records: only its header says format 1
        head = f.read(12)
        run.require(head[:8] == b"PHIDBLOG" and head[8:12] == b"\0\0\0\x02", "a format 2 log")
        f.seek(8)
        f.write(b"\0\0\0\x01")
    srv.restart()
    c = srv.raw()
    harness.wait_until(lambda: b"aof_rewrites:1\r\n" in c.call("INFO", "persistence")[1],
                       timeout=60, what="the compaction at start-up")
    run.check("written by an older phidb (format 1): compacting it into format 2"
              in srv.log_text(), "start-up says it compacts the format 1 log")
    with open(log, "rb") as f:
        run.eq(f.read(12)[8:], b"\0\0\0\x02", "the log is in format 2 now")
    run.eq(c.call("SET", "k", "v"), ("+", b"OK"), "writes go on")
    c.close()
    srv.stop()
    srv.restart()
    c = srv.raw()
    run.eq(c.call("GET", "k"), ("$", b"v"), "and survive a restart")
    c.close()
    srv.stop()


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    with run.case("writes larger than the log's part size"):
        large_writes(run)
    with run.case("a format 1 log is compacted at start-up"):
        format_1_log(run)


if __name__ == "__main__":
    harness.main(body)
