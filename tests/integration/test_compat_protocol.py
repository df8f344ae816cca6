"""Differential test: the wire protocol, byte by byte, compared with redis-server 7.0.

Checks pipelined commands in one TLS write, a command split into one-byte writes, inline
commands (what telnet-style health checks send), empty and null multibulk headers, and
protocol errors: the error text and that the server then closes the connection. Also the
limits Redis applies to unauthenticated connections (7.0: at most 10 arguments and 16 KiB
bulk strings before AUTH), which keep anonymous clients from making the server allocate.
"""

import difftest
from difftest import OK, bulk, scenario
from harness import encode_command


@scenario()
def pipelining(s):
    c = s.conn()
    cmds = []
    for i in range(100):
        cmds.append(("SET", f"k{i}", f"v{i}"))
        cmds.append(("GET", f"k{i}"))
    cmds.append(("GET", "missing"))
    cmds.append(("NOSUCH",))
    cmds.append(("HSET", "k0", "f", "v"))  # WRONGTYPE in the middle of a pipeline
    cmds.append(("DBSIZE",))
    c.send(b"".join(encode_command(*x) for x in cmds))
    for x in cmds:
        c.read(label=" ".join(x))


@scenario()
def split_writes(s):
    c = s.conn()
    data = encode_command("SET", "split", "a\r\nb") + encode_command("GET", "split")
    for i in range(len(data)):
        c.raw.sock.sendall(data[i:i + 1])  # one TLS record per byte
    c.read("SET split (one byte per write)", expect=OK)
    c.read("GET split (one byte per write)", expect=bulk("a\r\nb"))
    big = b"x" * 300000  # larger than any socket/TLS buffer: arrives in many reads
    c.send(encode_command("SET", "big", big))
    c.read("SET big 300000 bytes", expect=OK)
    c.cmd("STRLEN", "big")


@scenario()
def inline_commands(s):
    c = s.conn()
    c.send(b"PING\r\n")
    c.read("inline PING", expect=("+", b"PONG"))
    c.send(b"SET inl value\r\nGET inl\r\n")
    c.read("inline SET")
    c.read("inline GET", expect=bulk("value"))
    c.send(b'SET q "a b\\x41\\n" \r\nGET q\r\n')
    c.read("inline SET with quotes and escapes")
    c.read("inline GET q")
    c.send(b"SET sq 'single quoted'\r\nGET sq\r\n")
    c.read("inline SET single quotes")
    c.read("inline GET sq")
    c.send(b"\r\n  \r\nPING\r\n")  # empty lines are skipped
    c.read("inline PING after empty lines")
    c.send(b"PING\n")  # a bare LF ends an inline command too
    c.read("inline PING ending in LF")
    c.send(b"NOSUCH a b\r\n")
    c.read("inline unknown command")
    c.send(b'ECHO "unbalanced\r\n')
    c.read("inline unbalanced quotes")
    c.closed()


def protocol_error(s, name, data, then_ping=True, auth=True):
    """Send bad bytes on a fresh connection; record the reply and whether it closes."""
    c = s.conn(name, auth=auth)
    c.send(data)
    c.read(f"{name}: {data[:40]!r}")
    if c.closed():
        return
    if then_ping:
        c.cmd("PING")


@scenario()
def protocol_errors(s):
    protocol_error(s, "bulk-len-not-a-number", b"*1\r\n$abc\r\n")
    protocol_error(s, "bulk-len-negative", b"*1\r\n$-1\r\n")
    protocol_error(s, "bulk-len-too-big", b"*1\r\n$600000000\r\n")
    protocol_error(s, "multibulk-len-not-a-number", b"*abc\r\n")
    protocol_error(s, "multibulk-len-too-big", b"*2147483648\r\n")
    protocol_error(s, "expected-dollar", b"*1\r\n+PING\r\n")
    protocol_error(s, "expected-dollar-colon", b"*2\r\n$3\r\nGET\r\n:1\r\n")
    protocol_error(s, "inline-too-big", b"a" * 70000)
    protocol_error(s, "multibulk-header-too-big", b"*" + b"1" * 70000)
    protocol_error(s, "bulk-header-too-big", b"*1\r\n$" + b"1" * 70000)


@scenario()
def odd_but_valid(s):
    c = s.conn()
    c.send(b"*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n")  # empty and null multibulk: no reply
    c.read("PING after *0 and *-1", expect=("+", b"PONG"))
    c.send(b"*1\r\n$0\r\n\r\n")
    c.read("empty command name")
    c.send(b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$0\r\n\r\n")
    c.read("SET '' ''", expect=OK)
    c.cmd("STRLEN", "")
    c.send(b"*2\r\n$4\r\nECHO\r\n$10\r\n" + b"\r\n" * 5 + b"\r\n")
    c.read("ECHO of CRLFs")
    c.send(b"*1\r\n$4\r\nping\r\n")
    c.read("lower-case ping")


@scenario(noauth_ok=True)
def unauthenticated_limits(s):
    protocol_error(s, "unauth-many-args", b"*11\r\n", then_ping=False, auth=False)
    ok = s.conn("unauth-ok-args", auth=False)
    ok.send(b"*10\r\n" + b"$1\r\nx\r\n" * 10)
    ok.read("10 arguments before AUTH")
    ok.alive()
    s.conn("unauth-big-bulk", auth=False).send(b"*2\r\n$4\r\nAUTH\r\n$16385\r\n")
    s.conns["unauth-big-bulk"].read("bulk of 16385 bytes before AUTH")
    s.conns["unauth-big-bulk"].closed()
    fine = s.conn("unauth-16k", auth=False)
    fine.send(encode_command("PING", "x" * 16384))
    fine.read("PING with a 16384-byte argument before AUTH",
              phidb=("$", b"x" * 16384))  # PING is allowed before AUTH in phidb
    fine.alive()
    big = s.conn("auth-big", auth=True)
    big.send(b"*11\r\n" + b"$1\r\nx\r\n" * 11)
    big.read("11 arguments after AUTH")
    big.alive()


if __name__ == "__main__":
    difftest.main(globals())
