"""Differential test: string commands behave exactly like redis-server 7.0.

Checks GET SET (EX PX EXAT PXAT NX XX KEEPTTL GET) SETNX SETEX PSETEX MGET MSET MSETNX
GETDEL GETEX APPEND STRLEN GETRANGE INCR DECR INCRBY DECRBY INCRBYFLOAT: values, error
texts and wire types, in RESP2 and RESP3, including wrong types, wrong arity, non-integer
and overflowing arguments, binary values, empty strings and float formatting. Applications
move from Redis to phidb unchanged only if all of this matches.
"""

import time

import difftest
from difftest import OK, bulk, err, integer, scenario, ttl_near

BINARY = b"\x00\r\n\xff$3\r\n*1\r\n\x00"
MAX64 = "9223372036854775807"
MIN64 = "-9223372036854775808"


@scenario()
def get_set_basic(s):
    c = s.conn()
    c.cmd("SET", "k", "v", expect=OK)
    c.cmd("GET", "k", expect=bulk("v"))
    c.cmd("GET", "missing", expect=s.nil)
    c.cmd("SET", "k", "", expect=OK)
    c.cmd("GET", "k", expect=bulk(""))
    c.cmd("SET", "", "value of the empty key")
    c.cmd("GET", "")
    c.cmd("SET", b"bin\x00key\r\n", BINARY)
    c.cmd("GET", b"bin\x00key\r\n", expect=bulk(BINARY))
    c.cmd("SET", "utf8", "h\u00e9llo \u2603")
    c.cmd("GET", "utf8")
    c.cmd("SET", "num", "12345")
    c.cmd("GET", "num", expect=bulk("12345"))
    c.cmd("SET", "big", b"x" * (1 << 20) + b"end")
    c.cmd("STRLEN", "big", expect=integer((1 << 20) + 3))
    c.cmd("GET", "big")
    c.cmd("set", "lower", "case")
    c.cmd("GeT", "lower", expect=bulk("case"))


@scenario()
def get_set_errors(s):
    c = s.conn()
    c.cmd("GET", expect=err("ERR wrong number of arguments for 'get' command"))
    c.cmd("GET", "a", "b")
    c.cmd("SET", "k")
    c.cmd("SET")
    c.cmd("SET", "k", "v", "BOGUS", expect=err("ERR syntax error"))
    c.cmd("HSET", "h", "f", "v")
    c.cmd("GET", "h",
          expect=err("WRONGTYPE Operation against a key holding the wrong kind of value"))
    c.cmd("SET", "h", "now a string", expect=OK)  # SET overwrites any type
    c.cmd("TYPE", "h", expect=("+", b"string"))


@scenario()
def set_expire_options(s):
    c = s.conn()
    c.cmd("SET", "k", "v", "EX", "1000", expect=OK)
    c.cmd("TTL", "k", norm=ttl_near(1000, 10))
    c.cmd("SET", "k", "v", "PX", "1000000", expect=OK)
    c.cmd("PTTL", "k", norm=ttl_near(1000000, 10000))
    c.cmd("SET", "k", "v", "ex", "1000")  # options are case-insensitive
    c.cmd("TTL", "k", norm=ttl_near(1000, 10))
    now = int(time.time())
    c.cmd("SET", "k", "v", "EXAT", now + 1000, expect=OK)
    c.cmd("TTL", "k", norm=ttl_near(1000, 10))
    c.cmd("SET", "k", "v", "PXAT", (now + 1000) * 1000, expect=OK)
    c.cmd("PTTL", "k", norm=ttl_near(1000000, 10000))
    # A time in the past: OK, and the key is gone at once.
    c.cmd("SET", "past", "v", "EXAT", "1", expect=OK)
    c.cmd("GET", "past", expect=s.nil)
    c.cmd("EXISTS", "past", expect=integer(0))
    c.cmd("SET", "past", "v", "PXAT", "1")
    c.cmd("EXISTS", "past")
    # Zero, negative, non-integer, overflowing and missing expire values.
    for opt in ("EX", "PX", "EXAT", "PXAT"):
        c.cmd("SET", "k", "v", opt, "0")
        c.cmd("SET", "k", "v", opt, "-1")
        c.cmd("SET", "k", "v", opt, "abc")
        c.cmd("SET", "k", "v", opt, "1.5")
        c.cmd("SET", "k", "v", opt, MAX64)
        c.cmd("SET", "k", "v", opt, "99999999999999999999")
        c.cmd("SET", "k", "v", opt)
    c.cmd("SET", "k", "v", "EX", "0", expect=err("ERR invalid expire time in 'set' command"))
    # Conflicting options.
    c.cmd("SET", "k", "v", "EX", "10", "PX", "100", expect=err("ERR syntax error"))
    c.cmd("SET", "k", "v", "EX", "10", "EX", "10")  # a repeated option is accepted
    c.cmd("SET", "k", "v", "EX", "10", "KEEPTTL")
    c.cmd("SET", "k", "v", "KEEPTTL", "PX", "10")
    c.cmd("SET", "k", "v", "EXAT", "10", "PXAT", "10")
    c.cmd("TTL", "k", norm=ttl_near(10, 5))  # the failed SETs changed nothing


