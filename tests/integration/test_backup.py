"""Backups, verify, restore and drills, end to end (issue 7).

- PHI.BACKUP under a write load (transactions that add a key, overwrite one and delete one):
  the restored server holds exactly the state after some transaction K, where every
  transaction acknowledged before PHI.BACKUP was sent is included and none sent after its
  reply is; clients were served while it ran;
- the backup file holds no plaintext (values, key names, field names, user names);
- `phidb backup verify`, `phidb restore` (the restored server starts and serves the data
  with the original users), `phidb restore --drill`;
- refused with a clear message, before anything is written: a flipped byte, a missing part,
  a wrong master key, a truncated file, a file from a newer format; a non-empty target;
- passphrase copies (PHI.BACKUP ... PASSPHRASE): the passphrase is never logged; verify and
  restore with it (a new master key); the master key does not open it;
- PHI.BACKUP HELP is help (no file named HELP); start-up removes PATH.tmp files that a
  backup killed midway left in backup-dir (and nothing else);
- PHI.BACKUP paths are confined to backup-dir; key rotation is refused while a backup runs;
- `phidb backup DIR` on a stopped server (offline) and on a running one (through PHI.BACKUP);
- backup-schedule with retention (keep-count; the newest verified backup is kept);
- `phidb backup DIR` reaches a server started with --port N (the lock file names the port);
- `phidb backup DIR` without --to names files as PHI.BACKUP does (milliseconds), so two runs
  in one second both succeed, online and offline.
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import contextlib
import os
import pty
import re
import select
import signal
import shutil
import struct
import subprocess
import threading
import time

import harness

MARK = b"Zq7BACKUPMARKERphi"
NPRE = 10000 if harness.sanitized() else 20000


# The drills' copies go under this test's own TMPDIR: another test run on the machine
# (its drills in /tmp) cannot be taken for a copy one of ours left.
DRILL_TMP = None


def tool_env():
    return dict(os.environ, TMPDIR=DRILL_TMP) if DRILL_TMP else None


def tool(srv, *args, input=None, timeout=600):
    r = subprocess.run([srv.tool_bin, *[str(a) for a in args]], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=timeout, input=input, env=tool_env())
    return r.returncode, r.stdout.decode("utf-8", "replace"), r.stderr.decode("utf-8", "replace")


class RestoredServer(harness.Server):
    """phidb-server on a directory made by `phidb restore` (users from the backup)."""

    kind = "phidb-restored"

    def __init__(self, src, inst_dir, port, password):
        super().__init__()
        self.server_bin = src.server_bin
        self.dir = inst_dir
        self.port = port
        self.password = password
        self.log_path = os.path.join(os.path.dirname(inst_dir), "restored.log")
        self.ca = os.path.join(inst_dir, "tls", "ca.crt")
        self.client_cert = os.path.join(inst_dir, "tls", "client.crt")
        self.client_key = os.path.join(inst_dir, "tls", "client.key")
        self._spawn()

    def _command(self):
        return [self.server_bin, os.path.join(self.dir, "phidb.conf"),
                "--argon2-memory-kib", "8192", "--argon2-time", "1"]


def preload(c, n):
    pipe = []
    for i in range(n):
        pipe.append(("SET", f"p:{i}", MARK + b"-init-%d" % i))
        if i % 4 == 0:
            pipe.append(("HSET", f"h:{i}", "diagnosis", MARK + b"-dx", "Zq7FIELDphi", b"x" * 40))
        pipe.append(("SET", f"d:{i}", b"del-me-%d" % i))
        if len(pipe) >= 500:
            for cmd in pipe:
                c.send(harness.encode_command(*cmd))
            for _ in pipe:
                c.read_reply()
            pipe = []
    for cmd in pipe:
        c.send(harness.encode_command(*cmd))
    for _ in pipe:
        c.read_reply()


def txn(c, i, n):
    """Transaction i: add w:i, overwrite p:(i % n), delete d:i."""
    c.send(harness.encode_command("MULTI") + harness.encode_command("SET", f"w:{i}", str(i)) +
           harness.encode_command("SET", f"p:{i % n}", f"gen-{i}") +
           harness.encode_command("DEL", f"d:{i}") + harness.encode_command("EXEC"))
    for _ in range(4):
        c.read_reply()
    r = c.read_reply()
    return r[0] == "*"


def backup_path(srv, name):
    return os.path.join(srv.dir, "backups", name)


def check_prefix(run, c, n, acked_before, sent_after, what):
    """The restored data is the state after transactions 0..K; return K."""
    present = set()
    for chunk in range(0, sent_after + 50, 500):
        keys = [f"w:{i}" for i in range(chunk, chunk + 500)]
        vals = c.call("MGET", *keys)[1]
        for k, v in zip(keys, vals):
            if v[1] is not None:
                present.add(int(k[2:]))
    k = max(present) if present else -1
    run.eq(sorted(present), list(range(k + 1)), f"{what}: w:0..K all present, none after K")
    run.check(k >= acked_before, f"{what}: every transaction acknowledged before PHI.BACKUP is in",
              f"K={k}, acknowledged before={acked_before}")
    run.check(k < sent_after, f"{what}: no transaction sent after the reply is in",
              f"K={k}, first sent after={sent_after}")
    bad = []
    for j in range(0, n, max(1, n // 400)):
        last = None
        for i in range(j, k + 1, n):
            last = i
        want = (MARK + b"-init-%d" % j) if last is None else b"gen-%d" % last
        got = c.call("GET", f"p:{j}")[1]
        if got != want:
            bad.append((j, got[:30] if got else got, want[:30]))
    run.eq(bad[:5], [], f"{what}: overwritten keys hold their value as of K")
    dels = [i for i in range(0, min(k + 1, 3000)) if c.call("EXISTS", f"d:{i}")[1] != 0]
    run.eq(dels, [], f"{what}: keys deleted up to K are gone")
    if k + 1 < n:
        run.eq(c.call("EXISTS", f"d:{k + 1}")[1], 1, f"{what}: d:K+1 (deleted after) is there")
    return k


FLOOR = "59712345\n"  # a TOTP replay floor (data/totp.floor), as after an MFA login


def backup_under_load(run, srv):
    with open(os.path.join(srv.dir, "data", "totp.floor"), "w") as f:
        f.write(FLOOR)
    c = srv.raw()
    preload(c, NPRE)
    # A hash of about 2 MB: the snapshot hands it to the backup in parts.
    for part in range(20):
        args = []
        for i in range(part * 1000, part * 1000 + 1000):
            args += [f"field:{i}", f"value {i} " + "y" * 60]
        c.call("HSET", "bighash", *args)
    w = srv.raw()
    stop = threading.Event()
    done = [0]
    during = [0, 0]
    state = {"phase": 0}

    def writer():
        i = 0
        while not stop.is_set():
            if not txn(w, i, NPRE):
                raise RuntimeError(f"transaction {i} failed")
            i += 1
            done[0] = i
            if state["phase"] == 1:
                during[0] += 1

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.5)
    acked_before = done[0] - 1
    state["phase"] = 1
    t0 = time.monotonic()
    r = c.call("PHI.BACKUP", "load.phib", timeout=600)
    took = time.monotonic() - t0
    state["phase"] = 2
    sent_after = done[0] + 1  # transactions started after the reply have a higher number
    time.sleep(0.3)
    stop.set()
    t.join(timeout=60)
    run.require(r[0] == "*", "PHI.BACKUP succeeded", harness.show(r))
    fields = dict(zip([x[1] for x in r[1][0::2]], [x[1] for x in r[1][1::2]]))
    run.eq(fields.get(b"verified"), 1, "the backup was verified before the reply")
    run.check(fields.get(b"keys", 0) >= 2 * NPRE, "the reply counts the keys", str(fields))
    run.check(during[0] > 0, "writes were served while the backup ran",
              f"{during[0]} transactions in {took:.2f}s")
    run.log(f"  backup of {fields.get(b'keys')} keys took {took:.2f}s; {during[0]} transactions "
            f"were served meanwhile")
    path = fields[b"path"].decode()
    with open(path, "rb") as f:
        data = f.read()
    for needle in (MARK, b"Zq7FIELDphi", b"p:17", b"diagnosis", b"gen-1", b"admin on"):
        run.check(needle not in data, f"the backup holds no plaintext {needle!r}")
    w.close()
    c.close()
    return path, acked_before, sent_after


def restore_and_check(run, srv, path, acked_before, sent_after):
    root = harness.make_temp_dir("restore")
    inst = os.path.join(root, "inst")
    port = harness.free_port()
    rc, out, err = tool(srv, "restore", path, "--to", inst, "--from", srv.dir, "--port", port)
    run.require(rc == 0, "phidb restore succeeded", out + err)
    with open(os.path.join(inst, "data", "totp.floor")) as f:
        run.eq(f.read(), FLOOR, "the TOTP replay floor travels with the backup")
    r = RestoredServer(srv, inst, port, srv.password)
    c = r.raw()
    k = check_prefix(run, c, NPRE, acked_before, sent_after, "restored server")
    run.eq(c.call("HGET", "h:4", "diagnosis"), ("$", MARK + b"-dx"), "hashes are restored")
    run.eq(c.call("HLEN", "bighash"), (":", 20000), "a large hash is restored whole")
    run.eq(c.call("HGET", "bighash", "field:19999"), ("$", b"value 19999 " + b"y" * 60),
           "... with its values")
    run.eq(c.call("SET", "new", "1"), ("+", b"OK"), "the restored server takes writes")
    c.close()
    r.stop()
    r.restart()
    c = r.raw()
    run.eq(c.call("GET", "new"), ("$", b"1"), "and keeps them across a restart")
    c.close()
    r.stop()
    # Not again into the same (non-empty) directory.
    rc, out, err = tool(srv, "restore", path, "--to", inst, "--from", srv.dir)
    run.check(rc == 1 and "not empty" in err, "restore into a non-empty directory is refused",
              out + err)
    return k


def refusals(run, srv, path):
    root = harness.make_temp_dir("bad")
    with open(path, "rb") as f:
        data = f.read()
    klen = struct.unpack(">I", data[128:132])[0]
    off = 132 + klen
    part = None
    while off < len(data) - 128:
        n, kind = struct.unpack(">IB", data[off:off + 5])
        if kind == 2:
            part = (off, 5 + n)
        off += 5 + n
    run.require(part is not None, "the backup has a part record")
    other_key = os.path.join(root, "other.key")
    with open(other_key, "w") as f:
        f.write("ab" * 32 + "\n")
    os.chmod(other_key, 0o600)
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0x20
    newer = bytearray(data)
    newer[8:12] = struct.pack(">I", 99)
    cases = [
        ("a flipped byte", bytes(flipped), [], ("altered", "damaged")),
        ("a missing part", data[:part[0]] + data[part[0] + part[1]:], [], ("missing",)),
        ("a truncated file", data[:len(data) * 2 // 3], [], ("truncated",)),
        ("a newer format", bytes(newer), [], ("newer phidb",)),
        ("a wrong master key", data, ["--master-key-file", other_key], ("wrong master key",)),
    ]
    for what, content, keyargs, words in cases:
        bad = os.path.join(root, "bad.phib")
        with open(bad, "wb") as f:
            f.write(content)
        target = os.path.join(root, "target")
        args = keyargs or ["--from", srv.dir]
        rc, out, err = tool(srv, "restore", bad, "--to", target, *args)
        run.check(rc == 1 and any(w in err for w in words),
                  f"restore refuses {what} with a clear message", (out + err)[-400:])
        run.check(not os.path.exists(target), f"{what}: nothing was written")
        rc, out, err = tool(srv, "backup", "verify", bad, *args)
        run.check(rc == 1 and any(w in err for w in words), f"verify refuses {what}",
                  (out + err)[-400:])


def passphrase_copy(run, srv):
    c = srv.raw()
    pp = "Zq7-correct-horse-battery-staple"
    r = c.call("PHI.BACKUP", "offsite.phib", "PASSPHRASE", pp, timeout=600)
    run.require(r[0] == "*", "PHI.BACKUP PASSPHRASE succeeded", harness.show(r))
    run.eq(c.call("PHI.BACKUP", "x.phib", "PASSPHRASE", "short")[0], "-",
           "a short passphrase is refused")
    run.check(pp not in srv.log_text(), "the passphrase is not in the server log")
    run.eq(c.call("ACL", "SETUSER", "ops", "on", ">Zq7-ops-password-1", "~*", "+@all",
                  "-phi.backup"), ("+", b"OK"), "a user without PHI.BACKUP")
    o = srv.raw(user="ops", password="Zq7-ops-password-1")
    r = o.call("PHI.BACKUP", "denied.phib", "PASSPHRASE", pp)
    run.check(r[0] == "-" and b"NOPERM" in r[1], "PHI.BACKUP is refused without the grant",
              harness.show(r))
    o.close()
    acl_log = harness.show(c.call("ACL", "LOG"), 100000)
    run.check("phi.backup" in acl_log.lower(), "the refusal is in the ACL log", acl_log[:300])
    run.check(pp not in acl_log, "the passphrase is not in the ACL log")
    c.close()
    path = backup_path(srv, "offsite.phib")
    root = harness.make_temp_dir("pp")
    ppf = os.path.join(root, "pp")
    with open(ppf, "w") as f:
        f.write(pp + "\n")
    os.chmod(ppf, 0o600)
    rc, out, err = tool(srv, "backup", "verify", path, "--from", srv.dir)
    run.check(rc == 1 and "passphrase" in err, "the master key alone does not open a "
              "passphrase copy", out + err)
    rc, out, err = tool(srv, "backup", "verify", path, "--passphrase-file", ppf)
    run.check(rc == 0 and "its passphrase" in out, "verify with the passphrase", out + err)
    inst = os.path.join(root, "inst")
    port = harness.free_port()
    rc, out, err = tool(srv, "restore", path, "--to", inst, "--passphrase-file", ppf, "--port",
                        port)
    run.require(rc == 0, "restore of a passphrase copy", out + err)
    run.check(os.path.exists(os.path.join(inst, "master.key")),
              "the copy got a new master key")
    r = RestoredServer(srv, inst, port, srv.password)
    rc2 = r.raw()
    run.eq(rc2.call("HGET", "h:0", "diagnosis"), ("$", MARK + b"-dx"),
           "the restored passphrase copy serves the data")
    rc2.close()
    r.stop()


def drill_dirs():
    return {d for d in os.listdir(DRILL_TMP) if d.startswith("phidb-drill-")}


def wait_drill_started(p, before):
    """Wait until the drill has made its copy's directory in TMPDIR (it catches Ctrl-C from
    before then on), or has ended. A fixed delay instead raced the tool's start-up: under
    load (ASan, two jobs on two cores) the SIGINT came before the tool had caught it."""
    end = time.time() + 120
    while time.time() < end and p.poll() is None and not drill_dirs() - before:
        time.sleep(0.002)


def wait_drill_server(p, before):
    """Wait until the drill's server is ready (its log in the drill's copy says so), then a
    little more: the drill is comparing values with it. False if it never was."""
    end = time.time() + 120
    while time.time() < end and p.poll() is None:
        for d in drill_dirs() - before:
            try:
                with open(os.path.join(DRILL_TMP, d, "instance", "server.log")) as f:
                    if " ready: " in f.read():
                        time.sleep(0.3)
                        return True
            except OSError:
                pass
        time.sleep(0.005)
    return False


def restore_safety(run, srv, path):
    """A restore that cannot finish, two restores into one directory, a drill stopped by
    Ctrl-C, the trailer's padding, a passphrase that a file could not give back, a new
    master key inside the data directory."""
    with open(path, "rb") as f:
        data = bytearray(f.read())
    bad = path + ".pad"
    data[-1] ^= 0x5A  # the trailer's last byte: padding after the signature
    with open(bad, "wb") as f:
        f.write(data)
    os.chmod(bad, 0o600)
    rc, out, err = tool(srv, "backup", "verify", bad, "--from", srv.dir)
    run.check(rc != 0 and "padding" in out + err, "a byte changed in the trailer's padding is "
              "found", out + err)
    os.unlink(bad)
    root = harness.make_temp_dir("rsafety")
    # A file size limit stands in for a full disk (SIGXFSZ ignored: writes fail with an
    # error, as on a full disk): the restore fails midway and removes what it wrote (a
    # half-written instance could start and serve the data).
    t = os.path.join(root, "cut")
    r = subprocess.run(["prlimit", "--fsize=9000", srv.tool_bin, "restore", path, "--to", t,
                        "--from", srv.dir, "--port", str(harness.free_port())],
                       capture_output=True, timeout=300,
                       preexec_fn=lambda: signal.signal(signal.SIGXFSZ, signal.SIG_IGN))
    run.check(r.returncode != 0 and not os.path.exists(t),
              "a restore that cannot finish leaves nothing behind",
              (r.returncode, r.stderr.decode()[-300:], os.path.exists(t) and os.listdir(t)))
    # Two restores into one directory: one of them, and the directory holds its instance.
    t = os.path.join(root, "two")
    cmd = [srv.tool_bin, "restore", path, "--to", t, "--from", srv.dir, "--port",
           str(harness.free_port())]
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outs = [p.communicate(timeout=300) for p in procs]
    rcs = sorted(p.returncode for p in procs)
    have = [x for x in ("data/keyring", "data/phidb.log", "data/users.acl", "phidb.conf",
                        "tls/ca.crt") if os.path.exists(os.path.join(t, x))]
    run.check(rcs == [0, 1] and len(have) == 5,
              "two restores into one directory: one refused, the other's instance whole",
              (rcs, have, [o[1].decode()[-200:] for o in outs]))
    # A drill stopped by Ctrl-C removes its copy (the backup's data and a key to open it):
    # once while it restores, once while it compares every value with its server (which it
    # stops at once: its next request met a closed connection, and SIGPIPE killed the tool
    # before it could remove the copy).
    for when in ("restoring", "comparing"):
        before = drill_dirs()
        p = subprocess.Popen([srv.tool_bin, "restore", "--drill", path, "--from", srv.dir,
                              "--sample", "100000"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=tool_env())
        if when == "restoring":
            wait_drill_started(p, before)
        else:
            run.check(wait_drill_server(p, before), "the drill's copy is made under $TMPDIR "
                      "and its server starts")
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=120)
        run.check(p.returncode in (0, 130) and not drill_dirs() - before,
                  f"a drill stopped by Ctrl-C while {when} leaves no copy",
                  (p.returncode, err.decode()[-300:], drill_dirs() - before))
    shutil.rmtree(root, ignore_errors=True)
    # A passphrase `--passphrase-file` could not give back (its reader ends at a newline).
    c = srv.raw()
    r = c.call("PHI.BACKUP", "nl.phib", "PASSPHRASE", "Zq7-offsite-passphrase-01\n")
    run.check(r[0] == "-" and b"control characters" in r[1],
              "a passphrase with a newline is refused", harness.show(r))
    c.close()
    # The new master key of a re-wrap inside the data directory (the server would refuse it).
    inside = os.path.join(srv.dir, "data", "new.key")
    with open(inside, "w") as f:
        f.write("00" * 32 + "\n")
    os.chmod(inside, 0o600)
    rc, out, err = tool(srv, "keyring", "rewrap", srv.dir, "--new-key-file", inside)
    run.check(rc == 1 and "inside the data directory" in err and "nothing was changed" in err,
              "keyring rewrap refuses a new key inside the data directory", out + err)
    os.unlink(inside)


def tools_and_drill(run, srv, path):
    rc, out, err = tool(srv, "backup", "verify", path, "--from", srv.dir)
    run.check(rc == 0 and "OK: backup verified" in out and "keys:" in out,
              "phidb backup verify", out + err)
    before = drill_dirs()
    rc, out, err = tool(srv, "restore", "--drill", path, "--from", srv.dir)
    run.check(rc == 0 and "OK: drill passed" in out and "values identical" in out,
              "phidb restore --drill", out + err)
    run.check(not drill_dirs() - before, "the drill's directory is removed",
              drill_dirs() - before)
    for bad in ("5x", "abc", "0"):  # "5x" was read as 5 and "abc" as 0
        rc, out, err = tool(srv, "restore", "--drill", path, "--from", srv.dir, "--sample", bad)
        run.check(rc == 2 and "--sample needs a whole number from 1 to 100000" in err,
                  f"drill --sample '{bad}' is refused", out + err)
    # Online through the tool (the server runs).
    rc, out, err = tool(srv, "backup", srv.dir, "--to", backup_path(srv, "viatool.phib"))
    run.check(rc == 0 and "online through PHI.BACKUP" in out and "OK: verified" in out,
              "phidb backup on a running server goes through PHI.BACKUP", out + err)


def confinement_and_rotation(run, srv):
    c = srv.raw()
    r = c.call("PHI.BACKUP", "/etc/phidb.phib")
    run.check(r[0] == "-" and b"backup-dir" in r[1], "paths outside backup-dir are refused",
              harness.show(r))
    r = c.call("PHI.BACKUP", "../escape.phib")
    run.check(r[0] == "-", "relative escapes are refused", harness.show(r))
    run.eq(c.call("PHI.BACKUP", "load.phib")[0], "-", "an existing backup is never overwritten")
    # Rotation while a backup runs: slow the snapshot down with a large keyspace.
    d = srv.raw()
    result = {}

    def bk():
        result["r"] = d.call("PHI.BACKUP", "rot.phib", timeout=600)

    t = threading.Thread(target=bk)
    t.start()
    seen = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and "r" not in result:
        st = c.call("PHI.BACKUP", "STATUS")[1]
        state = dict(zip([x[1] for x in st[0::2]], [x[1] for x in st[1::2]]))
        if state.get(b"state") != b"idle":
            rr = c.call("PHI.KEYRING", "ROTATE", "values")
            if "r" not in result:
                seen = True
                run.check(rr[0] == "-" and b"backup is running" in rr[1],
                          "key rotation is refused while a backup runs", harness.show(rr))
            break
    t.join(timeout=600)
    run.check(seen, "PHI.BACKUP STATUS showed the running backup")
    run.eq(result["r"][0], "*", "that backup succeeded")
    c.close()
    d.close()


def help_is_help(run, srv):
    """PHI.BACKUP HELP prints help, as every PHI.* command does; it wrote a backup named HELP."""
    c = srv.raw()
    bdir = os.path.join(srv.dir, "backups")
    for word in ("HELP", "help"):
        r = c.call("PHI.BACKUP", word)
        lines = [x[1] for x in r[1]] if r[0] == "*" else []
        run.check(lines and lines[0].startswith(b"PHI.BACKUP") and b"HELP" in lines,
                  f"PHI.BACKUP {word} prints help", harness.show(r))
        run.check(not os.path.exists(os.path.join(bdir, word)), f"and writes no file {word}")
    # Nor with arguments after it; and no backup name may end in .tmp (start-up removes
    # unfinished backups, which end so).
    for args in (("HELP", "PASSPHRASE", "a long passphrase 123"),
                 ("STATUS", "PASSPHRASE", "a long passphrase 123"), ("weekly.tmp",)):
        r = c.call("PHI.BACKUP", *args)
        run.check(r[0] == "-", f"PHI.BACKUP {args[0]} ... is refused", harness.show(r))
        run.check(not os.path.exists(os.path.join(bdir, args[0])), f"no file {args[0]}")
    c.close()


def offline_backup(run, srv):
    """Also: the manifest holds the audit chain head, as PHI.BACKUP's does (the tool wrote
    none and printed "(none: no audit module)"). The server stopped cleanly, so its last
    record is the checkpoint after the stop record, which audit.head names."""
    srv.stop()
    with open(os.path.join(srv.dir, "data", "audit", "audit.head")) as f:
        seq, hx = f.read().split()[:2]
    out_path = os.path.join(harness.make_temp_dir("offline"), "off.phib")
    rc, out, err = tool(srv, "backup", srv.dir, "--to", out_path)
    run.check(rc == 0 and "OK: verified" in out and "offline" in out, "offline backup", out + err)
    run.check(f"audit chain head: {seq}:{hx}\n" in out,
              "the offline backup records the chain head at its point", (seq, hx, out))
    srv.restart()
    return out_path


DEFAULT_NAME = re.compile(r"^phidb-[0-9]{8}T[0-9]{9}Z\.phib$")


def default_names(run, srv):
    """`phidb backup DIR` twice in a row, online then offline: both succeed, with the same
    millisecond names PHI.BACKUP gives (the tool used whole seconds, so the second run in the
    same second failed with "already exists")."""
    bdir = os.path.join(srv.dir, "backups")
    for how in ("online", "offline"):
        if how == "offline":
            srv.stop()
        before = set(os.listdir(bdir)) if os.path.isdir(bdir) else set()
        for i in range(2):
            rc, out, err = tool(srv, "backup", srv.dir, "--no-verify")
            run.check(rc == 0 and "OK: backup written" in out,
                      f"phidb backup DIR, {how}, run {i + 1} of 2 in a row", out + err)
        new = sorted(set(os.listdir(bdir)) - before)
        run.eq(len(new), 2, f"{how}: two new backups")
        run.check(all(DEFAULT_NAME.match(n) for n in new),
                  f"{how}: named phidb-YYYYMMDDTHHMMSSmmmZ.phib", str(new))
    srv.restart()


def stale_temp_removed(run, srv):
    """A server killed mid-backup leaves PATH.tmp in backup-dir: the next start removes it
    (only a backup's temporary file) and logs how many, without names."""
    bdir = os.path.join(srv.dir, "backups")
    done = sorted(n for n in os.listdir(bdir) if n.endswith(".phib"))
    run.require(done, "a backup to copy")
    srv.stop()
    with open(os.path.join(bdir, done[0]), "rb") as f:
        head = f.read()[:4096]
    with open(os.path.join(bdir, "killed.phib.tmp"), "wb") as f:  # what a kill -9 leaves
        f.write(head)
    with open(os.path.join(bdir, "notes.tmp"), "w") as f:
        f.write("not a backup\n")
    # A finished backup someone named *.tmp (possible before such names were refused).
    shutil.copy(os.path.join(bdir, done[0]), os.path.join(bdir, "finished.tmp"))
    srv.restart()
    names = os.listdir(bdir)
    run.check("killed.phib.tmp" not in names, "the interrupted backup's file is removed", names)
    run.check("notes.tmp" in names and done[0] in names, "nothing else is", names)
    run.check("finished.tmp" in names, "a finished backup named *.tmp stays", names)
    os.unlink(os.path.join(bdir, "finished.tmp"))
    log = srv.log_text()
    run.check("removed 1 unfinished backup file" in log and "killed" not in log,
              "the start-up log says how many, not which", log[-2000:])


def port_override(run):
    """A server started with --port other than phidb.conf's: `phidb backup DIR` finds it
    through the data directory's lock file, which names the port the server listens on."""
    def moved(s):
        s.port = harness.free_port()
        s.extra.append(("port", s.port))

    srv = harness.PhidbServer(before_start=moved)
    with open(os.path.join(srv.dir, "data", "phidb.lock")) as f:
        run.check(f"\nport {srv.port}\n" in f.read(), "the lock file names the port")
    rc, out, err = tool(srv, "backup", srv.dir)
    run.check(rc == 0 and "online through PHI.BACKUP" in out and "OK: verified" in out,
              "phidb backup reaches a server started with --port", out + err)
    srv.stop()
    # An offline tool that takes the lock clears the stopped server's port from the file,
    # so a second tool meanwhile does not try a port nobody listens on (or someone else).
    rc, out, err = tool(srv, "backup", srv.dir, "--no-verify")
    run.check(rc == 0 and "OK: backup written" in out, "an offline backup", out + err)
    with open(os.path.join(srv.dir, "data", "phidb.lock")) as f:
        text = f.read()
    run.check("port" not in text, "the lock file no longer names the old port", text)


def schedule(run):
    srv = harness.PhidbServer(extra={"backup-keep-count": 2})
    c = srv.raw()
    c.call("SET", "k", "v")
    bdir = os.path.join(srv.dir, "backups")
    os.makedirs(bdir, exist_ok=True)
    r = c.call("PHI.BACKUP", "phidb-20200101T000000000Z.phib")
    run.require(r[0] == "*", "a first backup", harness.show(r))
    for name in ("phidb-20200102T000000000Z.phib", "phidb-20200103T000000000Z.phib"):
        shutil.copy(os.path.join(bdir, "phidb-20200101T000000000Z.phib"),
                    os.path.join(bdir, name))
    for bad in ("daily 25:00", "every 0s", "every 5sx", "daily 02:30 junk", "every 9999999h",
                "weekly"):
        r = c.call("CONFIG", "SET", "backup-schedule", bad)
        run.check(r[0] == "-" and b"backup-schedule" in r[1], f"backup-schedule '{bad}' refused",
                  harness.show(r))
    r = c.call("CONFIG", "SET", "backup-dir", "")
    run.check(r[0] == "-" and b"backup-dir" in r[1], "an empty backup-dir refused", harness.show(r))
    # The passphrase file of scheduled off-site copies is checked when it is set.
    outside = harness.make_temp_dir("ppf")
    secret = "correct horse battery staple"
    cases = [(os.path.join(srv.dir, "data", "pp"), secret, 0o600, b"inside the data directory"),
             (os.path.join(outside, "open"), secret, 0o644, b"readable by others"),
             (os.path.join(outside, "short"), "tiny", 0o600, b"shorter than 12"),
             (os.path.join(outside, "missing"), None, 0, b"No such file")]
    for path, text, mode, why in cases:
        if text is not None:
            with open(path, "w") as f:
                f.write(text + "\n")
            os.chmod(path, mode)
        r = c.call("CONFIG", "SET", "backup-passphrase-file", path)
        run.check(r[0] == "-" and why in r[1] and secret.encode() not in r[1],
                  f"backup-passphrase-file refused: {why.decode()}", harness.show(r))
    good = os.path.join(outside, "good")
    with open(good, "w") as f:
        f.write(secret + "\n")
    os.chmod(good, 0o600)
    run.eq(c.call("CONFIG", "SET", "backup-passphrase-file", good), ("+", b"OK"),
           "a good passphrase file is accepted")
    run.eq(c.call("CONFIG", "SET", "backup-passphrase-file", ""), ("+", b"OK"), "and unset")
    run.eq(c.call("CONFIG", "GET", "backup-schedule"), ("*", (("$", b"backup-schedule"),
                                                            ("$", b""))), "... nothing changed")
    run.eq(c.call("CONFIG", "SET", "backup-schedule", "every 1s"), ("+", b"OK"),
           "CONFIG SET backup-schedule")
    harness.wait_until(lambda: any(not n.startswith("phidb-2020") for n in os.listdir(bdir))
                       and len(os.listdir(bdir)) <= 2,
                       timeout=120, what="a scheduled backup and retention")
    names = sorted(os.listdir(bdir))
    run.eq(len(names), 2, "retention keeps backup-keep-count backups")
    run.check(not any(n.startswith("phidb-2020") and n < "phidb-20200103" for n in names),
              "the oldest backups were removed", str(names))
    c.call("CONFIG", "SET", "backup-schedule", "")
    c.close()
    srv.stop()


POLICY = """\
schema patient:* type=patient subject=id
field patient id        group=demographics phi=mrn
field patient name      group=demographics phi=name
field patient diagnosis group=diagnosis
role registrar read=* write=* delete=* purpose=*
role nurse     read=demographics
"""


def with_policy(run):
    """The policy file is part of the backup; the restored server enforces it again."""
    srv = harness.PhidbServer()
    pol = os.path.join(srv.dir, "policy.conf")
    with open(pol, "w") as f:
        f.write(POLICY)
    os.chmod(pol, 0o600)
    srv.extra.append(("policy-file", pol))
    srv.stop()
    srv.restart()
    c = srv.raw()
    run.eq(c.call("ACL", "SETUSER", "admin", "role=registrar"), ("+", b"OK"), "admin registrar")
    run.eq(c.call("ACL", "SETUSER", "nina", "on", ">Zq7-nurse-password", "~*", "+@all",
                  "-@dangerous", "role=nurse"), ("+", b"OK"), "a nurse")
    run.eq(c.call("HSET", "patient:1", "id", "1", "name", "Jane", "diagnosis", "flu"),
           (":", 3), "a record")
    # A patient user: its subject is an identifier, sealed in the users file of the backup
    # (which a restore writes to disk) as in the server's own.
    run.eq(c.call("ACL", "SETUSER", "jane", "on", ">Zq7-patient-password", "~patient:*",
                  "+@all", "-@dangerous", "role=nurse", "subject=MRN-SUBJ-77"), ("+", b"OK"),
           "a patient user with a subject")
    r = c.call("PHI.BACKUP", "pol.phib")
    run.require(r[0] == "*", "PHI.BACKUP with a policy", harness.show(r))
    c.close()
    path = backup_path(srv, "pol.phib")
    rc, out, err = tool(srv, "backup", "verify", path, "--from", srv.dir)
    run.check(rc == 0 and "users.acl policy" in out, "the backup holds the users and the policy",
              out + err)
    root = harness.make_temp_dir("polrestore")
    inst = os.path.join(root, "inst")
    port = harness.free_port()
    rc, out, err = tool(srv, "restore", path, "--to", inst, "--from", srv.dir, "--port", port)
    run.require(rc == 0, "restore with a policy", out + err)
    with open(os.path.join(inst, "policy.conf")) as f:
        run.eq(f.read(), POLICY, "the policy file is restored as it was")
    with open(os.path.join(inst, "data", "users.acl"), "rb") as f:
        users = f.read()
    run.check(b"MRN-SUBJ-77" not in users and b"subject-sealed=" in users,
              "the restored users file holds the subject sealed, not in plaintext", users)
    r2 = RestoredServer(srv, inst, port, srv.password)
    a = r2.raw()
    run.eq(a.call("HGET", "patient:1", "diagnosis"), ("$", b"flu"), "the registrar reads it")
    a.close()
    n = r2.raw(user="nina", password="Zq7-nurse-password")
    r = n.call("HGET", "patient:1", "diagnosis")
    run.check(r[0] == "-" and b"NOPERM" in r[1], "the restored policy is enforced",
              harness.show(r))
    n.close()
    j = r2.raw(user="jane", password="Zq7-patient-password")
    run.eq(j.call("ACL", "WHOAMI"), ("$", b"jane"), "the patient user logs in to the copy")
    j.close()
    a = r2.raw()
    r = a.call("ACL", "LIST")
    run.check(r[0] == "*" and "MRN-SUBJ-77" in repr(r),
              "with its subject (opened with the restored values key)", harness.show(r))
    a.close()
    r2.stop()
    rc, out, err = tool(srv, "restore", "--drill", path, "--from", srv.dir)
    run.check(rc == 0 and "policy: restored and loads" in out, "drill with a policy", out + err)
    srv.stop()


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    global DRILL_TMP
    DRILL_TMP = harness.make_temp_dir("drilltmp")
    srv = harness.PhidbServer()
    state = {}
    with run.case("backup under a write load"):
        state["bk"] = backup_under_load(run, srv)
    if "bk" in state:
        path, acked_before, sent_after = state["bk"]
        with run.case("restore: exactly the state at the backup's point"):
            restore_and_check(run, srv, path, acked_before, sent_after)
        with run.case("damage and wrong keys refused before anything is written"):
            refusals(run, srv, path)
        with run.case("verify, drill, online through the tool"):
            tools_and_drill(run, srv, path)
        with run.case("failed and concurrent restores, an interrupted drill, the trailer"):
            restore_safety(run, srv, path)
    with run.case("passphrase copies"):
        passphrase_copy(run, srv)
    with run.case("backup-dir confinement, rotation refused during a backup"):
        confinement_and_rotation(run, srv)
    with run.case("start-up removes what a backup killed midway left"):
        stale_temp_removed(run, srv)
    with run.case("PHI.BACKUP HELP"):
        help_is_help(run, srv)
    with run.case("offline backup of a stopped server"):
        offline_backup(run, srv)
    with run.case("phidb backup's default names: milliseconds, as PHI.BACKUP's"):
        default_names(run, srv)
    srv.stop()
    with run.case("phidb backup finds a server started with --port"):
        port_override(run)
    with run.case("schedule and retention"):
        schedule(run)
    with run.case("the policy file travels with the backup"):
        with_policy(run)
    with run.case("a passphrase master key: PHI.BACKUP still verifies"):
        passphrase_master(run)


def passphrase_master(run):
    """A server whose master key is a passphrase keeps no master key to re-open a backup
    with: PHI.BACKUP verifies with the server's own keys (and says verified 1); the tool
    with the passphrase verifies the same file, keyring block included."""
    srv = harness.PhidbServer()
    srv.stop()
    rc, out, err = tool(srv, "keyring", "--help")
    run.check(rc == 0 and "PHIDB_NEW_PASSPHRASE" in out and "PHIDB_PASSPHRASE" in out,
              "phidb keyring --help says where the passphrases come from", out + err)
    rc, out, err = tool(srv, "keyring")
    run.check(rc == 2 and "PHIDB_NEW_PASSPHRASE" in err, "and so does its usage error", err)
    pp = "a master passphrase for this test only"
    env = dict(os.environ, PHIDB_NEW_PASSPHRASE=pp)
    r = subprocess.run([srv.tool_bin, "keyring", "rewrap", srv.dir, "--new-passphrase"],
                       env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    run.require(r.returncode == 0, "phidb keyring rewrap --new-passphrase", r.stdout.decode())
    with open(srv.conf, "a") as f:  # for the tools too
        f.write("\nmaster-key-passphrase yes\n")
    os.environ["PHIDB_PASSPHRASE"] = pp
    try:
        srv.restart()
        c = srv.raw()
        run.eq(c.call("SET", "pp:1", "value under a passphrase master key")[0], "+", "a write")
        r = c.call("PHI.BACKUP", timeout=600)
        c.close()
        run.require(r[0] == "*", "PHI.BACKUP", harness.show(r))
        fields = dict(zip([x[1] for x in r[1][0::2]], [x[1] for x in r[1][1::2]]))
        run.eq(fields.get(b"verified"), 1, "verified with the server's own keys")
        path = fields[b"path"].decode()
        rc, out, err = tool(srv, "backup", "verify", path, "--from", srv.dir)
        run.check(rc == 0 and "OK: backup verified" in out, "and by the tool, with the "
                  "passphrase (PHIDB_PASSPHRASE)", out + err)
        srv.stop()
        terminal_rewrap(run, srv, pp)
    finally:
        del os.environ["PHIDB_PASSPHRASE"]


def terminal_rewrap(run, srv, current):
    """Both passphrases typed at the terminal: the new one (asked twice) must not be
    overwritten by the answer to the current one's question."""
    new = "a second passphrase typed at the terminal"
    pid, fd = pty.fork()
    if pid == 0:
        for v in ("PHIDB_PASSPHRASE", "PHIDB_NEW_PASSPHRASE"):
            os.environ.pop(v, None)
        os.execv(srv.tool_bin, ["phidb", "keyring", "rewrap", srv.dir, "--new-passphrase"])
    out = b""

    def more():  # b"" at the end, or when nothing comes for 60 s
        nonlocal out
        if not select.select([fd], [], [], 60)[0]:
            return b""
        with contextlib.suppress(OSError):
            d = os.read(fd, 4096)
            out += d
            return d
        return b""

    for prompt, answer in ((b"new master key passphrase: ", new),
                           (b"passphrase again: ", new),
                           (b"current master key passphrase: ", current)):
        while prompt not in out and more():
            pass
        if prompt not in out:
            break
        os.write(fd, answer.encode() + b"\n")
    while more():
        pass
    if prompt not in out:  # an unexpected question or none: stop it
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    run.check(os.waitstatus_to_exitcode(status) == 0 and b"Re-wrapped" in out,
              "phidb keyring rewrap, both passphrases typed", out.decode("utf-8", "replace"))
    for pp, ok in ((new, True), (current, False)):
        r = subprocess.run([srv.tool_bin, "keyring", "status", srv.dir],
                           env=dict(os.environ, PHIDB_PASSPHRASE=pp), stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=120)
        run.check((r.returncode == 0) == ok, "the keyring opens with the new passphrase, not "
                  "the old" if ok else "the old passphrase no longer opens it",
                  r.stdout.decode())


if __name__ == "__main__":
    harness.main(body)
