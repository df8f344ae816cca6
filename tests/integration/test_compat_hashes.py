"""Differential test: hash commands behave exactly like redis-server 7.0.

Checks HSET HSETNX HGET HMGET HMSET HGETALL HDEL HEXISTS HKEYS HVALS HLEN HSTRLEN HINCRBY
HINCRBYFLOAT HSCAN HRANDFIELD in RESP2 and RESP3 (where HGETALL is a map): values, error
texts, wrong types, arity, overflow, float formatting, binary fields and values. Hash
order is not promised by Redis, so HGETALL/HKEYS/HVALS are sorted and HSCAN is compared as
the set of pairs of a full iteration; HRANDFIELD is checked for membership and counts.
Small and large hashes are both used (Redis changes encoding at 128 fields; replies must
not change).
"""

import difftest
from difftest import OK, bulk, err, integer, pairs, scan_all, scenario, unordered

MAX64 = "9223372036854775807"
MIN64 = "-9223372036854775808"
BINARY = b"\x00\r\n\xff$3\r\n"


@scenario()
def hset_hget_basic(s):
    c = s.conn()
    c.cmd("HSET", "h", "a", "1", expect=integer(1))
    c.cmd("HSET", "h", "a", "2", "b", "3", "c", "", expect=integer(2))
    c.cmd("HGET", "h", "a", expect=bulk("2"))
    c.cmd("HGET", "h", "c", expect=bulk(""))
    c.cmd("HGET", "h", "nope", expect=s.nil)
    c.cmd("HGET", "missing", "a", expect=s.nil)
    c.cmd("HSET", "h", BINARY, BINARY + b"v")
    c.cmd("HGET", "h", BINARY, expect=bulk(BINARY + b"v"))
    c.cmd("HSET", "h", "", "empty field")
    c.cmd("HGET", "h", "")
    c.cmd("HSET", "h", "x", "1", "x", "2", expect=integer(1))  # last one wins
    c.cmd("HGET", "h", "x", expect=bulk("2"))
    c.cmd("HGETALL", "h", norm=pairs)
    c.cmd("HGETALL", "missing", norm=pairs)
    c.cmd("HLEN", "h", expect=integer(6))
    c.cmd("HLEN", "missing", expect=integer(0))
    c.cmd("HSET", "big", "f", b"v" * 100000)
    c.cmd("HSTRLEN", "big", "f", expect=integer(100000))
    c.cmd("HGET", "big", "f")
    c.cmd("HSET", "h")
    c.cmd("HSET", "h", "a")
    c.cmd("HSET", "h", "a", "1", "b",
          expect=err("ERR wrong number of arguments for 'hset' command"))
    c.cmd("HGET", "h")
    c.cmd("HGET", "h", "a", "b")
    c.cmd("HGETALL")
    c.cmd("HLEN")


@scenario()
def hsetnx_hmset_hmget(s):
    c = s.conn()
    c.cmd("HSETNX", "h", "f", "1", expect=integer(1))
    c.cmd("HSETNX", "h", "f", "2", expect=integer(0))
    c.cmd("HGET", "h", "f", expect=bulk("1"))
    c.cmd("HSETNX", "h", "f")
    c.cmd("HMSET", "h", "a", "1", "b", "2", expect=OK)
    c.cmd("HMSET", "h", "a")
    c.cmd("HMSET", "h", "a", "1", "b")
    c.cmd("HMGET", "h", "a", "nope", "b", "a")
    c.cmd("HMGET", "missing", "a", "b")
    c.cmd("HMGET", "h")
    c.cmd("SET", "s", "v")
    c.cmd("HMGET", "s", "a")
    c.cmd("HSETNX", "s", "f", "v")
    c.cmd("HMSET", "s", "f", "v")


@scenario()
def wrong_type(s):
    c = s.conn()
    c.cmd("SET", "s", "v")
    for args in (["HSET", "s", "f", "v"], ["HGET", "s", "f"], ["HGETALL", "s"], ["HDEL", "s", "f"],
                 ["HEXISTS", "s", "f"], ["HKEYS", "s"], ["HVALS", "s"], ["HLEN", "s"],
                 ["HSTRLEN", "s", "f"], ["HINCRBY", "s", "f", "1"],
                 ["HINCRBYFLOAT", "s", "f", "1"], ["HSCAN", "s", "0"], ["HRANDFIELD", "s"],
                 ["HRANDFIELD", "s", "2"]):
        c.cmd(*args)
    c.cmd("GET", "s", expect=bulk("v"))


