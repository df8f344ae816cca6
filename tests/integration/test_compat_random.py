"""Differential test: seeded random command sequences behave exactly like redis-server 7.0.

The hand-written test_compat_*.py scenarios check each command alone; this file throws
random sequences of string, key, hash and transaction commands at a small key space
(6 string-ish keys, 4 hash-ish keys, each sometimes used with the wrong type) so that the
commands interact: an INCRBYFLOAT on a value an APPEND made, a RENAME of a hash onto a key
with a TTL, a WATCHed key that a second client changes, a wrong-arity command inside MULTI.
Arguments come from pools of edge cases (64-bit limits, "1e5", " 1", "inf", "nan", "",
"0x10", very long strings, NUL / CR LF / non-UTF-8 bytes). Every reply, with its RESP wire
type, must equal redis's, in RESP2 and RESP3 (difftest.py).

Determinism (a sequence must give the same replies on two redis-servers, which is what
PHIDB_TARGET=redis checks):
  - the program is a pure function of the seed; replies never steer it;
  - expiry times are far from now (>= 1000 s), or in the past, or invalid, so nothing
    expires during a run; TTL/PTTL/EXPIRETIME replies are recorded as the nearest expiry
    the pools can produce (within 30 s), never as raw numbers;
  - HGETALL/HKEYS/HVALS are compared as unordered, also inside an EXEC reply;
  - no KEYS/SCAN/HRANDFIELD/INFO/CLIENT/CONFIG/TIME, nothing phidb refuses by design.
A third of the seeds send one command at a time; the others pipeline runs of up to 7 or 50
commands of one connection (pipeline_of).

Each scenario is `random_seed_<seed>`; each recorded command is labelled `seed S #I`.
Switches:
  PHIDB_RANDOM_SEED=S[,S2...]   run only these seeds (any integer, not only the default ones)
  PHIDB_RANDOM_COMMANDS=N       commands per seed (default COMMANDS)
  PHIDB_RANDOM_PRINT=1          print the generated programs and exit (no servers)
  PHIDB_RANDOM_REDUCE=1         after the run, shrink each failing seed to a short sequence
                                that still gives a different reply, and print it
"""

import os
import random
import sys
import time

import difftest
from difftest import pairs, scenario, unordered

SEEDS = tuple(range(1, 25))
COMMANDS = 1000

MAX64 = "9223372036854775807"
MIN64 = "-9223372036854775808"

STRING_KEYS = ("s0", "s1", "s2", "s3", b"s\x00\r\n\xff", "")
HASH_KEYS = ("h0", "h1", "h2", b"h\xfe\x00 h")
FIELDS = ("f0", "f1", "f2", "f3", "", b"f\x00\r\n\xff", "g" * 65)  # 65: > a packed field

# Expiry arguments. Valid ones are far apart (so the nearest candidate of a TTL reply is
# never in doubt) and far in the future (nothing expires while a run lasts) or in the past.
# A relative time gets the step's index added (seconds or ms): two relative expiries set
# by different steps then never tie, which would make EXPIRE ... GT/LT depend on whether
# the clock moved by a millisecond in between. So at most MAX_STEPS steps a program.
REL_S = ("1000", "100000", "10000000")                # EX, EXPIRE, SETEX (+ index s)
REL_MS = ("50000000", "3000000000", "500000000000")   # PX, PEXPIRE, PSETEX (+ index ms)
MAX_STEPS = 20000
ABS_S = ("4102444800", "4200000000")                  # EXAT, EXPIREAT
ABS_MS = ("4150000000000", "4250000000000")           # PXAT, PEXPIREAT
# Zero and negative relative times delete at once (or are refused); "1" would be a real
# expiry within the run, so the past is given as absolute times only.
PAST_REL = ("0", "-1", "-100")
PAST_ABS = ("0", "-1", "1", "1000000000")
EXPIRE_EDGES = (MAX64, MIN64, "9223372036854775", "9223372036854776", "9223372036854",
                "9223362036854775807", "99999999999999999999", "abc", "1.5", "", " 100",
                "1e3", "+100", "0x10")
