"""Eight clients at once, each doing random things that hand work to other threads, hanging
up at random: the server must neither crash nor report a sanitizer error (the ASan/UBSan
build runs this file too), keep answering, and stop cleanly in the middle of it all.

What the clients do: large HSETs and UNLINKs of large hashes (the lazy-free thread), PHI.SCAN
and PHI.REDACT of long notes (the PHI worker), AUTH with right and wrong passwords (the login
workers), BGREWRITEAOF (compaction), PHI.BACKUP (the backup writer), CLIENT KILL USER,
SUBSCRIBE and PUBLISH, MULTI/EXEC/WATCH, short expiries; after 15% of the commands the client
closes its connection without reading the reply. Halfway through, SIGTERM: the server must
exit 0 without a sanitizer report, then start again with a key written before the storm.

    PHIDB_CHAOS_SECONDS=120 /usr/bin/python3 tests/integration/test_random_chaos.py

phidb-only: skipped when PHIDB_TARGET=redis.
"""

import os
import random
import threading
import time

import harness

PW = "chaos-password-123456"
NOTE = "Seen by Dr. John Carter on 03/02/2024, call 617-555-0199. " * 200


def one_command(rnd, seed, n):
    r = rnd.random()
    k = f"k{rnd.randrange(50)}"
    if r < 0.15:
        return ["HSET", f"big{rnd.randrange(3)}"] + [
            x for _ in range(rnd.randint(10, 300))
            for x in (f"f{rnd.randrange(5000)}", "v" * rnd.randint(0, 200))]
    if r < 0.2:
        return ["UNLINK", f"big{rnd.randrange(3)}"]
    if r < 0.3:
        return ["PHI.SCAN", NOTE[:rnd.randint(0, len(NOTE))]]
    if r < 0.35:
        return ["PHI.REDACT", NOTE[:rnd.randint(0, 3000)], rnd.choice(["TAG", "MASK", "SURROGATE"])]
    if r < 0.38:
        return ["BGREWRITEAOF"]
    if r < 0.39:
        return ["PHI.BACKUP", f"chaos-{seed}-{n}.phib"]
    if r < 0.42:
        return ["AUTH", "u1", PW if rnd.random() < 0.8 else "wrong-password-xx"]
    if r < 0.45:
        return ["CLIENT", "KILL", "USER", "u1"] if rnd.random() < 0.2 else ["CLIENT", "LIST"]
    if r < 0.5:
        return ["SUBSCRIBE", f"ch{rnd.randrange(3)}"]
    if r < 0.55:
        return ["PUBLISH", f"ch{rnd.randrange(3)}", "m"]
    if r < 0.6:
        return ["MULTI"]
    if r < 0.65:
        return ["EXEC"]
    if r < 0.7:
        return ["WATCH", k]
    if r < 0.8:
        return ["SET", k, "v" * rnd.randint(0, 1000), "PX", str(rnd.randint(1, 50))]
    return [rnd.choice(["GET", "HGETALL", "DEL", "EXPIRE"]), k] + (
        ["1"] if rnd.random() < 0.3 else [])


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    seconds = float(os.environ.get("PHIDB_CHAOS_SECONDS", "15"))
    srv = harness.PhidbServer()
    a = srv.raw()
    run.eq(a.call("ACL", "SETUSER", "u1", "on", ">" + PW, "~*", "&*", "+@all", "-@dangerous",
                  "+phi.backup"), ("+", b"OK"), "a second user")
    run.eq(a.call("SET", "before", "the storm"), ("+", b"OK"), "a key written before")
    a.close()
    end = [time.time() + seconds]
    done = [0]

    def client(seed):
        rnd = random.Random(seed)
        c, n = None, 0
        while time.time() < end[0]:
            try:
                if c is None:
                    c = srv.raw("u1", PW) if rnd.random() < 0.5 else srv.raw()
                c.send(harness.encode_command(*one_command(rnd, seed, n)))
                n += 1
                if rnd.random() < 0.15:  # hang up without reading the reply
                    c.close()
                    c = None
                    continue
                c.read_reply(timeout=60)
                done[0] += 1
            except Exception:  # noqa: BLE001 (killed, refused, or the server stopping)
                try:
                    c.close()
                except Exception:  # noqa: BLE001
                    pass
                c = None

    threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    time.sleep(seconds / 2)
    run.eq(srv.raw().call("PING"), ("+", b"PONG"), "PING answers in the middle of it")
    try:
        srv.stop()  # raises on a non-zero exit or a sanitizer report
        stopped = ""
    except harness.ServerError as e:
        stopped = str(e)[-2000:]
    run.check(not stopped, "SIGTERM under load: exit 0, no sanitizer report", stopped)
    end[0] = 0
    for t in threads:
        t.join(timeout=120)
    run.check(done[0] > 100, "the clients were served", f"{done[0]} replies")
    srv.restart()
    c = srv.raw()
    run.eq(c.call("GET", "before"), ("$", b"the storm"), "after a restart the data is there")
    c.close()
    run.log(f"{done[0]} replies in {seconds / 2:.0f} s of 8 clients")
    srv.stop()


if __name__ == "__main__":
    harness.main(body)