@scenario()
def hdel_hexists_hkeys_hvals_hstrlen(s):
    c = s.conn()
    c.cmd("HSET", "h", "a", "1", "b", "22", "c", "333")
    c.cmd("HEXISTS", "h", "a", expect=integer(1))
    c.cmd("HEXISTS", "h", "z", expect=integer(0))
    c.cmd("HEXISTS", "missing", "a", expect=integer(0))
    c.cmd("HKEYS", "h", norm=unordered)
    c.cmd("HVALS", "h", norm=unordered)
    c.cmd("HKEYS", "missing")
    c.cmd("HVALS", "missing")
    c.cmd("HSTRLEN", "h", "c", expect=integer(3))
    c.cmd("HSTRLEN", "h", "z", expect=integer(0))
    c.cmd("HSTRLEN", "missing", "z", expect=integer(0))
    c.cmd("HDEL", "h", "a", "z", "a", expect=integer(1))
    c.cmd("HDEL", "h", "z", expect=integer(0))
    c.cmd("HDEL", "missing", "a", expect=integer(0))
    c.cmd("HDEL", "h", "b", "c", expect=integer(2))
    c.cmd("EXISTS", "h", expect=integer(0))  # the last field removed deletes the key
    c.cmd("TYPE", "h", expect=("+", b"none"))
    c.cmd("HDEL", "h")
    c.cmd("HEXISTS", "h")
    c.cmd("HKEYS")
    c.cmd("HVALS", "h", "x")
    c.cmd("HSTRLEN", "h")


@scenario()
def big_hash(s):
    """Past 128 fields / 64-byte values Redis changes the encoding; replies must not."""
    c = s.conn()
    for i in range(300):
        c.raw.send(difftest.harness.encode_command("HSET", "h", f"field:{i}", f"value:{i}"))
    for _ in range(300):
        c.raw.read_reply()
    c.cmd("HLEN", "h", expect=integer(300))
    c.cmd("HGET", "h", "field:299", expect=bulk("value:299"))
    c.cmd("HGETALL", "h", norm=pairs)
    c.cmd("HKEYS", "h", norm=unordered)
    c.cmd("HVALS", "h", norm=unordered)
    c.cmd("HMGET", "h", "field:0", "field:150", "nope")
    c.cmd("HDEL", "h", *[f"field:{i}" for i in range(0, 300, 2)], expect=integer(150))
    c.cmd("HLEN", "h", expect=integer(150))
    c.cmd("HSET", "w", "long", "x" * 100)
    c.cmd("HGETALL", "w", norm=pairs)
    scan_all(c, "HSCAN", "h", label="HSCAN 150 fields", pairs=True)


@scenario()
def hincrby(s):
    c = s.conn()
    c.cmd("HINCRBY", "h", "n", "5", expect=integer(5))
    c.cmd("HINCRBY", "h", "n", "-10", expect=integer(-5))
    c.cmd("HINCRBY", "fresh", "n", "1", expect=integer(1))
    c.cmd("HSET", "h", "max", MAX64, "min", MIN64, "s", "abc", "f", "1.5", "sp", " 1")
    c.cmd("HINCRBY", "h", "max", "1", expect=err("ERR increment or decrement would overflow"))
    c.cmd("HINCRBY", "h", "min", "-1")
    c.cmd("HINCRBY", "h", "max", "0")
    c.cmd("HINCRBY", "h", "s", "1", expect=err("ERR hash value is not an integer"))
    c.cmd("HINCRBY", "h", "f", "1")
    c.cmd("HINCRBY", "h", "sp", "1")
    for bad in ("abc", "1.5", "", " 1", "99999999999999999999", "+1", "0x1"):
        c.cmd("HINCRBY", "h", "n", bad)
    c.cmd("HINCRBY", "h", "n", MAX64)
    c.cmd("HGET", "h", "n")
    c.cmd("HINCRBY", "h", "n")
    c.cmd("HINCRBY", "h", "n", "1", "2")


