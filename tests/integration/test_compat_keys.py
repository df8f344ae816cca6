"""Differential test: generic key commands behave exactly like redis-server 7.0.

Checks DEL UNLINK EXISTS TYPE EXPIRE PEXPIRE EXPIREAT PEXPIREAT (with the NX XX GT LT
options of Redis 7) TTL PTTL PERSIST RENAME RENAMENX and SCAN (MATCH COUNT TYPE), in RESP2
and RESP3. SCAN is compared as the set of keys a full iteration returns (cursor values and
batch sizes are the server's business); each SCAN reply's shape is compared too.
KEYS is not used here: phidb refuses it by default (see test_phidb_contract.py).
"""

import time

import difftest
from difftest import OK, bulk, err, integer, pairs, scan_all, scan_shape, scenario, ttl_near

MAX64 = "9223372036854775807"
MIN64 = "-9223372036854775808"


@scenario()
def del_unlink_exists_type(s):
    c = s.conn()
    c.cmd("MSET", "a", "1", "b", "2", "c", "3")
    c.cmd("HSET", "h", "f", "v")
    c.cmd("EXISTS", "a", expect=integer(1))
    c.cmd("EXISTS", "a", "a", "a", "missing", expect=integer(3))
    c.cmd("EXISTS", "missing", expect=integer(0))
    c.cmd("TOUCH", "a", "h", "missing", "a", expect=integer(3))
    c.cmd("TOUCH")
    c.cmd("TYPE", "a", expect=("+", b"string"))
    c.cmd("TYPE", "h", expect=("+", b"hash"))
    c.cmd("TYPE", "missing", expect=("+", b"none"))
    c.cmd("DEL", "a", "missing", "a", expect=integer(1))
    c.cmd("UNLINK", "b", "h", "missing", expect=integer(2))
    c.cmd("DEL", "missing", expect=integer(0))
    c.cmd("EXISTS", "a", "b", "c", "h", expect=integer(1))
    c.cmd("DBSIZE", expect=integer(1))
    c.cmd("SET", b"\x00bin\r\n", "v")
    c.cmd("EXISTS", b"\x00bin\r\n", expect=integer(1))
    c.cmd("DEL", b"\x00bin\r\n", expect=integer(1))
    c.cmd("SET", "", "empty key")
    c.cmd("TYPE", "")
    c.cmd("DEL", "", expect=integer(1))
    for cmd in ("DEL", "UNLINK", "EXISTS", "TYPE"):
        c.cmd(cmd)
    c.cmd("TYPE", "a", "b")


def huge_ttl(reply):
    """A TTL near 2^63 ms (PEXPIREAT 9223372036854775807) shrinks as time passes."""
    if reply[0] == ":" and reply[1] > 10**12:
        return (":", "> 10^12")
    return reply


@scenario()
def unlink_large_hash(s):
    """UNLINK of a hash large enough to be freed in the background (phidb: more than 64
    fields): gone at once, the name free for a new value while the old one is freed."""
    c = s.conn()
    fields = [x for i in range(300) for x in (f"f{i}", f"value {i}")]
    c.cmd("HSET", "big", *fields, expect=integer(300))
    c.cmd("HSET", "big2", *fields[:200], expect=integer(100))
    c.cmd("UNLINK", "big", "big2", "missing", expect=integer(2))
    c.cmd("EXISTS", "big", "big2", expect=integer(0))
    c.cmd("HLEN", "big", expect=integer(0))
    c.cmd("HSET", "big", "f1", "new", expect=integer(1))
    c.cmd("HGETALL", "big", norm=pairs)
    c.cmd("SET", "big2", "a string now", expect=OK)
    c.cmd("DBSIZE", expect=integer(2))
    c.cmd("HSET", "big", *fields, expect=integer(299))
    c.cmd("UNLINK", "big", expect=integer(1))
    c.cmd("TYPE", "big", expect=("+", b"none"))