BAD_NUMBERS = ("", " 1", "1 ", "1e5", "inf", "-inf", "nan", "0x10", "+1", "-0", "01", "1.5",
               "abc", "9223372036854775808", "-9223372036854775809", "99999999999999999999",
               "1" * 30, "\x001")
INT_EDGES = (MAX64, MIN64, "9223372036854775806", "-9223372036854775807",
             "4611686018427387904", "-4611686018427387904", "0", "1", "-1")
FLOATS = ("0.1", "-0.1", "1.5", "3", "-3", "1e5", "1E-5", "2.5e-3", "5.0e3", "10.50", ".5",
          "5.", "+1.5", "-0", "0", "0.3333333333333333", "123456789.123456789", "-17.2",
          "1.7976931348623157e308", "1e308", "-1e308", "5e-324", "1e4000", "1e-4000",
          "1e5000", "1e-5000", "inf", "-inf", "+inf", "nan", "", " 1", "1 ", "0x10", "0x1p3",
          "abc", "1..2", "1,5", MAX64, MIN64, "1" * 30, "0" * 5000 + "1", "0" * 5200 + "1")
TEXTS = ("abc", "hello world", "v", "h\u00e9llo \u2603", b"\x00\r\n\xff$3\r\n*1\r\n\x00",
         b"\xff\xfe", "\r\n", " ")


def _int_arg(rng):
    r = rng.random()
    if r < 0.6:
        return str(rng.randint(-20, 100))
    if r < 0.85:
        return rng.choice(INT_EDGES)
    return rng.choice(BAD_NUMBERS)


def _value(rng):
    """A value for SET/HSET/APPEND...: numbers (good and bad), text, binary, long."""
    r = rng.random()
    if r < 0.3:
        return str(rng.randint(-20, 100))
    if r < 0.4:
        return rng.choice(INT_EDGES)
    if r < 0.55:
        return rng.choice(FLOATS[:40])
    if r < 0.65:
        return rng.choice(BAD_NUMBERS)
    if r < 0.85:
        return rng.choice(TEXTS)
    if r < 0.9:
        return ""
    if r < 0.95:
        return bytes(rng.randrange(256) for _ in range(rng.randint(1, 12)))
    # Sizes on both sides of the limits of packed hash values (64) and in-place SET (1024).
    return rng.choice((b"x" * 100, b"y" * 5000, b"z" * 70000, "1" * 25, "0" * 5000 + "1",
                       "a" * 63, "b" * 64, "c" * 65, "d" * 1023, "e" * 1024, "f" * 1025))