@scenario()
def hincrbyfloat(s):
    c = s.conn()
    c.cmd("HINCRBYFLOAT", "h", "f", "10.5", expect=bulk("10.5"))
    c.cmd("HINCRBYFLOAT", "h", "f", "0.1")
    c.cmd("HINCRBYFLOAT", "h", "f", "-5")
    c.cmd("HINCRBYFLOAT", "h", "f", "5.0e3")
    c.cmd("HINCRBYFLOAT", "h", "f", "2.0e-3")
    for start, incr in [("0", "0.1"), ("0.1", "0.2"), ("10", "5"), ("3.0e3", "1"),
                        ("1", "1e20"), ("0", "5e-20"), ("1.5", "-1.5"), ("0", "-1e-17"),
                        ("7", "1e400"), ("7", "1e5000"), ("7", "inf"), ("7", "-inf"),
                        ("7", "nan"), ("7", "abc"), ("7", ""), ("7", " 1"), ("7", "0x10"),
                        ("abc", "1"), ("inf", "1"), ("nan", "1"), (" 7", "1"),
                        ("1.7976931348623157e308", "1.7976931348623157e308")]:
        c.cmd("HSET", "g", "f", start)
        c.cmd("HINCRBYFLOAT", "g", "f", incr)
        c.cmd("HGET", "g", "f")
    c.cmd("HSET", "g", "f", "abc")
    c.cmd("HINCRBYFLOAT", "g", "f", "1", expect=err("ERR hash value is not a float"))
    c.cmd("HINCRBYFLOAT", "g", "f")
    c.cmd("HINCRBYFLOAT", "g", "f", "1", "2")


@scenario()
def hscan(s):
    c = s.conn()
    for i in range(40):
        c.q("HSET", "small", f"f{i}", f"v{i}")
    for i in range(500):
        c.raw.send(difftest.harness.encode_command("HSET", "large", f"f{i}", f"v{i}"))
    for _ in range(500):
        c.raw.read_reply()
    c.q("HSET", "small", BINARY, BINARY)
    c.q("HSET", "small", "f" * 300, "v")
    scan_all(c, "HSCAN", "small", label="HSCAN small", pairs=True)
    scan_all(c, "HSCAN", "large", label="HSCAN large", pairs=True)
    scan_all(c, "HSCAN", "large", "COUNT", "3", label="HSCAN large COUNT 3", pairs=True)
    scan_all(c, "HSCAN", "large", "MATCH", "f1*", label="HSCAN large MATCH f1*", pairs=True)
    # The largest COUNT (phidb multiplied it by 10 in a signed integer: UBSan stopped it).
    scan_all(c, "HSCAN", "large", "COUNT", "9223372036854775807", label="HSCAN COUNT 2^63-1",
             pairs=True)
    scan_all(c, "HSCAN", "small", "MATCH", "f?", "COUNT", "2", label="HSCAN small MATCH f?",
             pairs=True)
    scan_all(c, "HSCAN", "missing", label="HSCAN missing key", pairs=True)
    # Many stars against a long field name (exponential for a recursive matcher).
    scan_all(c, "HSCAN", "small", "MATCH", "f*" * 12 + "g", label="HSCAN MATCH f*f*...g",
             pairs=True)
    c.cmd("HSCAN", "small", "abc")
    c.cmd("HSCAN", "small", "0", "COUNT", "0")
    c.cmd("HSCAN", "small", "0", "COUNT", "x")
    c.cmd("HSCAN", "small", "0", "MATCH")
    c.cmd("HSCAN", "small", "0", "TYPE", "hash")  # TYPE is a SCAN-only option
    c.cmd("HSCAN", "small")
    c.cmd("HSCAN", "missing", "0", expect=("*", (("$", b"0"), ("*", ()))))
    # As Redis: the cursor, then the key (missing: an empty scan; wrong type: WRONGTYPE),
    # then the options. An empty cursor is 0.
    c.cmd("HSCAN", "missing", "0", "COUNT", "0")
    c.cmd("HSCAN", "missing", "0", "BOGUS")
    c.cmd("HSCAN", "missing", "0", "COUNT", "abc")
    c.cmd("HSCAN", "missing", "abc", "COUNT", "0")
    c.q("SET", "str", "v")
    c.cmd("HSCAN", "str", "0", "COUNT", "0")
    c.cmd("HSCAN", "str", "x")
    c.cmd("HSCAN", "small", "", "COUNT", "1000", norm=lambda r: (r[0], r[1][0]))
    c.cmd("SCAN", "", "COUNT", "1000", norm=lambda r: (r[0], r[1][0]))