@scenario()
def expire_family(s):
    c = s.conn()
    c.cmd("SET", "k", "v")
    c.cmd("TTL", "k", expect=integer(-1))
    c.cmd("PTTL", "k", expect=integer(-1))
    c.cmd("TTL", "missing", expect=integer(-2))
    c.cmd("PTTL", "missing", expect=integer(-2))
    c.cmd("EXPIRE", "k", "1000", expect=integer(1))
    c.cmd("TTL", "k", norm=ttl_near(1000, 10))
    c.cmd("PEXPIRE", "k", "2000000", expect=integer(1))
    c.cmd("PTTL", "k", norm=ttl_near(2000000, 10000))
    now = int(time.time())
    c.cmd("EXPIREAT", "k", now + 3000, expect=integer(1))
    c.cmd("TTL", "k", norm=ttl_near(3000, 10))
    c.cmd("PEXPIREAT", "k", (now + 4000) * 1000, expect=integer(1))
    c.cmd("TTL", "k", norm=ttl_near(4000, 10))
    c.cmd("PERSIST", "k", expect=integer(1))
    c.cmd("PERSIST", "k", expect=integer(0))
    c.cmd("PERSIST", "missing", expect=integer(0))
    c.cmd("TTL", "k", expect=integer(-1))
    for cmd in ("EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"):
        c.cmd(cmd, "missing", "100", expect=integer(0))
        for args in (["abc"], ["1.5"], ["99999999999999999999"], [MAX64], [MIN64], [],
                     ["100", "BOGUS"], [" 100"], ["100 "], ["+100"]):
            c.q("SET", "k", "v")  # a fresh key without TTL for every case
            c.cmd(cmd, "k", *args)
            c.cmd("TTL", "k", norm=huge_ttl)  # an error must not have changed k
    c.cmd("EXPIRE", "k", MAX64, expect=err("ERR invalid expire time in 'expire' command"))
    # Zero, negative and past times delete the key at once.
    for cmd, val in (("EXPIRE", "0"), ("EXPIRE", "-1"), ("PEXPIRE", "0"), ("PEXPIRE", "-100"),
                     ("EXPIREAT", "1"), ("PEXPIREAT", "1"), ("EXPIREAT", "0"),
                     ("EXPIREAT", "-5")):
        c.cmd("SET", "d", "v")
        c.cmd(cmd, "d", val, expect=integer(1))
        c.cmd("EXISTS", "d", expect=integer(0))
        c.cmd("TTL", "d", expect=integer(-2))
    c.cmd("HSET", "h", "f", "v")
    c.cmd("EXPIRE", "h", "1000", expect=integer(1))  # any type expires
    c.cmd("TTL", "h", norm=ttl_near(1000, 10))
    c.cmd("TTL")
    c.cmd("TTL", "a", "b")
    c.cmd("PERSIST")


@scenario()
def expire_options_nx_xx_gt_lt(s):
    c = s.conn()
    c.cmd("SET", "k", "v")
    c.cmd("EXPIRE", "k", "1000", "XX", expect=integer(0))  # no TTL yet
    c.cmd("EXPIRE", "k", "1000", "GT", expect=integer(0))  # no TTL = infinite
    c.cmd("EXPIRE", "k", "1000", "NX", expect=integer(1))
    c.cmd("EXPIRE", "k", "2000", "NX", expect=integer(0))
    c.cmd("TTL", "k", norm=ttl_near(1000, 10))
    c.cmd("EXPIRE", "k", "2000", "XX", expect=integer(1))
    c.cmd("EXPIRE", "k", "1500", "GT", expect=integer(0))
    c.cmd("EXPIRE", "k", "2500", "GT", expect=integer(1))
    c.cmd("EXPIRE", "k", "3000", "LT", expect=integer(0))
    c.cmd("EXPIRE", "k", "1200", "LT", expect=integer(1))
    c.cmd("TTL", "k", norm=ttl_near(1200, 10))
    c.cmd("EXPIRE", "k", "100", "XX", "GT")
    c.cmd("EXPIRE", "k", "100", "XX", "LT")
    c.cmd("TTL", "k", norm=ttl_near(100, 10))
    c.cmd("PERSIST", "k")
    c.cmd("EXPIRE", "k", "1000", "LT", expect=integer(1))  # any TTL is less than infinite
    c.cmd("PERSIST", "k")
    c.cmd("EXPIRE", "k", "100", "NX", "XX",
          expect=err("ERR NX and XX, GT or LT options at the same time are not compatible"))
    c.cmd("EXPIRE", "k", "100", "NX", "GT")
    c.cmd("EXPIRE", "k", "100", "NX", "LT")
    c.cmd("EXPIRE", "k", "100", "GT", "LT",
          expect=err("ERR GT and LT options at the same time are not compatible"))
    c.cmd("EXPIRE", "k", "100", "nx")
    c.cmd("TTL", "k", norm=ttl_near(100, 10))
    c.cmd("EXPIRE", "k", "100", "NX", "NX")
    c.cmd("EXPIRE", "k", "100", "FOO")
    c.cmd("PERSIST", "k")
    for cmd, far, near in (("PEXPIRE", "2000000", "1000000"),
                           ("EXPIREAT", str(int(time.time()) + 2000), str(int(time.time()) + 1000)),
                           ("PEXPIREAT", str((int(time.time()) + 2000) * 1000),
                            str((int(time.time()) + 1000) * 1000))):
        c.cmd(cmd, "k", near, "XX")
        c.cmd(cmd, "k", near, "NX")
        c.cmd(cmd, "k", far, "NX")
        c.cmd(cmd, "k", far, "GT")
        c.cmd(cmd, "k", near, "GT")
        c.cmd(cmd, "k", near, "LT")
        c.cmd(cmd, "k", far, "LT")
        c.cmd(cmd, "k", near, "GT", "LT")
        c.cmd("TTL", "k", norm=ttl_near(1000, 10))
        c.cmd("PERSIST", "k")
    c.cmd("EXPIRE", "missing", "100", "NX", expect=integer(0))
    # A negative time with GT/LT compares against the current TTL before deleting.
    c.cmd("SET", "n", "v", "EX", "1000")
    c.cmd("EXPIRE", "n", "-1", "GT", expect=integer(0))
    c.cmd("EXISTS", "n", expect=integer(1))
    c.cmd("EXPIRE", "n", "-1", "LT", expect=integer(1))
    c.cmd("EXISTS", "n", expect=integer(0))