class Gen:
    """Builds one program: a list of (connection, args, norm) with norm a name (see _norm)."""

    def __init__(self, seed):
        self.rng = random.Random(seed)
        self.in_multi = False
        self.queued = 0
        self.index = 0  # of the step being made

    def expire_arg(self, pool, edges=True):
        """A time for pool's kind of command: usually valid, sometimes past or an edge.

        Without edges (for GT/LT) every valid time differs from those of other steps."""
        rng = self.rng
        r = rng.random()
        if r < 0.75 or (r >= 0.87 and not edges):
            v = int(rng.choice(pool))
            return str(v + self.index if pool in (REL_S, REL_MS) else v)
        if r < 0.87:
            return rng.choice(PAST_ABS if pool in (ABS_S, ABS_MS) else PAST_REL)
        return rng.choice(EXPIRE_EDGES)

    def key(self, kind="s"):
        rng = self.rng
        if rng.random() < 0.03:
            return "nokey"
        own, other = (STRING_KEYS, HASH_KEYS) if kind == "s" else (HASH_KEYS, STRING_KEYS)
        return rng.choice(own if rng.random() < 0.85 else other)

    def keys(self, kind="s", lo=1, hi=4):
        return [self.key(kind if self.rng.random() < 0.8 else "h")
                for _ in range(self.rng.randint(lo, hi))]

    def field(self):
        return self.rng.choice(FIELDS)

    # -- one command of each family: returns (args, norm) ----------------------------
    def strings(self):
        rng, k = self.rng, self.key()
        name = rng.choice(("GET", "SET", "SET", "SET", "SETNX", "SETEX", "PSETEX", "MGET",
                           "MSET", "MSETNX", "GETDEL", "GETEX", "GETEX", "APPEND", "STRLEN",
                           "GETRANGE", "INCR", "DECR", "INCRBY", "DECRBY", "INCRBYFLOAT",
                           "INCRBYFLOAT", "INCRBYFLOAT", "GETSET", "SETRANGE", "SET-PAST"))
        if name in ("GET", "GETDEL", "STRLEN", "INCR", "DECR"):
            return [name, k], None
        if name == "SET-PAST":
            # A time in the past: the key stays in the keyspace, expired, until something
            # looks it up (the state where WATCH and writes have special cases).
            opt = rng.choice((["EXAT", rng.choice(PAST_ABS)], ["PXAT", rng.choice(PAST_ABS)]))
            return ["SET", k, _value(rng)] + opt + self.set_options(), None
        if name == "SET":
            return ["SET", k, _value(rng)] + self.set_options(), None
        if name in ("SETNX", "APPEND", "GETSET"):
            return [name, k, _value(rng)], None
        if name == "SETEX":
            return [name, k, self.expire_arg(REL_S), _value(rng)], None
        if name == "PSETEX":
            return [name, k, self.expire_arg(REL_MS), _value(rng)], None
        if name == "MGET":
            return ["MGET"] + self.keys(), None
        if name in ("MSET", "MSETNX"):
            args = [name]
            for _ in range(rng.randint(1, 3)):
                args += [self.key(), _value(rng)]
            return args, None
        if name == "GETEX":
            return ["GETEX", k] + self.getex_options(), None
        if name == "GETRANGE":
            return [name, k, _int_arg(rng), _int_arg(rng)], None
        if name == "SETRANGE":
            off = rng.choice((str(rng.randint(0, 30)), "0", "100", "70000", "-1", "536870911",
                              "536870912", MAX64, "abc"))
            # At the 512 MB limit only with an empty value (nothing is allocated then).
            return [name, k, off, "" if off == "536870911" else _value(rng)], None
        if name in ("INCRBY", "DECRBY"):
            return [name, k, _int_arg(rng)], None
        return [name, k, rng.choice(FLOATS)], None  # INCRBYFLOAT

    def set_options(self):
        rng = self.rng
        opts = []
        for _ in range(rng.choice((0, 1, 1, 1, 2, 2, 3))):
            o = rng.choice(("EX", "PX", "EXAT", "PXAT", "NX", "XX", "KEEPTTL", "GET", "GET",
                            "NX", "XX", "BOGUS", "ex", "get"))
            pool = {"EX": REL_S, "ex": REL_S, "PX": REL_MS, "EXAT": ABS_S, "PXAT": ABS_MS}
            if o in pool and rng.random() > 0.03:  # sometimes the value is missing
                opts += [o, self.expire_arg(pool[o])]
            else:
                opts.append(o)
        return opts

    def getex_options(self):
        rng = self.rng
        opts = []
        for _ in range(rng.choice((0, 1, 1, 1, 2))):
            o = rng.choice(("EX", "PX", "EXAT", "PXAT", "PERSIST", "PERSIST", "BOGUS", "px"))
            pool = {"EX": REL_S, "PX": REL_MS, "px": REL_MS, "EXAT": ABS_S, "PXAT": ABS_MS}
            if o in pool and rng.random() > 0.03:
                opts += [o, self.expire_arg(pool[o])]
            else:
                opts.append(o)
        return opts

    def keyspace(self):
        rng = self.rng
        kind = "s" if rng.random() < 0.6 else "h"
        k = self.key(kind)
        name = rng.choice(("DEL", "UNLINK", "EXISTS", "TYPE", "EXPIRE", "EXPIRE", "PEXPIRE",
                           "EXPIREAT", "PEXPIREAT", "TTL", "TTL", "PTTL", "PERSIST", "RENAME",
                           "RENAMENX", "EXPIRETIME", "PEXPIRETIME"))
        if name in ("DEL", "UNLINK", "EXISTS"):
            return [name] + self.keys(kind, 1, 3), None
        if name == "TYPE":
            return [name, k], None
        if name in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
            return [name, k], name.lower()
        if name == "PERSIST":
            return [name, k], None
        if name in ("RENAME", "RENAMENX"):
            return [name, k, self.key(kind if rng.random() < 0.7 else "h")], None
        pool = {"EXPIRE": REL_S, "PEXPIRE": REL_MS, "EXPIREAT": ABS_S, "PEXPIREAT": ABS_MS}
        flags = [rng.choice(("NX", "XX", "GT", "LT", "gt", "BOGUS"))
                 for _ in range(rng.choice((0, 0, 1, 1, 2)))]
        edges = not {"GT", "LT", "gt"} & set(flags)
        return [name, k, self.expire_arg(pool[name], edges)] + flags, None

    def hashes(self):
        rng, h = self.rng, self.key("h")
        name = rng.choice(("HSET", "HSET", "HSET", "HSETNX", "HGET", "HGET", "HMGET", "HMSET",
                           "HGETALL", "HDEL", "HEXISTS", "HKEYS", "HVALS", "HLEN", "HSTRLEN",
                           "HINCRBY", "HINCRBY", "HINCRBYFLOAT", "HINCRBYFLOAT"))
        if name in ("HSET", "HMSET"):
            args = [name, h]
            for _ in range(rng.randint(1, 3)):
                args += [self.field(), _value(rng)]
            if rng.random() < 0.05:  # past the 128 fields of a packed hash
                for i in range(rng.randint(100, 140)):
                    args += [f"n{i}", str(i)]
            return args, None
        if name == "HSETNX":
            return [name, h, self.field(), _value(rng)], None
        if name in ("HGET", "HEXISTS", "HSTRLEN"):
            return [name, h, self.field()], None
        if name in ("HMGET", "HDEL"):
            fields = [self.field() for _ in range(rng.randint(1, 3))]
            if rng.random() < 0.1:
                fields += [f"n{i}" for i in range(rng.randint(0, 140))]
            return [name, h] + fields, None
        if name == "HGETALL":
            return [name, h], "pairs"
        if name in ("HKEYS", "HVALS"):
            return [name, h], "unordered"
        if name == "HLEN":
            return [name, h], None
        if name == "HINCRBY":
            return [name, h, self.field(), _int_arg(rng)], None
        return [name, h, self.field(), rng.choice(FLOATS)], None  # HINCRBYFLOAT

    def data_command(self):
        r = self.rng.random()
        if r < 0.45:
            args, norm = self.strings()
        elif r < 0.7:
            args, norm = self.keyspace()
        else:
            args, norm = self.hashes()
        return self.mangle(args), norm

    def mangle(self, args):
        """Sometimes a wrong arity, an unknown command or another spelling of the name."""
        rng = self.rng
        r = rng.random()
        if r < 0.03:
            args = args[:rng.randint(1, max(1, len(args) - 1))]
        elif r < 0.045:
            # EXPIRE_EDGES: if it lands where an expiry is read, it is never a short one.
            args = args + [rng.choice(("extra", "EX") + EXPIRE_EDGES)]
        elif r < 0.05:
            args = ["NOSUCHCMD"] + args[1:]
        r = rng.random()
        if r < 0.1:
            args = [args[0].lower()] + args[1:]
        elif r < 0.13:
            args = [args[0].capitalize()] + args[1:]
        return args

    def mangle_tx(self, args):
        """MULTI EXEC DISCARD WATCH UNWATCH: sometimes a wrong arity (which, inside MULTI,
        makes EXEC fail with EXECABORT) or lower case."""
        rng = self.rng
        r = rng.random()
        if r < 0.03:
            args = args[:1] + ["x"] if args[0] != "WATCH" else args[:1]
        elif r < 0.1:
            args = [args[0].lower()] + args[1:]
        return args

    # -- the program ------------------------------------------------------------------
    def step(self):
        """One or more steps: [(conn, args, norm)]."""
        rng = self.rng
        if self.in_multi:
            if self.queued >= 6 or rng.random() < 0.2:
                self.in_multi = False
                return [("main", self.mangle_tx(["EXEC" if rng.random() < 0.85 else "DISCARD"]),
                         None)]
            r = rng.random()
            if r < 0.03:
                return [("main", ["MULTI"], None)]  # nested: an error, not queued
            if r < 0.06:
                return [("main", ["WATCH", self.key()], None)]  # refused inside MULTI
            if r < 0.15:
                return [("other", *self.data_command())]
            self.queued += 1
            return [("main", *self.data_command())]
        r = rng.random()
        if r < 0.04:
            self.in_multi, self.queued = True, 0
            return [("main", self.mangle_tx(["MULTI"]), None)]
        if r < 0.07:
            return [("main", self.mangle_tx(["WATCH"] + self.keys(rng.choice("sh"), 1, 2)),
                     None)]
        if r < 0.08:
            return [("main", self.mangle_tx([rng.choice(("UNWATCH", "EXEC", "DISCARD"))]),
                     None)]
        if r < 0.14:
            return [("other", *self.data_command())]
        if r < 0.17:
            return self.watch_probe()
        return [("main", *self.data_command())]

    def watch_probe(self):
        """WATCH a key, one command on it, then a transaction: EXEC's nil or array shows
        whether that command counted as a change (no-op writes must not, writes must)."""
        rng = self.rng
        args, norm = self.data_command()
        watched = args[1:2] or [self.key()]
        conn = rng.choice(("main", "other"))
        return [("main", ["WATCH"] + watched, None), (conn, args, norm),
                ("main", ["MULTI"], None), ("main", ["EXISTS"] + watched, None),
                ("main", ["EXEC"], None)]