def member_of(fields, with_values=False):
    """HRANDFIELD with one reply element: a bulk that is one of the fields."""
    def norm(reply):
        if reply[0] == "$" and reply[1] in fields:
            return ("$", "<one of the fields>")
        return reply
    return norm


def random_fields(fields, count, distinct, with_values=False, values=None):
    """HRANDFIELD h count [WITHVALUES]: right length, members of the hash, distinct if asked.

    RESP2 returns a flat array (field, value, ...); RESP3 returns [[field, value], ...] with
    WITHVALUES. Recorded: the wire shape and whether the content is right.
    """
    def norm(reply):
        if reply[0] != "*" or reply[1] is None:
            return reply
        items = reply[1]
        if with_values:
            if items and items[0][0] == "*":  # RESP3: array of pairs
                got = [(p[1][0][1], p[1][1][1]) for p in items]
                form = "*[pairs]"
            else:
                if len(items) % 2:
                    return ("odd-length", reply)
                got = [(f[1], v[1]) for f, v in zip(items[0::2], items[1::2])]
                form = "*flat"
            ok = all(values.get(f) == v for f, v in got)
            names = [f for f, _ in got]
        else:
            names = [x[1] for x in items]
            form = "*"
            ok = all(n in fields for n in names)
        ok = ok and len(names) == count and (not distinct or len(set(names)) == len(names))
        return (form, f"{count} {'distinct ' if distinct else ''}fields", "ok" if ok else reply)
    return norm


@scenario()
def hrandfield(s):
    c = s.conn()
    values = {f"f{i}".encode(): f"v{i}".encode() for i in range(5)}
    fields = set(values)
    c.cmd("HSET", "h", *[x for kv in values.items() for x in kv], expect=integer(5))
    c.cmd("HRANDFIELD", "h", norm=member_of(fields))
    c.cmd("HRANDFIELD", "h", "3", norm=random_fields(fields, 3, True))
    c.cmd("HRANDFIELD", "h", "5", norm=random_fields(fields, 5, True))
    c.cmd("HRANDFIELD", "h", "50", norm=random_fields(fields, 5, True))  # capped at the size
    c.cmd("HRANDFIELD", "h", "-20", norm=random_fields(fields, 20, False))  # may repeat
    c.cmd("HRANDFIELD", "h", "2", "WITHVALUES",
          norm=random_fields(fields, 2, True, True, values))
    c.cmd("HRANDFIELD", "h", "-7", "WITHVALUES",
          norm=random_fields(fields, 7, False, True, values))
    c.cmd("HRANDFIELD", "h", "0", expect=("*", ()))
    c.cmd("HRANDFIELD", "h", "0", "WITHVALUES")
    c.cmd("HRANDFIELD", "missing", expect=s.nil)
    c.cmd("HRANDFIELD", "missing", "3")
    c.cmd("HRANDFIELD", "missing", "-3", "WITHVALUES")
    c.cmd("HRANDFIELD", "h", "abc")
    c.cmd("HRANDFIELD", "h", "1.5")
    c.cmd("HRANDFIELD", "h", "3", "BOGUS")
    c.cmd("HRANDFIELD", "h", "3", "WITHVALUES", "x")
    c.cmd("HRANDFIELD", "h", MIN64)
    c.cmd("HRANDFIELD", "h", "-9223372036854775807", "WITHVALUES")
    c.cmd("HRANDFIELD")
    # A large hash: a third or less of it is drawn at random (distinct), more is copied.
    big = {f"g{i}".encode(): f"w{i}".encode() for i in range(1000)}
    for i in range(0, 1000, 100):
        c.q("HSET", "big", *[x for kv in list(big.items())[i:i + 100] for x in kv])
    for n in (1, 10, 333, 334, 999, 1000):
        c.cmd("HRANDFIELD", "big", str(n), norm=random_fields(set(big), n, True))
    c.cmd("HRANDFIELD", "big", "300", "WITHVALUES",
          norm=random_fields(set(big), 300, True, True, big))
    c.cmd("HRANDFIELD", "h", "1", "WITHVALUES", norm=random_fields(fields, 1, True, True, values))


if __name__ == "__main__":
    difftest.main(globals())
