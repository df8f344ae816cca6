"""redis-py (Debian's python3-redis 4.3) against the server under test, over TLS.

What real Python applications do: plain commands with reply parsing (bytes, ints, floats,
dicts), one pipeline of 10,000 commands (transaction=False) with every reply checked,
MULTI/EXEC through pipeline(transaction=True) including an error inside EXEC, optimistic
locking with WATCH through redis-py's transaction() helper (forced to retry once by
another client), WatchError, scan_iter/hscan_iter, PubSub with channels and patterns, a connection pool shared by threads,
large values, and a client certificate.
"""

import threading
import time

import redis

import harness


def basics(run, srv):
    r = srv.client()
    run.eq(r.ping(), True, "ping")
    run.eq(r.set("py:k", "v"), True, "set")
    run.eq(r.get("py:k"), b"v", "get")
    run.eq(r.get("py:missing"), None, "get missing")
    run.eq(r.set("py:k", "w", nx=True), None, "set nx on an existing key")
    run.eq(r.set("py:k", "w", get=True), b"v", "set get=True")
    run.eq(r.set("py:e", "v", ex=1000), True, "set ex")
    run.check(990 < r.ttl("py:e") <= 1000, "ttl", str(r.ttl("py:e")))
    run.check(990000 < r.pttl("py:e") <= 1000000, "pttl", str(r.pttl("py:e")))
    run.eq(r.persist("py:e"), True, "persist")
    run.eq(r.incr("py:n"), 1, "incr")
    run.eq(r.incrby("py:n", 41), 42, "incrby")
    run.eq(r.incrbyfloat("py:n", 0.5), 42.5, "incrbyfloat")
    run.eq(r.mset({"py:a": "1", "py:b": "2"}), True, "mset")
    run.eq(r.mget("py:a", "py:b", "py:missing"), [b"1", b"2", None], "mget")
    run.eq(r.getdel("py:a"), b"1", "getdel")
    run.eq(r.getex("py:b", ex=100), b"2", "getex")
    run.eq(r.append("py:b", "x"), 2, "append")
    run.eq(r.getrange("py:b", 0, -1), b"2x", "getrange")
    run.eq(r.exists("py:b", "py:b", "py:none"), 2, "exists")
    run.eq(r.type("py:b"), b"string", "type")
    run.eq(r.rename("py:b", "py:c"), True, "rename")
    run.eq(r.delete("py:c", "py:none"), 1, "delete")
    run.eq(r.hset("py:h", mapping={"name": "Ada", "mrn": "123"}), 2, "hset mapping")
    run.eq(r.hgetall("py:h"), {b"name": b"Ada", b"mrn": b"123"}, "hgetall")
    run.eq(r.hmget("py:h", "name", "nope"), [b"Ada", None], "hmget")
    run.eq(r.hincrbyfloat("py:h", "score", 1.25), 1.25, "hincrbyfloat")
    run.eq(sorted(r.hkeys("py:h")), [b"mrn", b"name", b"score"], "hkeys")
    run.eq(r.hlen("py:h"), 3, "hlen")
    run.check(r.hrandfield("py:h") in (b"mrn", b"name", b"score"), "hrandfield")
    big = bytes(range(256)) * 20000  # 5 MB, every byte value
    r.set("py:big", big)
    run.eq(r.get("py:big") == big, True, "5 MB binary value round trip")
    try:
        r.hget("py:k", "f")
        run.check(False, "WRONGTYPE raises ResponseError")
    except redis.ResponseError as e:
        run.eq(str(e), "WRONGTYPE Operation against a key holding the wrong kind of value",
               "WRONGTYPE raises ResponseError with Redis's text")
    s = srv.client(decode_responses=True)
    run.eq(s.get("py:k"), "w", "decode_responses=True gives str")
    r.close()
    s.close()


def big_pipeline(run, srv):
    """One pipeline of 10,000 commands, transaction=False; every reply checked."""
    r = srv.client()
    p = r.pipeline(transaction=False)
    n = 2000
    for i in range(n):
        p.set(f"pp:{i}", f"value-{i}")        # True
        p.get(f"pp:{i}")                       # b"value-i"
        p.incr("pp:counter")                   # i + 1
        p.hset("pp:hash", f"f{i}", i)          # 1
        p.exists(f"pp:{i}", "pp:nope")         # 1
    replies = p.execute()
    run.eq(len(replies), 5 * n, "10,000 replies")
    wrong = []
    for i in range(n):
        want = [True, f"value-{i}".encode(), i + 1, 1, 1]
        got = replies[5 * i:5 * i + 5]
        if got != want:
            wrong.append((i, got, want))
    run.check(not wrong, "every pipeline reply is right", repr(wrong[:3]))
    run.eq(r.hlen("pp:hash"), n, "hash filled by the pipeline")
    # A pipeline with an error in it: the other replies still come back.
    p = r.pipeline(transaction=False)
    p.set("pp:s", "x").incr("pp:s").get("pp:s")
    res = p.execute(raise_on_error=False)
    run.eq((res[0], type(res[1]).__name__, res[2]), (True, "ResponseError", b"x"),
           "an error inside a pipeline does not stop it")
    r.close()


