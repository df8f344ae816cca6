"""Backups at scale: time and throughput cost, measured in one run on this machine.

1. A phidb server (TLS, user admin) is filled with BENCH_BACKUP_KEYS keys (default 1,000,000)
   of BENCH_DATA bytes (default 256) through `redis-cli --pipe`.
2. Online: PHI.BACKUP (snapshot on the event loop in slices, sealed and written by the
   writer thread, verified on a worker thread) -- the time until the verified reply.
3. Throughput: redis-benchmark over TLS (GET and SET, 50 clients, random keys over the
   loaded keyspace) without a backup, then while PHI.BACKUP runs back to back for the whole
   benchmark, alternating A B A B (BENCH_ROUNDS pairs, default 2) so that other load on the
   machine affects both alike; the ratio is during / without.
4. Offline tools on the same data: `phidb backup` (server stopped: loads the log and writes
   the backup), `phidb backup verify`, `phidb restore`, the restored server's start until it
   answers PING, and `phidb restore --drill`.

Prints a table and writes a CSV in bench/results/. Environment: BENCH_BACKUP_KEYS,
BENCH_DATA, BENCH_ROUNDS, BENCH_REQUESTS (per redis-benchmark run, default 400,000), plus
common.py's PHIDB_BUILD.
"""

import csv
import os
import re
import subprocess
import sys
import threading
import time

import common
from common import env_int, harness


def fill(server, n, size):
    value = b"x" * size

    def chunks():
        for start in range(0, n, 10000):
            yield b"".join(harness.encode_command("SET", b"key:%012d" % i, value)
                           for i in range(start, min(start + 10000, n)))
    common.pipe_load(server, chunks())


def bench(server, test, n, keyspace, size):
    cmd = ["redis-benchmark", "--tls", "--cacert", server.ca, "-h", harness.HOST,
           "-p", str(server.port), "--user", "admin", "-a", server.password,
           "-c", "50", "-n", str(n), "-d", str(size), "-r", str(keyspace), "--csv",
           "-t", test]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=3600)
    out = p.stdout.decode("utf-8", "replace")
    rows = [r for r in csv.reader(out.splitlines()) if r and r[0] != "test"]
    if p.returncode != 0 or not rows or re.search(r"\bERR\b|NOPERM|WRONGPASS", out):
        raise RuntimeError(f"redis-benchmark {test} failed: {out[-800:]}")
    return float(rows[-1][1])


def tool(server, *args):
    t0 = time.monotonic()
    r = subprocess.run([server.tool_bin, *[str(a) for a in args]], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=3600)
    took = time.monotonic() - t0
    if r.returncode != 0:
        raise RuntimeError(f"phidb {' '.join(map(str, args))} failed:\n"
                           f"{r.stdout.decode()[-1500:]}\n{r.stderr.decode()[-1500:]}")
    return took, r.stdout.decode("utf-8", "replace")


class Looper:
    """PHI.BACKUP back to back on its own connection (each file removed after)."""

    def __init__(self, server):
        self.server = server
        self.stop = threading.Event()
        self.count = 0
        self.error = None
        self.thread = threading.Thread(target=self.run)

    def run(self):
        c = self.server.raw()
        try:
            while not self.stop.is_set():
                r = c.call("PHI.BACKUP", "loop.phib", timeout=3600)
                if r[0] != "*":
                    raise RuntimeError(harness.show(r))
                os.unlink(os.path.join(self.server.dir, "backups", "loop.phib"))
                self.count += 1
        except Exception as e:  # reported by the main thread
            self.error = e
        finally:
            c.close()