@scenario()
def set_nx_xx_get_keepttl(s):
    c = s.conn()
    c.cmd("SET", "k", "v1", "NX", expect=OK)
    c.cmd("SET", "k", "v2", "NX", expect=s.nil)
    c.cmd("GET", "k", expect=bulk("v1"))
    c.cmd("SET", "nope", "v", "XX", expect=s.nil)
    c.cmd("EXISTS", "nope", expect=integer(0))
    c.cmd("SET", "k", "v3", "XX", expect=OK)
    c.cmd("SET", "k", "v", "NX", "XX", expect=err("ERR syntax error"))
    c.cmd("SET", "k", "v", "XX", "NX")
    # GET returns the old value (nil if none); with NX/XX (allowed together since 7.0).
    c.cmd("SET", "k", "v4", "GET", expect=bulk("v3"))
    c.cmd("SET", "new", "v", "GET", expect=s.nil)
    c.cmd("SET", "k", "v5", "NX", "GET", expect=bulk("v4"))
    c.cmd("GET", "k", expect=bulk("v4"))
    c.cmd("SET", "new2", "v", "NX", "GET")
    c.cmd("SET", "new3", "v", "XX", "GET")
    c.cmd("EXISTS", "new3")
    c.cmd("SET", "k", "v6", "XX", "GET", "EX", "1000")
    c.cmd("TTL", "k", norm=ttl_near(1000, 10))
    c.cmd("HSET", "h", "f", "v")
    c.cmd("SET", "h", "v", "GET")  # WRONGTYPE and no write
    c.cmd("TYPE", "h", expect=("+", b"hash"))
    # KEEPTTL keeps the TTL; a plain SET clears it.
    c.cmd("SET", "t", "v", "EX", "1000")
    c.cmd("SET", "t", "v2", "KEEPTTL", expect=OK)
    c.cmd("TTL", "t", norm=ttl_near(1000, 10))
    c.cmd("SET", "t", "v3", "KEEPTTL", "GET", expect=bulk("v2"))
    c.cmd("TTL", "t", norm=ttl_near(1000, 10))
    c.cmd("SET", "t", "v4")
    c.cmd("TTL", "t", expect=integer(-1))
    c.cmd("SET", "nottl", "v", "KEEPTTL")
    c.cmd("TTL", "nottl", expect=integer(-1))


@scenario()
def setnx_setex_psetex(s):
    c = s.conn()
    c.cmd("SETNX", "k", "v", expect=integer(1))
    c.cmd("SETNX", "k", "w", expect=integer(0))
    c.cmd("GET", "k", expect=bulk("v"))
    c.cmd("SETNX", "k")
    c.cmd("SETEX", "e", "1000", "v", expect=OK)
    c.cmd("TTL", "e", norm=ttl_near(1000, 10))
    c.cmd("SETEX", "e", "0", "v", expect=err("ERR invalid expire time in 'setex' command"))
    c.cmd("SETEX", "e", "-5", "v")
    c.cmd("SETEX", "e", "abc", "v")
    c.cmd("SETEX", "e", MAX64, "v")
    c.cmd("SETEX", "e", "10")
    c.cmd("PSETEX", "p", "1000000", "v", expect=OK)
    c.cmd("PTTL", "p", norm=ttl_near(1000000, 10000))
    c.cmd("PSETEX", "p", "0", "v")
    c.cmd("PSETEX", "p", "-1", "v")
    c.cmd("PSETEX", "p", "1.5", "v")
    c.cmd("HSET", "h", "f", "v")
    c.cmd("SETNX", "h", "v", expect=integer(0))
    c.cmd("SETEX", "h", "100", "v", expect=OK)  # overwrites the hash
    c.cmd("TYPE", "h")