_PROGRAMS = {}


def program(seed, count):
    """The steps of a seed: [(conn, args, norm)], count long (a pure function of both)."""
    if not 0 < count <= MAX_STEPS:
        raise SystemExit(f"PHIDB_RANDOM_COMMANDS must be 1..{MAX_STEPS}, not {count}")
    if (seed, count) not in _PROGRAMS:
        g, steps = Gen(seed), []
        while len(steps) < count:
            g.index = len(steps)
            steps += g.step()
        if g.in_multi:
            steps.append(("main", ["EXEC"], None))
        # The final state, which replies so far may not have shown (the transaction a
        # mangled EXEC left open is ended first).
        steps.append(("main", ["DISCARD"], None))
        for k in STRING_KEYS + HASH_KEYS + ("nokey",):
            steps += [("main", ["TYPE", k], None), ("main", ["PTTL", k], "pttl"),
                      ("main", ["GET", k], None), ("main", ["HGETALL", k], "pairs")]
        _PROGRAMS[(seed, count)] = steps
    return _PROGRAMS[(seed, count)]


# --------------------------------------------------------------------------------------
# Normalizers, resolved when the reply arrives (the clock is read then).

TTL_TOLERANCE_S = 30
HUGE_S = 10**11


def _candidates_s(now):
    """Every expiry the pools can set: [(lowest, highest seconds from now, a name that does
    not move)]; a relative pool's range covers the index added to it."""
    out = [(int(v), int(v) + MAX_STEPS, f"{v} s + index") for v in REL_S]
    out += [(int(v) / 1000, (int(v) + MAX_STEPS) / 1000, f"{v} ms + index") for v in REL_MS]
    out += [(int(v) - now,) * 2 + (f"at {v} s",) for v in ABS_S]
    out += [(int(v) / 1000 - now,) * 2 + (f"at {v} ms",) for v in ABS_MS]
    for v in (int(e) for e in EXPIRE_EDGES if e.lstrip("-").isdigit()):
        # edges are used with every command, so in every unit
        out += [(v, v, f"{v} s"), (v / 1000, v / 1000, f"{v} ms"),
                (v - now, v - now, f"at {v} s"), (v / 1000 - now, v / 1000 - now, f"at {v} ms")]
    return [c for c in out if 0 < c[0] < HUGE_S]


