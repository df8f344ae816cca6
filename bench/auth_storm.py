"""AUTH storm: many clients reconnecting and authenticating, and what everyone else sees.

phidb hashes passwords with Argon2id, which is deliberately slow; if that work ran on the
event loop, every other client would wait behind each login. This measures, for
redis-server and for phidb in the same run:
  1. baseline: one client's GET latency (p50/p99/max) on an established connection;
  2. storm: N worker processes each in a loop of TLS connect, AUTH admin, PING, close,
     while the same client keeps measuring GET latency.
Reported: AUTHs/s (and failed AUTHs), GET latency without and during the storm.

phidb runs with its own Argon2 parameters here (BENCH_ARGON2=default is the default for
this script; BENCH_ARGON2=fast uses the test-speed ones): the point is the real cost.

Environment (besides common.py's): AUTH_STORM_WORKERS (default 4), AUTH_STORM_SECONDS
(default 10 per phase). Output: a table and bench/results/auth_storm-*.csv.
"""

import csv
import multiprocessing as mp
import sys
import time

import common
from common import env_int, harness


def storm_worker(port, ca, password, seconds, counts):
    """Connect + AUTH + PING + close in a loop; add to counts[0] (ok) and counts[1] (fail)."""
    ok = fail = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            c = harness.RawConn(port, ca)
            try:
                if c.call("AUTH", "admin", password) == ("+", b"OK") and \
                        c.call("PING") == ("+", b"PONG"):
                    ok += 1
                else:
                    fail += 1
            finally:
                c.close()
        except Exception:  # noqa: BLE001 - a refused or dropped connection counts as failed
            fail += 1
    with counts.get_lock():
        counts[0] += ok
        counts[1] += fail


def measure_gets(conn, seconds):
    """GET latencies (seconds) on one connection for `seconds`."""
    lat = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        t0 = time.perf_counter()
        r = conn.call("GET", "storm:probe")
        lat.append(time.perf_counter() - t0)
        if r[0] != "$":
            raise RuntimeError(f"GET failed during the storm: {r!r}")
    return lat


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * p / 100))] if v else float("nan")


def run_one(server, workers, seconds):
    probe = server.raw()
    probe.call("SET", "storm:probe", "x" * 256)
    base = measure_gets(probe, seconds)
    counts = mp.Array("q", [0, 0])
    procs = [mp.Process(target=storm_worker,
                        args=(server.port, server.ca, server.password, seconds, counts))
             for _ in range(workers)]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    during = measure_gets(probe, seconds)
    for p in procs:
        p.join(timeout=seconds + 300)
    elapsed = time.monotonic() - t0
    probe.close()
    return {"auth_ok": counts[0], "auth_fail": counts[1], "auth_per_s": counts[0] / elapsed,
            "base": base, "during": during}


def main():
    workers = env_int("AUTH_STORM_WORKERS", 4)
    seconds = env_int("AUTH_STORM_SECONDS", 10)
    mp.set_start_method("fork")
    redis, phidb = common.start_pair(fast_argon2_default=False)
    ok, res = True, {}
    try:
        for name, s in (("redis", redis), ("phidb", phidb)):
            print(f"{s.kind}: {seconds}s baseline, then {seconds}s with {workers} workers "
                  "reconnecting + AUTH ...", flush=True)
            res[name] = run_one(s, workers, seconds)
    except Exception as e:  # noqa: BLE001 - reported, and the exit status says so
        ok = False
        print(f"\nFAILED: {e}", file=sys.stderr)
    finally:
        ok = common.finish((redis, phidb), ok) and ok
    if len(res) < 2:
        sys.exit(1)

    ms = 1000.0
    print(f"\n{'':6} {'AUTHs/s':>9} {'failed':>7}   {'GET p50/p99/max ms, no storm':>30}"
          f"   {'GET p50/p99/max ms, storm':>28}")
    for name in ("redis", "phidb"):
        r = res[name]
        b, d = r["base"], r["during"]
        print(f"{name:6} {r['auth_per_s']:>9.1f} {r['auth_fail']:>7}   "
              f"{pct(b, 50) * ms:>10.3f}{pct(b, 99) * ms:>10.3f}{max(b) * ms:>10.3f}   "
              f"{pct(d, 50) * ms:>9.3f}{pct(d, 99) * ms:>10.3f}{max(d) * ms:>10.3f}")
    p, r = res["phidb"], res["redis"]
    print(f"ratio phidb/redis: AUTHs/s {common.ratio(p['auth_per_s'], r['auth_per_s'])}, "
          f"GET p99 during the storm "
          f"{common.ratio(pct(p['during'], 99), pct(r['during'], 99))}")
    path = common.results_path("auth_storm")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["server", "workers", "seconds", "auths_per_s", "auth_failures",
                    "base_gets", "base_p50_ms", "base_p99_ms", "base_max_ms",
                    "storm_gets", "storm_p50_ms", "storm_p99_ms", "storm_max_ms", "phidb_is"])
        for name in ("redis", "phidb"):
            r = res[name]
            b, d = r["base"], r["during"]
            w.writerow([name, workers, seconds, f"{r['auth_per_s']:.2f}", r["auth_fail"],
                        len(b), f"{pct(b, 50) * ms:.4f}", f"{pct(b, 99) * ms:.4f}",
                        f"{max(b) * ms:.4f}", len(d), f"{pct(d, 50) * ms:.4f}",
                        f"{pct(d, 99) * ms:.4f}", f"{max(d) * ms:.4f}", phidb.kind])
    print(f"\nCSV: {path}")
    if res["phidb"]["auth_fail"] or res["redis"]["auth_fail"]:
        print("note: some AUTHs failed (lockout, throttling or refused connections)")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
