"""Differential test: key expiry as observed by clients, compared with redis-server 7.0.

- Active expiry: keys with PX 50 disappear without anyone touching them (DBSIZE does not
  look keys up, so it only drops when the server reclaims them). Polled with a generous
  timeout; no pass/fail depends on how fast it happens.
- Lazy expiry: once the time has passed, every command sees an expired key as missing
  (GET, EXISTS, TTL, TYPE, MGET, SCAN, HGET..., and writes start from scratch: INCR, APPEND,
  SETNX, HSETNX), whether or not the server has reclaimed it yet.
- Keys with a long TTL or none are never expired early.
"""

import time

import difftest
from difftest import OK, bulk, integer, scan_all, scenario
from harness import encode_command, wait_until


def pipeline(c, commands):
    """Send many commands in one go and read all replies (unrecorded, fast setup)."""
    c.raw.send(b"".join(encode_command(*cmd) for cmd in commands))
    return [c.raw.read_reply() for _ in commands]


@scenario()
def active_expiry(s):
    c = s.conn()
    pipeline(c, [("SET", f"short:{i}", "v", "PX", "50") for i in range(50)]
             + [("HSET", f"hshort:{i}", "f", "v") for i in range(10)]
             + [("PEXPIRE", f"hshort:{i}", "50") for i in range(10)]
             + [("SET", f"keep:{i}", "v") for i in range(10)]
             + [("SET", f"long:{i}", "v", "EX", "1000") for i in range(5)])
    # Nobody touches the short keys: DBSIZE falls to 15 only through active expiry.
    wait_until(lambda: c.q("DBSIZE") == (":", 15), timeout=60, interval=0.05,
               what="active expiry to remove 60 keys")
    c.cmd("DBSIZE", expect=integer(15))
    scan_all(c, "SCAN", label="keys left")
    c.cmd("EXISTS", *[f"long:{i}" for i in range(5)], expect=integer(5))


@scenario()
def lazy_expiry(s):
    c = s.conn()
    names = ["get", "exists", "ttl", "pttl", "type", "strlen", "getrange", "mget", "append",
             "incr", "incrbyfloat", "setnx", "set-nx", "set-xx", "expire", "persist", "rename",
             "getdel", "getex", "get-set"]
    pipeline(c, [("SET", n, "10", "PX", "100") for n in names]
             + [("HSET", f"h-{n}", "f", "10") for n in ("hget", "hgetall", "hlen", "hexists",
                                                          "hstrlen", "hkeys", "hsetnx",
                                                          "hincrby", "hset", "hdel")]
             + [("PEXPIRE", f"h-{n}", "100") for n in ("hget", "hgetall", "hlen", "hexists",
                                                         "hstrlen", "hkeys", "hsetnx",
                                                         "hincrby", "hset", "hdel")]
             + [("SET", "keep", "v")])
    # Let the 100 ms pass (a local clock: nothing on the server is being waited for).
    t0 = time.monotonic()
    wait_until(lambda: time.monotonic() - t0 > 0.3, what="300 ms to pass")
    c.cmd("GET", "get", expect=s.nil)
    c.cmd("EXISTS", "exists", expect=integer(0))
    c.cmd("TTL", "ttl", expect=integer(-2))
    c.cmd("PTTL", "pttl", expect=integer(-2))
    c.cmd("TYPE", "type", expect=("+", b"none"))
    c.cmd("STRLEN", "strlen", expect=integer(0))
    c.cmd("GETRANGE", "getrange", "0", "-1", expect=bulk(""))
    c.cmd("MGET", "mget", "keep")
    c.cmd("APPEND", "append", "x", expect=integer(1))
    c.cmd("INCR", "incr", expect=integer(1))
    c.cmd("INCRBYFLOAT", "incrbyfloat", "1.5", expect=bulk("1.5"))
    c.cmd("SETNX", "setnx", "new", expect=integer(1))
    c.cmd("SET", "set-nx", "new", "NX", expect=OK)
    c.cmd("SET", "set-xx", "new", "XX", expect=s.nil)
    c.cmd("EXPIRE", "expire", "100", expect=integer(0))
    c.cmd("PERSIST", "persist", expect=integer(0))
    c.cmd("RENAME", "rename", "renamed")
    c.cmd("GETDEL", "getdel", expect=s.nil)
    c.cmd("GETEX", "getex", "PERSIST", expect=s.nil)
    c.cmd("SET", "get-set", "new", "GET", expect=s.nil)
    c.cmd("TTL", "get-set", expect=integer(-1))
    c.cmd("HGET", "h-hget", "f", expect=s.nil)
    c.cmd("HGETALL", "h-hgetall")
    c.cmd("HLEN", "h-hlen", expect=integer(0))
    c.cmd("HEXISTS", "h-hexists", "f", expect=integer(0))
    c.cmd("HSTRLEN", "h-hstrlen", "f", expect=integer(0))
    c.cmd("HKEYS", "h-hkeys")
    c.cmd("HSETNX", "h-hsetnx", "f", "new", expect=integer(1))
    c.cmd("HINCRBY", "h-hincrby", "f", "1", expect=integer(1))
    c.cmd("HSET", "h-hset", "g", "new", expect=integer(1))
    c.cmd("HGETALL", "h-hset")
    c.cmd("HDEL", "h-hdel", "f", expect=integer(0))
    scan_all(c, "SCAN", label="keys after expiry")
    c.cmd("DBSIZE")


@scenario()
def expire_and_recreate(s):
    c = s.conn()
    c.cmd("SET", "k", "old", "PX", "50")
    wait_until(lambda: c.q("EXISTS", "k") == (":", 0), what="k to expire")
    c.cmd("SET", "k", "new", expect=OK)
    c.cmd("TTL", "k", expect=integer(-1))  # the new key does not inherit the old TTL
    c.cmd("GET", "k", expect=bulk("new"))
    c.cmd("HSET", "h", "f", "v")
    c.cmd("PEXPIRE", "h", "50")
    wait_until(lambda: c.q("EXISTS", "h") == (":", 0), what="h to expire")
    c.cmd("SET", "h", "now a string", expect=OK)
    c.cmd("TYPE", "h", expect=("+", b"string"))


@scenario()
def expiretime_rounds(s):
    """EXPIRETIME rounds to the nearest second, as TTL does (Redis: (ms + 500) / 1000)."""
    c = s.conn()
    for ms in ("4102444800600", "4102444800499", "4102444800500", "4102444801000",
               "9223372036854775807"):  # near LLONG_MAX: no overflow
        c.cmd("SET", "k", "v")
        c.cmd("PEXPIREAT", "k", ms)
        c.cmd("EXPIRETIME", "k")
        c.cmd("PEXPIRETIME", "k")
    c.cmd("EXPIRETIME", "missing")
    c.cmd("PERSIST", "k")
    c.cmd("EXPIRETIME", "k")


if __name__ == "__main__":
    difftest.main(globals())
