#!/usr/bin/env python3
"""Log load time: 1,000,000 keys of 256 bytes, redis-server's AOF against phidb's durable log.

Both servers run with their append-only log (redis-server `appendonly yes`,
`aof-use-rdb-preamble no`, so its AOF holds commands as phidb's log holds records; both
with appendfsync everysec). The same keys are loaded into each through `redis-cli --pipe`,
both are stopped (SIGTERM) and started again, and the time each takes to load is read from
its own log ("DB loaded from append only file: N seconds" / "loaded in N ms"), and checked
against the wall time from start to a successful PING. Ratio phidb/redis (lower is better).

Environment: MEM_KEYS (1000000), MEM_VALUE_SIZE (256), PHIDB_BUILD.
"""

import os
import re
import time

import common
import harness


def load_keys(server, n, size):
    value = b"x" * size

    def chunks():
        batch = []
        for i in range(n):
            k = b"key:%012d" % i
            batch.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, size, value))
            if len(batch) == 10000:
                yield b"".join(batch)
                batch = []
        if batch:
            yield b"".join(batch)

    common.pipe_load(server, chunks())


def restart_timed(server):
    server.stop()
    t0 = time.monotonic()
    server.restart()
    wall = time.monotonic() - t0
    return wall


def main():
    n = common.env_int("MEM_KEYS", 1000000)
    size = common.env_int("MEM_VALUE_SIZE", 256)
    os.environ.setdefault("PHIDB_BUILD", os.path.join(common.ROOT, "build"))
    redis = harness.RedisServer(extra={"appendonly": "yes", "appendfsync": "everysec",
                                       "aof-use-rdb-preamble": "no"})
    phidb = harness.PhidbServer(extra={"appendfsync": "everysec"})
    rows = []
    for name, srv in (("redis", redis), ("phidb", phidb)):
        print(f"loading {n:,} keys of {size} bytes into {name} ...", flush=True)
        load_keys(srv, n, size)
        c = srv.raw()
        if name == "redis":
            # Let redis finish its first AOF rewrite (started by the load) so that what is
            # loaded afterwards is a plain AOF of commands.
            harness.wait_until(lambda: b"aof_rewrite_in_progress:0" in c.call("INFO", "persistence")[1],
                               timeout=600, what="redis AOF rewrite")
        dbsize = c.call("DBSIZE")[1]
        c.close()
        if dbsize != n:
            raise SystemExit(f"{name}: DBSIZE {dbsize}, expected {n}")
        wall = restart_timed(srv)
        log = srv.log_text()
        if name == "redis":
            m = re.findall(r"DB loaded from append only file: ([0-9.]+) seconds", log)
            own = float(m[-1]) if m else None
        else:
            m = re.findall(r"loaded in ([0-9]+) ms", log)
            own = float(m[-1]) / 1000 if m else None
        c = srv.raw()
        dbsize = c.call("DBSIZE")[1]
        c.close()
        if dbsize != n:
            raise SystemExit(f"{name}: DBSIZE {dbsize} after the restart, expected {n}")
        size_on_disk = sum(os.path.getsize(os.path.join(r, f))
                           for r, _, fs in os.walk(srv.dir) for f in fs
                           if "appendonly" in f or f.startswith("phidb.log"))
        rows.append((name, own, wall, size_on_disk))
        srv.stop()
    print()
    print(f"{'':8}{'load (own log)':>16}{'start to PING':>16}{'log bytes':>16}")
    for name, own, wall, size_on_disk in rows:
        print(f"{name:8}{own if own is not None else float('nan'):>15.2f}s{wall:>15.2f}s"
              f"{size_on_disk:>16,}")
    (_, ro, rw, _), (_, po, pw, _) = rows
    print(f"ratio phidb/redis: load {po / ro:.2f}, start to PING {pw / rw:.2f} (lower is better;"
          f" the issue asks for at most 1.5)")


if __name__ == "__main__":
    main()