@scenario()
def rename_renamenx(s):
    c = s.conn()
    c.cmd("SET", "a", "1", "EX", "1000")
    c.cmd("RENAME", "a", "b", expect=OK)
    c.cmd("EXISTS", "a", expect=integer(0))
    c.cmd("GET", "b", expect=bulk("1"))
    c.cmd("TTL", "b", norm=ttl_near(1000, 10))  # the TTL moves with the value
    c.cmd("RENAME", "missing", "x", expect=err("ERR no such key"))
    c.cmd("RENAME", "b", "b", expect=OK)
    c.cmd("RENAME", "missing", "missing")
    c.cmd("HSET", "h", "f", "v")
    c.cmd("SET", "s", "string")
    c.cmd("RENAME", "h", "s", expect=OK)  # overwrites, whatever the type
    c.cmd("TYPE", "s", expect=("+", b"hash"))
    c.cmd("TTL", "s", expect=integer(-1))
    c.cmd("SET", "t", "v")
    c.cmd("RENAME", "b", "t")
    c.cmd("TTL", "t", norm=ttl_near(1000, 10))  # the target's own TTL is replaced
    c.cmd("SET", "x", "1")
    c.cmd("SET", "y", "2")
    c.cmd("RENAMENX", "x", "y", expect=integer(0))
    c.cmd("RENAMENX", "x", "z", expect=integer(1))
    c.cmd("RENAMENX", "z", "z", expect=integer(0))
    c.cmd("RENAMENX", "missing", "q", expect=err("ERR no such key"))
    c.cmd("MGET", "x", "y", "z")
    c.cmd("RENAME", b"bin\x00", "q")
    c.cmd("SET", b"bin\x00", "v")
    c.cmd("RENAME", b"bin\x00", b"\r\nnew")
    c.cmd("GET", b"\r\nnew", expect=bulk("v"))
    c.cmd("RENAME", "x")
    c.cmd("RENAMENX", "x", "y", "z")
    c.cmd("DBSIZE")


@scenario()
def scan(s):
    c = s.conn()
    p = c.raw
    for i in range(300):
        p.send(difftest.harness.encode_command("SET", f"user:{i}", "v"))
    for i in range(50):
        p.send(difftest.harness.encode_command("HSET", f"rec:{i}", "f", "v"))
    for _ in range(350):
        p.read_reply()
    c.cmd("SET", b"bin\x00ary", "v")
    c.cmd("SET", "a*b", "v")
    c.cmd("SET", "axb", "v")
    c.cmd("SET", "a" * 300, "v")
    c.cmd("DBSIZE", expect=integer(354))
    scan_all(c, "SCAN", label="SCAN")
    scan_all(c, "SCAN", "COUNT", "7", label="SCAN COUNT 7")
    scan_all(c, "SCAN", "COUNT", "1000", label="SCAN COUNT 1000")
    scan_all(c, "SCAN", "COUNT", "9223372036854775807", label="SCAN COUNT 2^63-1")
    scan_all(c, "SCAN", "MATCH", "user:1*", label="MATCH user:1*")
    scan_all(c, "SCAN", "MATCH", "user:?", "COUNT", "3", label="MATCH user:? COUNT 3")
    scan_all(c, "SCAN", "MATCH", "user:[12]0", label="MATCH user:[12]0")
    scan_all(c, "SCAN", "MATCH", "user:[^0-8]", label="MATCH user:[^0-8]")
    scan_all(c, "SCAN", "MATCH", "a\\*b", label="MATCH escaped *")
    scan_all(c, "SCAN", "MATCH", "a*b", label="MATCH a*b")
    scan_all(c, "SCAN", "MATCH", "bin*", label="MATCH binary")
    scan_all(c, "SCAN", "MATCH", "nomatch*", label="MATCH nothing")
    scan_all(c, "SCAN", "TYPE", "hash", label="TYPE hash")
    scan_all(c, "SCAN", "TYPE", "string", "MATCH", "user:2*", label="TYPE string MATCH")
    scan_all(c, "SCAN", "TYPE", "HASH", label="TYPE HASH (upper case)")
    scan_all(c, "SCAN", "TYPE", "list", label="TYPE list")
    scan_all(c, "SCAN", "MATCH", "*", "MATCH", "rec:*", label="MATCH twice: last wins")
    # Many stars that cannot match a long key: a recursive matcher takes exponential time
    # here and stalls the whole server (CVE-2022-36021 in Redis); both must answer.
    scan_all(c, "SCAN", "MATCH", "a*" * 12 + "b", label="MATCH a*a*...b (12 stars)")
    scan_all(c, "SCAN", "MATCH", "a*" * 12 + "a", label="MATCH a*a*...a (12 stars)")
    c.cmd("SCAN", "abc", expect=err("ERR invalid cursor"))
    c.cmd("SCAN", "-1", norm=scan_shape)  # read as 2^64-1: a valid cursor, content varies
    c.cmd("SCAN", "18446744073709551616")
    c.cmd("SCAN", "0", "COUNT", "0", expect=err("ERR syntax error"))
    c.cmd("SCAN", "0", "COUNT", "-1")
    c.cmd("SCAN", "0", "COUNT", "abc")
    c.cmd("SCAN", "0", "COUNT")
    c.cmd("SCAN", "0", "MATCH")
    c.cmd("SCAN", "0", "TYPE")
    c.cmd("SCAN", "0", "BOGUS", "1")
    c.cmd("SCAN")
    # An empty keyspace: cursor 0 and no keys, in one call.
    difftest.harness.wipe(c.raw)
    c.cmd("SCAN", "0", expect=("*", (("$", b"0"), ("*", ()))))


