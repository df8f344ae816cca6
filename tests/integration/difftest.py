"""Differential testing: run the same scenario against redis-server and phidb, compare.

A scenario is a function `scn(s)` that opens connections with `s.conn(name)` and sends
commands with `c.cmd(*args)`. Each reply is recorded in a transcript, with its RESP wire
type (see harness.RawConn.read_reply). The scenario runs once against the reference
(real redis-server 7.0 with TLS) and once against the target (phidb); the two transcripts
must be equal, entry for entry. By default every scenario runs twice: with RESP2 (AUTH)
and with RESP3 (HELLO 3 AUTH) connections.

Where Redis gives no order or the value is legitimately different, a scenario normalizes
the reply before it is recorded (norm=...): sort sets, sort hash pairs, accept a TTL in a
window, keep only the shape. Anything beyond that is an intentional difference and is
listed in README.md.

To keep scenarios honest (a scenario that is broken gives the same wrong answer on both
servers, and would "pass"), `expect=` pins the reference's reply, and any NOAUTH reply on
the reference fails the scenario unless it is marked noauth_ok.

The keyspace is wiped (SCAN + DEL) before every scenario run on both servers.
"""

import os
import sys

import harness

MAX_MISMATCHES_SHOWN = 15
OK = ("+", b"OK")
QUEUED = ("+", b"QUEUED")
NIL2 = ("$", None)       # RESP2 null bulk; RESP3 connections get ('_',) instead


def err(text):
    """An error reply: err('ERR syntax error')."""
    return ("-", text.encode() if isinstance(text, str) else text)


def bulk(v):
    return ("$", v.encode() if isinstance(v, str) else v)


def integer(n):
    return (":", n)


# --------------------------------------------------------------------------------------
# Normalizers: reply -> what is recorded.  They must keep the wire type visible.


def unordered(reply):
    """Sort the elements of an array/set (or the pairs of a map): no order promised."""
    t = reply[0]
    if t in ("*", "~") and reply[1] is not None:
        return (t, tuple(sorted(reply[1], key=repr)))
    if t == "%":
        return ("%", tuple(sorted(reply[1], key=repr)))
    return reply


def pairs(reply):
    """HGETALL-like: a RESP2 flat [f1, v1, f2, v2...] or a RESP3 map; sort the pairs."""
    t = reply[0]
    if t == "*" and reply[1] is not None:
        items = reply[1]
        if len(items) % 2:
            return ("odd-length pair array", reply)
        return ("*pairs", tuple(sorted(zip(items[0::2], items[1::2]), key=repr)))
    return unordered(reply)


def ttl_near(expected, tolerance):
    """TTL/PTTL replies in [expected - tolerance, expected] are recorded as '~expected'.

    Time passes between SET and TTL differently on each server; this only asks that the
    expiry is right to within `tolerance` (seconds or ms, as the command replies).
    """
    def norm(reply):
        if reply[0] == ":" and expected - tolerance <= reply[1] <= expected:
            return (":", f"~{expected}")
        return reply
    return norm


def shape(reply):
    """Only the wire types, recursively (values masked): for ids, times, counters."""
    t = reply[0]
    if t in ("*", "~", ">") and reply[1] is not None:
        return (t, tuple(shape(r) for r in reply[1]))
    if t == "%":
        return ("%", tuple((shape(k), shape(v)) for k, v in reply[1]))
    if t == "-":
        return reply  # errors are compared in full
    return (t,)


def scan_shape(reply):
    """A SCAN/HSCAN reply whose content may vary: [bulk cursor, array] is all we compare."""
    if (reply[0] == "*" and reply[1] is not None and len(reply[1]) == 2
            and reply[1][0][0] == "$" and reply[1][1][0] == "*"):
        return ("*", (("$", "<cursor>"), ("*", "<elements>")))
    return reply


def scan_all(c, *args, label, pairs=False):
    """Run SCAN (args = 'SCAN', options...) or HSCAN ('HSCAN', key, options...) to the end.

    Records the set of elements of a full iteration (for HSCAN with pairs=True: the set of
    (field, value) pairs), and any reply that is not [cursor, array]. Returns the set.
    """
    cursor, found, rounds = "0", set(), 0
    head, rest = args[0], args[1:]
    while True:
        if head.upper() == "SCAN":
            r = c.q(head, cursor, *rest)
        else:
            r = c.q(head, rest[0], cursor, *rest[1:])
        rounds += 1
        if scan_shape(r) == r:  # not a [cursor, array] reply: record it as it is
            c.side.note(f"{label}: reply", r)
            return None
        items = [x[1] for x in r[1][1][1]]
        if pairs:
            if len(items) % 2:
                c.side.note(f"{label}: odd number of elements", r)
                return None
            found.update(zip(items[0::2], items[1::2]))
        else:
            found.update(items)
        cursor = r[1][0][1].decode()
        if cursor == "0" or rounds > 100000:
            break
    c.side.note(f"{label}: set from a full iteration", tuple(sorted(found)))
    return found


