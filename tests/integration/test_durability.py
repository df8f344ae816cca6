"""Encryption at rest and the durable log, end to end (issue 3).

- a marker written 10,000 times in values, hash fields and key names is in no file of the
  data directory (raw bytes, also after a compaction), and the value marker is not in the
  server's memory (/proc/PID/mem) a second after the last reply that returned it;
- kill -9 under a write load: with appendfsync always every acknowledged write is there
  after a restart; with everysec the server starts and only the last moments are lost;
- a byte flipped in the middle of the log stops start-up naming the file and the offset and
  changes nothing; `phidb check-log` reports it, `--repair` keeps a copy and truncates;
  a torn tail is cut with a warning, its bytes kept in phidb.log.torn-<ms>; a flipped bit in
  the length of the first record (running past the end of the file) is damage, not a torn
  tail: start-up and an offline backup refuse and nothing is cut; a record moved in from
  another log file is refused;
- wrong master key, a readable keyring, a master key inside the data directory: refused,
  with every file left as it was;
- a full disk (RLIMIT_FSIZE on the running server): writes fail with a clear error, reads
  go on, the write in flight waits and nothing acknowledged is lost; writes resume;
- key rotation under load: data stays readable; the old values and log keys retire;
- BGREWRITEAOF under load loses nothing, and neither does kill -9 during a compaction
  (appendfsync always, three points after its start); many large hashes read in parts
  while they change come back exactly as they were.
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import threading
import time

import harness

MARK_VALUE = b"Zq7MARKERVALUEphi"
MARK_FIELD = b"Zq7MARKERFIELDphi"
MARK_KEY = b"Zq7MARKERKEYphi"


def files_under(d):
    for root, _, names in os.walk(d):
        for n in names:
            yield os.path.join(root, n)


def grep_files(d, needles):
    hits = []
    for p in files_under(d):
        try:
            with open(p, "rb") as f:
                data = f.read()
        except OSError:
            continue
        for n in needles:
            if n in data:
                hits.append((p, n))
    return hits


def snapshot(d):
    out = {}
    for p in files_under(d):
        if p.endswith("phidb.lock"):
            continue
        with open(p, "rb") as f:
            out[p] = hashlib.sha256(f.read()).hexdigest()
    return out


def memory_count(pid, needle):
    """Occurrences of needle in the readable memory of pid, read in chunks. Mappings over
    4 GB are address space reserved by AddressSanitizer (shadow memory), not data: skipped."""
    n = 0
    chunk = 8 << 20
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            m = re.match(r"([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            start, end, perms = int(m.group(1), 16), int(m.group(2), 16), m.group(3)
            if "r" not in perms or end - start > (4 << 30):
                continue
            pos, tail = start, b""
            while pos < end:
                try:
                    mem.seek(pos)
                    data = mem.read(min(chunk, end - pos))
                except (OSError, OverflowError, ValueError):
                    break
                if not data:
                    break
                n += (tail + data).count(needle)
                tail = data[-(len(needle) - 1):]
                pos += len(data)
    return n


def log_path(srv):
    return os.path.join(srv.dir, "data", "phidb.log")


def start_expect_failure(srv):
    r = subprocess.run([srv.server_bin, srv.conf], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=120)
    return r.returncode, r.stderr.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------

def marker_nowhere(run):
    srv = harness.PhidbServer()
    c = srv.client()
    p = c.pipeline(transaction=False)
    for i in range(10000):
        p.set(b"plain:%d" % i, MARK_VALUE + b"-%d" % i)
        p.hset(b"rec:%d" % (i % 100), MARK_FIELD + b"-%d" % i, b"v")
        p.set(MARK_KEY + b"-%d" % i, b"v")
        if i % 500 == 499:
            p.execute()
    p.execute()
    got = c.mget([b"plain:%d" % i for i in range(0, 10000, 100)])
    run.check(all(g and g.startswith(MARK_VALUE) for g in got), "values read back")
    c.hgetall(b"rec:7")
    last_reply = time.monotonic()
    needles = (MARK_VALUE, MARK_FIELD, MARK_KEY)
    run.eq(grep_files(srv.dir, needles), [], "no marker in any file under the data directory")
    c.execute_command("BGREWRITEAOF")
    harness.wait_until(lambda: c.info("persistence")["aof_rewrite_in_progress"] == 0,
                       timeout=120, what="the compaction to end")
    run.eq(grep_files(srv.dir, needles), [], "... nor after a compaction")
    time.sleep(max(0.0, 1.0 - (time.monotonic() - last_reply)))
    pid = srv.proc.pid
    run.eq(memory_count(pid, MARK_VALUE), 0,
           "the value marker is not in the server's memory a second after the last reply")
    run.log(f"    (key and field names stay in memory by design: "
            f"{memory_count(pid, MARK_KEY)} key-name and {memory_count(pid, MARK_FIELD)} "
            f"field-name occurrences; on disk they are sealed)")
    c.close()
    srv.stop()
    run.eq(grep_files(os.path.dirname(srv.log_path), (MARK_VALUE,)), [],
           "no value marker in the server log either")


def writer(srv, acked, stop, prefix, errors):
    """Write prefix:i = i until stop; record each acknowledged write with its time."""
    try:
        c = srv.raw()
        i = 0
        while not stop.is_set():
            k = f"{prefix}:{i}"
            r = c.call("SET", k, str(i))
            if r != ("+", b"OK"):
                errors.append(r)
                break
            acked.append((k, time.monotonic()))
            i += 1
    except Exception:
        pass  # the server was killed under us: expected


def kill_under_load(run, policy):
    srv = harness.PhidbServer(extra={"appendfsync": policy})
    acked, stop, errors = [], threading.Event(), []
    threads = [threading.Thread(target=writer, args=(srv, acked, stop, f"w{t}", errors))
               for t in range(4)]
    for t in threads:
        t.start()
    harness.wait_until(lambda: len(acked) > 3000, timeout=120, what="3000 acknowledged writes")
    killed_at = time.monotonic()
    srv.kill9()
    stop.set()
    for t in threads:
        t.join(timeout=30)
    run.eq(errors, [], f"{policy}: no write was refused")
    srv.restart()
    c = srv.raw()
    missing = []
    keys = list(acked)
    for n in range(0, len(keys), 500):
        chunk = keys[n:n + 500]
        r = c.call("MGET", *[k for k, _ in chunk])
        for (k, t), v in zip(chunk, r[1]):
            if v[1] is None:
                missing.append((k, killed_at - t))
    if policy == "always":
        run.eq(len(missing), 0, f"always: every one of {len(keys)} acknowledged writes survived "
                                "kill -9")
    else:
        old = [m for m in missing if m[1] > 2.0]
        run.eq(old, [], f"everysec: nothing acknowledged more than 2 s before kill -9 is lost "
                        f"({len(missing)} of {len(keys)} writes from the last moments lost)")
    run.check(harness.wait_until(lambda: True), "the server starts after kill -9")
    c.close()
    srv.stop()


def shutdown_command(run):
    """SHUTDOWN (redis-cli) under a write load stops the server as SIGTERM does: exit 0,
    every acknowledged write there after the restart, its audit record in the trail, which
    verifies."""
    srv = harness.PhidbServer(extra={"appendfsync": "everysec"})
    acked, stop, errors = [], threading.Event(), []
    threads = [threading.Thread(target=writer, args=(srv, acked, stop, f"s{t}", errors))
               for t in range(2)]
    for t in threads:
        t.start()
    harness.wait_until(lambda: len(acked) > 2000, timeout=120, what="2000 acknowledged writes")
    p = srv.cli_run("SHUTDOWN", "NOSAVE", "NOW")
    run.check(p.returncode == 0 and p.stdout.strip() == b"", "redis-cli SHUTDOWN: no reply, "
              "no error", (p.returncode, p.stdout, p.stderr))
    stop.set()
    for t in threads:
        t.join(timeout=30)
    try:
        rc = srv.proc.wait(harness.STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        rc = None
    run.eq(rc, 0, "the server exits 0 after SHUTDOWN")
    log = srv.log_text()
    run.check("SHUTDOWN by user admin" in log and "phidb stopped" in log,
              "the log names who shut it down", log[-800:])
    srv.stop()  # the exit status and sanitizer checks of a stop
    srv.restart()
    c = srv.raw()
    keys = [k for k, _ in acked]
    missing = []
    for n in range(0, len(keys), 500):
        chunk = keys[n:n + 500]
        r = c.call("MGET", *chunk)
        missing += [k for k, v in zip(chunk, r[1]) if v[1] is None]
    run.eq(missing, [], f"every one of {len(keys)} acknowledged writes is there after SHUTDOWN")
    c.close()
    srv.stop()
    r = subprocess.run([srv.tool_bin, "audit", "verify", srv.dir], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=300)
    run.check(r.returncode == 0, "phidb audit verify after SHUTDOWN",
              r.stdout[-400:] + r.stderr[-400:])
    r = subprocess.run([srv.tool_bin, "audit", "export", srv.dir, "--format", "jsonl"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    shut = [x for x in r.stdout.decode().splitlines() if '"cmd":"shutdown"' in x]
    run.check(len(shut) == 1 and '"user":"admin"' in shut[0] and '"ev":"stop"' in shut[0] and
              '"action":"shutdown"' in shut[0], "one audit record of SHUTDOWN, a stop record "
              "by admin", shut or r.stderr[-300:])
    # Commands sent after SHUTDOWN in the same write do not run (Redis exits inside it).
    srv.restart()
    c = srv.raw()
    c.send(harness.encode_command("SHUTDOWN") + harness.encode_command("SET", "after", "1"))
    try:
        rc = srv.proc.wait(harness.STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        rc = None
    run.eq(rc, 0, "pipelined SHUTDOWN: the server exits 0")
    srv.stop()
    srv.restart()
    c = srv.raw()
    run.eq(c.call("EXISTS", "after"), (":", 0), "the command after SHUTDOWN did not run")
    c.close()
    srv.stop()


def damaged_log(run):
    srv = harness.PhidbServer()
    c = srv.raw()
    for i in range(200):
        c.call("SET", f"k{i}", f"value-{i}")
    c.close()
    srv.stop()
    path = log_path(srv)
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        data = bytearray(f.read())
    # Flip a byte in the middle.
    pos = size // 2
    data[pos] ^= 0x40
    with open(path, "wb") as f:
        f.write(data)
    before = snapshot(srv.dir)
    rc, err = start_expect_failure(srv)
    run.check(rc != 0, "a bad record in the middle stops start-up", err)
    run.check("phidb.log" in err and "offset" in err, "the error names the file and the offset",
              err)
    run.check("check-log" in err, "... and says how to repair it", err)
    run.eq(snapshot(srv.dir), before, "nothing was changed")
    r = subprocess.run([srv.tool_bin, "check-log", srv.dir], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode()
    run.check(r.returncode == 1 and "offset" in out, "phidb check-log reports the damage", out)
    r = subprocess.run([srv.tool_bin, "check-log", srv.dir, "--repair"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode()
    run.check(r.returncode == 0, "phidb check-log --repair", out)
    copies = [p for p in os.listdir(os.path.dirname(path)) if p.startswith("phidb.log.bad")]
    run.check(len(copies) == 1, "repair keeps a copy of the damaged log", str(copies))
    srv.restart()
    c = srv.raw()
    run.eq(c.call("GET", "k0"), ("$", b"value-0"), "records before the damage are there")
    n = c.call("DBSIZE")[1]
    run.check(0 < n < 200, f"the repaired log loads ({n} of 200 keys, cut at the damage)")
    c.close()
    srv.stop()
    # A torn tail: cut the last record in half.
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.truncate(size - 7)
    srv.restart()
    run.check("bytes dropped" in srv.log_text(), "a torn tail is cut with a warning",
              srv.log_tail(5))
    torn = [p for p in os.listdir(os.path.dirname(path)) if p.startswith("phidb.log.torn-")]
    run.check(len(torn) == 1 and "the dropped bytes are kept in" in srv.log_text(),
              "... after its bytes were copied aside (phidb.log.torn-<ms>)", str(torn))
    if torn:
        tp = os.path.join(os.path.dirname(path), torn[0])
        run.check(os.stat(tp).st_mode & 0o777 == 0o600 and os.path.getsize(tp) > 0,
                  "... mode 0600, holding the dropped bytes",
                  f"{os.stat(tp).st_mode:o} {os.path.getsize(tp)}")
    c = srv.raw()
    run.eq(c.call("GET", "k0"), ("$", b"value-0"), "the server starts and serves")
    c.close()
    srv.stop()
    # A log cut to 0 bytes is not an empty keyspace: phidb never writes one.
    keep = open(path, "rb").read()
    open(path, "wb").close()
    rc, err = start_expect_failure(srv)
    run.check(rc != 0 and "empty (0 bytes)" in err and "phidb restore" in err,
              "a log of 0 bytes stops start-up and says what to do", err[-400:])
    run.eq(os.path.getsize(path), 0, "... and is left as it is")
    r = subprocess.run([srv.tool_bin, "check-log", srv.dir], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    run.check(r.returncode != 0 and b"empty (0 bytes)" in r.stdout,
              "phidb check-log reports it", r.stdout.decode()[-300:])
    with open(path, "wb") as f:
        f.write(keep)
    srv.restart()
    c = srv.raw()
    run.eq(c.call("GET", "k0"), ("$", b"value-0"), "the log put back loads")
    c.close()
    srv.stop()


def length_flip(run):
    """One flipped bit in the length of the first record makes it run past the end of the
    file: the records after it open, so start-up refuses (file and offset) and cuts nothing."""
    srv = harness.PhidbServer(extra={"appendfsync": "always"})
    c = srv.raw()
    for i in range(200):
        c.call("SET", f"k{i}", f"value-{i}")
    c.close()
    srv.stop()
    path = log_path(srv)
    good = open(path, "rb").read()
    first = struct.unpack(">I", good[64:68])[0]
    data = bytearray(good)
    data[65] ^= 0x40  # bit 22 of the first record's length (the header is 64 bytes)
    run.check(struct.unpack(">I", data[64:68])[0] + 68 > len(data),
              "the flipped length runs past the end of the file")
    with open(path, "wb") as f:
        f.write(data)
    before = snapshot(srv.dir)
    p = subprocess.Popen([srv.server_bin, srv.conf], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE)
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:  # it started: it took the damage for a torn tail
        p.kill()
        _, err = p.communicate()
    rc, err = p.returncode, err.decode("utf-8", "replace")
    run.check(rc not in (0, -9), "a damaged length in the first record stops start-up",
              err[-400:])
    run.check(path in err and "bad record at offset 64" in err,
              "the error names the file and the offset", err[-400:])
    run.check(f"record 2 follows at offset {68 + first}" in err,
              "... and the later record that proves it is not a torn tail", err[-400:])
    run.eq(snapshot(srv.dir), before, "the log is unchanged and nothing is added")
    r = subprocess.run([srv.tool_bin, "check-log", srv.dir], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode()
    run.check(r.returncode == 1 and "bad record at offset 64" in out and "torn tail" not in out,
              "phidb check-log reports damage, not a torn tail", out)
    r = subprocess.run([srv.tool_bin, "backup", srv.dir, "--to",
                        os.path.join(srv.dir, "flip.phibak")], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode()
    run.check(r.returncode != 0 and "offset 64" in out, "an offline backup refuses too", out)
    run.eq(open(path, "rb").read(), bytes(data), "... and leaves the log as it is")
    with open(path, "wb") as f:
        f.write(good)
    srv.restart()
    c = srv.raw()
    run.eq(c.call("DBSIZE"), (":", 200), "the log put back loads whole")
    c.close()
    srv.stop()


def foreign_record(run):
    srv = harness.PhidbServer()
    c = srv.raw()
    for i in range(20):
        c.call("SET", f"a{i}", "from the first file")
    c.close()
    srv.stop()
    first = open(log_path(srv), "rb").read()
    srv.restart()
    c = srv.raw()
    c.call("BGREWRITEAOF")
    harness.wait_until(lambda: b"aof_rewrite_in_progress:0" in c.call("INFO", "persistence")[1],
                       timeout=60, what="compaction")
    for i in range(20):
        c.call("SET", f"b{i}", "second file")
    c.close()
    srv.stop()
    second = open(log_path(srv), "rb").read()
    # A record from the first file (same keys, other file id) inserted in the middle.
    hdr = 64
    n = struct.unpack(">I", first[hdr:hdr + 4])[0]
    foreign = first[hdr:hdr + 4 + n]
    pos, cut = hdr, len(second) // 2
    while pos < cut:
        pos += 4 + struct.unpack(">I", second[pos:pos + 4])[0]
    with open(log_path(srv), "wb") as f:
        f.write(second[:pos] + foreign + second[pos:])
    rc, err = start_expect_failure(srv)
    run.check(rc != 0 and "offset" in err, "a record moved in from another log file is refused",
              err)
    with open(log_path(srv), "wb") as f:
        f.write(second)


def key_problems(run):
    srv = harness.PhidbServer()
    c = srv.raw()
    c.call("SET", "k", "v")
    c.close()
    srv.stop()
    key = os.path.join(srv.dir, "master.key")
    saved = open(key, "rb").read()
    with open(key, "w") as f:
        f.write(os.urandom(32).hex() + "\n")
    before = snapshot(srv.dir)
    rc, err = start_expect_failure(srv)
    run.check(rc != 0 and "wrong master key" in err, "a wrong master key stops start-up", err)
    run.eq(snapshot(srv.dir), before, "... and every file is left as it was")
    with open(key, "wb") as f:
        f.write(saved)
    keyring = os.path.join(srv.dir, "data", "keyring")
    os.chmod(keyring, 0o644)
    rc, err = start_expect_failure(srv)
    run.check(rc != 0 and "chmod 600" in err, "a keyring readable by others is refused", err)
    os.chmod(keyring, 0o600)
    os.chmod(key, 0o640)
    rc, err = start_expect_failure(srv)
    run.check(rc != 0 and "chmod 600" in err, "a master key file readable by others is refused",
              err)
    os.chmod(key, 0o600)
    inside = os.path.join(srv.dir, "data", "master.key")
    shutil.copy(key, inside)
    os.chmod(inside, 0o600)
    r = subprocess.run([srv.server_bin, srv.conf, "--master-key-file", inside],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    err = r.stderr.decode()
    run.check(r.returncode != 0 and "inside the data directory" in err,
              "a master key file inside the data directory is refused", err)
    os.unlink(inside)
    srv.restart()
    run.eq(srv.raw().call("GET", "k"), ("$", b"v"), "the right key opens everything again")
    srv.stop()


def reserved(srv, purpose):
    with open(os.path.join(srv.dir, "data", "keyring")) as f:
        return max(v["reserved"] for v in json.load(f)["purposes"][purpose])


def keyring_copied():
    """A server with one write whose keyring file is copied (it has reserved the first block
    of nonces of every purpose) and that runs again (resuming above that block, so the next
    seals use nonces of the second): (server, the copy, the values key's reservation)."""
    srv = harness.PhidbServer()
    c = srv.raw()
    c.call("SET", "a", "1")
    c.close()
    srv.stop()
    first = open(keyring_of(srv), "rb").read()
    block = reserved(srv, "values")
    srv.restart()
    return srv, first, block


def old_keyring(run):
    """A keyring file older than the data (copied back from an earlier moment) must not
    make the server seal with nonces the data already holds: start-up raises the counters
    above every nonce in the log and the audit trail, and says so."""
    srv, first, block = keyring_copied()
    c = srv.raw()
    for i in range(50):
        c.call("SET", f"b{i}", "2")
    c.close()
    keyring_back(srv, first)
    c = srv.raw()
    run.eq(c.call("GET", "b49"), ("$", b"2"), "the data opens with the older keyring")
    c.call("SET", "c", "3")
    c.close()
    log = srv.log_text()
    run.check("nonce counters raised above nonces found in the durable log" in log,
              "start-up says the keyring is older than the log", srv.log_tail(10))
    run.check("nonce counters raised above nonces found in the audit trail" in log,
              "... and than the audit trail", srv.log_tail(10))
    # Without the check the counter would resume at the old block's end and reserve up to
    # exactly two blocks, reusing the nonces of the 50 writes.
    run.check(reserved(srv, "values") > 2 * block, "new values are sealed above them",
              f"{reserved(srv, 'values')} vs {2 * block}")
    run.check(reserved(srv, "log") > 2 * block, "so are new log records",
              f"{reserved(srv, 'log')} vs {2 * block}")
    srv.stop()
    # The same when the values that used those nonces were deleted and the log compacted:
    # the new log holds none of them, but it records the last nonce of each values key
    # version, so an older keyring still resumes above the deleted values' nonces (whose
    # ciphertexts may live on in copies of the old log or in backups).
    srv, first, block = keyring_copied()
    c = srv.raw()
    for i in range(50):
        c.call("SET", f"b{i}", "2")
    c.call("DEL", *[f"b{i}" for i in range(50)])
    done = srv.log_text().count("log compaction done")
    run.check(c.call("BGREWRITEAOF")[0] == "+", "BGREWRITEAOF")
    harness.wait_until(lambda: srv.log_text().count("log compaction done") > done, timeout=60,
                       what="the compaction")
    c.close()
    keyring_back(srv, first)
    c = srv.raw()
    run.eq(c.call("DBSIZE"), (":", 1), "the compacted log holds only a")
    c.close()
    sealed_above(run, srv, block, "the durable log", "the deleted values' nonces")
    # The same for what the values key seals outside the log: a subject in the users file,
    # sealed in the newer block with no value in the log after it. (The break-glass grants
    # file: test_policy_server.py.)
    srv, first, block = keyring_copied()
    c = srv.raw()
    run.eq(c.call("ACL", "SETUSER", "pat", "on", ">Zq7-patient-password", "~p:*", "+get",
                  "subject=P77"), ("+", b"OK"), "a user with a subject")
    run.eq(c.call("ACL", "SAVE"), ("+", b"OK"), "ACL SAVE seals it")
    c.close()
    keyring_back(srv, first)
    sealed_above(run, srv, block, "the users file", "the subject's nonce")


def keyring_of(srv):
    return os.path.join(srv.dir, "data", "keyring")


def sealed_above(run, srv, block, where, what):
    """After keyring_back: a write, then start-up must have said that the keyring is older
    than `where`, and the values key's reservation must lie above the copy's two blocks
    (without the floor it would end exactly there, reusing the nonces of `what`)."""
    c = srv.raw()
    c.call("SET", "c", "3")
    c.close()
    run.check(f"nonce counters raised above nonces found in {where}" in srv.log_text(),
              f"start-up sees the keyring is older than {where}", srv.log_tail(10))
    run.check(reserved(srv, "values") > 2 * block, f"new values are sealed above {what}",
              f"{reserved(srv, 'values')} vs {2 * block}")
    srv.stop()


def keyring_back(srv, first):
    """Stop, put the keyring file copied earlier back (older than the data), start again."""
    srv.stop()
    with open(keyring_of(srv), "wb") as f:
        f.write(first)
    srv.restart()


def full_disk(run):
    # The durable log's behaviour alone: these keys are outside any schema and not audited
    # (a full disk under the audit trail is tested in test_audit_server.py).
    srv = harness.PhidbServer(extra={"audit-unclassified": "none"})
    c = srv.raw()
    for i in range(50):
        c.call("SET", f"before:{i}", "x" * 100)
    c.call("CONFIG", "SET", "appendfsync", "always")
    size = os.path.getsize(log_path(srv))
    limit = size + 3000
    # Only the soft limit: it can be raised again afterwards.
    subprocess.run(["prlimit", f"--pid={srv.proc.pid}", f"--fsize={limit}:unlimited"],
                   check=True)
    acked = []
    refused = None
    for i in range(1000):
        w = srv.raw(timeout=3)
        try:
            r = w.call("SET", f"during:{i}", "y" * 100)
        except Exception:
            r = None  # the write in flight waits for the disk: no reply yet
        w.close()
        if r == ("+", b"OK"):
            acked.append(f"during:{i}")
        elif r is not None and r[0] == "-":
            refused = r
            break
    run.check(refused is not None and refused[1].startswith(b"MISCONF"),
              "a write on a full disk gets a clear error", harness.show(refused))
    r = c.call("GET", "before:1")
    run.eq(r, ("$", b"x" * 100), "reads go on")
    subprocess.run(["prlimit", f"--pid={srv.proc.pid}", "--fsize=unlimited:unlimited"],
                   check=True)
    harness.wait_until(lambda: c.call("SET", "after", "z") == ("+", b"OK"), timeout=30,
                       what="writes to resume")
    run.check(True, "writes resume by themselves when space is back")
    c.close()
    srv.stop()
    srv.restart()
    c = srv.raw()
    lost = [k for k in acked if c.call("GET", k)[1] is None]
    run.eq(lost, [], f"none of the {len(acked)} writes acknowledged around the full disk is lost")
    run.eq(c.call("GET", "after"), ("$", b"z"), "nor the writes after it")
    c.close()
    srv.stop()


def stuck_write_at_shutdown(run):
    # A write whose log record meets a full disk waits for it, unacknowledged. A stop while
    # the disk stays full cannot keep it: the server says so and exits non-zero (it exited
    # 0 and dropped it silently), and the writes refused meanwhile give the reason.
    srv = harness.PhidbServer(extra={"audit-unclassified": "none"})
    c = srv.raw()
    c.call("SET", "before", "x")
    c.call("SET", "ballast", "b" * 50000)  # the limit applies to every file: the server
    c.call("CONFIG", "SET", "appendfsync", "always")  # log must stay below it
    size = os.path.getsize(log_path(srv))
    subprocess.run(["prlimit", f"--pid={srv.proc.pid}", f"--fsize={size + 200}:unlimited"],
                   check=True)
    w = srv.raw(timeout=3)
    try:
        r = w.call("SET", "stuck", "y" * 4000)
    except Exception:
        r = None
    run.check(r is None, "the write that meets the full disk gets no reply", r)
    r = c.call("SET", "next", "z")
    run.check(r[0] == "-" and r[1].startswith(b"MISCONF") and b"file size limit" in r[1],
              "the next write is refused with the reason", harness.show(r))
    proc, srv.proc = srv.proc, None
    proc.send_signal(signal.SIGTERM)
    rc = proc.wait(60)
    srv._log_file.close()
    run.eq(rc, 1, "the stop exits 1: a write was lost")
    run.check("could not be written to the durable log and are lost" in srv.log_text(),
              "and the log says so", srv.log_tail(5))
    srv.restart()
    c2 = srv.raw()
    run.eq(c2.call("GET", "before"), ("$", b"x"), "the acknowledged write is there")
    c2.close()
    srv.stop()


def rotation_under_load(run):
    srv = harness.PhidbServer()
    c = srv.raw()
    for n in range(0, 3000, 500):
        args = []
        for i in range(n, n + 500):
            args += [f"r:{i}", f"value-{i}"]
        c.call("MSET", *args)
        c.call("HSET", f"rh:{n}", *[x for i in range(20) for x in (f"f{i}", f"v{i}")])
    stop, errors, reads = threading.Event(), [], [0]

    def load():
        w = srv.raw()
        i = 0
        while not stop.is_set():
            k = f"r:{i % 3000}"
            r = w.call("GET", k)
            if r != ("$", f"value-{i % 3000}".encode()):
                errors.append((k, r))
            w.call("SET", f"new:{i}", "x")
            reads[0] += 1
            i += 1
        w.close()

    t = threading.Thread(target=load)
    t.start()
    r = c.call("PHI.KEYRING", "ROTATE")
    run.check(r[0] == "*" and len(r[1]) == 2, "PHI.KEYRING ROTATE (values and log)",
              harness.show(r))

    def status():
        return keyring_status(c)

    def retired():
        s = status()
        return (s["values"][0][1] == b"retired" and s["log"][0][1] == b"retired")

    harness.wait_until(retired, timeout=180, what="the old values and log keys to retire")
    stop.set()
    t.join(timeout=30)
    run.eq(errors, [], f"data stayed readable throughout ({reads[0]} reads during rotation)")
    s = status()
    run.eq(s["values"][0][:2], (1, b"retired"), "values v1 retired")
    run.eq(s["values"][1][1], b"current", "values v2 current")
    run.eq(s["values"][0][2], 0, "v1 protects nothing")
    run.eq(s["log"][0][1], b"retired", "log v1 retired after the compaction")
    c.close()
    srv.stop()
    srv.restart()
    c = srv.raw()
    run.eq(c.call("GET", "r:2999"), ("$", b"value-2999"), "everything loads after a restart")
    run.eq(c.call("HGET", "rh:500", "f19"), ("$", b"v19"), "hash fields too")
    c.close()
    srv.stop()


def keyring_status(c):
    """PHI.KEYRING STATUS as {purpose: [(version, state, items), ...]}."""
    out = {}
    items = c.call("PHI.KEYRING", "STATUS")[1]
    for name, versions in zip(items[0::2], items[1::2]):
        vs = []
        for v in versions[1]:
            d = dict(zip([x[1] for x in v[1][0::2]], v[1][1::2]))
            vs.append((d[b"version"][1], d[b"state"][1], d[b"items"][1]))
        out[name[1].decode()] = vs
    return out


def rotation_resumed(run):
    """A server stopped while a rotation re-seals its values finishes the rotation after
    the restart (the old version used to stay in use for good, with nothing saying so)."""
    srv = harness.PhidbServer()
    c = srv.raw()
    for n in range(0, 20000, 1000):
        c.call("MSET", *[x for i in range(n, n + 1000) for x in (f"z:{i}", f"value-{i}")])
    r = c.call("PHI.KEYRING", "ROTATE")
    left = keyring_status(c)["values"][0][2]
    c.close()
    srv.stop()  # SIGTERM at once: 256 values are sealed again per step, 20,000 take seconds
    run.check(r[0] == "*" and left > 0, "stopped while values v1 still protected items",
              (harness.show(r), left))
    srv.restart()
    c = srv.raw()

    def retired():
        s = keyring_status(c)
        return s["values"][0][1] == b"retired" and s["log"][0][1] == b"retired"
    try:
        harness.wait_until(retired, timeout=120, what="the old keys to retire")
    except TimeoutError:
        pass
    s = keyring_status(c)
    run.eq((s["values"][0][:2], s["log"][0][:2]), ((1, b"retired"), (1, b"retired")),
           "after the restart the re-seal and compaction end and v1 of both is retired")
    run.eq(c.call("GET", "z:19999"), ("$", b"value-19999"), "the values read the same")
    c.close()
    srv.stop()


def pairs(items):
    """HGETALL's reply items (bulk tuples) as a dict of field -> value."""
    flat = [x[1] for x in items]
    return dict(zip(flat[0::2], flat[1::2]))


def compaction_under_load(run):
    srv = harness.PhidbServer()
    c = srv.raw()
    for i in range(2000):
        c.call("SET", f"c:{i}", "old " + "o" * 1000)
    for i in range(2000):
        c.call("SET", f"c:{i}", "new")  # the log now holds 2 MB of values it no longer needs
    # A hash whose snapshot (about 2 MB) is handed to the new log in parts.
    for part in range(20):
        args = []
        for i in range(part * 1000, part * 1000 + 1000):
            args += [f"field:{i}", f"value of field {i} " + "x" * 40]
        c.call("HSET", "bighash", *args)
    acked, stop, errors = [], threading.Event(), []
    t = threading.Thread(target=writer, args=(srv, acked, stop, "bg", errors))
    t.start()

    # Meanwhile the large hash (read by the compaction in parts, across slices) is changed:
    # fields overwritten, deleted and added, between and during its parts.
    changes = [0]

    def change_bighash():
        h = srv.raw()
        n = 0
        try:
            while not stop.is_set():
                h.call("HSET", "bighash", f"field:{(n * 7919) % 20000}", f"changed {n}",
                       f"new:{n}", "added")
                h.call("HDEL", "bighash", f"field:{(n * 104729 + 3) % 20000}")
                n += 1
                changes[0] = n
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))
        h.close()

    t2 = threading.Thread(target=change_bighash)
    t2.start()
    before = os.path.getsize(log_path(srv))
    run.eq(c.call("BGREWRITEAOF"), ("+", b"Background append only file rewriting started"),
           "BGREWRITEAOF")
    harness.wait_until(lambda: b"aof_rewrite_in_progress:0" in
                       c.call("INFO", "persistence")[1], timeout=120, what="compaction")
    info = c.call("INFO", "persistence")[1]
    run.check(b"aof_rewrites:1\r\n" in info and b"aof_last_rewrite_time_sec:" in info and
              b"aof_current_rewrite_time_sec:-1\r\n" in info,
              "INFO persistence counts the compaction and its time, as Redis names them")
    time.sleep(0.3)
    stop.set()
    t.join(timeout=30)
    t2.join(timeout=30)
    run.eq(errors, [], "writes went on during the compaction")
    big_before = pairs(c.call("HGETALL", "bighash")[1])
    c.close()
    srv.stop()
    srv.restart()
    c = srv.raw()
    lost = [k for k, _ in acked if c.call("GET", k)[1] is None]
    run.eq(lost, [], f"none of the {len(acked)} writes made during the compaction is lost")
    run.eq(c.call("GET", "c:1999"), ("$", b"new"), "keys written before it have their last value")
    big_after = pairs(c.call("HGETALL", "bighash")[1])
    diff = {k for k in set(big_before) | set(big_after) if big_before.get(k) != big_after.get(k)}
    run.check(len(big_before) > 15000 and not diff,
              "a large hash changed while the compaction read it in parts is exactly as it was",
              f"{len(big_before)} fields before, {len(big_after)} after, {len(diff)} differ")
    # Every write made while the compaction ran is in the new log as it came (about 200
    # bytes a SET, 300 an HSET and HDEL pair); without the compaction the 2 MB of old values
    # would still be there too.
    after = os.path.getsize(log_path(srv))
    run.check(after < before + 200 * len(acked) + 300 * changes[0] - 1_000_000,
              "the log was compacted",
              f"{after} bytes, {before} before; {len(acked)} SETs, {changes[0]} changes")
    c.close()
    srv.stop()