def main():
    keys = env_int("BENCH_BACKUP_KEYS", 1_000_000)
    size = env_int("BENCH_DATA", 256)
    rounds = max(1, env_int("BENCH_ROUNDS", 2))
    nreq = env_int("BENCH_REQUESTS", 400_000)
    srv = harness.PhidbServer()
    rows = []
    ok = True
    try:
        t0 = time.monotonic()
        fill(srv, keys, size)
        print(f"loaded {keys} keys of {size} bytes in {time.monotonic() - t0:.1f}s "
              f"(phidb on port {srv.port}, TLS)")
        c = srv.raw()
        t0 = time.monotonic()
        r = c.call("PHI.BACKUP", "online.phib", timeout=3600)
        online = time.monotonic() - t0
        if r[0] != "*":
            raise RuntimeError(harness.show(r))
        f = dict(zip([x[1] for x in r[1][0::2]], [x[1] for x in r[1][1::2]]))
        print(f"PHI.BACKUP (online, verified): {online:.2f}s, {f[b'keys']} keys, "
              f"{f[b'bytes'] / 1e6:.0f} MB")
        rows.append(("PHI.BACKUP online incl. verify", f"{online:.2f}", "s"))
        os.unlink(os.path.join(srv.dir, "backups", "online.phib"))
        c.close()

        results = {"get": ([], []), "set": ([], [])}
        for rnd in range(rounds):
            for test in ("get", "set"):
                base = bench(srv, test, nreq, keys, size)
                loop = Looper(srv)
                loop.thread.start()
                time.sleep(0.2)
                during = bench(srv, test, nreq, keys, size)
                loop.stop.set()
                loop.thread.join()
                if loop.error:
                    raise loop.error
                results[test][0].append(base)
                results[test][1].append(during)
                print(f"round {rnd + 1} {test.upper()}: without {base:,.0f} ops/s, during "
                      f"{during:,.0f} ops/s ({loop.count} backups ran), ratio "
                      f"{during / base:.2f}")
        for test, (a, b) in results.items():
            ratios = sorted(y / x for x, y in zip(a, b))
            med = ratios[(len(ratios) - 1) // 2]
            ra, rb = sorted(a)[(len(a) - 1) // 2], sorted(b)[(len(b) - 1) // 2]
            rows.append((f"{test.upper()} ops/s without / during (medians)",
                         f"{ra:.0f} / {rb:.0f}",
                         f"ratio during/without: median {med:.2f}, range "
                         f"{ratios[0]:.2f}-{ratios[-1]:.2f} over {len(ratios)} rounds"))

        srv.stop()
        root = harness.make_temp_dir("bkbench")
        path = os.path.join(root, "offline.phib")
        took, _ = tool(srv, "backup", srv.dir, "--to", path, "--no-verify")
        rows.append(("phidb backup (offline, log load included)", f"{took:.2f}", "s"))
        took, _ = tool(srv, "backup", "verify", path, "--from", srv.dir)
        rows.append(("phidb backup verify", f"{took:.2f}", "s"))
        inst = os.path.join(root, "inst")
        port = harness.free_port()
        took, _ = tool(srv, "restore", path, "--to", inst, "--from", srv.dir, "--port", port)
        rows.append(("phidb restore (verify + write)", f"{took:.2f}", "s"))
        t0 = time.monotonic()
        p = subprocess.Popen([srv.server_bin, os.path.join(inst, "phidb.conf")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        ca = os.path.join(inst, "tls", "ca.crt")
        while True:
            try:
                rc = harness.RawConn(port, ca, timeout=5)
                rc.auth("admin", srv.password)
                if rc.call("PING") == ("+", b"PONG"):
                    n = rc.call("DBSIZE")[1]
                    rc.close()
                    break
                rc.close()
            except Exception:
                if p.poll() is not None:
                    raise RuntimeError("the restored server exited")
                time.sleep(0.05)
        ready = time.monotonic() - t0
        p.terminate()
        p.wait(timeout=120)
        rows.append((f"restored server ready ({n} keys)", f"{ready:.2f}", "s"))
        took, out = tool(srv, "restore", "--drill", path, "--from", srv.dir)
        rows.append(("phidb restore --drill", f"{took:.2f}", "s"))
        rows.append(("backup file size", f"{os.path.getsize(path) / 1e6:.0f}", "MB"))
        print(out.strip())
    except Exception as e:
        print(f"FAILED: {e}", file=sys.stderr)
        ok = False
    finally:
        print(f"\n{'what':48} {'value':>22} unit")
        for r in rows:
            print(f"{r[0]:48} {r[1]:>22} {r[2]}")
        out = common.results_path("backup")
        with open(out, "w", newline="") as f:
            csv.writer(f).writerows([("what", "value", "unit")] + rows)
        print(f"written: {out}")
        ok = common.finish([srv], ok) and ok
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