def _bucket_seconds(seconds):
    """A TTL in seconds as the expiry the pools can set that it is near (or as itself)."""
    if seconds >= HUGE_S:
        return "huge"
    for lo, hi, name in _candidates_s(time.time()):
        if lo - TTL_TOLERANCE_S <= seconds <= hi + TTL_TOLERANCE_S:
            return "~" + name
    return seconds


def _norm_time(kind):
    def norm(reply):
        if reply[0] != ":" or reply[1] < 0:
            return reply
        v = reply[1]
        if kind == "ttl":
            return (":", _bucket_seconds(v))
        if kind == "pttl":
            return (":", _bucket_seconds(v / 1000))
        if kind == "expiretime":
            return (":", _bucket_seconds(v - time.time()))
        return (":", _bucket_seconds(v / 1000 - time.time()))  # pexpiretime
    return norm


def _norm(name):
    if name is None:
        return None
    if name == "pairs":
        return pairs
    if name == "unordered":
        return unordered
    return _norm_time(name)


def _exec_norm(queued):
    """EXEC's array gets each queued command's normalizer (when the lengths agree)."""
    norms = [_norm(n) for n in queued]

    def norm(reply):
        if reply[0] in ("*", "~") and reply[1] is not None and len(reply[1]) == len(norms):
            return (reply[0], tuple(f(r) if f else r for f, r in zip(norms, reply[1])))
        return reply
    return norm