def many_large_hashes(run):
    """A compaction meets several large hashes in one scan step (it reads 32 buckets at a
    time) and reads each in parts, one after the other, while they are changed: after a
    restart every hash is exactly as it was."""
    srv = harness.PhidbServer()
    c = srv.raw()
    n_hashes, n_fields = 48, 4200
    for h in range(n_hashes):
        args = []
        for i in range(n_fields):
            args += [f"f{i}", f"v{h}.{i}"]
        c.call("HSET", f"bh:{h}", *args)
    for i in range(300):
        c.call("SET", f"small:{i}", "x")
    stop, errors = threading.Event(), []

    def change():
        w = srv.raw()
        n = 0
        try:
            while not stop.is_set():
                h = (n * 31) % n_hashes
                w.call("HSET", f"bh:{h}", f"f{(n * 7919) % n_fields}", f"changed {n}",
                       f"new{n}", "added")
                w.call("HDEL", f"bh:{(h + 5) % n_hashes}", f"f{(n * 104729) % n_fields}")
                n += 1
        except Exception as e:  # noqa: BLE001 (reported below)
            errors.append(repr(e))
        w.close()

    t = threading.Thread(target=change)
    t.start()
    run.eq(c.call("BGREWRITEAOF"), ("+", b"Background append only file rewriting started"),
           "BGREWRITEAOF")
    harness.wait_until(lambda: b"aof_rewrite_in_progress:0" in
                       c.call("INFO", "persistence")[1], timeout=120, what="compaction")
    time.sleep(0.2)
    stop.set()
    t.join(timeout=30)
    run.eq(errors, [], "the hashes were changed during the compaction")
    run.check(b"aof_rewrites:1\r\n" in c.call("INFO", "persistence")[1] and
              "log compaction done" in srv.log_text(), "the compaction finished")
    before = {h: pairs(c.call("HGETALL", f"bh:{h}")[1]) for h in range(n_hashes)}
    c.close()
    srv.stop()
    srv.restart()
    c = srv.raw()
    differ = [h for h in range(n_hashes) if pairs(c.call("HGETALL", f"bh:{h}")[1]) != before[h]]
    run.eq(differ, [], f"all {n_hashes} large hashes are as they were after the restart")
    run.check(all(len(v) > n_fields - 100 for v in before.values()), "the hashes were large")
    c.close()
    srv.stop()


