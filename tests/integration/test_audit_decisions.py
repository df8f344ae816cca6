"""Access decisions the audit trail must hold, and the trail's own refusals (issue 5).

- FLUSHDB, FLUSHALL and DBSIZE, granted or refused (by the policy, the ACL, or because the
  command is disabled), at top level and inside MULTI, each leave one access record: res
  denied with the reason when refused, action delete (and the number of keys) for a flush.
- PHI.FIND refused by the policy (a group the role may not read, a field the de-identified
  view transforms), at top level or in EXEC, is a denied record with the reason; one that
  fails (unknown type, no blind index) a failed record with the error; breach-report
  counts neither, and lists what a SCAN showed as "(key names)".
- audit-required-sinks syslog without audit-syslog-host refuses the start (it is not
  settable at run time).
- The newest segment after kill -9: a whole last block with one byte changed makes the
  server refuse to start (naming segment and offset) and is not cut, neither by the server
  nor by `phidb audit export`; a torn one (the file ends inside it) is left alone by the
  export, whose record waits in the inbox, and cut by the server's next start.
The real phidb-server with the policy of test_policy_server.py, driven by raw TLS clients;
the records are read back with the real `phidb audit export`.
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import glob
import json
import os
import shutil
import subprocess

import harness
from test_audit_server import records
from test_policy_server import P1, P2, POLICY, PW, is_noperm, val


def access(srv, n=1, **kw):
    """The access records matching kw, once the writer has written n of them."""
    found = []

    def ready():
        found[:] = [r for r in records(srv) if r["ev"] == "access"
                    and all(r.get(k) == v for k, v in kw.items())]
        return len(found) >= n

    try:
        harness.wait_until(ready, timeout=10, what=f"an access record {kw}")
    except TimeoutError:
        pass
    return list(found)


def policy_server():
    srv = harness.PhidbServer()
    srv.use_policy(POLICY, [("allow-dangerous-commands", "flushdb")])
    a = srv.raw()
    for u, role, rules in (("reg", "registrar", ["+flushdb"]), ("nina", "nurse", ["+flushdb"]),
                           ("vic", "registrar", ["-flushdb"]), ("pam", "purger", []),
                           ("res", "research", [])):
        a.call("ACL", "SETUSER", u, "on", ">" + PW, "~*", "+@all", *rules, "role=" + role)
    a.close()
    return srv


def keyspace(run, srv):
    reg, nina, vic = (srv.raw(u, PW) for u in ("reg", "nina", "vic"))
    adm = srv.raw()
    for key, rec in (("patient:1001", P1), ("patient:1002", P2)):
        reg.call("HSET", key, *[x for kv in rec.items() for x in kv])

    run.check(is_noperm(val(nina.call("DBSIZE"))), "nurse DBSIZE refused")
    got = access(srv, user="nina", cmd="dbsize")
    run.check(len(got) == 1 and got[0]["res"] == "denied" and got[0].get("reason"),
              "a refused DBSIZE is one denied record with the reason", got)

    run.check(is_noperm(val(nina.call("FLUSHDB"))), "nurse FLUSHDB refused")
    got = access(srv, user="nina", cmd="flushdb")
    run.check(len(got) == 1 and got[0]["res"] == "denied" and got[0].get("reason")
              and got[0].get("action") == "delete" and "key" not in got[0],
              "a FLUSHDB the policy refuses is one denied record, action delete", got)

    r = val(vic.call("FLUSHDB"))
    run.check(isinstance(r, tuple) and r[1].startswith("NOPERM"), "FLUSHDB the ACL refuses", r)
    got = access(srv, user="vic", cmd="flushdb")
    run.check(len(got) == 1 and got[0]["res"] == "denied" and got[0].get("reason") == "acl",
              "a FLUSHDB the ACL refuses is a denied record, reason acl", got)

    r = val(adm.call("FLUSHALL"))
    run.check(isinstance(r, tuple) and "disabled" in r[1], "FLUSHALL is disabled", r)
    got = access(srv, user="admin", cmd="flushall")
    run.check(len(got) == 1 and got[0]["res"] == "denied" and got[0].get("reason") == "disabled",
              "a disabled FLUSHALL is a denied record, reason disabled", got)
    run.eq(val(reg.call("DBSIZE")), 2, "the records are all there")

    got = access(srv, user="reg", cmd="dbsize")
    run.check(len(got) == 1 and got[0]["res"] == "granted", "a DBSIZE is a granted record", got)
    run.eq(val(reg.call("FLUSHDB")), "OK", "registrar FLUSHDB")
    got = access(srv, user="reg", cmd="flushdb")
    run.check(len(got) == 1 and got[0]["res"] == "granted" and got[0].get("action") == "delete"
              and got[0].get("detail") == {"keys": 2},
              "the FLUSHDB that erased both records is a granted record: delete, 2 keys", got)
    run.eq(val(reg.call("DBSIZE")), 0, "erased")

    # Inside a transaction the decision is recorded when EXEC runs it.
    reg.call("HSET", "patient:1001", *[x for kv in P1.items() for x in kv])
    reg.call("MULTI")
    reg.call("FLUSHDB")
    run.eq(val(reg.call("EXEC")), ["OK"], "FLUSHDB in MULTI")
    got = access(srv, 2, user="reg", cmd="flushdb", res="granted")
    run.check(len(got) == 2 and got[1].get("detail") == {"keys": 1},
              "the FLUSHDB EXEC ran is recorded too", got)
    nina.call("MULTI")
    nina.call("DBSIZE")
    r = val(nina.call("EXEC"))
    run.check(isinstance(r, list) and is_noperm(r[0]), "DBSIZE in MULTI refused", r)
    got = access(srv, 2, user="nina", cmd="dbsize")
    run.check(len(got) == 2 and all(g["res"] == "denied" for g in got),
              "the DBSIZE EXEC refused is a denied record", got)
    for c in (reg, nina, vic, adm):
        c.close()


def phi_find(run, srv):
    reg, pam, res = (srv.raw(u, PW) for u in ("reg", "pam", "res"))
    reg.call("HSET", "patient:1001", *[x for kv in P1.items() for x in kv])
    run.check(is_noperm(val(pam.call("PHI.FIND", "patient", "ssn", P1["ssn"])), "demographics"),
              "PHI.FIND of a group the role may not read is refused")
    got = access(srv, user="pam", cmd="phi.find")
    run.check(len(got) == 1 and got[0]["res"] == "denied"
              and got[0].get("reason") == 'group "demographics"' and got[0]["fields"] == ["ssn"],
              "... and recorded denied, with the group", got)
    run.check(is_noperm(val(res.call("PHI.FIND", "patient", "dob", P1["dob"])), "transformed"),
              "PHI.FIND by a field the de-identified view transforms is refused")
    got = access(srv, user="res", cmd="phi.find")
    run.check(len(got) == 1 and got[0]["res"] == "denied"
              and got[0].get("reason") == "deidentified", "... and recorded denied", got)
    # Refused inside MULTI too: decided, and recorded, when EXEC runs it.
    pam.call("MULTI")
    pam.call("PHI.FIND", "patient", "ssn", P1["ssn"])
    r = val(pam.call("EXEC"))
    run.check(isinstance(r, list) and is_noperm(r[0]), "refused in EXEC", r)
    got = access(srv, 2, user="pam", cmd="phi.find")
    run.check(len(got) == 2 and got[1]["res"] == "denied", "... and recorded denied", got)
    # Errors found nothing: failed, with the error.
    for args in (("patient", "name", "x"), ("nosuch", "ssn", "x")):
        r = val(reg.call("PHI.FIND", *args))
        run.check(isinstance(r, tuple) and r[1].startswith("ERR"), f"PHI.FIND {args} fails", r)
    got = access(srv, 2, user="reg", cmd="phi.find", res="failed")
    run.check(len(got) == 2 and "no blind index" in got[0].get("reason", "")
              and "unknown record type" in got[1].get("reason", ""),
              "a PHI.FIND that fails is a failed record with the error", got)
    run.eq(val(reg.call("PHI.FIND", "patient", "ssn", P1["ssn"])), ["patient:1001"], "granted")
    got = access(srv, user="reg", cmd="phi.find", res="granted")
    run.check(len(got) == 1 and got[0]["fields"] == ["ssn"], "a granted PHI.FIND", got)
    reg.call("SCAN", "0")
    access(srv, user="reg", cmd="scan")
    # The breach report counts the granted lookups only, and names what a SCAN shows.
    r = subprocess.run([srv.tool_bin, "breach-report", srv.dir, "--incident", "I-1", "--start",
                        "2000-01-01", "--end", "2100-01-01", "--user", "reg", "--policy",
                        os.path.join(srv.dir, "policy.conf"), "--format", "json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    rep = json.loads(r.stdout.decode() or "{}")
    fields = rep.get("fields", {})
    run.check(fields.get("(key names)") == 1 and "(whole value)" not in fields,
              "breach-report lists a SCAN as key names, not a whole value", fields)
    r = subprocess.run([srv.tool_bin, "breach-report", srv.dir, "--incident", "I-2", "--start",
                        "2000-01-01", "--end", "2100-01-01", "--user", "pam", "--format", "json"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    rep = json.loads(r.stdout.decode() or "{}")
    run.check(rep.get("records") == 0 and not rep.get("fields"),
              "breach-report counts no refused PHI.FIND", rep)
    for c in (reg, pam, res):
        c.close()


def start_fails(srv):
    """Start srv again; True (and the log) when it refuses to start, as it must here."""
    try:
        srv.restart()
    except harness.ServerError:
        srv.proc = None
        srv._log_file.close()
        return True, srv.log_text()
    return False, srv.log_text()


def tool(srv, *args, d=None):
    return subprocess.run([srv.tool_bin, "audit", *args, d or srv.dir], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=300)


def crashed_trail(run, srv):
    """Records after the last checkpoint, then kill -9: the newest segment ends in blocks no
    checkpoint (and so no audit.head) covers. Returns the newest segment's path."""
    c = srv.raw()
    c.call("SET", "k", "v")
    for _ in range(3):
        c.call("GET", "k")
    c.close()
    run.check(len(access(srv, 3, cmd="get")) == 3, "the GETs written")
    srv.kill9()
    seg = sorted(glob.glob(os.path.join(srv.dir, "data", "audit", "*.seg")))[-1]
    run.check(tool(srv, "verify").returncode == 0, "the crashed trail verifies")
    return seg