def is_nil(reply):
    return reply in (("$", None), ("*", None), ("_",))


def as_list(reply):
    """Elements of an array/set/map reply as a flat Python list of parsed replies."""
    t = reply[0]
    if t in ("*", "~") and reply[1] is not None:
        return list(reply[1])
    if t == "%":
        return [x for kv in reply[1] for x in kv]
    raise ValueError(f"not an aggregate: {reply!r}")


def text(reply):
    """The bytes of a string-like reply (bulk, simple, verbatim)."""
    if reply[0] == "=":
        return reply[2]
    return reply[1]


# --------------------------------------------------------------------------------------


def _is_error(value, prefix=b""):
    return (isinstance(value, tuple) and len(value) == 2 and value[0] == "-"
            and isinstance(value[1], bytes) and value[1].startswith(prefix))


class RecConn:
    """A connection whose replies are recorded in the side's transcript."""

    def __init__(self, side, name, raw):
        self.side, self.name, self.raw = side, name, raw

    def _record(self, label, reply, norm, expect, phidb=None):
        value = norm(reply) if norm else reply
        if phidb is not None:
            # A documented, intentional difference: the reference must still behave as
            # redis does (expect=), and phidb must give exactly the reply stated here.
            # Both sides then record the same marker; any other phidb reply is a mismatch.
            marker = ("phidb differs on purpose", label)
            if self.side.is_reference or self.side.server.kind != "phidb":
                self.side.transcript.append((f"{self.name}> {label}", marker))
            else:
                ok = phidb(reply) if callable(phidb) else (value == phidb or reply == phidb)
                self.side.transcript.append(
                    (f"{self.name}> {label}", marker if ok else ("unexpected", value)))
        else:
            self.side.transcript.append((f"{self.name}> {label}", value))
        if expect is not None and self.side.is_reference:
            ok = expect(reply) if callable(expect) else (value == expect or reply == expect)
            if not ok:
                self.side.expect_failures.append(
                    f"{self.name}> {label}: reference replied {harness.show(reply)}, "
                    f"scenario expects {harness.show(expect)}")
        return reply

    def cmd(self, *args, norm=None, expect=None, label=None, phidb=None):
        """Send a command, record (normalized) reply, return the raw parsed reply.

        label replaces the command text shown in the transcript and in failure messages
        (to keep a password out of them, or to name an argument such as a client id).
        Labels are not compared, replies are. phidb= states the reply phidb gives instead
        of redis's where the difference is intentional (README: intentional differences).
        """
        reply = self.raw.call(*args)
        return self._record(label or _label(args), reply, norm, expect, phidb)

    def q(self, *args):
        """A command whose reply is not recorded (setup, polling)."""
        return self.raw.call(*args)

    def send(self, data):
        """Raw bytes (pipelines, inline commands, protocol errors); read replies with read()."""
        self.raw.send(data)

    def read(self, label="(reply)", norm=None, expect=None, phidb=None):
        return self._record(label, self.raw.read_reply(), norm, expect, phidb)

    def alive(self, label="(still open?)"):
        """Record whether the connection still answers (PING); no waiting if it does.

        Any reply counts (PONG, or NOAUTH from redis on a connection that has not logged in,
        where phidb answers PONG): the question is only whether the connection is open."""
        try:
            reply = self.raw.call("PING")
            reply = ("alive",) if reply in (("+", b"PONG"),) or _is_error(reply, b"NOAUTH") \
                else ("alive", reply)
        except (harness.ConnectionClosed, OSError):
            reply = ("closed",)
        self.side.transcript.append((f"{self.name}> {label}", reply))
        return reply[0] == "alive"

    def closed(self, label="(closed?)"):
        """Record whether the server closed this connection (waits up to the IO timeout)."""
        v = self.raw.is_closed()
        self.side.transcript.append((f"{self.name}> {label}", ("closed", v)))
        return v


def _label(args, limit=90):
    parts = []
    for a in args:
        if isinstance(a, str):
            b = a.encode()
        else:
            b = a if isinstance(a, bytes) else str(a).encode()
        parts.append(repr(b)[2:-1] if len(b) <= 40 else repr(b[:40])[2:-1] + f"..({len(b)}B)")
    s = " ".join(parts)
    return s if len(s) <= limit else s[:limit] + "..."


