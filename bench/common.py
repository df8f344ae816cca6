"""Shared by the benchmark scripts: start the two servers side by side, small helpers.

The servers are started with tests/integration/harness.py (the same code the integration
tests use): redis-server 7.0 with TLS and `--save '' --appendonly no`, and phidb-server
from $PHIDB_BUILD via `phidb init` in a temp dir, both with an `admin` user. Every number
the scripts print is a ratio of the two measured in the same run on the same machine.

Environment:
  PHIDB_BUILD     build dir holding phidb and phidb-server (default: <repo>/build)
  PHIDB_TARGET    `redis` runs a second redis-server in phidb's place (to try the scripts)
  BENCH_ARGON2    `fast` (default for throughput runs) passes --argon2-memory-kib 8192
                  --argon2-time 1; `default` keeps phidb's own (slower, real) parameters
  BENCH_AOF       `everysec` or `always`: redis-server runs with `appendonly yes` and that
                  appendfsync, phidb with the same appendfsync (its durable log is always
                  on). Unset: redis-server without AOF (phidb still logs, with everysec).
  BENCH_AUDIT     `unclassified-none` runs phidb with `audit-unclassified none`: keys outside
                  every schema (all the keys these scripts use) get no audit record, which
                  measures the server without the audit trail's cost (issue 5 measures that
                  cost on its own). Unset: phidb's default, a record for every command.
"""

import datetime
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "integration"))

import harness  # noqa: E402  (path set up above)

RESULTS = os.path.join(HERE, "results")


def env_int(name, default):
    v = os.environ.get(name)
    return int(float(v)) if v not in (None, "") else default


def env_float(name, default):
    v = os.environ.get(name)
    return float(v) if v not in (None, "") else default


def start_pair(fast_argon2_default=True):
    """(redis, phidb) servers, both ready. phidb is a redis stand-in if PHIDB_TARGET=redis."""
    os.environ.setdefault("PHIDB_BUILD", os.path.join(ROOT, "build"))
    aof = os.environ.get("BENCH_AOF", "")
    if aof not in ("", "everysec", "always"):
        raise SystemExit("BENCH_AOF must be everysec or always")
    redis_extra = {"appendonly": "yes", "appendfsync": aof} if aof else None
    phidb_extra = {"appendfsync": aof} if aof else {}
    audit = os.environ.get("BENCH_AUDIT", "")
    if audit not in ("", "unclassified-none"):
        raise SystemExit("BENCH_AUDIT must be unclassified-none or unset")
    if audit:
        phidb_extra["audit-unclassified"] = "none"
    redis = harness.RedisServer(extra=redis_extra)
    if harness.env_target() == "redis":
        phidb = harness.RedisServer(extra=redis_extra)
        phidb.kind = "redis-server (standing in for phidb)"
    else:
        mode = os.environ.get("BENCH_ARGON2", "fast" if fast_argon2_default else "default")
        phidb = harness.PhidbServer(extra=phidb_extra, fast_argon2=(mode == "fast"))
    return redis, phidb


def vm_rss_kib(pid):
    """Resident set size of a process in KiB (/proc/PID/status VmRSS)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid):
    """CPU time (user + system) a process used so far, all its threads (/proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        st = f.read()
    x = st[st.rindex(")") + 2:].split()
    return (int(x[11]) + int(x[12])) / os.sysconf("SC_CLK_TCK")


def info_field(server, section, field):
    """One field of INFO <section> as a string (None if absent)."""
    c = server.raw()
    try:
        r = c.call("INFO", section)
    finally:
        c.close()
    text = (r[2] if r[0] == "=" else r[1]).decode("utf-8", "replace")
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return line.split(":", 1)[1].strip()
    return None


def pipe_load(server, commands_iter):
    """Feed RESP commands to `redis-cli --pipe` (streamed); return its summary text."""
    import subprocess
    p = subprocess.Popen(server.cli_args() + ["--pipe"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for chunk in commands_iter:
            p.stdin.write(chunk)
        p.stdin.close()
        out = p.stdout.read().decode("utf-8", "replace")
    finally:
        rc = p.wait()
    if rc != 0 or "errors: 0," not in out:
        raise RuntimeError(f"redis-cli --pipe into {server.kind} failed (rc={rc}):\n{out}")
    return out


def results_path(prefix, ext="csv"):
    os.makedirs(RESULTS, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return os.path.join(RESULTS, f"{prefix}-{stamp}.{ext}")


def finish(servers, ok=True):
    """Stop the servers (checking a clean exit) and remove temp dirs unless something failed."""
    try:
        for s in servers:
            if s.proc is not None:
                s.stop()
    except harness.ServerError as e:
        print(f"\n{e}", file=sys.stderr)
        ok = False
    finally:
        harness.stop_all(check=False)
    if ok:
        harness.cleanup_temp_dirs()
    else:
        print("kept for inspection: " + " ".join(harness._TEMP_DIRS), file=sys.stderr)
    return ok


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "-"


def custom_rps(server, args, n, pipeline, clients, keyspace):
    """ops/s of one redis-benchmark run of a custom command (args, with __rand_int__) over
    TLS as admin; raises when it fails or the server answered errors."""
    import subprocess
    cmd = ["redis-benchmark", "--tls", "--cacert", server.ca, "-h", harness.HOST,
           "-p", str(server.port), "--user", "admin", "-a", server.password,
           "-c", str(clients), "-n", str(n), "-r", str(keyspace), "-P", str(pipeline),
           "--csv"] + list(args)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=3600)
    out = p.stdout.decode()
    rows = [r.split(",") for r in out.splitlines() if r and not r.startswith('"test"')]
    if p.returncode != 0 or not rows or "ERR" in out or "NOPERM" in out:
        raise RuntimeError(f"redis-benchmark failed: {out[-800:]} {p.stderr.decode()[-800:]}")
    return float(rows[-1][1].strip('"'))