def altered_tail(run, srv):
    seg = crashed_trail(run, srv)
    with open(seg, "r+b") as f:
        f.seek(-20, os.SEEK_END)
        b = f.read(1)
        f.seek(-20, os.SEEK_END)
        f.write(bytes([b[0] ^ 1]))
    with open(seg, "rb") as f:
        altered = f.read()
    copy = srv.dir + ".copy"
    shutil.copytree(srv.dir, copy)
    copy_seg = os.path.join(copy, os.path.relpath(seg, srv.dir))
    # The tools only read: export (server stopped) neither cuts nor records in the segment.
    r = tool(srv, "export", d=copy)
    with open(copy_seg, "rb") as f:
        run.check(f.read() == altered, "phidb audit export left the altered segment as it was",
                  r.stderr.decode())
    r = tool(srv, "verify", d=copy)
    run.check(r.returncode == 1 and b"altered: the block fails authentication" in r.stdout,
              "verify still names the altered block", r.stdout.decode())
    shutil.rmtree(copy)
    failed, log = start_fails(srv)
    name = os.path.basename(seg)
    run.check(failed and f"audit segment {name} is damaged at offset" in log,
              "the server refuses to start, naming the segment and offset", log[-600:])
    with open(seg, "rb") as f:
        run.check(f.read() == altered, "the altered block was not cut")


