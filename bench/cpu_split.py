"""Where the CPU of one redis-benchmark test goes, thread by thread (a tool for profiling work,
not a ratio: the figures are per operation, of one server at a time).

Starts phidb (or, with --redis, redis-server) exactly as the other scripts do, warms it up
with SET and HSET, runs one redis-benchmark test (50 clients, -d 256, -r 100000, TLS) and
prints the throughput and, per operation, the CPU microseconds of each server thread by
name (phidb names its threads: phidb-server is the event loop, phidb-audit the audit writer,
phidb-rewrite the compaction writer, phidb-fsync, phidb-syslog, phidb-worker, phidb-backup)
and of redis-benchmark itself, and the server's read and write system calls per 1000
operations (/proc/PID/io: syscr, syscw; all threads). On a 2-core machine the sum is the budget that decides the
ratios of bench.py and audit_bench.py.

    /usr/bin/python3 bench/cpu_split.py get 16
    /usr/bin/python3 bench/cpu_split.py hset 16 audit-unclassified=none
    /usr/bin/python3 bench/cpu_split.py get 16 --redis
    BENCH_REQUESTS=2000000 /usr/bin/python3 bench/cpu_split.py set 1

Arguments: test (set, get, hset, hget, mset), pipeline, then phidb directives as name=value.
"""

import os
import re
import resource
import subprocess
import sys

import common
from common import harness

TESTS = {"set": ["-t", "set"], "get": ["-t", "get"], "hset": ["-t", "hset"],
         "hget": ["hget", "myhash", "element:__rand_int__"], "mset": ["-t", "mset"]}


def threads(pid):
    """{tid: (name, cpu seconds, minor page faults)} of a process."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{t}/stat") as f:
                st = f.read()
        except OSError:
            continue  # the thread ended
        name = st[st.index("(") + 1:st.rindex(")")]
        x = st[st.rindex(")") + 2:].split()
        out[t] = (name, (int(x[11]) + int(x[12])) / tick, int(x[7]))
    return out


def syscalls(pid):
    """(read-like, write-like) system calls of the whole process so far (/proc/PID/io)."""
    with open(f"/proc/{pid}/io") as f:
        kv = dict(line.split(": ") for line in f.read().splitlines())
    return int(kv["syscr"]), int(kv["syscw"])


def main():
    args = [a for a in sys.argv[1:] if a != "--redis"]
    use_redis = "--redis" in sys.argv[1:]
    if len(args) < 2 or args[0] not in TESTS or not args[1].isdigit():
        print(__doc__.strip(), file=sys.stderr)
        return 2
    test, pipeline = args[0], args[1]
    extra = dict(a.split("=", 1) for a in args[2:])
    n = common.env_int("BENCH_REQUESTS", 1000000)
    os.environ.setdefault("PHIDB_BUILD", os.path.join(common.ROOT, "build"))
    srv = harness.RedisServer() if use_redis else harness.PhidbServer(extra=extra)
    ok = False
    try:
        base = ["redis-benchmark", "--tls", "--cacert", srv.ca, "-h", harness.HOST,
                "-p", str(srv.port), "--user", "admin", "-a", srv.password, "-c", "50",
                "-d", "256", "-r", "100000", "-P", pipeline, "-q"]
        subprocess.run(base + ["-n", "200000", "-t", "set,hset"], stdout=subprocess.DEVNULL,
                       check=True)
        pid = srv.proc.pid
        before = threads(pid)
        sc0 = syscalls(pid)
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(base + ["-n", str(n)] + TESTS[test], capture_output=True,
                             text=True, check=True).stdout
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        after = threads(pid)
        sc1 = syscalls(pid)
        m = re.search(r"([0-9.]+) requests per second", out)
        if not m:
            raise RuntimeError(f"redis-benchmark said: {out[-400:]}")
        print(f"{'redis-server' if use_redis else 'phidb'} {test} -P {pipeline}: "
              f"{float(m.group(1)):,.0f} ops/s")
        per, faults = {}, {}
        for t, (name, cpu, flt) in after.items():
            b = before.get(t, (name, 0.0, 0))
            per[name] = per.get(name, 0.0) + cpu - b[1]
            faults[name] = faults.get(name, 0) + flt - b[2]
        total = 0.0
        for name, cpu in sorted(per.items(), key=lambda kv: -kv[1]):
            if cpu > 0:
                print(f"  {name:16} {cpu / n * 1e6:6.2f} us/op  {faults[name] / n * 1000:7.2f} "
                      f"page faults per 1000 ops")
                total += cpu
        client = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
        print(f"  {'(server total)':16} {total / n * 1e6:6.2f} us/op")
        print(f"  {'redis-benchmark':16} {client / n * 1e6:6.2f} us/op")
        print(f"  system calls per 1000 ops: {(sc1[0] - sc0[0]) / n * 1000:.1f} reads, "
              f"{(sc1[1] - sc0[1]) / n * 1000:.1f} writes")
        ok = True
    finally:
        common.finish([srv], ok)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
