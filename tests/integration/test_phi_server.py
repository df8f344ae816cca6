"""The PHI detector in the server (issue 6): PHI.SCAN, PHI.REDACT, dlp-mode warn/block.

Drives the real server with redis-py and raw RESP: findings come back with byte offsets
that slice the text exactly; redaction in tag and mask mode; dlp-mode block refuses a
write whose key name or value holds PHI and changes nothing; warn lets it through and
logs the types found (never the text); off (the default) checks nothing. A large write's
dlp check does not wait behind a slow PHI.SCAN. A stop cancels the large scans waiting on
the PHI and dlp workers.
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import json
import re
import time

import harness

NOTE = ("Pt Jane Whitfield seen 03/14/2021 by Dr. Omar Haddad. Call 617-555-0142. "
        "SSN 219-09-9999. Lisinopril 10 mg daily.")


def scan_and_redact(run, srv):
    c = srv.raw()
    r = c.call("PHI.SCAN", NOTE)
    run.check(r[0] == "*" and len(r[1]) >= 4, "PHI.SCAN finds names, date, phone, SSN",
              harness.show(r, 2000))
    found = {}
    text = NOTE.encode()
    for e in r[1]:
        d = {k[1]: v for k, v in zip(e[1][0::2], e[1][1::2])}
        span = text[d[b"start"][1]:d[b"end"][1]]
        found.setdefault(d[b"type"][1].decode(), []).append(span)
    run.check(b"Jane Whitfield" in found.get("NAME", []), "the patient's name, exact offsets",
              str(found))
    run.check(b"03/14/2021" in found.get("DATE", []), "the date", str(found))
    run.check(b"617-555-0142" in found.get("PHONE", []), "the phone number", str(found))
    run.check(not any(b"Lisinopril" in s or b"10 mg" in s for v in found.values() for s in v),
              "a drug dose is not PHI", str(found))
    r = c.call("PHI.REDACT", NOTE)
    red = r[1]
    run.check(b"Whitfield" not in red and b"617-555" not in red and b"[NAME]" in red
              and b"Lisinopril 10 mg daily" in red, "PHI.REDACT replaces findings by tags",
              red.decode())
    r = c.call("PHI.REDACT", NOTE, "MASK")
    run.eq(len(r[1]), len(text), "MASK keeps the length")
    r = c.call("PHI.REDACT", NOTE, "bogus")
    run.eq(r, ("-", b"ERR syntax error"), "an unknown mode is a syntax error")
    # Identifiers written with non-breaking hyphens, full-width digits or no-break spaces
    # (word processors, PDFs) are found as their ASCII spelling is.
    uni = ("SSN 123\u2011" "45\u2011" "6789, alt \uff11\uff12\uff13-45-6789, "
           "phone 617\u00a0555\u00a00142").encode()
    r = c.call("PHI.REDACT", uni)
    run.eq(r, ("$", b"SSN [SSN], alt [SSN], phone [PHONE]"),
           "PHI.REDACT of Unicode spellings of ASCII characters")
    run.eq(c.call("PHI.SCAN"), ("-", b"ERR wrong number of arguments for 'phi.scan' command"),
           "arity")
    binary = bytes(range(256)) * 40
    r = c.call("PHI.SCAN", binary)
    run.check(r[0] == "*", "binary input is scanned without trouble", harness.show(r))
    c.close()


def large_texts(run, srv):
    """Texts over 64 KB are scanned on the PHI worker thread while their client waits;
    other clients are served meanwhile. Inside EXEC they are scanned at once, on the
    loop: the same text must give the same reply both ways."""
    c = srv.raw()
    big = (NOTE + "\n") * 1000  # 129 KB
    worker = c.call("PHI.SCAN", big)
    run.check(worker[0] == "*" and len(worker[1]) >= 4000, "PHI.SCAN of 129 KB on the worker",
              harness.show(worker, 300))
    run.eq(c.call("MULTI"), ("+", b"OK"), "MULTI")
    c.call("PHI.SCAN", big)
    c.call("PHI.REDACT", big)
    c.call("PHI.REDACT", big, "MASK")
    inline = c.call("EXEC")
    run.check(inline[0] == "*" and len(inline[1]) == 3, "EXEC runs them", harness.show(inline))
    run.check(inline[1][0] == worker, "the same findings on the worker and on the loop")
    run.check(c.call("PHI.REDACT", big) == inline[1][1], "the same redaction (tag)")
    run.check(c.call("PHI.REDACT", big, "MASK") == inline[1][2], "the same redaction (mask)")
    # Inside EXEC texts are scanned on the loop: at most 1 MB of them in one transaction.
    half = (NOTE + "\n") * 5000  # 645 KB
    run.eq(c.call("MULTI"), ("+", b"OK"), "MULTI")
    c.call("PHI.SCAN", half)
    c.call("PHI.REDACT", half)
    r = c.call("EXEC")
    run.check(r[0] == "*" and r[1][0][0] == "*" and r[1][1][0] == "-" and
              b"inside one transaction" in r[1][1][1],
              "EXEC: the text past 1 MB is refused, the rest scanned", harness.show(r, 200))
    # Pipelined behind a large scan: replies keep their order.
    c.send(harness.encode_command("PHI.SCAN", big) + harness.encode_command("PING") +
           harness.encode_command("PHI.REDACT", big, "MASK"))
    run.check(c.read_reply() == worker, "pipelined: the scan's reply first")
    run.eq(c.read_reply(), ("+", b"PONG"), "then PING's")
    run.check(c.read_reply() == inline[1][2], "then the redaction's")
    # A crafted text the detector is slow on (3 MB of "1::", about 1 MB/s): while it is
    # scanned, another client is served.
    slow = ("1::" * 1000000).encode()
    c.send(harness.encode_command("PHI.SCAN", slow))
    other = srv.raw()
    run.eq(other.call("PING"), ("+", b"PONG"), "another client is served during a slow scan")
    run.check(not c.is_closed(timeout=0.05) and c.buf == b"",
              "... before the slow scan's reply has come", harness.show(c.buf[:100]))
    r = c.read_reply(timeout=600)
    run.check(r[0] == "*", "the slow scan's reply comes", harness.show(r, 300))
    # A client that leaves while its scan is on the worker.
    gone = srv.raw()
    gone.send(harness.encode_command("PHI.SCAN", big))
    gone.close()
    run.eq(other.call("PHI.SCAN", "hello"), ("*", ()), "the server goes on")
    other.close()
    c.close()


def dlp(run, srv):
    c = srv.raw()
    run.eq(c.call("SET", "note:Jane Whitfield 03/14/2021", "x"), ("+", b"OK"),
           "dlp-mode off (the default) checks nothing")
    sub = srv.raw()
    run.eq(sub.call("SUBSCRIBE", "__phidb:alerts")[0], "*", "subscribed to the alerts")
    run.eq(c.call("CONFIG", "SET", "dlp-mode", "block"), ("+", b"OK"), "dlp-mode block")
    r = c.call("SET", "visit:Jane Whitfield", "ok")
    run.check(r[0] == "-" and b"key name" in r[1] and b"NAME" in r[1],
              "block: PHI in a key name is refused", harness.show(r))
    m = sub.read_reply(timeout=10)
    alert = json.loads(m[1][2][1]) if m[0] == "*" and len(m[1]) == 3 else {}
    run.check(alert.get("alert") == "dlp" and alert.get("action") == "refused"
              and "NAME" in alert.get("in_key_names", "") and alert.get("user") == "admin"
              and alert.get("cmd") == "set", "the dlp alert on __phidb:alerts", harness.show(m))
    run.check(b"Whitfield" not in m[1][2][1], "the alert names types, never the text")
    sub.close()
    r = c.call("HSET", "ticket:1", "comment", "patient SSN 219-09-9999, call 617-555-0142")
    run.check(r[0] == "-" and b"dlp" in r[1] and b"value" in r[1],
              "block: PHI in an undeclared value is refused", harness.show(r))
    run.eq(c.call("EXISTS", "visit:Jane Whitfield", "ticket:1"), (":", 0), "nothing was written")
    run.eq(c.call("SET", "visit:17", "routine follow-up"), ("+", b"OK"), "clean writes pass")
    # '_' is a letter to the detector: key names are also read with it as a space.
    # Between two digits it is read as '-' too ("536_22_1234" was let through).
    for key in ("ssn_536-22-1234", "visit_03/14/2021", "host_10.0.0.5", "cb_617-555-0142",
                "536_22_1234", "cb_617_555_0142", "visit_03_14_2021"):
        r = c.call("SET", key, "x")
        run.check(r[0] == "-" and b"key name" in r[1], f"block: PHI after '_' in {key!r}",
                  harness.show(r))
    # ... and '-', '/' next to a letter, and a capital after a small letter, as spaces
    for key in ("ssn-536-22-1234", "pt-John-Smith", "visit/03-14-2021", "JohnSmith"):
        r = c.call("SET", key, "x")
        run.check(r[0] == "-" and b"key name" in r[1], f"block: PHI in {key!r}", harness.show(r))
    for key in ("visit_17_note", "item_12_345", "build_2_7_1"):
        run.eq(c.call("SET", key, "x"), ("+", b"OK"), f"... a plain one passes: {key!r}")
    run.eq(c.call("SET", "appConfig/feature-flags/newReport-v2", "x"), ("+", b"OK"),
           "... and one with '-', '/' and capitals")
    c.call("DEL", "appConfig/feature-flags/newReport-v2")
    # An identifier put together by APPEND or SETRANGE is what the write makes: refused.
    run.eq(c.call("SET", "note:2", "call 617-555-"), ("+", b"OK"), "half a phone number")
    r = c.call("APPEND", "note:2", "0142")
    run.check(r[0] == "-" and b"dlp" in r[1], "block: APPEND completing a phone number",
              harness.show(r))
    run.eq(c.call("SET", "note:3", "SSN 536-22-0000"), ("+", b"OK"), "no SSN (serial 0000)")
    r = c.call("SETRANGE", "note:3", "11", "1234")
    run.check(r[0] == "-" and b"dlp" in r[1], "block: SETRANGE making an SSN", harness.show(r))
    run.eq(c.call("MGET", "note:2", "note:3"), ("*", (("$", b"call 617-555-"),
                                                      ("$", b"SSN 536-22-0000"))),
           "... neither was written")
    run.eq(c.call("APPEND", "note:2", " (front desk)"), (":", 26),
           "APPEND of clean text after old bytes passes")
    c.call("DEL", "note:2", "note:3", "visit_17_note")
    # Inside a transaction each write is checked when EXEC runs it (they went through
    # unchecked before): the refused one gets its error in EXEC's reply, the rest run.
    run.eq(c.call("MULTI"), ("+", b"OK"), "MULTI")
    c.call("SET", "visit:18", "routine")
    c.call("HSET", "ticket:2", "comment", "patient SSN 219-09-9999, call 617-555-0142")
    c.call("SET", "visit:Jane Whitfield", "x")
    r = c.call("EXEC")
    run.check(r[0] == "*" and r[1][0] == ("+", b"OK") and r[1][1][0] == "-"
              and b"dlp" in r[1][1][1] and r[1][2][0] == "-" and b"key name" in r[1][2][1],
              "block inside EXEC: the writes holding PHI are refused", harness.show(r))
    run.eq(c.call("EXISTS", "ticket:2", "visit:Jane Whitfield"), (":", 0),
           "... and not written")
    run.eq(c.call("EXISTS", "visit:18"), (":", 1), "... the clean one is")
    # dlp checks inside EXEC run on the loop too, at most 1 MB a transaction: beyond it the
    # check cannot run, and block mode refuses.
    clean = "routine follow-up, no change in medication. " * 25000  # 1.1 MB
    run.eq(c.call("MULTI"), ("+", b"OK"), "MULTI")
    c.call("SET", "visit:19", "routine")
    c.call("SET", "note:huge", clean)
    r = c.call("EXEC")
    run.check(r[0] == "*" and r[1][0] == ("+", b"OK") and r[1][1][0] == "-" and
              b"could not run" in r[1][1][1],
              "block inside EXEC: a write past the 1 MB scanning budget is refused",
              harness.show(r, 200))
    run.eq(c.call("EXISTS", "note:huge"), (":", 0), "... and not written")
    # Writes whose texts pass 64 KB are scanned on the PHI worker while their client waits,
    # then run (checked again) or refused, as at once.
    filler = "routine follow-up, no change in medication. " * 5000  # 225 KB
    r = c.call("SET", "note:big", filler + NOTE)
    run.check(r[0] == "-" and b"dlp" in r[1], "block: PHI at the end of a 225 KB value",
              harness.show(r))
    run.eq(c.call("EXISTS", "note:big"), (":", 0), "... not written")
    c.send(harness.encode_command("SET", "note:clean", filler) +
           harness.encode_command("STRLEN", "note:clean") + harness.encode_command("PING"))
    run.eq(c.read_reply(), ("+", b"OK"), "a clean 225 KB value is written")
    run.eq(c.read_reply(), (":", len(filler)), "pipelined behind it: STRLEN sees it")
    run.eq(c.read_reply(), ("+", b"PONG"), "... then PING")
    slow = ("1::" * 1000000).encode()
    c.send(harness.encode_command("SET", "note:slow", slow))
    other = srv.raw()
    run.eq(other.call("PING"), ("+", b"PONG"), "another client is served during a slow dlp scan")
    run.check(not c.is_closed(timeout=0.05) and c.buf == b"",
              "... before the slow write's reply has come", harness.show(c.buf[:100]))
    r = c.read_reply(timeout=600)
    run.check(r[0] in "+-", "the slow write gets its reply", harness.show(r))
    gone = srv.raw()
    gone.send(harness.encode_command("SET", "note:gone", filler))
    gone.close()
    run.eq(other.call("PING"), ("+", b"PONG"), "a client leaving mid-scan: the server goes on")
    other.close()
    run.eq(c.call("CONFIG", "SET", "dlp-mode", "warn"), ("+", b"OK"), "dlp-mode warn")
    run.eq(c.call("SET", "note:big", filler + NOTE), ("+", b"OK"),
           "warn: a large value holding PHI goes through")
    run.eq(c.call("SET", "visit:Omar Haddad", "x"), ("+", b"OK"), "warn: the write goes through")
    log = srv.log_text()
    run.check("dlp:" in log and "NAME" in log, "warn: the finding is logged", srv.log_tail(5))
    run.check(re.search(r"wrote PHI in values of undeclared fields \([A-Z, ]*NAME[A-Z, ]*\) "
                        r"with set \(allowed\)", log) and
              re.search(r"wrote PHI in a key name \([A-Z, ]*NAME[A-Z, ]*\) with set \(allowed\)",
                        log),
              "warn: the log line says where the PHI was and what was done", srv.log_tail(5))
    run.check("Haddad" not in log and "Whitfield" not in log,
              "the log names the types, never the text")
    c.call("CONFIG", "SET", "dlp-mode", "off")
    c.close()


def dlp_beside_scans(run, srv):
    """A large write's dlp check has a worker of its own: it does not wait behind a slow
    PHI.SCAN (one of up to proto-max-bulk-len of crafted text held every such write for
    minutes when both shared the PHI worker)."""
    c = srv.raw()
    run.eq(c.call("CONFIG", "SET", "dlp-mode", "block"), ("+", b"OK"), "dlp-mode block")
    scan = srv.raw()
    run.eq(scan.call("CLIENT", "SETNAME", "scanner"), ("+", b"OK"), "CLIENT SETNAME")
    scan.send(harness.encode_command("PHI.SCAN", ("1::" * 1000000).encode()))  # 1.6 s or more

    def scanning():
        for line in c.call("CLIENT", "LIST")[1].decode().splitlines():
            if " name=scanner " in line:
                return " cmd=phi.scan " in line and re.search(r" flags=\S*b", line)
        return False
    harness.wait_until(scanning, timeout=120, interval=0.005, what="the scan on its worker")
    filler = "routine follow-up, no change in medication. " * 5000  # 225 KB
    run.eq(c.call("SET", "note:beside", filler), ("+", b"OK"),
           "a large write is checked and written while a slow PHI.SCAN runs")
    run.check(not scan.is_closed(timeout=0.01) and scan.buf == b"",
              "... before the scan's reply has come", harness.show(scan.buf[:100]))
    r = scan.read_reply(timeout=600)
    run.check(r[0] == "*", "the slow scan's reply comes", harness.show(r, 300))
    c.call("DEL", "note:beside")
    c.call("CONFIG", "SET", "dlp-mode", "off")
    scan.close()
    c.close()


def shutdown_cancels(run):
    """A stop does not wait for the large scans queued on the PHI worker (up to 64 texts of
    up to 512 MB): the one in progress stops early, the queued ones end at once, their
    clients get an error or a closed connection, and the server exits cleanly."""
    srv = harness.PhidbServer()
    slow = ("1::" * 1000000).encode()  # about 1.6 s each to scan
    waiting = []
    for _ in range(6):
        w = srv.raw()
        w.send(harness.encode_command("PHI.SCAN", slow))
        waiting.append(w)
    ping = srv.raw()
    run.eq(ping.call("PING"), ("+", b"PONG"), "served while the scans wait")
    run.eq(ping.call("CONFIG", "SET", "dlp-mode", "warn"), ("+", b"OK"), "dlp-mode warn")
    late = srv.raw()  # a slow write on the dlp worker (its own, beside the scans)
    late.send(harness.encode_command("SET", "note:late", slow))
    time.sleep(0.5)  # the 21 MB have arrived: two scans run, the others are queued
    t0 = time.monotonic()
    srv.stop()  # raises unless it exits 0 with no sanitizer report
    run.log(f"stopped {time.monotonic() - t0:.2f} s after SIGTERM with six 3 MB scans waiting")
    log = srv.log_text()
    m = re.search(r"shutdown: (\d+) large PHI scans cancelled", log)
    run.check(m is not None and int(m.group(1)) >= 2, "the waiting scans are cancelled",
              srv.log_tail(8))
    for w in waiting + [late]:
        try:
            r = w.read_reply(timeout=5)
            run.check(r[0] == "-" and b"shutting down" in r[1], "a waiting client is told",
                      harness.show(r, 200))
        except (harness.ConnectionClosed, OSError):
            pass  # closed before its scan ended: also fine
        w.close()
    late.close()
    ping.close()
    srv.restart()
    c = srv.raw()
    run.eq(c.call("EXISTS", "note:late"), (":", 0),
           "the write whose dlp check was cancelled did not run (it was never answered)")
    c.close()
    srv.stop()


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    srv = harness.PhidbServer()
    run.cases([scan_and_redact, large_texts, dlp, dlp_beside_scans], run, srv)
    run.cases([shutdown_cancels], run)


if __name__ == "__main__":
    harness.main(body)