def torn_tail(run, srv):
    seg = crashed_trail(run, srv)
    with open(seg, "r+b") as f:
        f.truncate(os.path.getsize(seg) - 5)
    with open(seg, "rb") as f:
        torn = f.read()
    r = tool(srv, "export")
    with open(seg, "rb") as f:
        run.check(f.read() == torn, "phidb audit export did not cut the torn block",
                  r.stderr.decode())
    run.check(b"recorded when the server next starts" in r.stderr,
              "export's record waits in the inbox", r.stderr.decode())
    srv.restart()
    run.check("cutting a torn block" in srv.log_text(), "the server cuts the torn block")
    harness.wait_until(lambda: [x for x in records(srv) if x["ev"] == "export"],
                       what="the export record, from the inbox")
    run.check(tool(srv, "verify").returncode == 0, "verify OK after the cut")


def required_sink(run, srv):
    srv.stop()
    srv.extra = [("audit-required-sinks", "syslog")]
    failed, log = start_fails(srv)
    run.check(failed and "audit-required-sinks" in log and "audit-syslog-host is not set" in log,
              "audit-required-sinks syslog without a host refuses the start, naming both",
              log[-600:])
    srv.extra = [("audit-required-sinks", "none")]
    srv.restart()
    c = srv.raw()
    r = val(c.call("CONFIG", "SET", "audit-required-sinks", "syslog"))
    c.close()
    run.check(isinstance(r, tuple), "CONFIG SET cannot turn it on at run time", r)


def body(run):
    if harness.env_target() != "phidb":
        run.log("SKIP: phidb-only test")
        return
    srv = policy_server()
    with run.case("FLUSHDB, FLUSHALL and DBSIZE are recorded"):
        keyspace(run, srv)
    with run.case("PHI.FIND refused or failed is not recorded granted"):
        phi_find(run, srv)
    srv.stop()
    with run.case("an altered last block is refused, not cut"):
        altered_tail(run, harness.PhidbServer())
    with run.case("a torn last block is cut by the server only"):
        torn_tail(run, harness.PhidbServer())
    with run.case("a required sink without a host refuses the start"):
        required_sink(run, harness.PhidbServer())


if __name__ == "__main__":
    harness.main(body)