@scenario()
def scan_removes_expired_keys(s):
    """A key set with a time in the past stays in the keyspace (DBSIZE counts it) until it
    is looked up or the active expiry finds it; SCAN removes the expired keys it meets.
    phidb's SCAN skipped them and left them counted (and in the way of later tests)."""
    c = s.conn()
    for i in range(50):
        c.q("SET", f"gone:{i}", "v", "PXAT", "1")
    c.cmd("SET", "live", "v")
    scan_all(c, "SCAN", label="SCAN")
    c.cmd("DBSIZE", expect=integer(1))
    c.cmd("EXISTS", "gone:0", expect=integer(0))


@scenario()
def copy_keys(s):
    """COPY (Redis 6.2+): strings and hashes with their TTL, REPLACE, DB 0, the same key,
    a missing source, an existing destination, syntax errors. phidb has one database."""
    c = s.conn()
    c.cmd("SET", "cp:s", "value", "EX", "1000")
    c.cmd("HSET", "cp:h", "a", "1", "b", "2")
    c.cmd("COPY", "cp:s", "cp:s2", expect=integer(1))
    c.cmd("GET", "cp:s2", expect=bulk("value"))
    c.cmd("TTL", "cp:s2", norm=ttl_near(1000, 5))
    c.cmd("GET", "cp:s", expect=bulk("value"))
    c.cmd("COPY", "cp:h", "cp:h2")
    c.cmd("HGETALL", "cp:h2", norm=pairs)
    c.cmd("TTL", "cp:h2", expect=integer(-1))
    c.cmd("COPY", "cp:s", "cp:h2")  # exists: 0, nothing changed
    c.cmd("TYPE", "cp:h2")
    c.cmd("COPY", "cp:s", "cp:h2", "REPLACE")
    c.cmd("TYPE", "cp:h2")
    c.cmd("GET", "cp:h2")
    c.cmd("COPY", "cp:h", "cp:s2", "replace", "db", "0")
    c.cmd("HGET", "cp:s2", "b")
    c.cmd("TTL", "cp:s2", expect=integer(-1))
    c.cmd("HSET", "cp:h", "a", "changed")
    c.cmd("HGET", "cp:s2", "a", expect=bulk("1"))  # a copy, not a link
    c.cmd("COPY", "cp:none", "cp:x")
    c.cmd("EXISTS", "cp:x")
    c.cmd("COPY", "cp:s", "cp:s")
    c.cmd("COPY", "cp:s", "cp:x", "DB", "x")
    c.cmd("COPY", "cp:s", "cp:x", "DB", "99999999999")
    c.cmd("COPY", "cp:s", "cp:x", "DB")
    c.cmd("COPY", "cp:s", "cp:x", "FOO")
    c.cmd("COPY", "cp:s", "cp:x", "DB", "1", phidb=err("ERR DB index is out of range"))
    c.cmd("COPY", "cp:s")
    c.cmd("COMMAND", "GETKEYS", "COPY", "cp:s", "cp:x", "REPLACE")
    c.cmd("DEL", "cp:s", "cp:s2", "cp:h", "cp:h2", "cp:x")


if __name__ == "__main__":
    difftest.main(globals())
