"""redis-cli --tls against the server under test, with the exact output a user sees.

Checks: commands as arguments (RESP2 and -3 RESP3, raw and --no-raw rendering, where a
RESP3 map prints as `1# "f" => "v"`), a script of commands on stdin, --pipe mass
insertion of 20,000 commands (the summary line, then DBSIZE), -x binary values from stdin,
--scan, --bigkeys and --memkeys (MEMORY USAGE), a client certificate, and a failed login. Expected outputs are literal here (they
were taken from redis-server 7.0.15; test_compat_cli.py compares the two side by side).
"""

import harness


def check_out(run, srv, args, want, what=None, **kw):
    p = srv.cli_run(*args, **kw)
    return run.eq(p.stdout, want, what or "redis-cli " + " ".join(args))


def argv_commands(run, srv):
    check_out(run, srv, ["PING"], b"PONG\n")
    check_out(run, srv, ["SET", "c:k", "v"], b"OK\n")
    check_out(run, srv, ["GET", "c:k"], b"v\n")
    check_out(run, srv, ["--no-raw", "GET", "c:k"], b'"v"\n')
    check_out(run, srv, ["--no-raw", "GET", "c:missing"], b"(nil)\n")
    check_out(run, srv, ["--no-raw", "INCRBYFLOAT", "c:f", "1.5"], b'"1.5"\n')
    check_out(run, srv, ["--no-raw", "INCR", "c:n"], b"(integer) 1\n")
    check_out(run, srv, ["HSET", "c:h", "f", "v"], b"1\n")
    check_out(run, srv, ["--no-raw", "HGETALL", "c:h"], b'1) "f"\n2) "v"\n')
    check_out(run, srv, ["--no-raw", "HGET", "c:k", "f"],
              b"(error) WRONGTYPE Operation against a key holding the wrong kind of value\n")
    check_out(run, srv, ["NOSUCH"],
              b"ERR unknown command 'NOSUCH', with args beginning with: \n\n")


def resp3(run, srv):
    check_out(run, srv, ["-3", "--no-raw", "HGETALL", "c:h"], b'1# "f" => "v"\n',
              "RESP3 map rendering")
    check_out(run, srv, ["-3", "HGETALL", "c:h"], b"f v\n")
    check_out(run, srv, ["-3", "--no-raw", "GET", "c:missing"], b"(nil)\n")
    check_out(run, srv, ["-3", "--no-raw", "HGETALL", "c:missing"], b"(empty hash)\n")
    check_out(run, srv, ["-3", "--no-raw", "HRANDFIELD", "c:h", "1", "WITHVALUES"],
              b'1) 1) "f"\n   2) "v"\n')
    check_out(run, srv, ["-3", "--no-raw", "CONFIG", "GET", "nosuchparam"], b"(empty hash)\n")
    check_out(run, srv, ["-3", "--no-raw", "EXEC"], b"(error) ERR EXEC without MULTI\n")


def stdin_script(run, srv):
    script = "".join(f"SET c:s:{i} {i}\n" for i in range(1000))
    script += "INCR c:s:7\nHSET c:s:7 f v\nGET c:s:7\n"
    want = b"OK\n" * 1000 + b"8\n"
    want += b"WRONGTYPE Operation against a key holding the wrong kind of value\n\n8\n"
    check_out(run, srv, [], want, "1003 commands on stdin", input=script)
    check_out(run, srv, ["-3"], b"OK\n", "RESP3 on stdin", input="SET c:s:0 again\n")


def pipe(run, srv):
    c = srv.raw()
    harness.wipe(c)
    proto = b"".join(harness.encode_command("SET", f"c:p:{i}", "x" * 100) for i in range(10000))
    proto += b"".join(harness.encode_command("HSET", f"c:ph:{i % 100}", f"f{i}", i)
                      for i in range(10000))
    p = srv.cli_run("--pipe", input=proto)
    out = p.stdout.decode("utf-8", "replace")
    run.check("errors: 0, replies: 20000" in out, "--pipe: 20000 replies, no errors", out)
    run.eq(p.returncode, 0, "--pipe exit status")
    run.eq(c.call("DBSIZE"), (":", 10100), "DBSIZE after --pipe")
    run.eq(c.call("HLEN", "c:ph:42"), (":", 100), "HLEN of a piped hash")
    c.close()


def binary_x(run, srv):
    value = bytes(range(256)) * 64
    check_out(run, srv, ["-x", "SET", "c:bin"], b"OK\n", input=value)
    c = srv.raw()
    run.eq(c.call("GET", "c:bin"), ("$", value), "-x stored the bytes exactly")
    c.close()


def scan(run, srv):
    c = srv.raw()
    for i in range(500):
        c.send(harness.encode_command("SET", f"c:scan:{i}", "v"))
    for i in range(500):
        c.read_reply()
    c.close()
    p = srv.cli_run("--scan", "--pattern", "c:scan:*")
    lines = p.stdout.split()
    run.eq((len(lines), len(set(lines))), (500, 500), "--scan lists each key once")


def big_and_mem_keys(run, srv):
    c = srv.raw()
    c.call("SET", "c:big:s", "x" * 50000)
    c.call("HSET", "c:big:h", *[x for i in range(300) for x in (f"f{i}", "v" * 40)])
    c.close()
    p = srv.cli_run("--bigkeys")
    run.check(b"Biggest string found '\"c:big:s\"' has 50000 bytes" in p.stdout and
              b"Biggest   hash found '\"c:big:h\"' has 300 fields" in p.stdout,
              "--bigkeys names the largest string and hash", p.stdout[-600:])
    p = srv.cli_run("--memkeys")
    run.check(b"MEMORY USAGE" not in p.stdout + p.stderr and
              b"Biggest string found '\"c:big:s\"'" in p.stdout and
              b"Biggest   hash found '\"c:big:h\"'" in p.stdout,
              "--memkeys sizes every key (MEMORY USAGE)", (p.stdout[-600:], p.stderr[-300:]))


def cert_and_login(run, srv):
    check_out(run, srv, ["PING"], b"PONG\n", "PING with --cert/--key", cert=True)
    p = srv.cli_run("GET", "k", user="nobody", password="x")
    run.check(b"WRONGPASS" in p.stderr, "a failed login is reported",
              repr((p.stdout, p.stderr)))
    run.check(b"NOAUTH" in p.stdout, "no data without a login", repr(p.stdout))


def body(run):
    srv = harness.start_target()
    run.log(f"target {srv}")
    run.cases([argv_commands, resp3, stdin_script, pipe, binary_x, scan, big_and_mem_keys,
               cert_and_login],
              run, srv)


if __name__ == "__main__":
    harness.main(body)
