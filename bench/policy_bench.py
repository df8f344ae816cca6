"""Cost of the access decision: HGETALL and HSET on records under a schema vs outside any.

One phidb server with a policy (schema `rec:*`, 10 fields in 5 groups, a role that reads
and writes the five groups named one by one, so every field of an HGETALL goes through the
field filter), the same data under `rec:` (governed by the policy) and `oth:` (no schema),
and redis-server with TLS holding the `oth:` data, in one run. redis-benchmark (50 clients,
TLS) runs the custom commands
    HGETALL rec:__rand_int__   vs   HGETALL oth:__rand_int__
    HSET rec:__rand_int__ f3 <40 B>   vs   HSET oth:__rand_int__ f3 <40 B>
alternating (ABAB...) for BENCH_ROUNDS rounds; the table shows medians and the ratio
schema/no-schema (issue 4: at least 0.95), with redis-server beside it for scale.

    /usr/bin/python3 bench/policy_bench.py          # BENCH_ROUNDS=3 BENCH_REQUESTS=200000
"""

import os
import sys
import time

import common
from common import harness

RECORDS = common.env_int("BENCH_KEYSPACE", 10000)
ROUNDS = common.env_int("BENCH_ROUNDS", 3)
PIPELINES = [int(p) for p in os.environ.get("BENCH_PIPELINES", "1 16").split()]
CLIENTS = common.env_int("BENCH_CLIENTS", 50)
VALUE = b"v" * 40

POLICY = """\
schema rec:* type=rec subject=f0
field rec f0 group=g0 phi=mrn
field rec f1 group=g0 phi=name
field rec f2 group=g1 phi=date
field rec f3 group=g1
field rec f4 group=g2
field rec f5 group=g2
field rec f6 group=g3
field rec f7 group=g3
field rec f8 group=g4
field rec f9 group=g4
role clinician read=g0,g1,g2,g3,g4 write=g0,g1,g2,g3,g4
"""


def fill(server, prefixes):
    def chunks():
        for start in range(0, RECORDS, 2000):
            out = []
            for i in range(start, min(start + 2000, RECORDS)):
                for p in prefixes:
                    args = ["HSET", b"%s:%012d" % (p, i)]
                    for f in range(10):
                        args += [b"f%d" % f, VALUE]
                    out.append(harness.encode_command(*args))
            yield b"".join(out)
    common.pipe_load(server, chunks())


def bench(server, args, n, pipeline):
    return common.custom_rps(server, args, n, pipeline, CLIENTS, RECORDS)


def main():
    os.environ.setdefault("PHIDB_BUILD", os.path.join(common.ROOT, "build"))
    phidb = harness.PhidbServer()
    phidb.use_policy(POLICY)
    c = phidb.raw()
    r = c.call("ACL", "SETUSER", "admin", "role=clinician")
    c.close()
    if r[0] != "+":
        raise SystemExit(f"cannot give admin the role: {r}")
    redis = harness.RedisServer()
    ok = False
    try:
        fill(phidb, [b"rec", b"oth"])
        fill(redis, [b"oth"])
        c = phidb.raw()
        probe = c.call("HGETALL", "rec:000000000001")
        c.close()
        if probe[0] != "*" or len(probe[1]) != 20:
            raise RuntimeError(f"records not readable under the policy: {probe}")
        n_default = common.env_int("BENCH_REQUESTS", 200000)
        tests = [("HGETALL", ["HGETALL", "{p}:__rand_int__"]),
                 ("HSET", ["HSET", "{p}:__rand_int__", "f3", VALUE.decode()])]
        rows = []
        for name, tmpl in tests:
            for pl in PIPELINES:
                n = n_default * (1 if pl == 1 else 4)
                res = {"rec": [], "oth": [], "redis": []}
                for _ in range(ROUNDS):
                    for who in ("rec", "oth", "redis"):
                        srv = redis if who == "redis" else phidb
                        p = "oth" if who == "redis" else who
                        args = [a.replace("{p}", p) for a in tmpl]
                        res[who].append(bench(srv, args, n, pl))
                med = {k: sorted(v)[(len(v) - 1) // 2] for k, v in res.items()}
                rows.append((name, pl, med["rec"], med["oth"], med["redis"],
                             min(res["rec"]) / max(res["oth"]), max(res["rec"]) / min(res["oth"])))
        print(f"\nAccess decision cost, {RECORDS} records of 10 fields x 40 B, {CLIENTS} clients,"
              f" TLS, {ROUNDS} rounds (medians, ops/s)")
        print(f"{'test':8} {'P':>3} {'schema':>10} {'no schema':>10} {'ratio':>6} "
              f"{'(range)':>13} {'redis':>10} {'schema/redis':>12}")
        for name, pl, a, b, rd, lo, hi in rows:
            print(f"{name:8} {pl:>3} {a:>10.0f} {b:>10.0f} {a / b:>6.2f} "
                  f"{lo:>6.2f}-{hi:<6.2f} {rd:>10.0f} {a / rd:>12.2f}")
        ok = True
    finally:
        common.finish([phidb, redis], ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
