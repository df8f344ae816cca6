"""Random commands from users of every role, each followed in the audit trail: every data
command leaves its access records, with the right user, command, keys and result, and no
record ever holds a value.

The users and policy of test_random_policy.py, half its well-formed commands and half any
command of COMMAND LIST with words from a small pool; one command at a time, with
INFO audit's audit_last_seq read before and after it (INFO itself writes no record), so
the records each command wrote are known by their seq. At the end `phidb audit export`
reads the trail back and `phidb audit verify` checks it. For every command that names
keys (COMMAND INFO) and got past its arity check (in a transaction: at least one access
record of it in the EXEC's records):
- at least one access record of this user and command;
- a record for every key under a schema it names, and for the first key when
  none is;
- NOPERM: a denied record; a reply that is not an error: every access record granted;
  a read's other error: every access record failed, with the error as its reason;
- every access record carries the session's purpose (the role's default, or the last one
  PHI.PURPOSE set);
- no access record of another user or command in between (alerts excepted);
- a granted read of a record that names a field group beyond the user's role (possible
  only with a break-glass grant) carries the emergency mark.
And over the whole trail: no value admin wrote (each carries a marker) is in any record,
and the texts the users write are in none but as a subject (an HSET of the subject field
names the subject it writes).

Found so far: records whose key or subject held a NUL byte were left out of export and
every report (the readers skipped lines jansson refused without JSON_ALLOW_NUL).

    PHIDB_AUDIT_COMMANDS=20000 PHIDB_AUDIT_SEED=7 /usr/bin/python3 tests/integration/test_random_audit.py

phidb-only: skipped when PHIDB_TARGET=redis.
"""

import json
import os
import random
import subprocess

import harness
from test_random_policy import MARK, PW, READS, USERS, Checker, shapes, start_clinic

RECORD_PREFIXES = (b"patient:", b"lab:")
FIELD_GROUP = {"patient": {"id": "demographics", "name": "demographics",
                           "ssn": "demographics", "dob": "demographics", "zip": "demographics",
                           "diagnosis": "diagnosis", "pulse": "vitals", "notes": "notes",
                           "balance": "billing"},
               "lab": {"patient": "labs", "result": "labs"}}
READ_COMMANDS = {"hget", "hmget", "hgetall", "hvals", "hscan", "hrandfield", "hkeys", "hexists",
                 "hstrlen", "hlen"}
POOL = [b"patient:1", b"patient:2", b"patient:3", b"lab:1", b"other", b"patient:7", b"diagnosis",
        b"pulse", b"id", b"1", b"0", b"-1", b"EX", b"10", b"GET", b"x" * 50, b"", b"WITHVALUES",
        b"COUNT", b"MATCH", b"*"]
# Commands that end or take over the connection, change users or the server, or answer
# with more than one reply.
SKIP = {"hello", "auth", "quit", "reset", "shutdown", "monitor", "subscribe", "psubscribe",
        "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "acl", "config", "client",
        "phi.backup", "phi.keyring", "phi.audit", "phi.policy", "phi.mfa", "bgrewriteaof"}


def last_seq(admin):
    text = admin.call("INFO", "audit")[1].decode()
    return int(dict(x.split(":", 1) for x in text.splitlines() if ":" in x)["audit_last_seq"])