def _show_arg(a):
    b = a.encode() if isinstance(a, str) else a
    text = repr(b[:40])[2:-1]
    return text + (f"..({len(b)}B)" if len(b) > 40 else "") if b else '""'


def label(seed, index, args):
    return f"seed {seed} #{index} " + " ".join(_show_arg(a) for a in args)


def pipeline_of(seed):
    """How many commands a seed sends before reading their replies: one at a time, or
    pipelined (consecutive commands of one connection), which takes phidb's batched reading
    and key prefetching paths."""
    return (1, 7, 50)[seed % 3]


def play(s, seed, steps):
    """Send the steps on s's connections, recording every reply (normalized)."""
    queued = {}  # connection -> normalizer names of its queued commands (None: no MULTI)
    depth, i = pipeline_of(seed), 0
    while i < len(steps):
        conn, j = steps[i][1], i + 1
        while j < len(steps) and j - i < depth and steps[j][1] == conn:
            j += 1
        c = s.conn(conn)
        c.send(b"".join(difftest.harness.encode_command(*st[2]) for st in steps[i:j]))
        for index, _, args, norm in steps[i:j]:
            cmd = (args[0].decode() if isinstance(args[0], bytes) else args[0]).upper()
            f = _exec_norm(queued.get(conn) or []) if cmd == "EXEC" else _norm(norm)
            reply = c.read(label=label(seed, index, args), norm=f)
            if cmd in ("EXEC", "DISCARD"):
                queued[conn] = None
            elif cmd == "MULTI" and reply == difftest.OK:
                queued[conn] = []
            elif queued.get(conn) is not None and reply == difftest.QUEUED:
                queued[conn].append(norm)
        i = j