@scenario()
def mget_mset_msetnx(s):
    c = s.conn()
    c.cmd("MSET", "a", "1", "b", "2", "c", BINARY, expect=OK)
    c.cmd("MGET", "a", "b", "c", "missing", "a")
    c.cmd("HSET", "h", "f", "v")
    c.cmd("MGET", "a", "h")  # a hash reads as nil in MGET, not an error
    c.cmd("MGET", expect=err("ERR wrong number of arguments for 'mget' command"))
    c.cmd("MSET", "a")
    c.cmd("MSET", "a", "1", "b")
    c.cmd("MSET", "a", "x", "a", "y")  # last one wins
    c.cmd("GET", "a", expect=bulk("y"))
    c.cmd("MSET", "h", "string now")
    c.cmd("TYPE", "h", expect=("+", b"string"))
    c.cmd("MSETNX", "n1", "1", "n2", "2", expect=integer(1))
    c.cmd("MSETNX", "n2", "x", "n3", "3", expect=integer(0))
    c.cmd("EXISTS", "n3", expect=integer(0))
    c.cmd("MGET", "n1", "n2", "n3")
    c.cmd("MSETNX", "n4", "1", "n4", "2")
    c.cmd("GET", "n4")
    c.cmd("MSETNX", "n5")
    c.cmd("SET", "t", "v", "EX", "1000")
    c.cmd("MSET", "t", "w")  # MSET clears the TTL
    c.cmd("TTL", "t", expect=integer(-1))


@scenario()
def getdel_getex(s):
    c = s.conn()
    c.cmd("SET", "k", "v")
    c.cmd("GETDEL", "k", expect=bulk("v"))
    c.cmd("EXISTS", "k", expect=integer(0))
    c.cmd("GETDEL", "k", expect=s.nil)
    c.cmd("HSET", "h", "f", "v")
    c.cmd("GETDEL", "h")
    c.cmd("EXISTS", "h", expect=integer(1))
    c.cmd("GETDEL")
    c.cmd("GETDEL", "a", "b")
    c.cmd("SET", "g", "v")
    c.cmd("GETEX", "g", expect=bulk("v"))
    c.cmd("TTL", "g", expect=integer(-1))
    c.cmd("GETEX", "g", "EX", "1000", expect=bulk("v"))
    c.cmd("TTL", "g", norm=ttl_near(1000, 10))
    c.cmd("GETEX", "g", "PERSIST")
    c.cmd("TTL", "g", expect=integer(-1))
    c.cmd("GETEX", "g", "PX", "1000000")
    c.cmd("PTTL", "g", norm=ttl_near(1000000, 10000))
    now = int(time.time())
    c.cmd("GETEX", "g", "EXAT", now + 1000)
    c.cmd("TTL", "g", norm=ttl_near(1000, 10))
    c.cmd("GETEX", "g", "PXAT", (now + 1000) * 1000)
    c.cmd("TTL", "g", norm=ttl_near(1000, 10))
    c.cmd("GETEX", "g", "EX", "0")
    c.cmd("GETEX", "g", "EX", "-1")
    c.cmd("GETEX", "g", "EX", "abc")
    c.cmd("GETEX", "g", "EX", MAX64)
    c.cmd("GETEX", "g", "EX")
    c.cmd("GETEX", "g", "EX", "10", "PX", "10")
    c.cmd("GETEX", "g", "PERSIST", "EX", "10")
    c.cmd("GETEX", "g", "BOGUS")
    c.cmd("GETEX", "missing", expect=s.nil)
    c.cmd("GETEX", "missing", "EX", "10", expect=s.nil)
    c.cmd("GETEX", "h")
    c.cmd("GETEX")
    c.cmd("GETEX", "g", "EXAT", "1")  # past: returns the value, then the key is gone
    c.cmd("EXISTS", "g", expect=integer(0))