def kill_during_compaction(run):
    """kill -9 while a compaction runs (after its start, at three points), with appendfsync
    always and writers going on: every acknowledged write survives, and the keys the
    compaction was copying keep their last values."""
    srv = harness.PhidbServer(extra={"appendfsync": "always"})
    c = srv.raw()
    n = 40000
    for value in ("v" * 200, "w" * 200):  # twice the records the keys need
        c.send(b"".join(harness.encode_command("SET", f"p:{i}", value) for i in range(n)))
        for _ in range(n):
            c.read_reply()
    acked, errors, seen = [], [], 0
    for rnd, delay in enumerate([0.0, 0.01, 0.05]):
        stop = threading.Event()
        threads = [threading.Thread(target=writer, args=(srv, acked, stop, f"k{rnd}w{t}", errors))
                   for t in range(3)]
        for t in threads:
            t.start()
        harness.wait_until(lambda: len(acked) > 200 * (rnd + 1), timeout=60, what="writes")
        run.eq(c.call("BGREWRITEAOF"), ("+", b"Background append only file rewriting started"),
               f"BGREWRITEAOF ({rnd + 1})")
        if b"aof_rewrite_in_progress:1" in c.call("INFO", "persistence")[1]:
            seen += 1
        time.sleep(delay)
        srv.kill9()
        stop.set()
        for t in threads:
            t.join(timeout=30)
        srv.restart()
        c = srv.raw()
        lost = []
        keys = [k for k, _ in acked]
        for j in range(0, len(keys), 500):
            chunk = keys[j:j + 500]
            lost += [k for k, v in zip(chunk, c.call("MGET", *chunk)[1]) if v[1] is None]
        run.eq(lost, [], f"kill -9 {delay * 1000:.0f} ms into a compaction: none of the "
                         f"{len(keys)} acknowledged writes is lost")
        r = c.call("MGET", *[f"p:{i}" for i in range(0, n, 7)])[1]
        run.eq([v for v in r if v[1] != b"w" * 200], [],
               "the keys being compacted have their last values")
    run.eq(errors, [], "no write was refused")
    run.check(seen > 0, "the compaction was running when the server was killed",
              f"{seen} of 3 times")
    c.close()
    srv.stop()


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    for name, fn in [("marker nowhere", marker_nowhere),
                     ("kill -9, appendfsync always", lambda r: kill_under_load(r, "always")),
                     ("kill -9, appendfsync everysec", lambda r: kill_under_load(r, "everysec")),
                     ("SHUTDOWN under writes", shutdown_command),
                     ("damaged log", damaged_log), ("length flip", length_flip),
                     ("foreign record", foreign_record),
                     ("key problems", key_problems), ("old keyring", old_keyring),
                     ("full disk", full_disk),
                     ("write stuck at shutdown", stuck_write_at_shutdown),
                     ("rotation under load", rotation_under_load),
                     ("rotation resumed after a restart", rotation_resumed),
                     ("compaction under load", compaction_under_load),
                     ("many large hashes", many_large_hashes),
                     ("kill -9 during compaction", kill_during_compaction)]:
        with run.case(name):
            fn(run)


if __name__ == "__main__":
    harness.main(body)
