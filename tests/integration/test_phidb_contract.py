"""phidb's own promises from docs/CONTRACT.md, checked against the running server.

- No default user: nothing but AUTH/HELLO AUTH works before authenticating.
- admin may not run KEYS, FLUSHALL, FLUSHDB by default (not even inside MULTI); the
  keyspace is untouched. With `allow-dangerous-commands flushall flushdb keys` AND an
  explicit grant (ACL SETUSER admin +flushall +flushdb +keys) they work; the directive
  alone is not enough.
- Only database 0: SELECT 0 is OK, SELECT 1 is `-ERR DB index is out of range`.
- TLS only: a plaintext client gets no reply; TLS 1.1 is refused; a client certificate
  is optional, the one from `phidb init` works, one from a foreign CA is refused.
- The log never contains key names, values or passwords.
- Lifecycle: SIGTERM exits 0 with a clean (sanitizer-free) log; restart after SIGTERM and
  after kill -9 comes back up.
- `phidb init` output: files present, secrets 0600, refuses to re-init a directory.
- Key material: the expanded AES keys of the data keys are in OpenSSL's secure heap, which
  is locked in memory when RLIMIT_MEMLOCK allows (INFO memory, /proc VmLck).
- CONFIG REWRITE: phidb.conf gets the values CONFIG SET changed (one line each, in place of
  the file's own), keeps its comments, mode and every other line, and the restarted server
  runs with them; a second rewrite changes nothing; a file that no longer loads is left
  alone and the command fails with the reason.

With PHIDB_TARGET=redis the stand-in redis-server has admin's ACL set to
`+@all -keys -flushall -flushdb`, which models the default; the checks of `phidb init` and
of the allow-dangerous-commands directive itself are phidb-only and reported as skipped.
"""

import json
import os
import resource
import socket
import ssl
import stat
import subprocess
import warnings

import harness
from harness import make_certs, make_temp_dir

CANARY_KEY = "canary-key-7f3c1e"
CANARY_VALUE = "canary-value-b81d04"
CANARY_FIELD = "canary-field-5a9e2c"


def is_error(r):
    return r[0] == "-"


def check_no_auth(run, srv):
    c = srv.raw(auth=False)
    for cmd in (["GET", "k"], ["SET", "k", "v"], ["DBSIZE"], ["KEYS", "*"],
                ["HELLO", "3"], ["CLIENT", "LIST"], ["ECHO", "x"], ["INFO"]):
        r = c.call(*cmd)
        run.check(is_error(r), f"{' '.join(cmd)} before AUTH is refused", harness.show(r))
    # The issue allows AUTH, HELLO, PING and QUIT before AUTH (PING for health checks);
    # with the reference standing in (PHIDB_TARGET=redis), PING is refused as in redis.
    if srv.kind == "phidb":
        run.eq(c.call("PING"), ("+", b"PONG"), "PING before AUTH answers (health checks)")
    r = c.call("AUTH", "default", "")
    run.check(is_error(r), "there is no usable default user", harness.show(r))
    r = c.call("AUTH", srv.password)
    run.check(is_error(r), "AUTH <admin password> alone (default user) is refused",
              harness.show(r))
    run.eq(c.call("AUTH", "admin", srv.password), ("+", b"OK"), "AUTH admin works")
    run.eq(c.call("PING"), ("+", b"PONG"), "PING after AUTH")
    c.close()


def check_dangerous_refused(run, srv):
    c = srv.raw()
    harness.wipe(c)
    c.call("MSET", "a", "1", "b", "2", "c", "3")
    for cmd in (["KEYS", "*"], ["FLUSHALL"], ["FLUSHDB"], ["FLUSHALL", "ASYNC"],
                ["FLUSHDB", "SYNC"], ["keys", "a*"]):
        r = c.call(*cmd)
        run.check(is_error(r), f"admin may not run {' '.join(cmd)} by default", harness.show(r))
        run.log(f"    {' '.join(cmd)} -> {harness.show(r)}")
    run.eq(c.call("DBSIZE"), (":", 3), "keyspace untouched")
    run.eq(c.call("MULTI"), ("+", b"OK"), "MULTI")
    queued = c.call("FLUSHALL")
    run.check(is_error(queued), "FLUSHALL is refused inside MULTI too", harness.show(queued))
    c.call("EXEC")
    run.eq(c.call("DBSIZE"), (":", 3), "keyspace untouched after MULTI/FLUSHALL/EXEC")
    c.close()