@scenario()
def append_strlen(s):
    c = s.conn()
    c.cmd("APPEND", "k", "hello", expect=integer(5))
    c.cmd("APPEND", "k", " world", expect=integer(11))
    c.cmd("GET", "k", expect=bulk("hello world"))
    c.cmd("APPEND", "k", "")
    c.cmd("APPEND", "k", BINARY)
    c.cmd("GET", "k")
    c.cmd("STRLEN", "k")
    c.cmd("STRLEN", "missing", expect=integer(0))
    c.cmd("SET", "n", "123")
    c.cmd("APPEND", "n", "456")
    c.cmd("GET", "n", expect=bulk("123456"))
    c.cmd("INCR", "n", expect=integer(123457))
    c.cmd("STRLEN", "n", expect=integer(6))
    c.cmd("SET", "t", "v", "EX", "1000")
    c.cmd("APPEND", "t", "w")
    c.cmd("TTL", "t", norm=ttl_near(1000, 10))  # APPEND keeps the TTL
    c.cmd("HSET", "h", "f", "v")
    c.cmd("APPEND", "h", "x")
    c.cmd("STRLEN", "h")
    c.cmd("APPEND", "k")
    c.cmd("STRLEN")
    c.cmd("STRLEN", "a", "b")
    c.cmd("APPEND", "empty", "")
    c.cmd("EXISTS", "empty", expect=integer(1))