def export(srv):
    r = subprocess.run([srv.tool_bin, "audit", "export", srv.dir, "--format", "jsonl"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("phidb audit export failed: " + r.stderr.decode())
    return r.stdout.decode()


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    count = int(os.environ.get("PHIDB_AUDIT_COMMANDS", "3000"))
    seed = int(os.environ.get("PHIDB_AUDIT_SEED", "1"))
    rnd = random.Random(seed)
    srv, admin = start_clinic(run)
    # Key positions of every command, from the server (first key, last key, step).
    keyspec, writes = {}, set()
    for d in admin.call("COMMAND")[1]:
        keyspec[d[1][0][1].lower()] = (d[1][3][1], d[1][4][1], d[1][5][1])
        if ("+", b"write") in d[1][2][1]:
            writes.add(d[1][0][1].lower())
    every = [x[1].decode() for x in admin.call("COMMAND", "LIST")[1]]
    chk = Checker(admin)
    for _ in range(12):
        chk.write_record(rnd)
    conns, in_multi, sent, execs, purpose = {}, {}, [], [], {}
    users = sorted(u for u in USERS if u != "admin")
    for n in range(count):
        if n % 50 == 0:
            chk.write_record(rnd)
        u = rnd.choice(users)
        if rnd.random() < 0.5:  # well-formed commands of the policy test
            table = shapes(rnd, lambda: rnd.choice(
                [b"patient:1", b"patient:2", b"patient:3", b"lab:1", b"other", b"patient:7"]))
            name = rnd.choice(sorted(table))
            args = [name.encode()] + table[name]()
        else:  # any command, with words from a small pool
            name = rnd.choice(every).upper()
            args = [name.encode()] + [rnd.choice(POOL) for _ in range(rnd.randint(0, 5))]
        if name.lower() in SKIP:
            continue
        if u not in conns:
            conns[u] = srv.raw(u, PW)
            in_multi[u] = False
            purpose[u] = conns[u].call("PHI.PURPOSE")[1]  # the role's default
        before = last_seq(admin)
        try:
            reply = conns[u].call(*args, timeout=60)
        except harness.ConnectionClosed:
            run.require(srv.running(), f"the server is running after {harness.show(args)}",
                        srv.log_tail(30))
            conns.pop(u)
            continue
        after = last_seq(admin)
        up = name.upper()
        if up == "MULTI" and reply == ("+", b"OK"):
            in_multi[u] = []
        elif up in ("EXEC", "DISCARD") and not (reply[0] == "-" and
                                                reply[1].startswith(b"ERR wrong number")):
            # (EXEC with arguments ends the transaction, "EXECABORT ... wrong number of
            # arguments", as in Redis; DISCARD with arguments and MULTI's do not)
            if up == "EXEC" and in_multi[u] and reply[0] == "*" and reply[1] is not None:
                execs.append((u, in_multi[u], reply, before, after))
                for a, r in zip(in_multi[u], reply[1]):
                    if a[0].upper() == b"PHI.PURPOSE" and len(a) == 2 and r == ("+", b"OK"):
                        purpose[u] = a[1].lower()
            in_multi[u] = False
        elif in_multi[u] is not False:
            if reply == ("+", b"QUEUED"):
                in_multi[u].append(args)
        else:
            sent.append((u, args, reply, before, after, purpose[u]))
            if up == "PHI.PURPOSE" and len(args) == 2 and reply == ("+", b"OK"):
                purpose[u] = args[1].lower()
    for c in conns.values():
        c.close()

    def written():
        text = admin.call("INFO", "audit")[1].decode()
        d = dict(x.split(":", 1) for x in text.splitlines() if ":" in x)
        return int(d["audit_written_seq"]) >= int(d["audit_last_seq"])
    harness.wait_until(written, timeout=60, what="the trail written")
    text = export(srv)
    recs = {}
    for line in text.splitlines():
        r = json.loads(line)
        recs[r["seq"]] = r
    problems = []
    checked = 0
    for u, args, reply, before, after, used in sent:
        cmd = args[0].decode().lower()
        first, last, step = keyspec.get(cmd.encode(), (0, 0, 0))
        window = [recs[s] for s in range(before + 1, after + 1) if s in recs]
        where = (f"{u}: {harness.show(args, 100)} -> {harness.show(reply, 120)} "
                 f"(seq {before + 1}..{after})")
        if len(window) != after - before:
            problems.append(f"records missing from the export: {where}")
        foreign = [r for r in window if r["ev"] not in ("alert", "breakglass", "checkpoint")
                   and (r.get("user") != u or r.get("cmd", "").split("|")[0] != cmd)]
        if foreign:
            problems.append(f"records of something else: {where}: {foreign[:2]}")
        if first <= 0 or (reply[0] == "-" and (reply[1].startswith(b"ERR wrong number")
                                               or reply[1].startswith(b"ERR unknown"))):
            continue
        checked += 1
        acc = [r for r in window if r["ev"] == "access"]
        if not acc:
            problems.append(f"no access record: {where}")
            continue
        # An access only a break-glass grant allowed is recorded as an emergency.
        if any(r.get("purpose", "").encode() != (b"emergency" if r.get("emergency") else used)
               for r in acc):
            problems.append(f"purpose is not the session's ({used!r}): {where}: {acc[:1]}")
        lastk = len(args) + last if last < 0 else last
        keys = [args[i].decode("utf-8", "replace")
                for i in range(first, min(lastk, len(args) - 1) + 1, step or 1)]
        record_keys = [k for k in keys if k.encode().startswith(RECORD_PREFIXES)]
        named = {r.get("key") for r in acc}
        want = record_keys if record_keys else keys[:1]
        if any(k not in named for k in want):
            problems.append(f"keys {want} not all named ({sorted(map(str, named))}): {where}")
        if reply[0] == "-" and reply[1].startswith(b"NOPERM"):
            if not any(r["res"] == "denied" for r in acc):
                problems.append(f"NOPERM without a denied record: {where}")
        elif reply[0] != "-" and any(r["res"] != "granted" for r in acc):
            problems.append(f"a reply with a record not granted: {where}: {acc}")
        elif (reply[0] == "-" and cmd.encode() not in writes and
              any(r["res"] != "failed" or r.get("reason", "").encode() != reply[1]
                  for r in acc)):
            # A read that answered with an error showed nothing (a write is recorded,
            # granted, before it runs).
            problems.append(f"a read's error not recorded failed with it: {where}: {acc}")
    # A transaction's commands are decided, and recorded, when EXEC runs them.
    for u, queued, reply, before, after in execs:
        window = [recs[s] for s in range(before + 1, after + 1) if s in recs]
        for args, r in zip(queued, reply[1]):
            cmd = args[0].decode().lower()
            if keyspec.get(cmd.encode(), (0, 0, 0))[0] <= 0:
                continue
            checked += 1
            if not any(x["ev"] == "access" and x.get("user") == u and
                       x.get("cmd", "").split("|")[0] == cmd for x in window):
                problems.append(f"no access record for {harness.show(args, 80)} -> "
                                f"{harness.show(r, 80)} in EXEC by {u} (seq {before + 1}..{after})")
    run.check(not problems, f"every one of {checked} keyed commands has its records "
                            f"({len(sent)} commands, seed {seed})", "\n".join(problems[:8]))
    # Values never: admin's carry a marker; the users' texts may only be a record's subject
    # (an HSET of the subject field names the subject it writes, even when refused).
    leaks = []
    for r in recs.values():
        for k, v in r.items():
            t = json.dumps(v)
            if MARK.search(t.encode()) or (k != "subject" and ("Ann Lee" in t or "Fruit St" in t)):
                leaks.append(f"seq {r['seq']} {k}: {t[:80]}")
    run.eq(leaks[:5], [], "no value is in the trail")
    # A read beyond the role's groups is the use of a break-glass grant: its record says so.
    unmarked, marked = [], 0
    for r in recs.values():
        if r["ev"] != "access" or r["res"] != "granted" or r.get("role") not in READS:
            continue
        key = r.get("key", "")
        groups = FIELD_GROUP["lab" if key.startswith("lab:") else "patient"]
        if not key.startswith(("patient:", "lab:")):
            continue
        beyond = {groups.get(f) for f in r.get("fields", [])} - READS[r["role"]] - {None}
        if beyond and r.get("cmd") in READ_COMMANDS:
            if r.get("emergency"):
                marked += 1
            else:
                unmarked.append(r)
    run.eq(unmarked[:3], [], f"reads beyond the role carry the emergency mark ({marked} did)")
    run.log(f"{marked} reads beyond a role, each marked as a break-glass use")
    r = subprocess.run([srv.tool_bin, "audit", "verify", srv.dir], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=600)
    run.check(r.returncode == 0 and r.stdout.startswith(b"OK"), "phidb audit verify: OK",
              r.stdout.decode()[-400:])
    admin.close()
    srv.stop()  # raises on a non-zero exit or a sanitizer report


if __name__ == "__main__":
    harness.main(body)