def check_dangerous_enabled(run):
    """Directive + explicit grant: allowed. Directive alone: still refused."""
    srv = harness.start_target(
        extra=[("allow-dangerous-commands", ["flushall", "flushdb", "keys"])])
    try:
        c = srv.raw()
        c.call("MSET", "a", "1", "b", "2")
        r = c.call("KEYS", "*")
        run.check(is_error(r), "with the directive but no grant, KEYS is still refused",
                  harness.show(r))
        r = c.call("FLUSHALL")
        run.check(is_error(r), "with the directive but no grant, FLUSHALL is still refused",
                  harness.show(r))
        r = c.call("ACL", "SETUSER", "admin", "+flushall", "+flushdb", "+keys")
        run.eq(r, ("+", b"OK"), "ACL SETUSER admin +flushall +flushdb +keys")
        r = c.call("KEYS", "*")
        run.eq((r[0], sorted(x[1] for x in r[1]) if r[0] == "*" else r),
               ("*", [b"a", b"b"]), "KEYS * after the grant")
        run.eq(c.call("FLUSHDB"), ("+", b"OK"), "FLUSHDB after the grant")
        run.eq(c.call("DBSIZE"), (":", 0), "FLUSHDB emptied the keyspace")
        c.call("SET", "x", "1")
        run.eq(c.call("FLUSHALL"), ("+", b"OK"), "FLUSHALL after the grant")
        run.eq(c.call("DBSIZE"), (":", 0), "FLUSHALL emptied the keyspace")
        # As in Redis 7.0, a flush dirties only the watchers of keys that existed.
        w, x = srv.raw(), srv.raw()
        c.call("SET", "present", "1")
        w.call("WATCH", "absent")
        x.call("WATCH", "present")
        run.eq(c.call("FLUSHALL"), ("+", b"OK"), "FLUSHALL with watchers")
        for conn in (w, x):
            conn.call("MULTI")
            conn.call("PING")
        run.eq(w.call("EXEC"), ("*", (("+", b"PONG"),)), "a WATCH of an absent key survives it")
        run.check(x.call("EXEC")[1] is None, "a WATCH of a key that existed is broken by it")
        w.close()
        x.close()
        c.close()
    finally:
        srv.stop()


def check_select(run, srv):
    c = srv.raw()
    run.eq(c.call("SELECT", "0"), ("+", b"OK"), "SELECT 0")
    run.eq(c.call("SELECT", "1"), ("-", b"ERR DB index is out of range"), "SELECT 1")
    c.close()


def _drain_plain(port, data):
    """Send bytes over plain TCP; return what comes back until the server closes."""
    s = socket.create_connection((harness.HOST, port), timeout=harness.IO_TIMEOUT)
    got = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            got += chunk
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        s.close()
    return got


def check_tls(run, srv):
    got = _drain_plain(srv.port, b"*1\r\n$4\r\nPING\r\n")
    run.check(b"PONG" not in got and not got.startswith((b"+", b"-", b"$", b"*")),
              "a plaintext RESP client gets no RESP reply, and is disconnected", repr(got[:80]))
    got = _drain_plain(srv.port, b"PING\r\n")
    run.check(b"PONG" not in got, "a plaintext inline PING gets no reply", repr(got[:80]))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.load_verify_locations(srv.ca)
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    s = socket.create_connection((harness.HOST, srv.port), timeout=harness.IO_TIMEOUT)
    try:
        t = ctx.wrap_socket(s, server_hostname=harness.HOST)
        run.check(False, "TLS 1.1 is refused", f"handshake succeeded with {t.version()}")
        t.close()
    except (ssl.SSLError, OSError) as e:
        run.check(True, "TLS 1.1 is refused")
        run.log(f"    TLS 1.1 -> {e!r}")
    finally:
        s.close()

    for version in (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3):
        ctx = ssl.create_default_context(cafile=srv.ca)
        ctx.minimum_version = ctx.maximum_version = version
        with socket.create_connection((harness.HOST, srv.port), timeout=harness.IO_TIMEOUT) as s:
            with ctx.wrap_socket(s, server_hostname=harness.HOST) as t:
                run.eq(t.version(), version.name.replace("v1_", "v1."), f"{version.name} works")

    c = srv.raw(cert=True)
    run.eq(c.call("PING"), ("+", b"PONG"), "connect with the client certificate, AUTH, PING")
    c.close()
    r = srv.client(cert=True)
    run.eq(r.ping(), True, "redis-py with the client certificate")
    r.close()

    # A client certificate from another CA must not be accepted.
    other = os.path.join(make_temp_dir("foreign-ca"), "tls")
    make_certs(other)
    try:
        c = harness.RawConn(srv.port, srv.ca, certfile=os.path.join(other, "client.crt"),
                            keyfile=os.path.join(other, "client.key"))
        try:
            r = c.call("AUTH", "admin", srv.password)
        except (harness.ConnectionClosed, ssl.SSLError, OSError) as e:
            r = e
        c.close()
    except (ssl.SSLError, OSError) as e:
        r = e
    run.log(f"    foreign client certificate -> {r!r}")
    run.check(not (isinstance(r, tuple) and r == ("+", b"OK")),
              "a client certificate from a foreign CA is refused", repr(r))


