"""Differential test: redis-cli prints exactly the same for phidb as for redis-server 7.0.

redis-cli renders every reply type differently (RESP2 and RESP3 with -3, raw and
formatted output), so identical output is a compact end-to-end check of reply types,
values and error texts as a real tool sees them. The same command script is fed on stdin
in four output modes; single commands check exit codes, -x (value from stdin), -r (repeat),
--scan and --pipe (mass insertion), and a login with an unknown user. Only commands with a
deterministic output are used (no TTL values, no multi-field hash order, no SCAN cursors:
a small keyspace need not be returned in one SCAN call).
"""

import harness

SCRIPT = r"""
PING
SET k v
GET k
GET missing
SET n 10
INCR n
INCRBYFLOAT n 1.5
INCRBYFLOAT n 5.0e3
MSET a 1 b 2
MGET a b missing
HSET h f v
HGETALL h
HGET h f
HGET h nope
HGETALL missing
HKEYS missing
HINCRBYFLOAT h g 2.5
HINCRBY h i 7
HSTRLEN h f
EXPIRE k 1000
PERSIST k
TTL k
TTL missing
TYPE h
TYPE a
TYPE missing
EXISTS a b c
DEL a
SET k v NX
SET k v2 GET
SET k v3 XX GET
GETDEL k
GETEX b
APPEND b "x y"
GETRANGE b 0 -1
GETRANGE b -100 100
STRLEN b
ECHO "hello world"
ECHO ""
SET bin "a\x00b\r\nc"
GET bin
STRLEN bin
NOSUCHCOMMAND arg
GET
SET k v EX 0
INCR b
HSET b f v
SELECT 0
SELECT 1
DBSIZE
MULTI
SET t 1
INCR t
GET t
EXEC
MULTI
SET t
EXEC
CLIENT SETNAME cli-test
CLIENT GETNAME
HRANDFIELD h 0
RENAME h h2
HLEN h2
RENAMENX n h2
UNLINK n h2
DBSIZE
""".lstrip()

MODES = [[], ["--no-raw"], ["-3"], ["-3", "--no-raw"], ["--raw"]]


def wipe(server):
    c = server.raw()
    harness.wipe(c)
    c.close()


def compare(run, what, ref_result, tgt_result, sort_lines=False):
    """Compare two CompletedProcess results of redis-cli: stdout, stderr, exit status."""
    def view(r):
        out = r.stdout.splitlines() if sort_lines else [r.stdout]
        if sort_lines:
            out.sort()
        return (out, r.stderr, r.returncode)
    ref, tgt = view(ref_result), view(tgt_result)
    if not run.check(ref == tgt, f"redis-cli {what}: identical output"):
        run.log(f"      redis : rc={ref[2]} stderr={ref[1]!r}\n{_fmt(ref[0])}")
        run.log(f"      target: rc={tgt[2]} stderr={tgt[1]!r}\n{_fmt(tgt[0])}")
    return ref_result


def _fmt(out):
    if len(out) == 1:
        text = out[0].decode("utf-8", "replace")
    else:
        text = "\n".join(x.decode("utf-8", "replace") for x in out)
    return "\n".join("        | " + l for l in text.splitlines()[:80])


def both(ref, tgt, fn):
    wipe(ref)
    wipe(tgt)
    return fn(ref), fn(tgt)


def body(run):
    ref = harness.start_reference()
    tgt = harness.start_target()
    run.log(f"reference {ref}\ntarget    {tgt}")

    for mode in MODES:
        with run.case(f"script on stdin, mode {' '.join(mode) or '(default)'}"):
            r, t = both(ref, tgt, lambda s: s.cli_run(*mode, input=SCRIPT))
            compare(run, f"stdin script {mode}", r, t)
            run.check(b"PONG" in r.stdout, "the reference ran the script (PONG seen)",
                      repr(r.stdout[:200]) + repr(r.stderr[:200]))

    with run.case("single commands and exit codes"):
        for args in (["PING"], ["GET", "missing"], ["NOSUCHCOMMAND"], ["SET", "k"],
                     ["SET", "k", "v"], ["--no-raw", "GET", "missing"], ["-3", "HGETALL", "x"],
                     ["--no-raw", "NOSUCHCOMMAND"], ["-r", "3", "INCR", "r"],
                     ["-3", "--no-raw", "INCRBYFLOAT", "f", "0.1"]):
            r, t = ref.cli_run(*args), tgt.cli_run(*args)
            compare(run, " ".join(args), r, t)

    with run.case("-x: the last argument from stdin (binary)"):
        value = bytes(range(256)) * 4
        r, t = both(ref, tgt, lambda s: (s.cli_run("-x", "SET", "xk", input=value),
                                        s.cli_run("--raw", "GET", "xk")))
        compare(run, "-x SET", r[0], t[0])
        compare(run, "GET after -x SET", r[1], t[1])
        run.check(r[1].stdout.startswith(value), "the reference stored the stdin bytes")

    with run.case("--scan --pattern"):
        def scan(s):
            c = s.raw()
            for i in range(300):
                c.send(harness.encode_command("SET", f"user:{i}", "v"))
            for i in range(300):
                c.read_reply()
            c.call("HSET", "user:h", "f", "v")
            c.close()
            return s.cli_run("--scan", "--pattern", "user:1*")
        r, t = both(ref, tgt, scan)
        compare(run, "--scan --pattern user:1*", r, t, sort_lines=True)
        run.eq(len(r.stdout.splitlines()), 111, "reference --scan found user:1* keys")

    with run.case("--pipe (mass insertion)"):
        proto = b"".join(harness.encode_command("SET", f"p:{i}", f"value {i}")
                         for i in range(5000))
        proto += harness.encode_command("INCR", "p:1")  # one error among the replies
        proto += harness.encode_command("HSET", "ph", "f", "v")
        r, t = both(ref, tgt, lambda s: (s.cli_run("--pipe", input=proto),
                                        s.cli_run("DBSIZE")))
        compare(run, "--pipe", r[0], t[0])
        compare(run, "DBSIZE after --pipe", r[1], t[1])
        run.check(b"errors: 1, replies: 5002" in r[0].stdout, "reference --pipe summary",
                  repr(r[0].stdout))

    with run.case("login with an unknown user"):
        r = ref.cli_run("GET", "k", user="nobody", password="x")
        t = tgt.cli_run("GET", "k", user="nobody", password="x")
        compare(run, "--user nobody", r, t)


if __name__ == "__main__":
    harness.main(body)