@scenario()
def setrange(s):
    c = s.conn()
    c.cmd("SETRANGE", "k", "0", "Hello", expect=integer(5))
    c.cmd("SETRANGE", "k", "6", "World", expect=integer(11))
    c.cmd("GET", "k", expect=bulk("Hello\x00World"))  # the gap is zero bytes
    c.cmd("SETRANGE", "k", "1", "", expect=integer(11))
    c.cmd("SETRANGE", "missing", "5", "", expect=integer(0))
    c.cmd("EXISTS", "missing", expect=integer(0))
    c.cmd("SETRANGE", "k", "-1", "x", expect=err("ERR offset is out of range"))
    c.cmd("SETRANGE", "k", "abc", "x")
    c.cmd("SETRANGE", "k", "536870912", "x",
          expect=err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
    # offset + length past LLONG_MAX: phidb's size check wrapped and it aborted on a
    # 2^63-byte allocation (any client could stop the server this way).
    c.cmd("SETRANGE", "k", MAX64, "x",
          expect=err("ERR string exceeds maximum allowed size (proto-max-bulk-len)"))
    c.cmd("SETRANGE", "new", MAX64, "x")
    c.cmd("SETRANGE", "k", MAX64, "")
    c.cmd("GET", "k", expect=bulk("Hello\x00World"))
    c.cmd("SET", "t", "v", "EX", "1000")
    c.cmd("SETRANGE", "t", "1", "w")
    c.cmd("TTL", "t", norm=ttl_near(1000, 10))  # SETRANGE keeps the TTL
    c.cmd("HSET", "h", "f", "v")
    c.cmd("SETRANGE", "h", "0", "x")
    c.cmd("SETRANGE", "h", "0", "")
    c.cmd("SETRANGE", "k", "0")


@scenario()
def getrange(s):
    c = s.conn()
    c.cmd("SET", "k", "Hello, World")
    ranges = [("0", "4"), ("0", "-1"), ("-5", "-1"), ("5", "3"), ("-100", "100"),
              ("100", "200"), ("-1", "-5"), ("0", "0"), ("-1", "-1"), ("11", "11"), ("12", "12"),
              ("0", MAX64), (MIN64, MAX64), (MIN64, "-1"), ("3", "-100"), ("-3", "-100")]
    for a, b in ranges:
        c.cmd("GETRANGE", "k", a, b)
        c.cmd("SUBSTR", "k", a, b)  # its deprecated alias
    c.cmd("GETRANGE", "k", "0", "4", expect=bulk("Hello"))
    c.cmd("GETRANGE", "k", "a", "1", expect=err("ERR value is not an integer or out of range"))
    c.cmd("GETRANGE", "k", "0", "1.5")
    c.cmd("GETRANGE", "k", "0", "99999999999999999999")
    c.cmd("GETRANGE", "k", "0")
    c.cmd("SUBSTR", "k", "0")
    c.cmd("SUBSTR", "k", "x", "1")
    c.cmd("GETRANGE", "missing", "0", "-1", expect=bulk(""))
    c.cmd("SET", "e", "")
    c.cmd("GETRANGE", "e", "0", "-1")
    c.cmd("GETRANGE", "e", "0", "0")
    c.cmd("SET", "n", "1234567")
    c.cmd("GETRANGE", "n", "2", "4", expect=bulk("345"))
    c.cmd("SET", "b", BINARY)
    c.cmd("GETRANGE", "b", "1", "3")
    c.cmd("HSET", "h", "f", "v")
    c.cmd("GETRANGE", "h", "0", "1")


@scenario()
def incr_decr(s):
    c = s.conn()
    c.cmd("INCR", "n", expect=integer(1))
    c.cmd("INCRBY", "n", "41", expect=integer(42))
    c.cmd("DECR", "n", expect=integer(41))
    c.cmd("DECRBY", "n", "50", expect=integer(-9))
    c.cmd("INCRBY", "n", "-1")
    c.cmd("DECRBY", "n", "-10")
    c.cmd("GET", "n")
    c.cmd("DECR", "fresh", expect=integer(-1))
    c.cmd("SET", "max", MAX64)
    c.cmd("INCR", "max", expect=err("ERR increment or decrement would overflow"))
    c.cmd("INCRBY", "max", "0")
    c.cmd("DECR", "max")
    c.cmd("SET", "min", MIN64)
    c.cmd("DECR", "min")
    c.cmd("DECRBY", "min", "1")
    c.cmd("INCRBY", "min", MIN64)
    c.cmd("SET", "z", "0")
    c.cmd("DECRBY", "z", MIN64)  # negating the minimum overflows
    c.cmd("INCRBY", "z", MAX64)
    c.cmd("INCRBY", "z", "1")
    for bad in ("abc", "1.5", " 1", "1 ", "+1", "007", "0x10", "", "1e3",
                "99999999999999999999", "-0", "\x001"):
        c.cmd("SET", "bad", bad)
        c.cmd("INCR", "bad")
        c.cmd("INCRBY", "good", bad)
        c.cmd("DECRBY", "good", bad)
    c.cmd("GET", "good")
    c.cmd("SET", "t", "10", "EX", "1000")
    c.cmd("INCR", "t", expect=integer(11))
    c.cmd("TTL", "t", norm=ttl_near(1000, 10))  # INCR keeps the TTL
    c.cmd("HSET", "h", "f", "1")
    c.cmd("INCR", "h")
    c.cmd("DECRBY", "h", "1")
    c.cmd("INCR")
    c.cmd("INCR", "a", "b")
    c.cmd("INCRBY", "a")
    c.cmd("DECRBY", "a", "1", "2")


@scenario()
def incrbyfloat(s):
    c = s.conn()
    c.cmd("INCRBYFLOAT", "f", "10.5", expect=bulk("10.5"))
    c.cmd("INCRBYFLOAT", "f", "0.1")
    c.cmd("INCRBYFLOAT", "f", "-5")
    c.cmd("INCRBYFLOAT", "f", "5.0e3")
    c.cmd("INCRBYFLOAT", "f", "2.0e-3")
    c.cmd("GET", "f")
    for start, incr in [("0", "0.1"), ("0.1", "0.2"), ("10", "5"), ("10.50", "0"),
                        ("3.0e3", "1"), ("1", "1e20"), ("0", "5e-20"), ("0", "-0"),
                        ("1.5", "-1.5"), ("-1", "0.5"), ("0", "1.7976931348623157e308"),
                        ("1", "123456789012345678"), ("0", "0.30000000000000004"),
                        ("0", "1e17"), ("0", "-1e-17"), ("7", "  1"), ("7", "1 "),
                        (" 7", "1"), ("7", "1e400"), ("7", "-1e400"), ("7", "inf"),
                        ("7", "-inf"), ("7", "+inf"), ("7", "nan"), ("7", "NaN"),
                        ("7", "abc"), ("7", ""), ("abc", "1"), ("inf", "1"), ("nan", "1"),
                        ("1e400", "1"), ("1.7976931348623157e308", "1.7976931348623157e308"),
                        ("7", "0x10"), ("7", "1.5.5"), ("7", "1,5")]:
        c.cmd("SET", "g", start)
        c.cmd("INCRBYFLOAT", "g", incr)
        c.cmd("GET", "g")
    c.cmd("INCRBYFLOAT", "g", "1e5000", expect=err("ERR value is not a valid float"))
    c.cmd("SET", "t", "1", "EX", "1000")
    c.cmd("INCRBYFLOAT", "t", "1.5", expect=bulk("2.5"))
    c.cmd("TTL", "t", norm=ttl_near(1000, 10))
    c.cmd("HSET", "h", "f", "1")
    c.cmd("INCRBYFLOAT", "h", "1")
    c.cmd("INCRBYFLOAT", "f")
    c.cmd("INCRBYFLOAT", "f", "1", "2")


if __name__ == "__main__":
    difftest.main(globals())
