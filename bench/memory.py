"""Memory side by side: 1,000,000 keys of 256 bytes in redis-server and in phidb.

Each server starts empty; then the same keys (key:NNNNNNN, 256-byte printable values that
differ per key, so neither server can share or trivially compress them) are streamed in
through `redis-cli --pipe`, and DBSIZE must be exactly the number of keys. Reported per
server: INFO used_memory and the process's VmRSS (/proc/PID/status) before and after the
load, the growth, bytes per key, and the phidb/redis ratios.

Environment (besides common.py's): MEM_KEYS (default 1000000), MEM_VALUE_SIZE (256).
Output: a table and bench/results/memory-*.csv.
"""

import base64
import csv
import os
import sys
import time

import common
from common import env_int, harness


def commands(keys, size, seed=b"phidb-memory"):
    """RESP SET commands in chunks; values are printable and different for every key."""
    chunk = 10000
    for start in range(0, keys, chunk):
        count = min(chunk, keys - start)
        raw = base64.b64encode(os.urandom((size * count * 3) // 4 + 3))
        yield b"".join(harness.encode_command("SET", b"key:%07d" % i,
                                              raw[(i - start) * size:(i - start + 1) * size])
                       for i in range(start, start + count))


def measure(server):
    return {"used_memory": int(common.info_field(server, "memory", "used_memory") or 0),
            "rss_kib": common.vm_rss_kib(server.proc.pid)}


def load(server, keys, size):
    before = measure(server)
    t0 = time.monotonic()
    summary = common.pipe_load(server, commands(keys, size))
    seconds = time.monotonic() - t0
    c = server.raw()
    try:
        n = c.call("DBSIZE")
    finally:
        c.close()
    if n != (":", keys):
        raise RuntimeError(f"{server.kind}: DBSIZE is {n}, want {keys}\n{summary}")
    after = measure(server)
    return before, after, seconds


def main():
    keys = env_int("MEM_KEYS", 1_000_000)
    size = env_int("MEM_VALUE_SIZE", 256)
    redis, phidb = common.start_pair(fast_argon2_default=True)
    ok, results = True, {}
    try:
        for name, s in (("redis", redis), ("phidb", phidb)):
            print(f"loading {keys:,} keys of {size} bytes into {s.kind} ...", flush=True)
            results[name] = load(s, keys, size)
            print(f"  done in {results[name][2]:.1f}s, DBSIZE = {keys:,}")
    except Exception as e:  # noqa: BLE001 - reported, and the exit status says so
        ok = False
        print(f"\nFAILED: {e}", file=sys.stderr)
    finally:
        ok = common.finish((redis, phidb), ok) and ok
    if len(results) < 2:
        sys.exit(1)

    rows = []
    for name in ("redis", "phidb"):
        before, after, seconds = results[name]
        um = after["used_memory"] - before["used_memory"]
        rss = (after["rss_kib"] - before["rss_kib"]) * 1024
        rows.append((name, before, after, um, rss, seconds))
    print(f"\n{'':6} {'used_memory after':>18} {'growth':>14} {'B/key':>7} "
          f"{'RSS after':>14} {'RSS growth':>14} {'B/key':>7}")
    for name, before, after, um, rss, _ in rows:
        print(f"{name:6} {after['used_memory']:>18,} {um:>14,} {um / keys:>7.0f} "
              f"{after['rss_kib'] * 1024:>14,} {rss:>14,} {rss / keys:>7.0f}")
    r, p = rows[0], rows[1]
    print(f"ratio phidb/redis: used_memory growth {common.ratio(p[3], r[3])}, "
          f"RSS growth {common.ratio(p[4], r[4])}")

    path = common.results_path("memory")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["server", "keys", "value_size", "used_memory_before", "used_memory_after",
                    "used_memory_growth", "rss_before_bytes", "rss_after_bytes", "rss_growth",
                    "load_seconds", "phidb_is"])
        for name, before, after, um, rss, seconds in rows:
            w.writerow([name, keys, size, before["used_memory"], after["used_memory"], um,
                        before["rss_kib"] * 1024, after["rss_kib"] * 1024, rss,
                        f"{seconds:.2f}", phidb.kind])
        w.writerow(["ratio_phidb_redis", "", "", "", "", f"{p[3] / r[3]:.4f}" if r[3] else "",
                    "", "", f"{p[4] / r[4]:.4f}" if r[4] else "", "", ""])
    print(f"\nCSV: {path}")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