class Side:
    """One server's half of one scenario run."""

    def __init__(self, server, protocol, is_reference):
        self.server = server
        self.proto = protocol
        self.is_reference = is_reference
        self.transcript = []
        self.expect_failures = []
        self.conns = {}

    @property
    def nil(self):
        """The null reply of this side's protocol."""
        return ("_",) if self.proto == 3 else NIL2

    @property
    def nil_array(self):
        """The null array of this side's protocol (an aborted EXEC)."""
        return ("_",) if self.proto == 3 else ("*", None)

    def conn(self, name="main", auth=True, protocol=None):
        """A named connection (created on first use), authenticated in this side's protocol."""
        if name not in self.conns:
            raw = self.server.raw(auth=auth, protocol=protocol or self.proto)
            self.conns[name] = RecConn(self, name, raw)
        return self.conns[name]

    def note(self, label, value):
        """Record a derived value (e.g. the set of keys a SCAN iteration returned)."""
        self.transcript.append((f"note> {label}", value))

    def close(self):
        for c in self.conns.values():
            c.raw.close()
        self.conns.clear()


def scenario(protocols=(2, 3), noauth_ok=False):
    """Mark a function as a differential scenario."""
    def mark(fn):
        fn.diff_protocols = protocols
        fn.diff_noauth_ok = noauth_ok
        return fn
    return mark


class Differ:
    def __init__(self, run, reference, target):
        self.run, self.ref, self.tgt = run, reference, target
        self.maint = {}

    def _wipe(self, server):
        c = self.maint.get(id(server))
        if c is None:
            c = self.maint[id(server)] = server.raw()
        harness.wipe(c)

    def _play(self, fn, server, protocol, is_reference):
        side = Side(server, protocol, is_reference)
        self._wipe(server)
        try:
            fn(side)
        except Exception as e:  # recorded: a transcript that stops early is a mismatch
            side.transcript.append(("exception", f"{type(e).__name__}: {e}"))
        finally:
            side.close()
        return side

    def compare(self, fn):
        for proto in fn.diff_protocols:
            with self.run.case(f"{fn.__name__} resp{proto}"):
                ref = self._play(fn, self.ref, proto, True)
                tgt = self._play(fn, self.tgt, proto, False)
                self._report(fn, ref, tgt)

    def _report(self, fn, ref, tgt):
        run = self.run
        if run.verbose:
            for (label, value) in ref.transcript:
                run.log(f"    {label} -> {harness.show(value, 200)}")
        for label, value in ref.transcript:
            if label == "exception":
                run.fail(f"scenario raised on the reference server: {value}")
            elif not fn.diff_noauth_ok and _is_error(value, b"NOAUTH"):
                run.fail(f"reference replied NOAUTH to {label}: the scenario is broken")
        for msg in ref.expect_failures:
            run.fail("reference does not behave as the scenario expects: " + msg)
        mismatches = []
        for i in range(max(len(ref.transcript), len(tgt.transcript))):
            r = ref.transcript[i] if i < len(ref.transcript) else ("(nothing)", None)
            t = tgt.transcript[i] if i < len(tgt.transcript) else ("(nothing)", None)
            # Only the replies are compared: labels may differ where an argument is derived
            # from the clock (EXAT now+1000) or from the server (a client id).
            if r[1] != t[1] or (r[0] == "(nothing)") != (t[0] == "(nothing)"):
                mismatches.append((i, r, t))
        run.check(not mismatches, f"replies identical to redis ({len(ref.transcript)} recorded)",
                  f"{len(mismatches)} differ")
        for i, r, t in mismatches[:MAX_MISMATCHES_SHOWN]:
            label = r[0] if r[0] != "(nothing)" else t[0]
            run.log(f"      #{i} {label}\n"
                    f"         redis: {harness.show(r[1], 400)}\n"
                    f"         {self.tgt.kind}: {harness.show(t[1], 400)}")
        if len(mismatches) > MAX_MISMATCHES_SHOWN:
            run.log(f"      ... and {len(mismatches) - MAX_MISMATCHES_SHOWN} more")
        if mismatches and getattr(fn, "diff_hint", None):
            run.log(fn.diff_hint)  # how to rerun it (e.g. a generated scenario's seed)

    def close(self):
        for c in self.maint.values():
            c.close()


def scenarios_in(namespace):
    return [v for v in namespace.values() if callable(v) and hasattr(v, "diff_protocols")]


def main(namespace, extra_checks=None, reference_kw=None, target_kw=None):
    """Run every @scenario of a test module against a fresh reference and target.

    PHIDB_SCENARIO=name1,name2 runs only those scenarios (while developing).
    extra_checks(run, reference, target) runs afterwards for non-differential checks.
    """
    only = {n for n in os.environ.get("PHIDB_SCENARIO", "").split(",") if n}

    def body(run):
        tgt = harness.start_target(**(target_kw or {}))
        ref = harness.start_reference(**(reference_kw or {}))
        run.log(f"reference {ref}\ntarget    {tgt}")
        d = Differ(run, ref, tgt)
        for fn in scenarios_in(namespace):
            if not only or fn.__name__ in only:
                d.compare(fn)
        d.close()
        if extra_checks and not only:
            extra_checks(run, ref, tgt)

    harness.main(body, name=os.path.basename(sys.argv[0]))
