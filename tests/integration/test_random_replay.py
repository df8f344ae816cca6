"""Random writes, then a restart: the server comes back with exactly the state it had.

One client sends random writes of every kind the durable log records (SET with each
expiry option, SETEX, MSET, GETDEL, GETEX, APPEND, SETRANGE, INCR*, DEL, UNLINK, EXPIRE*
with NX/XX/GT/LT, PERSIST, RENAME, HSET, HDEL, HINCRBY*, a hash of hundreds of fields,
transactions) over a few keys with edge names and values, with a compaction
(BGREWRITEAOF) every 700 commands and appendfsync always. Then every key's type, value
(or fields) and expiry time are read, the server is stopped (SIGTERM, then once more
with kill -9) and restarted, and the same is read again: it must be equal (expiry times
within 3 s; keys within 5 s of expiring are left out). Last, the same through PHI.BACKUP
and `phidb restore` into a new directory.

    PHIDB_REPLAY_COMMANDS=20000 PHIDB_REPLAY_SEED=7 /usr/bin/python3 tests/integration/test_random_replay.py

phidb-only: skipped when PHIDB_TARGET=redis.
"""

import os
import random
import time

import harness
from test_backup import RestoredServer, tool


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    count = int(os.environ.get("PHIDB_REPLAY_COMMANDS", "3000"))
    seed = int(os.environ.get("PHIDB_REPLAY_SEED", "1"))
    rnd = random.Random(seed)
    srv = harness.PhidbServer(extra={"appendfsync": "always"})
    c = srv.raw()

    keys = [b"s1", b"s2", b"s3", b"h1", b"h2", b"big", b"\x00k", b"k\xff", b"", b"x" * 300]
    fields = [b"f1", b"f2", b"", b"\x00", b"g" * 200] + [b"m%d" % i for i in range(80)]
    vals = [b"", b"0", b"1", b"-1", b"10", b"3.5", b"9223372036854775806", b"abc", b"\x00\xff",
            b"v" * 5000, b"1e10"]

    def k():
        return rnd.choice(keys)

    def f():
        return rnd.choice(fields)

    def v():
        return rnd.choice(vals)

    def now_ms():
        return int(time.time() * 1000)

    def at(secs):
        return str(int(time.time()) + secs).encode()

    def ttl_opt():
        return rnd.choice([[], [], [b"EX", b"1000"], [b"PX", b"900000"], [b"EXAT", at(2000)],
                           [b"PXAT", str(now_ms() + 3000000).encode()], [b"KEEPTTL"],
                           [b"PX", b"1"]])

    def pairs(lo, hi, field):
        return [x for _ in range(rnd.randint(lo, hi)) for x in (field(), v())]

    gen = [
        lambda: [b"SET", k(), v()] + ttl_opt() + rnd.choice([[], [b"NX"], [b"XX"], [b"GET"]]),
        lambda: [b"SETEX", k(), b"500", v()],
        lambda: [b"PSETEX", k(), b"700000", v()],
        lambda: [b"SETNX", k(), v()],
        lambda: [b"MSET", k(), v(), k(), v()],
        lambda: [b"MSETNX", k(), v(), k(), v()],
        lambda: [b"GETDEL", k()],
        lambda: [b"GETEX", k()] + rnd.choice([[b"EX", b"800"], [b"PERSIST"], [],
                                              [b"PXAT", str(now_ms() + 5000000).encode()]]),
        lambda: [b"APPEND", k(), v()],
        lambda: [b"SETRANGE", k(), rnd.choice([b"0", b"3", b"100"]), v()],
        lambda: [b"INCR", k()],
        lambda: [b"DECRBY", k(), b"7"],
        lambda: [b"INCRBYFLOAT", k(), b"2.25"],
        lambda: [b"DEL", k(), k()],
        lambda: [b"UNLINK", k()],
        lambda: [rnd.choice([b"EXPIRE", b"PEXPIRE"]), k(),
                 rnd.choice([b"1000", b"2000000", b"0", b"-5"])]
        + rnd.choice([[], [b"NX"], [b"XX"], [b"GT"], [b"LT"]]),
        lambda: [b"EXPIREAT", k(), at(rnd.choice([3000, -10]))],
        lambda: [b"PERSIST", k()],
        lambda: [b"RENAME", k(), k()],
        lambda: [b"RENAMENX", k(), k()],
        lambda: [b"HSET", k()] + pairs(1, 4, f),
        lambda: [b"HSETNX", k(), f(), v()],
        lambda: [b"HDEL", k(), f(), f()],
        lambda: [b"HINCRBY", k(), f(), b"3"],
        lambda: [b"HINCRBYFLOAT", k(), f(), b"0.5"],
        lambda: [b"HMSET", k(), f(), v()],
        lambda: [b"HSET", b"big"] + pairs(50, 150, lambda: b"m%d" % rnd.randrange(300)),
    ]

    def snapshot():
        """key -> (type, value or {field: value}, absolute expiry in ms or None, PTTL)."""
        state, cur = {}, b"0"
        while True:
            r = c.call("SCAN", cur, "COUNT", "1000")
            cur = r[1][0][1]
            for item in r[1][1][1]:
                key = item[1]
                t = c.call("TYPE", key)[1]
                if t == b"string":
                    val = c.call("GET", key)[1]
                elif t == b"hash":
                    x = c.call("HGETALL", key)[1]
                    val = {a[1]: b[1] for a, b in zip(x[0::2], x[1::2])}
                else:
                    val = t
                p = c.call("PTTL", key)[1]
                state[key] = (t, val, None if p < 0 else now_ms() + p, p)
            if cur == b"0":
                return state

    def compare(before, after, how):
        diffs = []
        for key in sorted(set(before) | set(after)):
            b, a = before.get(key), after.get(key)
            if b and (b[3] == -2 or 0 <= b[3] < 5000):
                continue  # expired while the snapshot read it, or may expire in between
            if (b is None or a is None or b[0] != a[0] or b[1] != a[1]
                    or (b[2] is None) != (a[2] is None) or (b[2] and abs(b[2] - a[2]) > 3000)):
                diffs.append(f"{key[:40]!r}: before {str(b)[:150]}, after {str(a)[:150]}")
        run.check(not diffs, f"{how}: the same {len(before)} keys, values and expiries",
                  "\n".join(diffs[:5]))

    for how in ("SIGTERM", "kill -9"):
        for n in range(count):
            if rnd.random() < 0.05:
                c.call("MULTI")
                for _ in range(rnd.randint(1, 5)):
                    c.call(*rnd.choice(gen)())
                c.call("EXEC")
            else:
                c.call(*rnd.choice(gen)())
            if n % 700 == 350:
                c.call("BGREWRITEAOF")
        before = snapshot()
        c.close()
        if how == "kill -9":
            srv.kill9()
        else:
            srv.stop()
        srv.restart()
        c = srv.raw()
        compare(before, snapshot(), how)
    # The same state through an online backup and `phidb restore` into a new directory.
    before = snapshot()
    r = c.call("PHI.BACKUP", "random.phib", timeout=600)
    run.require(r[0] == "*", "PHI.BACKUP", harness.show(r))
    root = harness.make_temp_dir("restore")
    inst, port = os.path.join(root, "inst"), harness.free_port()
    rc, out, err = tool(srv, "restore", os.path.join(srv.dir, "backups", "random.phib"), "--to",
                        inst, "--from", srv.dir, "--port", port)
    run.require(rc == 0, "phidb restore", out + err)
    restored = RestoredServer(srv, inst, port, srv.password)
    original, c = c, restored.raw()
    compare(before, snapshot(), "backup and restore")
    c.close()
    restored.stop()
    c = original
    run.log(f"{count} random writes twice (seed {seed})")
    c.close()
    srv.stop()  # raises on a non-zero exit or a sanitizer report


if __name__ == "__main__":
    harness.main(body)
