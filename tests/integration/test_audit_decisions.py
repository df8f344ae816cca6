"""Access decisions the audit trail must hold, and the trail's own refusals (issue 5).

- FLUSHDB, FLUSHALL and DBSIZE, granted or refused (by the policy, the ACL, or because the
  command is disabled), at top level and inside MULTI, each leave one access record: res
  denied with the reason when refused, action delete (and the number of keys) for a flush.
The real phidb-server with the policy of test_policy_server.py, driven by raw TLS clients;
the records are read back with the real `phidb audit export`.
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import json
import os
import subprocess

import harness
from test_policy_server import P1, P2, POLICY, PW, is_noperm, val


def records(srv):
    r = subprocess.run([srv.tool_bin, "audit", "export", srv.dir, "--format", "jsonl"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("phidb audit export failed: " + r.stderr.decode())
    return [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]


def access(srv, **kw):
    """The access records matching kw, once the writer has written them."""
    found = []

    def ready():
        found[:] = [r for r in records(srv) if r["ev"] == "access"
                    and all(r.get(k) == v for k, v in kw.items())]
        return bool(found)

    try:
        harness.wait_until(ready, timeout=10, what=f"an access record {kw}")
    except TimeoutError:
        pass
    return list(found)


def policy_server():
    srv = harness.PhidbServer()
    pol = os.path.join(srv.dir, "policy.conf")
    with open(pol, "w") as f:
        f.write(POLICY)
    os.chmod(pol, 0o600)
    srv.stop()
    srv.extra = [("policy-file", pol), ("allow-dangerous-commands", "flushdb")]
    srv.restart()
    a = srv.raw()
    for u, role, rules in (("reg", "registrar", ["+flushdb"]), ("nina", "nurse", ["+flushdb"]),
                           ("vic", "registrar", ["-flushdb"])):
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
    got = access(srv, user="reg", cmd="flushdb", res="granted")
    run.check(len(got) == 2 and got[1].get("detail") == {"keys": 1},
              "the FLUSHDB EXEC ran is recorded too", got)
    nina.call("MULTI")
    nina.call("DBSIZE")
    r = val(nina.call("EXEC"))
    run.check(isinstance(r, list) and is_noperm(r[0]), "DBSIZE in MULTI refused", r)
    got = access(srv, user="nina", cmd="dbsize")
    run.check(len(got) == 2 and all(g["res"] == "denied" for g in got),
              "the DBSIZE EXEC refused is a denied record", got)
    for c in (reg, nina, vic, adm):
        c.close()


def body(run):
    if harness.env_target() != "phidb":
        run.log("SKIP: phidb-only test")
        return
    srv = policy_server()
    with run.case("FLUSHDB, FLUSHALL and DBSIZE are recorded"):
        keyspace(run, srv)
    srv.stop()


if __name__ == "__main__":
    harness.main(body)