def multi_exec(run, srv):
    r = srv.client()
    p = r.pipeline(transaction=True)
    p.set("tx:a", "1").incr("tx:a").hset("tx:h", "f", "v").get("tx:a")
    run.eq(p.execute(), [True, 2, 1, b"2"], "pipeline(transaction=True) runs MULTI/EXEC")
    p = r.pipeline(transaction=True)
    p.set("tx:s", "abc").incr("tx:s").set("tx:after", "1")
    res = p.execute(raise_on_error=False)
    run.eq((res[0], type(res[1]).__name__, res[2]), (True, "ResponseError", True),
           "an error inside EXEC does not stop the other commands")
    run.eq(r.get("tx:after"), b"1", "the command after the error ran")
    # A queued syntax error aborts the whole transaction (EXECABORT).
    p = r.pipeline(transaction=True)
    p.set("tx:x", "1").execute_command("SET", "tx:y")
    try:
        p.execute()
        run.check(False, "a queued arity error raises")
    except redis.ResponseError as e:
        run.log(f"    queued arity error -> {e}")
        run.check(True, "a queued arity error raises")
    run.eq(r.exists("tx:x"), 0, "nothing of the aborted transaction ran")
    r.close()


def watch(run, srv):
    r = srv.client()
    other = srv.client()
    r.set("w:balance", 100)
    calls = []

    def debit(pipe):
        calls.append(1)
        balance = int(pipe.get("w:balance"))
        if len(calls) == 1:
            other.incrby("w:balance", 50)  # someone else changes it: EXEC must fail
        pipe.multi()
        pipe.set("w:balance", balance - 30)

    r.transaction(debit, "w:balance")
    run.eq(len(calls), 2, "transaction() retried once after the watched key changed")
    run.eq(r.get("w:balance"), b"120", "the retry used the new value (100 + 50 - 30)")

    with r.pipeline() as pipe:
        pipe.watch("w:k")
        other.set("w:k", "changed")
        pipe.multi()
        pipe.set("w:k", "mine")
        try:
            pipe.execute()
            run.check(False, "WatchError raised")
        except redis.WatchError:
            run.check(True, "WatchError raised")
    run.eq(r.get("w:k"), b"changed", "the other client's value stays")
    with r.pipeline() as pipe:
        pipe.watch("w:k")
        pipe.unwatch()
        other.set("w:k", "again")
        pipe.multi()
        pipe.set("w:k", "mine")
        run.eq(pipe.execute(), [True], "after UNWATCH the transaction runs")
    r.close()
    other.close()


def scans(run, srv):
    r = srv.client()
    with r.pipeline(transaction=False) as p:
        for i in range(1000):
            p.set(f"scan:{i}", i)
        for i in range(300):
            p.hset("scan:h", f"f{i}", i)
        p.execute()
    keys = set(r.scan_iter(match="scan:*", count=50))
    run.eq(len(keys), 1001, "scan_iter finds every key once")
    hashes = set(r.scan_iter(match="scan:*", _type="hash"))
    run.eq(hashes, {b"scan:h"}, "scan_iter _type=hash")
    fields = dict(r.hscan_iter("scan:h", count=20))
    run.eq(len(fields), 300, "hscan_iter finds every field")
    run.eq(fields[b"f299"], b"299", "hscan_iter values")
    r.close()


def threads(run, srv):
    """A pool shared by 4 threads: replies never cross between requests."""
    pool_client = srv.client(max_connections=8)
    errors = []

    def work(t):
        try:
            for i in range(300):
                key = f"thr:{t}:{i}"
                pool_client.set(key, f"{t}-{i}")
                if pool_client.get(key) != f"{t}-{i}".encode():
                    errors.append((t, i))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append((t, repr(e)))

    ts = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(timeout=300)
    run.check(not errors, "4 threads x 300 set/get through one pool", repr(errors[:3]))
    pool_client.close()


def pubsub(run, srv):
    """redis-py's PubSub object: subscribe and psubscribe, messages with their pattern."""
    r = srv.client()
    ps = r.pubsub(ignore_subscribe_messages=True)
    ps.subscribe("py:news")
    ps.psubscribe("py:w*")
    got = []

    def drain(want):
        deadline = time.time() + 10
        while len(got) < want and time.time() < deadline:
            m = ps.get_message(timeout=0.2)
            if m:
                got.append((m["type"], m["pattern"], m["channel"], m["data"]))

    drain(0)  # the confirmations
    run.eq(r.publish("py:news", "n1"), 1, "publish to a channel")
    run.eq(r.publish("py:weather", "w1"), 1, "publish to a channel a pattern matches")
    run.eq(r.publish("py:other", "x"), 0, "nobody listens")
    drain(2)
    run.eq(got, [("message", None, b"py:news", b"n1"),
                 ("pmessage", b"py:w*", b"py:weather", b"w1")], "both messages, in order")
    run.eq(r.pubsub_numpat(), 1, "PUBSUB NUMPAT")
    ps.punsubscribe("py:w*")
    ps.unsubscribe("py:news")
    drain(2)
    deadline = time.time() + 10
    while r.pubsub_numpat() != 0 and time.time() < deadline:
        time.sleep(0.05)
    run.eq(r.publish("py:weather", "w2"), 0, "after PUNSUBSCRIBE nothing is delivered")
    ps.close()


def client_cert(run, srv):
    r = srv.client(cert=True)
    run.eq(r.ping(), True, "TLS with a client certificate")
    r.close()


def body(run):
    srv = harness.start_target()
    run.log(f"target {srv}")
    run.cases([basics, big_pipeline, multi_exec, watch, scans, threads, pubsub, client_cert], run,
              srv)


if __name__ == "__main__":
    harness.main(body)