def check_log_has_no_secrets(run, srv):
    """Write canaries, cause errors around them, then look for them in the server log."""
    c = srv.raw()
    c.call("SET", CANARY_KEY, CANARY_VALUE)
    c.call("HSET", CANARY_KEY + ":h", CANARY_FIELD, CANARY_VALUE)
    c.call("GET", CANARY_KEY)
    c.call("HGET", CANARY_KEY, CANARY_FIELD)          # WRONGTYPE
    c.call("INCR", CANARY_KEY)                          # not an integer
    c.call("NOSUCHCOMMAND", CANARY_KEY, CANARY_VALUE)   # unknown command: args may be PHI
    c.call("DEL", CANARY_KEY)
    c.close()
    u = srv.raw(auth=False)
    u.call("AUTH", "nosuchuser", CANARY_VALUE)          # a wrong password for a wrong user
    u.call("GET", CANARY_KEY)                           # NOAUTH
    u.close()


def check_log_after_stop(run, srv):
    log = srv.log_text()
    for what, s in (("key name", CANARY_KEY), ("value", CANARY_VALUE),
                    ("field name", CANARY_FIELD), ("admin password", srv.password)):
        run.check(s not in log, f"the server log holds no {what}")


def check_init_files(run, srv):
    if not isinstance(srv, harness.PhidbServer):
        run.log("    skipped: phidb init checks need phidb (PHIDB_TARGET=redis)")
        return
    d = srv.dir
    for rel in ("phidb.conf", "tls/ca.crt", "tls/server.crt", "tls/server.key",
                "tls/client.crt", "tls/client.key", "master.key", "admin.password",
                "data", "data/users.acl"):
        run.check(os.path.exists(os.path.join(d, rel)), f"phidb init created {rel}")
    for rel in ("master.key", "admin.password", "tls/server.key", "tls/client.key"):
        p = os.path.join(d, rel)
        if os.path.exists(p):
            mode = stat.S_IMODE(os.stat(p).st_mode)
            run.check(mode & 0o077 == 0, f"{rel} is not readable by group/others",
                      f"mode {mode:o}")
    r = subprocess.run([srv.tool_bin, "init", d, "--port", str(srv.port)],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    run.check(r.returncode != 0, "phidb init refuses a directory that has a phidb.conf",
              r.stdout.decode("utf-8", "replace")[-300:])


def check_key_schedules_locked(run, srv):
    """The expanded data keys live in OpenSSL's secure heap, locked when the limit allows."""
    c = srv.raw()
    c.call("SET", "sealed", "a value: its key's contexts exist now")
    info = c.call("INFO", "memory")[1].decode()
    c.close()
    fields = dict(ln.split(":", 1) for ln in info.split("\r\n") if ":" in ln)
    soft, _ = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    can_lock = os.geteuid() == 0 or soft == resource.RLIM_INFINITY or soft >= (1 << 20) + 65536
    run.eq(fields.get("key_schedules"), "locked" if can_lock else "not-locked",
           "INFO memory: key schedules in the secure heap, locked when RLIMIT_MEMLOCK allows")
    used = int(fields.get("secure_heap_used", "0"))
    run.check(used >= 4 * 496, "the keyed contexts (log, values, audit) are in it", used)
    run.eq(fields.get("secure_heap_fallbacks"), "0", "none fell back to the ordinary heap")
    with open(f"/proc/{srv.proc.pid}/status") as f:
        lck = [ln for ln in f if ln.startswith("VmLck:")]
    kb = int(lck[0].split()[1]) if lck else 0
    if can_lock and not harness.sanitized():  # ASan makes mlock a no-op
        run.check(kb >= 1024, "the server's locked memory holds the 1 MB secure heap", lck)


def check_lifecycle(run, srv):
    c = srv.raw()
    c.call("SET", "life", "1")
    c.close()
    srv.stop()  # raises unless exit 0 and a clean log
    run.check(True, "SIGTERM: exit 0, no sanitizer report")
    srv.restart()
    run.eq(srv.raw().call("PING"), ("+", b"PONG"), "answers after a restart")
    srv.kill9()
    srv.restart()
    run.eq(srv.raw().call("PING"), ("+", b"PONG"), "answers after kill -9 and a restart")


def active_lines(text):
    return [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def check_config_rewrite(run):
    srv = harness.PhidbServer()
    with open(srv.conf) as f:
        before = f.read()
    mode = stat.S_IMODE(os.stat(srv.conf).st_mode)
    c = srv.raw()
    changes = [("hz", "37"), ("timeout", "1234"), ("slowlog-max-len", "77"),
               ("tls-protocols", "TLSv1.3"), ("maxmemory", "104857600"),
               ("client-output-buffer-limit", "normal 1048576 524288 10 pubsub 2097152 0 0"),
               ("mfa-issuer", 'Clinic "North" \\ 2')]
    for name, value in changes:
        run.eq(c.call("CONFIG", "SET", name, value), ("+", b"OK"), f"CONFIG SET {name}")
    run.eq(c.call("CONFIG", "REWRITE"), ("+", b"OK"), "CONFIG REWRITE")
    with open(srv.conf) as f:
        after = f.read()
    comments = [ln for ln in before.splitlines() if ln.lstrip().startswith("#")]
    run.check(all(ln in after.splitlines() for ln in comments),
              "every comment of the file is still there")
    for name, _ in changes:
        n = [ln for ln in active_lines(after) if ln.split()[0] == name]
        run.eq(len(n), 1, f"one line for {name}")
    # The harness starts the server with --argon2-memory-kib 8192 --argon2-time 1: running
    # values too, so they are written as well (as redis-server writes command-line options).
    cmdline = {"argon2-memory-kib": "8192", "argon2-time": "1"}
    kept = [ln for ln in active_lines(before)
            if ln.split()[0] not in dict(changes) and ln.split()[0] not in cmdline]
    run.check(all(ln in after.splitlines() for ln in kept), "the other directives' lines stay")
    run.check(all(f"{k} {v}" in active_lines(after) for k, v in cmdline.items()),
              "command-line values are written too")
    run.eq(stat.S_IMODE(os.stat(srv.conf).st_mode), mode, "the file keeps its mode")
    run.eq(c.call("CONFIG", "REWRITE"), ("+", b"OK"), "a second CONFIG REWRITE")
    with open(srv.conf) as f:
        run.eq(f.read(), after, "... changes nothing")
    c.close()
    srv.stop()
    srv.restart()
    c = srv.raw()
    for name, value in changes:
        got = c.call("CONFIG", "GET", name)
        run.eq(got[1][1][1].decode() if got[0] == "*" and got[1] else got, value,
               f"after a restart: {name}")
    with open(srv.conf, "a") as f:
        f.write("no-such-directive 1\n")
    with open(srv.conf) as f:
        broken = f.read()
    r = c.call("CONFIG", "REWRITE")
    run.check(r[0] == "-" and r[1].startswith(b"ERR Rewriting config file: ") and
              b"no-such-directive" in r[1], "a file that no longer loads: an error", r)
    with open(srv.conf) as f:
        run.eq(f.read(), broken, "... and the file is left alone")
    c.close()
    srv.stop()
    with open(srv.conf, "w") as f:  # the tools read it too
        f.write(broken.replace("no-such-directive 1\n", ""))
    r = subprocess.run([srv.tool_bin, "audit", "export", srv.dir, "--format", "jsonl"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    recs = [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]
    rw = [(x.get("res"), x.get("user")) for x in recs
          if x.get("ev") == "config" and x.get("action") == "rewrite"]
    run.eq(rw, [("granted", "admin"), ("granted", "admin"), ("failed", "admin")],
           "each CONFIG REWRITE is a config record of the audit trail")


def body(run):
    srv = harness.start_target()
    run.log(f"target {srv}")
    with run.case("no default user, AUTH required"):
        check_no_auth(run, srv)
    with run.case("KEYS/FLUSHALL/FLUSHDB refused by default"):
        check_dangerous_refused(run, srv)
    with run.case("SELECT: only database 0"):
        check_select(run, srv)
    with run.case("TLS only; client certificates"):
        check_tls(run, srv)
    with run.case("phidb init output"):
        check_init_files(run, srv)
    with run.case("no key names, values or passwords in the log"):
        check_log_has_no_secrets(run, srv)
        srv.stop()
        check_log_after_stop(run, srv)
        srv.restart()
    if harness.env_target() == "phidb":
        with run.case("key schedules in locked memory"):
            check_key_schedules_locked(run, srv)
    with run.case("stop, restart, kill -9"):
        check_lifecycle(run, srv)
    with run.case("allow-dangerous-commands plus an explicit grant"):
        check_dangerous_enabled(run)
    if harness.env_target() == "phidb":
        with run.case("CONFIG REWRITE"):
            check_config_rewrite(run)


if __name__ == "__main__":
    harness.main(body)