def make_scenario(seed, count):
    def run(s):
        play(s, seed, [(i, *st) for i, st in enumerate(program(seed, count))])
    run.__name__ = f"random_seed_{seed}"
    run.diff_hint = (f"      reproduce: PHIDB_RANDOM_SEED={seed} PHIDB_RANDOM_COMMANDS={count}"
                     f" (PHIDB_RANDOM_PRINT=1 lists the commands, PHIDB_RANDOM_REDUCE=1 "
                     f"shrinks them)")
    return scenario()(run)


# --------------------------------------------------------------------------------------
# Reduction (PHIDB_RANDOM_REDUCE=1): delta debugging against the live servers.


def _first_difference(differ, seed, steps, proto):
    """Index (into steps) of the first step whose reply differs, or None; and both replies."""
    def fn(s):
        play(s, seed, steps)
    fn.__name__ = "reduce"
    ref = differ._play(fn, differ.ref, proto, True).transcript
    tgt = differ._play(fn, differ.tgt, proto, False).transcript
    for i in range(max(len(ref), len(tgt))):
        r = ref[i] if i < len(ref) else None
        t = tgt[i] if i < len(tgt) else None
        if r is None or t is None or r[1] != t[1]:
            return min(i, len(steps) - 1), r, t
    return None, None, None


def _reduce(run, differ, seed, count):
    steps = [(i, *st) for i, st in enumerate(program(seed, count))]
    for proto in (2, 3):
        first, r, t = _first_difference(differ, seed, steps, proto)
        if first is not None:
            break
    else:
        run.log(f"seed {seed}: no difference to reduce")
        return
    target, steps = steps[first], steps[:first]
    run.log(f"seed {seed}: reducing {first + 1} steps (RESP{proto}), the difference is at "
            f"#{target[0]}")
    found = {"replies": (r, t)}

    def still(candidate):
        """Does the target step still differ (and nothing before it) without the others?"""
        i, r, t = _first_difference(differ, seed, candidate + [target], proto)
        if i == len(candidate):
            found["replies"] = (r, t)
            return True
        return False

    chunk = max(1, len(steps) // 2)
    while chunk >= 1:
        i, progress = 0, False
        while i < len(steps):
            trial = steps[:i] + steps[i + chunk:]
            if still(trial):
                steps, progress = trial, True
            else:
                i += chunk
        if not progress:
            chunk //= 2
    r, t = found["replies"]
    again = sum(still(steps) for _ in range(3))
    run.log(f"seed {seed}: minimal sequence (RESP{proto}), {len(steps) + 1} commands "
            f"(the difference came back in {again} of 3 more runs; fewer means it depends on "
            f"timing):")
    for index, conn, args, _ in steps + [target]:
        run.log(f"    {conn}: " + ", ".join(repr(a) for a in args) + f"   # {index}")
    run.log(f"  redis: {difftest.harness.show(r and r[1], 400)}\n"
            f"  {differ.tgt.kind}: {difftest.harness.show(t and t[1], 400)}")


def _seeds():
    env = os.environ.get("PHIDB_RANDOM_SEED", "")
    return tuple(int(x) for x in env.split(",") if x.strip()) or SEEDS


def _count():
    return int(os.environ.get("PHIDB_RANDOM_COMMANDS", "") or COMMANDS)


for _seed in _seeds():
    globals()[f"random_seed_{_seed}"] = make_scenario(_seed, _count())


def reduce_failures(run, ref, tgt):
    if os.environ.get("PHIDB_RANDOM_REDUCE", "") in ("", "0"):
        return
    differ = difftest.Differ(run, ref, tgt)
    for seed in _seeds():
        _reduce(run, differ, seed, _count())
    differ.close()


if __name__ == "__main__":
    if os.environ.get("PHIDB_RANDOM_PRINT", "") not in ("", "0"):
        for seed in _seeds():
            for i, (conn, args, _) in enumerate(program(seed, _count())):
                print(label(seed, i, args) if conn == "main" else
                      f"{label(seed, i, args)}   (on the other connection)")
        sys.exit(0)
    difftest.main(globals(), extra_checks=reduce_failures)
