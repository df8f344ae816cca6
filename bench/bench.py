"""Throughput side by side: redis-benchmark against redis-server and phidb in one run.

Both servers use TLS (redis-benchmark --tls --cacert) and are driven as `admin`
(--user admin -a PW). Tests: SET, GET, HSET, HGET, MSET (10 keys), each with 50 clients,
256-byte values, random keys over 100,000 (-r), without pipelining and with -P 16.
redis-benchmark 7.0 has no built-in HGET test, so HGET runs the custom command
`hget myhash element:__rand_int__` (the hash its HSET test writes to). Before the first
test both servers get the same keyspace (key:NNNNNNNNNNNN strings and myhash fields, as
redis-benchmark names them), so GET and HGET hit existing data whatever tests are chosen.

The two servers are benchmarked alternately, test by test (in ABBA order), so that load
from other jobs on the machine affects both alike. Each test runs a fixed number of
requests, chosen to take about 10 s on redis-server with TLS on a 2-core machine.

Output: a table (test, pipeline, redis ops/s, phidb ops/s, ratio phidb/redis) and a CSV
in bench/results/ with latencies and every round's figure as well. The table also gives
each server's CPU time per operation (all its threads, from /proc; the median run's) and
their ratio redis/phidb: on a machine the client shares, throughput moves with whatever
else runs, while the CPU a server spends on an operation is its own cost (1.0: as cheap
as redis-server; 0.5: twice its CPU).

Environment (besides common.py's PHIDB_BUILD, PHIDB_TARGET, BENCH_ARGON2):
  BENCH_SCALE      multiply every request count (e.g. 0.05 for a quick try; default 1)
  BENCH_REQUESTS   one request count for every test (overrides the table and the scale)
  BENCH_TESTS      comma list from set,get,hset,hget,mset (default: all)
  BENCH_PIPELINES  space or comma list (default: "1 16")
  BENCH_CLIENTS    default 50;  BENCH_DATA: value size, default 256
  BENCH_KEYSPACE   -r value, default 100000
  BENCH_ROUNDS     run every test this many times per server, interleaved, and report the
                   median (default 1); use 3 or more for figures you want to quote
"""

import csv
import os
import re
import subprocess
import sys
import time

import common
from common import env_int, harness

# Requests per test for about 10 s on redis-server 7.0 + TLS (2 cores, 50 clients, 256 B).
DEFAULT_REQUESTS = {
    ("set", 1): 500_000, ("get", 1): 600_000, ("hset", 1): 600_000,
    ("hget", 1): 700_000, ("mset", 1): 350_000,
    ("set", 16): 5_000_000, ("get", 16): 5_000_000, ("hset", 16): 5_000_000,
    ("hget", 16): 5_000_000, ("mset", 16): 650_000,
}
TEST_ARGS = {
    "set": ["-t", "set"],
    "get": ["-t", "get"],
    "hset": ["-t", "hset"],
    "hget": ["hget", "myhash", "element:__rand_int__"],
    "mset": ["-t", "mset"],
}


def requests_for(test, pipeline):
    forced = env_int("BENCH_REQUESTS", 0)
    if forced:
        return forced
    base = DEFAULT_REQUESTS.get((test, pipeline), DEFAULT_REQUESTS[(test, 1)] * pipeline)
    return max(1000, int(base * common.env_float("BENCH_SCALE", 1.0)))


def fill(server, keyspace, size):
    """key:%012d strings and myhash element:%012d fields, as redis-benchmark names them."""
    value = b"x" * size

    def chunks():
        for start in range(0, keyspace, 5000):
            yield b"".join(harness.encode_command("SET", b"key:%012d" % i, value)
                           for i in range(start, min(start + 5000, keyspace)))
            yield b"".join(harness.encode_command("HSET", "myhash", b"element:%012d" % i, value)
                           for i in range(start, min(start + 5000, keyspace)))
    common.pipe_load(server, chunks())


def run_benchmark(server, test, pipeline, n, clients, size, keyspace):
    """One redis-benchmark run; returns dict(rps, p50, p99, seconds) or raises."""
    cmd = ["redis-benchmark", "--tls", "--cacert", server.ca, "-h", harness.HOST,
           "-p", str(server.port), "--user", "admin", "-a", server.password,
           "-c", str(clients), "-n", str(n), "-d", str(size), "-r", str(keyspace),
           "-P", str(pipeline), "--csv"] + TEST_ARGS[test]
    t0 = time.monotonic()
    cpu0 = common.cpu_seconds(server.proc.pid)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=3600)
    cpu = common.cpu_seconds(server.proc.pid) - cpu0
    seconds = time.monotonic() - t0
    out = p.stdout.decode("utf-8", "replace")
    err = p.stderr.decode("utf-8", "replace")
    rows = [r for r in csv.reader(out.splitlines()) if r and r[0] != "test"]
    if p.returncode != 0 or not rows or re.search(r"\bERR\b|Error|NOPERM|WRONGPASS", out + err):
        raise RuntimeError(f"redis-benchmark {test} -P {pipeline} on {server.kind} failed "
                           f"(rc={p.returncode}):\n{out[-1500:]}\n{err[-1500:]}")
    row = rows[-1]
    # "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms",
    # "p99_latency_ms","max_latency_ms"
    return {"rps": float(row[1]), "p50": float(row[4]), "p99": float(row[6]),
            "seconds": seconds, "cpu_us": cpu / n * 1e6}


