"""The blind index behind PHI.FIND stays exact under random changes to the records.

Random HSET of an indexed field (SSNs written in several forms that normalise alike, and
some that normalise to nothing), HDEL, DEL, UNLINK, RENAME, RENAMENX, expiries of 1 ms to
100 s, transactions, compactions, and restarts (SIGTERM, and kill -9 every other time);
every 25 commands, PHI.FIND for each value must return exactly the records whose field,
read back with HGET, normalises to the same digits.

    PHIDB_BLIND_COMMANDS=10000 PHIDB_BLIND_SEED=7 /usr/bin/python3 tests/integration/test_random_blind_index.py

phidb-only: skipped when PHIDB_TARGET=redis.
"""

import os
import random
import re
import time

import harness
from test_random_policy import start_clinic

SSNS = ["123-45-6789", "123456789", " 123 45 6789 ", "987-65-4321", "111-22-3333", "", "abc",
        "123-45-678"]
KEYS = [f"patient:{i}" for i in range(8)] + ["other"]


def digits(v):
    return re.sub(r"\D", "", v) or None


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    count = int(os.environ.get("PHIDB_BLIND_COMMANDS", "2000"))
    seed = int(os.environ.get("PHIDB_BLIND_SEED", "1"))
    rnd = random.Random(seed)
    srv, a = start_clinic(run, [("auto-aof-rewrite-percentage", "50")])
    run.eq(a.call("ACL", "SAVE"), ("+", b"OK"), "ACL SAVE (the roles survive restarts)")

    def expected():
        out = {}
        for k in KEYS[:-1]:
            v = a.call("HGET", k, "ssn")
            if v[0] == "$" and v[1] is not None and digits(v[1].decode()):
                out.setdefault(digits(v[1].decode()), set()).add(k.encode())
        return out

    mismatches, checks, restarts = [], 0, 0
    for i in range(count):
        r, k, k2 = rnd.random(), rnd.choice(KEYS), rnd.choice(KEYS)
        if r < 0.35:
            a.call("HSET", k, "id", f"P{rnd.randrange(5)}", "ssn", rnd.choice(SSNS))
        elif r < 0.45:
            a.call("HDEL", k, "ssn")
        elif r < 0.55:
            a.call("DEL", k)
        elif r < 0.6:
            a.call("UNLINK", k)
        elif r < 0.7:
            a.call("RENAME", k, k2)
        elif r < 0.75:
            a.call("RENAMENX", k, k2)
        elif r < 0.8:
            a.call("PEXPIRE", k, rnd.choice(["1", "20", "100000"]))
        elif r < 0.83:
            a.call("HSET", k, "ssn", rnd.choice(SSNS), "name", "x")
        elif r < 0.85:
            a.call("MULTI")
            a.call("HSET", k, "ssn", rnd.choice(SSNS))
            a.call("RENAME", k, k2)
            a.call("EXEC")
        elif r < 0.86:
            a.call("BGREWRITEAOF")
        elif r < 0.87:
            a.close()
            if restarts % 2:
                srv.kill9()
            else:
                srv.stop()
            restarts += 1
            srv.restart()
            a = srv.raw()
        if i % 25 == 0:
            time.sleep(0.03)  # let 1 and 20 ms expiries happen
            want = expected()
            for v in set(SSNS):
                got = a.call("PHI.FIND", "patient", "ssn", v)
                got = {x[1] for x in got[1]} if got[0] == "*" else got
                exp = want.get(digits(v), set()) if digits(v) else set()
                checks += 1
                if got != exp:
                    mismatches.append(f"after {i} commands, PHI.FIND {v!r}: {got}, want {exp}")
    run.eq(mismatches[:5], [], f"{checks} PHI.FIND answers exact ({count} commands, "
                               f"{restarts} restarts, seed {seed})")
    a.close()
    srv.stop()


if __name__ == "__main__":
    harness.main(body)
