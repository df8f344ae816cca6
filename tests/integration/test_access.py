"""Users and access control against the real phidb-server (issue 2, "Users and ACL").

Checks, with raw TLS connections, redis-py and redis-cli:
- passwords: shorter than 12 characters and `nopass` are refused; no password or hash in
  ACL LIST / GETUSER replies; ACL SAVE writes a 0600 file that survives a restart;
- lockout: consecutive failures lock a user, the right password does not open a locked
  account, `ACL SETUSER <user> unlock` does; ACL LOG records the failures;
- key patterns (~ %R~ %W~) and categories (+@cat -@cat +cmd) enforced with NOPERM;
- disabling or deleting a user closes its sessions;
- idle sessions are closed after `timeout` seconds.
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import os
import stat
import time

import harness

PW = "correct-horse-battery-9"


def setuser(c, *rules):
    return c.call("ACL", "SETUSER", *rules)


def passwords(run, srv):
    c = srv.raw()
    r = setuser(c, "shorty", "on", ">short", "~*", "+@all")
    run.check(r[0] == "-" and b"at least 12" in r[1], "a short password is refused",
              harness.show(r))
    run.check(b"short" not in r[1], "the refused password is not echoed", harness.show(r))
    r = setuser(c, "nobody", "on", "nopass", "~*", "+@all")
    run.check(r[0] == "-" and b"nopass" in r[1], "nopass is refused", harness.show(r))
    run.eq(c.call("ACL", "GETUSER", "nobody"), ("$", None), "nothing was created")
    run.eq(setuser(c, "alice", "on", ">" + PW, "~*", "+@read"), ("+", b"OK"), "ACL SETUSER")
    # What the users file cannot hold is refused (white space in a pattern would split the
    # rule, a newline would start a forged user), and a name that opens with a quote is
    # written quoted: either made a file the server could not read at its next start.
    for bad in ("~a b", "~a\nuser mallory on >" + PW + " ~* +@all", "&x y"):
        r = setuser(c, "carol", "on", ">" + PW, bad)
        run.check(r[0] == "-" and b"Syntax error" in r[1], f"pattern {bad[:8]!r}... is refused",
                  harness.show(r))
    run.eq(setuser(c, "'quoted\"", "on", ">" + PW, "~q\"*", "+get"), ("+", b"OK"),
           "a name that opens with a quote, a quote in a pattern")
    listing = c.call("ACL", "LIST")
    text = b"\n".join(x[1] for x in listing[1])
    run.check(PW.encode() not in text and b"$argon2id" not in text,
              "ACL LIST shows neither the password nor its hash", text.decode())
    getuser = harness.show(c.call("ACL", "GETUSER", "alice"), 2000)
    run.check(PW not in getuser and "argon2id$" not in getuser,
              "ACL GETUSER shows neither the password nor its hash", getuser)
    a = srv.raw("alice", PW)
    run.eq(a.call("GET", "x"), ("$", None), "the new user logs in and reads")
    a.close()
    run.eq(c.call("ACL", "SAVE"), ("+", b"OK"), "ACL SAVE")
    acl = os.path.join(srv.dir, "data", "users.acl")
    mode = stat.S_IMODE(os.stat(acl).st_mode)
    run.eq(mode, 0o600, "the ACL file is mode 0600")
    with open(acl, "rb") as f:
        content = f.read()
    run.check(PW.encode() not in content, "the ACL file holds no plaintext password")
    c.close()
    srv.restart()
    a = srv.raw("alice", PW)
    run.eq(a.call("GET", "x"), ("$", None), "users survive a restart through ACL SAVE")
    a.close()
    q = srv.raw("'quoted\"", PW)
    run.eq(q.call("GET", 'q"1'), ("$", None), "... the quoted name and its pattern too")
    run.check(q.call("GET", "other")[0] == "-", "... with the same key pattern")
    q.close()
    run.eq(srv.raw().call("ACL", "GETUSER", "mallory"), ("$", None), "no forged user")
    # <password removes a password the user has at that point of the rules, as Redis: one it
    # does not have is an error that changes nothing, and the password is not echoed.
    c = srv.raw()
    pw2 = PW + "-two"

    def npass():
        return len(c.call("ACL", "GETUSER", "alice")[1][3][1])
    r = setuser(c, "alice", "<" + pw2)
    run.check(r[0] == "-" and b"does not exist" in r[1] and pw2.encode() not in r[1],
              "removing a password alice does not have is an error", harness.show(r))
    run.eq(npass(), 1, "and changes nothing")
    run.eq(setuser(c, "alice", ">" + pw2, "<" + pw2), ("+", b"OK"),
           "a password added earlier in the same SETUSER can be removed")
    run.eq(npass(), 1, "and is gone")
    r = setuser(c, "alice", "resetpass", "<" + PW)
    run.check(r[0] == "-" and b"does not exist" in r[1], "not one reset before it",
              harness.show(r))
    run.eq(npass(), 1, "alice still has her password")
    run.eq(setuser(c, "alice", "<" + PW), ("+", b"OK"), "removing the one she has")
    run.eq(npass(), 0, "leaves none")
    run.eq(setuser(c, "alice", ">" + PW), ("+", b"OK"), "her password back")
    # !hash the same way (the hash as ACL SAVE wrote it).
    run.eq(c.call("ACL", "SAVE"), ("+", b"OK"), "ACL SAVE")
    with open(acl, encoding="utf-8") as f:
        line = [ln for ln in f if ln.startswith("user alice ")][0]
    h = [t for t in line.split() if t.startswith("#$argon2id")][0][1:]
    other = h[:-4] + ("AAAA" if not h.endswith("AAAA") else "BBBB")
    r = setuser(c, "alice", "!" + other)
    run.check(r[0] == "-" and b"does not exist" in r[1], "removing a hash alice does not "
              "have is an error", harness.show(r))
    run.eq(npass(), 1, "that changes nothing")
    run.eq(setuser(c, "alice", "!" + h), ("+", b"OK"), "removing her hash")
    run.eq(npass(), 0, "leaves none")
    run.eq(setuser(c, "alice", "#" + h), ("+", b"OK"), "and it can be put back")
    a = srv.raw("alice", PW)
    run.eq(a.call("GET", "x"), ("$", None), "her password works again")
    a.close()
    c.close()


def lockout(run, srv):
    c = srv.raw()
    setuser(c, "bob", "on", ">" + PW, "~*", "+@all")
    for i in range(3):
        try:
            srv.raw("bob", "wrong-password-" + str(i))
            run.fail("a wrong password was accepted")
        except RuntimeError as e:
            run.check("WRONGPASS" in str(e), f"failure {i + 1} is WRONGPASS", str(e))
    try:
        srv.raw("bob", PW)
        run.fail("the right password opened a locked account")
    except RuntimeError as e:
        run.check("WRONGPASS" in str(e), "a locked account refuses the right password", str(e))
    getuser = c.call("ACL", "GETUSER", "bob")
    fields = dict(zip([x[1] for x in getuser[1][0::2]], getuser[1][1::2]))
    run.eq(fields.get(b"locked"), (":", 1), "ACL GETUSER shows the lock")
    log = harness.show(c.call("ACL", "LOG"), 5000)
    run.check("auth" in log and "bob" in log, "ACL LOG records the failed logins", log)
    run.eq(setuser(c, "bob", "unlock"), ("+", b"OK"), "ACL SETUSER bob unlock")
    b = srv.raw("bob", PW)
    run.eq(b.call("PING"), ("+", b"PONG"), "the right password works after unlock")
    b.close()
    c.close()


def key_patterns_and_categories(run, srv):
    c = srv.raw()
    run.eq(setuser(c, "clerk", "on", ">" + PW, "~patient:*", "%R~ref:*", "+@read", "+@hash",
                   "+set", "-hgetall", "+@transaction"), ("+", b"OK"), "create clerk")
    c.call("SET", "ref:codes", "ICD-10")
    c.call("SET", "other", "x")
    k = srv.raw("clerk", PW)
    nokey = ("-", b"NOPERM this user has no permissions to access one of the keys used as "
                  b"arguments")
    run.eq(k.call("SET", "patient:1", "v"), ("+", b"OK"), "write a key under ~patient:*")
    run.eq(k.call("GET", "patient:1"), ("$", b"v"), "read it")
    run.eq(k.call("GET", "ref:codes"), ("$", b"ICD-10"), "read a %R~ key")
    run.eq(k.call("SET", "ref:codes", "x"), nokey, "write a %R~ key: refused")
    run.eq(k.call("GET", "other"), nokey, "a key outside the patterns: refused")
    run.eq(k.call("MGET", "patient:1", "other"), nokey, "one bad key refuses the command")
    run.eq(k.call("HSET", "patient:2", "f", "v"), (":", 1), "+@hash grants HSET")
    run.eq(k.call("HGETALL", "patient:2"),
           ("-", b"NOPERM this user has no permissions to run the 'hgetall' command"),
           "-hgetall removes one command of a granted category")
    run.eq(k.call("DEL", "patient:1"),
           ("-", b"NOPERM this user has no permissions to run the 'del' command"),
           "DEL (@keyspace @write) not granted")
    run.eq(k.call("CONFIG", "GET", "timeout"),
           ("-", b"NOPERM this user has no permissions to run the 'config|get' command"),
           "subcommands are named config|get")
    r = k.call("FLUSHALL")
    run.check(r[0] == "-" and b"allow-dangerous-commands" in r[1], "FLUSHALL is disabled",
              harness.show(r))
    run.eq(c.call("GET", "ref:codes"), ("$", b"ICD-10"), "refused writes changed nothing")
    run.eq(c.call("ACL", "DRYRUN", "clerk", "GET", "other"),
           ("$", b"This user has no permissions to access the 'other' key"), "ACL DRYRUN")
    log = harness.show(c.call("ACL", "LOG", "20"), 8000)
    run.check("other" in log, "ACL LOG records the key denial", log)
    # MULTI: a refused command aborts the transaction at EXEC.
    k.call("MULTI")
    run.eq(k.call("GET", "other"), nokey, "refused when queued")
    r = k.call("EXEC")
    run.check(r[0] == "-" and r[1].startswith(b"EXECABORT"), "EXEC aborts", harness.show(r))
    k.close()
    # Channels: refused before the command runs, with an ACL LOG entry naming the channel.
    setuser(c, "herald", "on", ">" + PW, "~*", "resetchannels", "&news", "+@all")
    h = srv.raw("herald", PW)
    run.eq(h.call("PUBLISH", "news", "m"), (":", 0), "PUBLISH to a granted channel")
    run.eq(h.call("PUBLISH", "secret-ward", "m"),
           ("-", b"NOPERM this user has no permissions to access one of the channels used as "
                 b"arguments"), "PUBLISH to another channel refused")
    entry = c.call("ACL", "LOG", "1")[1][0][1]
    fields = {entry[i][1]: entry[i + 1][1] for i in range(0, len(entry), 2)}
    run.check(fields.get(b"reason") == b"channel" and fields.get(b"object") == b"secret-ward"
              and fields.get(b"username") == b"herald", "ACL LOG: reason channel, the channel",
              harness.show(entry, 600))
    run.eq(c.call("ACL", "LOG", "-1"), ("*", ()), "ACL LOG with a negative count: none, as Redis")
    run.eq(c.call("ACL", "LOG", "x"), ("-", b"ERR value is not an integer or out of range"),
           "ACL LOG with a count that is no number")
    h.close()
    c.close()


def sessions_end_with_the_user(run, srv):
    c = srv.raw()
    setuser(c, "temp", "on", ">" + PW, "~*", "+@all")
    t = srv.raw("temp", PW)
    run.eq(t.call("PING"), ("+", b"PONG"), "temp is logged in")
    setuser(c, "temp", "off")
    run.check(t.is_closed(timeout=10), "turning a user off closes its sessions")
    setuser(c, "temp", "on")
    t = srv.raw("temp", PW)
    run.eq(c.call("ACL", "DELUSER", "temp"), (":", 1), "ACL DELUSER")
    run.check(t.is_closed(timeout=10), "deleting a user closes its sessions")
    c.close()


def idle_timeout(run):
    srv = harness.PhidbServer(extra={"timeout": 1})
    c = srv.raw()
    run.eq(c.call("PING"), ("+", b"PONG"), "a fresh session answers")
    run.check(c.is_closed(timeout=15), "an idle session is closed after `timeout` seconds")
    busy = srv.raw()
    for _ in range(5):
        run.eq(busy.call("PING"), ("+", b"PONG"), "an active session stays open")
        time.sleep(0.4)
    busy.close()
    srv.stop()


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    srv = harness.PhidbServer()
    run.cases([passwords, lockout, key_patterns_and_categories, sessions_end_with_the_user],
              run, srv)
    with run.case("idle timeout"):
        idle_timeout(run)


if __name__ == "__main__":
    harness.main(body)