def median_run(runs):
    """The run with the median ops/s (of an odd count; the lower middle otherwise)."""
    return sorted(runs, key=lambda r: r["rps"])[(len(runs) - 1) // 2]


def sanity(server, size):
    """The benchmark wrote real data (and the server did not just reply errors)."""
    c = server.raw()
    try:
        g = c.call("GET", "key:000000000000")
        h = c.call("HGET", "myhash", "element:000000000000")
        n = c.call("DBSIZE")
    finally:
        c.close()
    ok = g[0] == "$" and g[1] is not None and len(g[1]) == size and h[0] == "$" and \
        h[1] is not None and len(h[1]) == size and n[0] == ":" and n[1] > 1000
    if not ok:
        raise RuntimeError(f"{server.kind}: data check failed: GET={harness.show(g, 80)} "
                           f"HGET={harness.show(h, 80)} DBSIZE={n}")


def main():
    tests = [t.strip() for t in common.os.environ.get("BENCH_TESTS", "set,get,hset,hget,mset")
             .split(",") if t.strip()]
    unknown = [t for t in tests if t not in TEST_ARGS]
    if unknown:
        sys.exit(f"unknown BENCH_TESTS entries: {unknown}")
    pipelines = [int(x) for x in re.split(r"[ ,]+", common.os.environ.get("BENCH_PIPELINES",
                                                                          "1 16").strip()) if x]
    clients = env_int("BENCH_CLIENTS", 50)
    size = env_int("BENCH_DATA", 256)
    keyspace = env_int("BENCH_KEYSPACE", 100_000)
    rounds = max(1, env_int("BENCH_ROUNDS", 1))

    redis, phidb = common.start_pair(fast_argon2_default=True)
    servers = (redis, phidb)
    ok = True
    rows = []
    try:
        print(f"redis: {redis.kind} port {redis.port}; phidb: {phidb.kind} port {phidb.port}")
        print(f"{clients} clients, {size}-byte values, keyspace {keyspace}, TLS, user admin")
        print(f"redis AOF: {os.environ.get('BENCH_AOF') or 'off'}; phidb audit of unclassified "
              f"keys: {'none' if os.environ.get('BENCH_AUDIT') else 'all (default)'}")
        for s in servers:
            t0 = time.monotonic()
            fill(s, keyspace, size)
            print(f"filled {s.kind}: {keyspace} keys + {keyspace} hash fields "
                  f"in {time.monotonic() - t0:.1f}s")
        for pipeline in pipelines:
            for test in tests:
                n = requests_for(test, pipeline)
                runs = {"redis": [], "phidb": []}
                for rnd in range(rounds):
                    order = [("redis", redis), ("phidb", phidb)]
                    if (len(rows) + rnd) % 2:  # ABBA order: neither server always runs first
                        order.reverse()
                    for name, s in order:
                        r = run_benchmark(s, test, pipeline, n, clients, size, keyspace)
                        runs[name].append(r)
                        print(f"  {test:5} -P {pipeline:<3} {name:6} {r['rps']:>12,.0f} ops/s "
                              f"({n:,} requests, {r['seconds']:.1f}s)", flush=True)
                rows.append((test, pipeline, n, median_run(runs["redis"]),
                             median_run(runs["phidb"]), runs))
        for s in servers:
            sanity(s, size)
    except Exception as e:  # noqa: BLE001 - reported, and the exit status says so
        ok = False
        print(f"\nFAILED: {e}", file=sys.stderr)
    finally:
        ok = common.finish(servers, ok) and ok

    if rows:
        print()
        print(f"{'test':6} {'pipeline':>8} {'redis ops/s':>14} {'phidb ops/s':>14} "
              f"{'phidb/redis':>12} {'redis us/op':>12} {'phidb us/op':>12} "
              f"{'CPU redis/phidb':>16}")
        for test, pipeline, n, r, p, _ in rows:
            print(f"{test.upper():6} {pipeline:>8} {r['rps']:>14,.0f} {p['rps']:>14,.0f} "
                  f"{common.ratio(p['rps'], r['rps']):>12} {r['cpu_us']:>12.2f} "
                  f"{p['cpu_us']:>12.2f} {common.ratio(r['cpu_us'], p['cpu_us']):>16}")
        path = common.results_path("bench")
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["test", "pipeline", "clients", "data_size", "keyspace", "requests",
                        "redis_ops_per_s", "phidb_ops_per_s", "ratio_phidb_redis",
                        "redis_p50_ms", "phidb_p50_ms", "redis_p99_ms", "phidb_p99_ms",
                        "rounds", "redis_ops_per_s_all", "phidb_ops_per_s_all", "phidb_is",
                        "redis_cpu_us_per_op", "phidb_cpu_us_per_op"])
            for test, pipeline, n, r, p, runs in rows:
                w.writerow([test, pipeline, clients, size, keyspace, n, r["rps"], p["rps"],
                            f"{p['rps'] / r['rps']:.4f}", r["p50"], p["p50"], r["p99"],
                            p["p99"], rounds,
                            " ".join(f"{x['rps']:.0f}" for x in runs["redis"]),
                            " ".join(f"{x['rps']:.0f}" for x in runs["phidb"]), phidb.kind,
                            f"{r['cpu_us']:.3f}", f"{p['cpu_us']:.3f}"])
        print(f"\nCSV: {path}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
