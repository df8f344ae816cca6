"""Cost of the audit trail: GET, HGET, HGETALL and HSET with every access recorded vs none.

Two phidb servers and redis-server (TLS) in one run: phidb with `audit-unclassified all`
(every data command is an audit record: JSON line, hash chain, zstd, AES-GCM, written by
the trail's thread, `audit-fsync everysec`) and phidb with `audit-unclassified none` (the
keys are outside every schema, so nothing is recorded), the same data in each. redis-benchmark
(50 clients, TLS) alternates between them for BENCH_ROUNDS rounds; the table shows medians,
the ratio audited / not audited (issue 5: at least 0.9) and the ratio to redis. Afterwards
the audited server's segment bytes and record count give the average record size.

    /usr/bin/python3 bench/audit_bench.py       # BENCH_ROUNDS=3 BENCH_REQUESTS=200000
"""

import os
import subprocess
import sys

import common
from common import harness

KEYS = common.env_int("BENCH_KEYSPACE", 10000)
ROUNDS = common.env_int("BENCH_ROUNDS", 3)
PIPELINES = [int(p) for p in os.environ.get("BENCH_PIPELINES", "1 16").split()]
CLIENTS = common.env_int("BENCH_CLIENTS", 50)
VALUE = b"v" * 40


def fill(server):
    def chunks():
        for start in range(0, KEYS, 2000):
            out = []
            for i in range(start, min(start + 2000, KEYS)):
                out.append(harness.encode_command("SET", b"key:%012d" % i, b"x" * 256))
                args = ["HSET", b"h:%012d" % i]
                for f in range(10):
                    args += [b"f%d" % f, VALUE]
                out.append(harness.encode_command(*args))
            yield b"".join(out)
    common.pipe_load(server, chunks())


def bench(server, args, n, pipeline):
    return common.custom_rps(server, args, n, pipeline, CLIENTS, KEYS)


def dir_bytes(path):
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def main():
    os.environ.setdefault("PHIDB_BUILD", os.path.join(common.ROOT, "build"))
    on = harness.PhidbServer(extra={"audit-unclassified": "all"})
    off = harness.PhidbServer(extra={"audit-unclassified": "none"})
    redis = harness.RedisServer()
    ok = False
    try:
        for s in (on, off, redis):
            fill(s)
        n_default = common.env_int("BENCH_REQUESTS", 200000)
        tests = [("GET", ["GET", "key:__rand_int__"]),
                 ("HGET", ["HGET", "h:__rand_int__", "f3"]),
                 ("HGETALL", ["HGETALL", "h:__rand_int__"]),
                 ("HSET", ["HSET", "h:__rand_int__", "f3", VALUE.decode()])]
        rows = []
        for name, args in tests:
            for pl in PIPELINES:
                n = n_default * (1 if pl == 1 else 4)
                res = {"on": [], "off": [], "redis": []}
                for _ in range(ROUNDS):
                    for who, srv in (("on", on), ("off", off), ("redis", redis)):
                        res[who].append(bench(srv, args, n, pl))
                med = {k: sorted(v)[(len(v) - 1) // 2] for k, v in res.items()}
                rows.append((name, pl, med["on"], med["off"], med["redis"],
                             min(res["on"]) / max(res["off"]), max(res["on"]) / min(res["off"])))
        c = on.raw()
        c.call("PING")
        c.close()
        on.stop()
        seg = dir_bytes(os.path.join(on.dir, "data", "audit"))
        r = subprocess.run([on.tool_bin, "audit", "verify", on.dir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=3600)
        print(r.stdout.decode()[-600:])
        print(f"\nAudit cost, {KEYS} keys, {CLIENTS} clients, TLS, {ROUNDS} rounds "
              f"(medians, ops/s)")
        print(f"{'test':8} {'P':>3} {'audited':>10} {'not':>10} {'ratio':>6} {'(range)':>13} "
              f"{'redis':>10} {'audited/redis':>13}")
        for name, pl, a, b, rd, lo, hi in rows:
            print(f"{name:8} {pl:>3} {a:>10.0f} {b:>10.0f} {a / b:>6.2f} "
                  f"{lo:>6.2f}-{hi:<6.2f} {rd:>10.0f} {a / rd:>13.2f}")
        print(f"segment bytes on disk (compressed, sealed): {seg}")
        ok = True
    finally:
        common.finish([off, redis] + ([on] if on.proc is not None else []), ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
