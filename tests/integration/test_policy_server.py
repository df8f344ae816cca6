"""The PHI access policy on the real server (issue 4), driven by redis-cli, redis-py and raw TLS.

The access matrix of a clinic (physician, nurse, billing, registrar, patient, research) with
HGET, HMGET, HGETALL, HSCAN, HSET and DEL; scope=self; the research (de-identified) view
exactly as specified (dates -> year, ZIPs incl. a restricted prefix -> 000, ages over 89 ->
"90+", identifying fields removed, free text redacted, keys shown as pseudonyms); purpose of
use; break-glass grant, use, expiry, survival across a restart and revoke; PHI.FIND over
the blind index; TOTP MFA with codes computed by oathtool; a client-certificate user
(cert=CN); a bad policy file refused with its line (RELOAD, SIGHUP, start-up).
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import json
import os
import re
import signal
import subprocess
import time

import harness

PW = "clinic-password-4711"

POLICY = """\
# test clinic policy
schema patient:* type=patient subject=id
field patient id        group=demographics phi=mrn
field patient name      group=demographics phi=name
field patient ssn       group=demographics phi=ssn index=blind
field patient dob       group=demographics phi=date index=blind
field patient zip       group=demographics phi=zip
field patient age       group=demographics phi=age
field patient diagnosis group=diagnosis index=blind
field patient pulse     group=vitals
field patient notes     group=notes phi=text
field patient balance   group=billing
schema lab:* type=lab subject=patient strict
field lab patient group=labs phi=mrn
field lab result  group=labs
role physician read=demographics,diagnosis,medications,vitals,labs,notes write=diagnosis,medications,notes,labs breakglass=yes
role nurse     read=demographics,vitals,medications write=vitals,notes breakglass=yes
role billing   read=demographics,billing write=billing
role research  read=* view=deidentified purpose=research
role patient   read=demographics,vitals,medications scope=self
role registrar read=* write=* delete=* purpose=*
role purger    read=none delete=* purpose=*
role selfcare  read=demographics,vitals write=demographics,vitals delete=* scope=self
role frontdesk read=demographics,vitals write=demographics,vitals breakglass=yes
"""

P1 = {"id": "P1001", "name": "Alice Smith", "ssn": "123-45-6789", "dob": "1950-03-14",
      "zip": "02139", "age": "76", "diagnosis": "hypertension", "pulse": "72",
      "notes": "Seen by Dr. John Carter on 03/02/2024, call 617-555-0199.", "balance": "120"}
P2 = {"id": "P1002", "name": "Bob Jones", "ssn": "987-65-4321", "dob": "1930-01-01",
      "zip": "03601", "age": "93", "diagnosis": "asthma", "pulse": "80",
      "notes": "stable", "balance": "40"}

USERS = {
    "doc": "physician", "nina": "nurse", "bill": "billing", "reg": "registrar",
    "res": "research",
}


def val(r):
    """A RawConn reply as plain Python (errors as ('ERR', text))."""
    t = r[0]
    if t == "-":
        return ("ERR", r[1].decode())
    if t in ("$", "+"):
        return None if r[1] is None else r[1].decode()
    if t == ":":
        return r[1]
    if t == "*":
        return None if r[1] is None else [val(x) for x in r[1]]
    return r


def pairs(lst):
    return dict(zip(lst[0::2], lst[1::2]))


def is_noperm(r, *words):
    return (isinstance(r, tuple) and r[0] == "ERR" and r[1].startswith("NOPERM")
            and all(w in r[1] for w in words))


def setup(run, srv):
    pol = os.path.join(srv.dir, "policy.conf")
    with open(pol, "w") as f:
        f.write(POLICY)
    os.chmod(pol, 0o600)
    srv.policy_path = pol
    a = srv.raw()
    run.eq(val(a.call("CONFIG", "GET", "policy-file")), ["policy-file", pol],
           "the server runs with the policy file")
    # The admin of `phidb init` gets the registrar role to load the records, and the
    # dangerous policy subcommands by name.
    run.eq(val(a.call("ACL", "SETUSER", "admin", "role=registrar", "+phi.breakglass|list",
                      "+phi.breakglass|revoke", "+phi.policy|reload")), "OK", "admin setup")
    for u, role in USERS.items():
        run.eq(val(a.call("ACL", "SETUSER", u, "on", ">" + PW, "~*", "+@all", "-@dangerous",
                          "role=" + role)), "OK", f"user {u}")
    run.eq(val(a.call("ACL", "SETUSER", "pat", "on", ">" + PW, "~patient:*", "+@all",
                      "-@dangerous", "role=patient", "subject=P1001")), "OK", "patient user")
    run.eq(val(a.call("ACL", "SETUSER", "norole", "on", ">" + PW, "~*", "+@all")), "OK",
           "user without a role")
    for key, rec in (("patient:1001", P1), ("patient:1002", P2)):
        args = [x for kv in rec.items() for x in kv]
        run.eq(val(a.call("HSET", key, *args)), len(rec), f"HSET {key} by the registrar")
    run.eq(val(a.call("HSET", "lab:1", "patient", "P1001", "result", "K 4.1")), 2, "lab record")
    run.eq(val(a.call("SET", "other:1", "not a record")), "OK", "a key outside every schema")
    run.eq(val(a.call("ACL", "SAVE")), "OK", "users saved (the test restarts the server)")
    a.close()


def a_setuser(srv, name, *rules):
    a = srv.raw()
    r = a.call("ACL", "SETUSER", name, "on", ">" + PW, "~*", "+@all", "-@dangerous", *rules)
    a.close()
    return r


def matrix(run, srv):
    doc = srv.raw("doc", PW)
    run.eq(val(doc.call("HGET", "patient:1001", "name")), "Alice Smith", "physician reads a name")
    run.check(is_noperm(val(doc.call("HGET", "patient:1001", "balance")), "physician", "billing"),
              "physician may not read billing", val(doc.call("HGET", "patient:1001", "balance")))
    r = val(doc.call("HMGET", "patient:1001", "name", "diagnosis"))
    run.eq(r, ["Alice Smith", "hypertension"], "physician HMGET")
    run.check(is_noperm(val(doc.call("HMGET", "patient:1001", "name", "balance"))),
              "one refused field refuses the whole HMGET")
    got = pairs(val(doc.call("HGETALL", "patient:1001")))
    want = {k: v for k, v in P1.items() if k != "balance"}
    run.eq(got, want, "physician HGETALL shows every field but billing")
    run.eq(val(doc.call("HLEN", "patient:1001")), len(want), "HLEN counts visible fields")
    run.eq(sorted(val(doc.call("HKEYS", "patient:1001"))), sorted(want), "HKEYS filtered")
    # A role that sees part of a record gets its fields by name: their order in the record
    # follows the hidden fields too (a long hidden value changes the record's form).
    for hidden in ("120", "9" * 300, "120"):
        reg = srv.raw("reg", PW)
        reg.call("HSET", "patient:1001", "balance", hidden)
        reg.close()
        run.eq(val(doc.call("HKEYS", "patient:1001")), sorted(want),
               f"HKEYS by name, a hidden value of {len(hidden)} bytes")
        run.eq(list(pairs(val(doc.call("HGETALL", "patient:1001")))), sorted(want),
               "HGETALL by name")
        run.eq(val(doc.call("HVALS", "patient:1001")), [want[k] for k in sorted(want)],
               "HVALS in the order of the names")
    run.eq(val(doc.call("HSET", "patient:1001", "diagnosis", "hypertension, treated")), 0,
           "physician writes a diagnosis")
    run.check(is_noperm(val(doc.call("HSET", "patient:1001", "balance", "0")), "billing"),
              "physician may not write billing")
    run.check(is_noperm(val(doc.call("HSET", "patient:1001", "diagnosis", "x", "balance", "0"))),
              "a write with one refused field")
    run.check(is_noperm(val(doc.call("DEL", "patient:1001")), "delete"), "physician may not delete")
    run.check(is_noperm(val(doc.call("GET", "patient:1001"))), "string commands on records refused")
    run.eq(val(doc.call("GET", "other:1")), "not a record", "keys outside schemas: the ACL alone")
    run.eq(val(doc.call("HGET", "lab:1", "result")), "K 4.1", "physician reads labs")
    run.check(is_noperm(val(doc.call("HSET", "lab:1", "colour", "red")), "strict"),
              "strict schema refuses an undeclared field")
    doc.close()

    # Nurse with redis-py: HGETALL and HSCAN filtered, writes of vitals only.
    import redis
    nina = srv.client("nina", PW, decode_responses=True)
    got = nina.hgetall("patient:1001")
    run.eq(set(got), {"id", "name", "ssn", "dob", "zip", "age", "pulse"},
           "nurse HGETALL: demographics and vitals only")
    cur, scanned = nina.hscan("patient:1001", 0, count=100)
    run.eq(set(scanned), set(got), "nurse HSCAN shows the same fields")
    try:
        nina.hget("patient:1001", "diagnosis")
        run.fail("nurse read a diagnosis")
    except redis.exceptions.ResponseError as e:
        run.check("may not read" in str(e) and "diagnosis" in str(e), "nurse refused diagnosis",
                  str(e))
    run.eq(nina.hset("patient:1001", "pulse", "75"), 0, "nurse writes vitals")
    run.eq(nina.hget("patient:1001", "pulse"), "75", "the new pulse")
    nina.close()

    # Billing with redis-cli.
    out = srv.cli("HGET", "patient:1002", "balance", user="bill", password=PW).strip()
    run.eq(out, "40", "billing reads the balance (redis-cli)")
    out = srv.cli("HGET", "patient:1002", "diagnosis", user="bill", password=PW)
    run.check("NOPERM" in out and "diagnosis" in out, "billing refused a diagnosis (redis-cli)",
              out)
    out = srv.cli("HSET", "patient:1002", "balance", "41", user="bill", password=PW).strip()
    run.eq(out, "0", "billing writes billing (redis-cli)")

    # A user with no role reaches no record.
    nr = srv.raw("norole", PW)
    run.check(is_noperm(val(nr.call("HGET", "patient:1001", "name")), "no role"),
              "no role: denied", val(nr.call("HGET", "patient:1001", "name")))
    run.eq(val(nr.call("GET", "other:1")), "not a record", "no role: other keys by the ACL")
    # Commands about no record in particular name no type ("'record' records" read as one).
    for cmd in (("DBSIZE",), ("PHI.FIND", "patient", "ssn", P1["ssn"])):
        r = val(nr.call(*cmd))
        run.check(is_noperm(r, "this user has no role that grants access to records"),
                  f"no role: {cmd[0]} is refused without naming a record type", r)
    r = val(nr.call("PHI.BREAKGLASS", "P1001", "patient collapsed in the waiting room"))
    run.check(is_noperm(r, "no role that may use break-glass access"),
              "no role: PHI.BREAKGLASS says so", r)
    nr.close()

    # MEMORY USAGE counts only the fields a role may read: a hidden field's length is not
    # told (billing's balance grows; the physician's figure stays, the registrar's grows).
    doc, reg = srv.raw("doc", PW), srv.raw("reg", PW)
    doc_before = val(doc.call("MEMORY", "USAGE", "patient:1002"))
    reg_before = val(reg.call("MEMORY", "USAGE", "patient:1002"))
    run.check(isinstance(doc_before, int) and isinstance(reg_before, int) and
              0 < doc_before < reg_before, "MEMORY USAGE: the physician's figure leaves out "
              "billing", (doc_before, reg_before))
    # (100 bytes: the record also changes its storage form, which must not show either)
    run.eq(val(reg.call("HSET", "patient:1002", "balance", "9" * 100)), 0, "a longer balance")
    run.eq(val(doc.call("MEMORY", "USAGE", "patient:1002", "SAMPLES", "0")), doc_before,
           "MEMORY USAGE: the physician's figure does not move with a field it cannot read")
    run.check(val(reg.call("MEMORY", "USAGE", "patient:1002")) > reg_before,
              "MEMORY USAGE: the registrar's does")
    run.eq(val(reg.call("HSET", "patient:1002", "balance", "40")), 0, "balance back")
    run.eq(val(doc.call("MEMORY", "USAGE", "patient:1002")), doc_before,
           "MEMORY USAGE: the physician's figure, the record now stored as a table")
    # HSCAN of a record seen in part: every visible field at once, cursor 0 (a step-by-step
    # cursor follows the table size that hidden fields set), and MATCH is not tried on the
    # hidden fields (a costly pattern failing on them would tell that they exist).
    nina = srv.raw("nina", PW)
    r = val(nina.call("HSCAN", "patient:1002", "0", "COUNT", "1"))
    run.check(r[0] == "0" and sorted(pairs(r[1])) == sorted(["id", "name", "ssn", "dob", "zip",
                                                             "age", "pulse"]),
              "HSCAN by the nurse: one pass over the visible fields, cursor 0", r)
    costly = "di*[" + "b" * 16000000 + "]x"  # 7 tries x 16M > the 10^8 steps
    r = val(nina.call("HSCAN", "patient:1002", "0", "MATCH", costly))
    run.eq(r, ["0", []], "HSCAN MATCH is not tried on a field the nurse may not read")
    r = val(reg.call("HSCAN", "patient:1002", "0", "MATCH", costly))
    run.check("too long" in str(r), "(the registrar's same pattern runs out "
              "of steps on 'diagnosis')", str(r)[:120])
    nina.close()
    # A role that may delete but see nothing of a type would learn from DEL's reply whether
    # a record exists: deleting needs a role that sees the type.
    run.eq(val(a_setuser(srv, "purge", "role=purger")), "OK", "user purge (delete=* read=none)")
    run.eq(val(reg.call("HSET", "patient:1998", "id", "P1998")), 1, "a record to delete")
    pu = srv.raw("purge", PW)
    for k in ("patient:1998", "patient:1997"):
        r = val(pu.call("DEL", k))
        run.check(is_noperm(r), f"DEL {k} by a role that sees nothing of patients", r)
    pu.close()
    run.eq(val(reg.call("DEL", "patient:1998")), 1, "the registrar deletes it")
    # DBSIZE counts every record: only a role that reads them all may (polled, it would tell
    # when records the role may not see come and go).
    nina = srv.raw("nina", PW)
    run.check(is_noperm(val(nina.call("DBSIZE")), "count"), "DBSIZE by the nurse",
              val(nina.call("DBSIZE")))
    # Nor through INFO: the key count, and the hit/miss counters (an HLEN that says 0 either
    # way would otherwise tell a missing record from a hidden one).
    adm = srv.raw()
    for u in ("nina", "reg"):
        run.eq(val(adm.call("ACL", "SETUSER", u, "+info")), "OK", f"{u} may run INFO")
    adm.close()
    info = str(val(nina.call("INFO")))
    run.check("db0:keys" not in info and "keyspace_hits" not in info and
              "keyspace_misses" not in info and "expired_keys" not in info,
              "INFO by the nurse counts no records", info[-400:])
    # Nor sizes that grow by each value written (a diagnosis the nurse may not read would
    # show its length in the log's size), nor the audit trail's count of accesses.
    sizes = ("used_memory:", "used_memory_rss:", "aof_current_size:", "aof_base_size:",
             "total_net_input_bytes:", "total_net_output_bytes:", "audit_last_seq:",
             "audit_written_seq:", "audit_sink_sent:")
    shown = [f for f in sizes if f in info]
    run.eq(shown, [], "INFO by the nurse shows no sizes or access counts")
    run.check("aof_last_write_status:ok" in info and "audit_healthy:1" in info and
              "maxmemory:" in info, "but the health fields", info[-600:])
    nina.close()
    run.check(isinstance(val(reg.call("DBSIZE")), int), "DBSIZE by the registrar")
    info = str(val(reg.call("INFO")))
    run.check("db0:keys" in info and "keyspace_hits" in info, "INFO by the registrar does",
              info[-400:])
    run.eq([f for f in sizes if f not in info], [], "and shows the sizes")
    adm = srv.raw()
    for u in ("nina", "reg"):
        adm.call("ACL", "SETUSER", u, "-info")
    adm.close()
    # The nurse writes notes but may not read them: no reply may tell whether a note exists.
    nina = srv.raw("nina", PW)
    for cmd in (("HSETNX", "patient:1002", "notes", "x"), ("HDEL", "patient:1002", "notes")):
        r = val(nina.call(*cmd))
        run.check(is_noperm(r, "read"), f"{cmd[0]} of a field the role may not read", r)
    run.eq(val(reg.call("HDEL", "patient:1002", "notes", "pulse")), 2, "no notes, no pulse")
    run.eq(val(nina.call("HSET", "patient:1002", "notes", "new", "pulse", "70")), 1,
           "HSET counts the pulse it created, not the note it may not read")
    run.eq(val(nina.call("HSET", "patient:1002", "notes", "again")), 0, "... either way")
    run.eq(val(reg.call("HSET", "patient:1002", "notes", P2["notes"], "pulse", P2["pulse"])), 0,
           "notes and pulse back")
    nina.close()
    # WATCH then EXEC would tell the nurse that a field it may not read changed: only a role
    # that reads whole records may WATCH them.
    nina = srv.raw("nina", PW)
    w = val(nina.call("WATCH", "patient:1002"))
    run.check(is_noperm(w, "WATCH"), "WATCH of a record by a role that reads part of it", w)
    run.eq(val(reg.call("WATCH", "patient:1002")), "OK", "WATCH by the registrar")
    run.eq(val(reg.call("UNWATCH")), "OK", "UNWATCH")
    # OBJECT ENCODING follows every field (a record's compact form ends past 128 fields or
    # at a long value): the same rule as WATCH. REFCOUNT and the rest are metadata, as TYPE.
    e = val(nina.call("OBJECT", "ENCODING", "patient:1002"))
    run.check(is_noperm(e, "ENCODING"), "OBJECT ENCODING by a role that reads part of it", e)
    # COPY has no class in the policy: refused on records, even to the registrar (deny by
    # default); keys outside every schema are governed by the ACL alone.
    for src, dst in (("patient:1002", "patient:9999"), ("other:1", "patient:9998")):
        r = val(reg.call("COPY", src, dst))
        run.check(is_noperm(r, "copy", "not covered"), f"COPY {src} {dst} refused", r)
    run.eq(val(reg.call("EXISTS", "patient:9999", "patient:9998")), 0, "no copy was made")
    adm = srv.raw()
    log = val(adm.call("ACL", "LOG", "1"))
    adm.close()
    entry = pairs(log[0]) if isinstance(log, list) and log else {}
    run.check(entry.get("reason") == "key" and entry.get("object") == "command" and
              entry.get("username") == "reg", "the refusal is in the ACL LOG", entry)
    run.eq(val(reg.call("COPY", "other:1", "other:copy")), 1, "COPY outside the schemas")
    run.eq(val(reg.call("DEL", "other:copy")), 1, "its copy goes")
    e = val(reg.call("OBJECT", "ENCODING", "patient:1002"))
    run.check(e in ("listpack", "hashtable"), "OBJECT ENCODING by the registrar", e)
    run.eq(val(nina.call("OBJECT", "REFCOUNT", "patient:1002")), 1, "OBJECT REFCOUNT")
    nina.close()
    nina = srv.raw("nina", PW)  # the nurse reads no group of lab records
    run.eq((val(nina.call("MEMORY", "USAGE", "lab:1")), val(nina.call("MEMORY", "USAGE", "lab:9"))),
           (None, None), "MEMORY USAGE: a role shown nothing of a record cannot tell it exists")
    nina.close()
    nr = srv.raw("norole", PW)
    run.check(is_noperm(val(nr.call("MEMORY", "USAGE", "patient:1002")), "no role"),
              "MEMORY USAGE: no role, no record", val(nr.call("MEMORY", "USAGE", "patient:1002")))
    run.check(isinstance(val(nr.call("MEMORY", "USAGE", "other:1")), int),
              "MEMORY USAGE: other keys by the ACL")
    nr.close()
    doc.close()

    # The registrar deletes.
    run.eq(val(reg.call("HSET", "patient:1999", "id", "P1999", "name", "Temp")), 2, "new record")
    run.eq(val(reg.call("DEL", "patient:1999")), 1, "registrar deletes a record")
    reg.close()


def patient_scope(run, srv):
    p = srv.raw("pat", PW)
    got = pairs(val(p.call("HGETALL", "patient:1001")))
    run.eq(set(got), {"id", "name", "ssn", "dob", "zip", "age", "pulse"},
           "the patient reads its own demographics and vitals")
    r = val(p.call("HGETALL", "patient:1002"))
    run.check(is_noperm(r, "own records"), "the patient may not read another's record", r)
    r = val(p.call("HGET", "patient:1002", "name"))
    run.check(is_noperm(r, "own records"), "nor one field of it", r)
    run.check(is_noperm(val(p.call("HGET", "patient:1001", "diagnosis"))),
              "the patient's role does not read diagnosis")
    keys = val(p.call("SCAN", "0", "MATCH", "patient:*", "COUNT", "1000"))[1]
    run.eq(keys, ["patient:1001"], "SCAN lists only the patient's own record")
    r = val(p.call("OBJECT", "REFCOUNT", "patient:1002"))
    run.check(is_noperm(r, "own records"), "OBJECT on another's record", r)
    run.eq(val(p.call("OBJECT", "REFCOUNT", "patient:1001")), 1, "OBJECT on its own")
    p.close()
    # A self-scoped role that writes and deletes learns nothing of other records' existence:
    # creating a record and renaming to a new name are refused as another's record is.
    a = srv.raw()
    run.eq(val(a.call("ACL", "SETUSER", "selfw", "on", ">" + PW, "~patient:*", "+@all",
                      "-@dangerous", "role=selfcare", "subject=P1001")), "OK", "user selfw")
    a.close()
    w = srv.raw("selfw", PW)
    run.eq(val(w.call("HSET", "patient:1001", "pulse", P1["pulse"])), 0,
           "a self-scoped role writes its own record")
    other = val(w.call("HSET", "patient:1002", "pulse", "75"))
    run.check(is_noperm(other, "own records"), "not another patient's", other)
    new = val(w.call("HSET", "patient:1999", "id", "P1001", "pulse", "75"))
    run.eq(new, other, "creating a record is refused with the same error (no existence probe)")
    other = val(w.call("RENAME", "patient:1001", "patient:1002"))
    run.check(is_noperm(other, "own records"), "RENAME onto another's record refused", other)
    for cmd in ("RENAME", "RENAMENX"):
        run.eq(val(w.call(cmd, "patient:1001", "patient:1998")), other,
               f"{cmd} to a new name is refused with the same error")
    w.close()
    a = srv.raw()
    run.eq(val(a.call("EXISTS", "patient:1001", "patient:1002", "patient:1998", "patient:1999")),
           2, "nothing was created, renamed or removed")
    run.eq(val(a.call("HGET", "patient:1002", "pulse")), P2["pulse"], "nor changed")
    # A numeric subject: HINCRBY of it would hand the record to another patient.
    run.eq(val(a.call("HSET", "patient:1003", "id", "1003", "pulse", "60")), 2, "record 1003")
    run.eq(val(a.call("ACL", "SETUSER", "selfn", "on", ">" + PW, "~patient:*", "+@all",
                      "-@dangerous", "role=selfcare", "subject=1003")), "OK", "user selfn")
    n = srv.raw("selfn", PW)
    for cmd, by in (("HINCRBY", "1"), ("HINCRBYFLOAT", "1.5")):
        r = val(n.call(cmd, "patient:1003", "id", by))
        run.check(is_noperm(r, "own records"), f"{cmd} of the subject field refused", r)
    run.eq(val(n.call("HINCRBY", "patient:1003", "pulse", "1")), 61, "HINCRBY of a vital is fine")
    n.close()
    run.eq(val(a.call("HGET", "patient:1003", "id")), "1003", "the subject is unchanged")
    run.eq(val(a.call("DEL", "patient:1003")), 1, "record 1003 goes")
    a.close()


def existence_probes(run, srv):
    # A role that sees nothing of a record type learns nothing of which records exist: HSCAN
    # with bad options answers a missing record as an existing one (Redis answers a missing
    # key before it reads the options, which told them apart).
    for user, have, none in (("nina", "lab:1", "lab:404"), ("purge", "patient:1002",
                                                             "patient:7777")):
        u = srv.raw(user, PW)
        for opts in (("COUNT", "x"), ("BOGUS",), ("COUNT", "0"), ("MATCH",)):
            a, b = val(u.call("HSCAN", have, "0", *opts)), val(u.call("HSCAN", none, "0", *opts))
            run.eq(a, b, f"{user}: HSCAN {' '.join(opts)} on {have} and on {none} answer alike")
        run.eq(val(u.call("HSCAN", have, "0")), ["0", []], f"{user}: {have} shows nothing")
        u.close()


def sealed_subjects(run, srv):
    # A subject is a patient identifier: the users file holds it sealed with the values key
    # (bound to the user), never in plaintext; a file written by hand is sealed again at the
    # next start or ACL LOAD.
    aclfile = os.path.join(srv.dir, "data", "users.acl")

    def users():
        with open(aclfile, "rb") as f:
            return f.read()

    def plain_pat():
        """The file with pat's subject written by hand, in plaintext."""
        text = re.sub(rb"(?m)^(user pat .*?)subject-sealed=[0-9a-f]+", rb"\1subject=P1001",
                      users())
        run.require(b"subject=P1001" in text, "pat's line edited", text)
        with open(aclfile, "wb") as f:
            f.write(text)

    def pat_scoped(what):
        p = srv.raw("pat", PW)
        run.eq(val(p.call("HGET", "patient:1001", "pulse")), P1["pulse"], what + ": own record")
        r = val(p.call("HGET", "patient:1002", "pulse"))
        run.check(is_noperm(r, "own records"), what + ": not another's", r)
        p.close()

    a = srv.raw()
    run.eq(val(a.call("ACL", "SAVE")), "OK", "ACL SAVE")
    a.close()
    run.check(b"P1001" not in users() and users().count(b"subject-sealed=") == 3,
              "ACL SAVE writes the three subjects sealed", users())
    srv.stop()
    plain_pat()
    srv.restart()
    run.check(b"P1001" not in users() and users().count(b"subject-sealed=") == 3,
              "a plaintext subject is sealed at start", users())
    run.check("held 1 subject in plaintext; written again" in srv.log_text(),
              "and the log says so", srv.log_text()[-2000:])
    pat_scoped("after the start")
    plain_pat()
    a = srv.raw()
    run.eq(val(a.call("ACL", "LOAD")), "OK", "ACL LOAD of a plaintext subject")
    run.check(b"P1001" not in users(), "ACL LOAD seals it", users())
    pat_scoped("after ACL LOAD")
    # A sealed subject moved to another user does not open: the file is refused whole.
    text = users()
    m = re.search(rb"(?m)^user pat .*?(subject-sealed=[0-9a-f]+)", text)
    moved = re.sub(rb"(?m)^(user selfn .*?)subject-sealed=[0-9a-f]+", rb"\1" + m.group(1),
                   text)
    with open(aclfile, "wb") as f:
        f.write(moved)
    r = val(a.call("ACL", "LOAD"))
    run.check("does not open" in str(r) and "users.acl:" in str(r),
              "a subject moved to another user is refused, with the line", r)
    with open(aclfile, "wb") as f:
        f.write(text)
    a.close()
    pat_scoped("the users stay as they were")


def research_view(run, srv):
    r = srv.raw("res", PW)
    run.eq(val(r.call("PHI.PURPOSE")), "research", "research's default purpose")
    keys = sorted(val(r.call("SCAN", "0", "COUNT", "1000"))[1])
    pseud = [k for k in keys if k.startswith("patient:")]
    run.check(len(pseud) == 2, "two patient records listed", keys)
    run.check(all(re.fullmatch(r"patient:~[a-z2-7]{16}", k) for k in pseud),
              "pseudonymous keys", keys)
    run.check(not any("1001" in k or "1002" in k for k in keys), "no record number leaks", keys)
    run.check("other:1" in keys, "keys outside schemas keep their names")
    # No order of the key table reaches a de-identified role (it would locate each real key
    # among names of its choosing): every key at once, sorted, cursor 0.
    reply = val(r.call("SCAN", "0", "COUNT", "1"))
    run.eq(reply[0], "0", "SCAN: cursor 0 after one call, whatever COUNT")
    run.eq(reply[1], keys, "SCAN: every key, sorted by the name shown")
    run.eq(val(r.call("SCAN", "12345")), ["0", []], "SCAN: a later cursor gives nothing more")
    run.eq(val(r.call("SCAN", "0", "MATCH", "patient:*", "COUNT", "1")),
           ["0", pseud], "SCAN MATCH on the pseudonyms")
    run.check(val(r.call("RANDOMKEY")) in keys, "RANDOMKEY: one of the listed keys")
    # ... each as likely as any other (loose bounds: 1,200 draws over 30 keys, 40 expected)
    a = srv.raw()
    for i in range(26):
        a.call("SET", f"other:spread:{i}", "x")
    every = val(r.call("SCAN", "0"))[1]
    r.send(b"".join(harness.encode_command("RANDOMKEY") for _ in range(1200)))
    draws = [val(r.read_reply()) for _ in range(1200)]
    counts = {k: draws.count(k) for k in every}
    run.check(len(every) == 30 and set(draws) <= set(every) and
              all(12 <= n <= 90 for n in counts.values()),
              "RANDOMKEY draws every listed key about as often", sorted(counts.values()))
    a.call("DEL", *[f"other:spread:{i}" for i in range(26)])
    a.close()
    # Expiry times are dates of the record (admission + N days): none for this view.
    for cmd in ("TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"):
        e = val(r.call(cmd, pseud[0]))
        run.check(isinstance(e, tuple) and "de-identified view" in e[1] and "expiry" in e[1],
                  f"{cmd} of a record: NOPERM in the de-identified view", e)
    run.eq(val(r.call("TTL", "other:1")), -1, "TTL of a key outside the schemas")
    views = {}
    for k in pseud:
        views[k] = pairs(val(r.call("HGETALL", k)))
        m = val(r.call("MEMORY", "USAGE", k))
        run.check(isinstance(m, int) and m > 0, "MEMORY USAGE of a pseudonymous key", m)
    # Ages over 89 all read "90+" in the de-identified view: MEMORY USAGE must not tell
    # 95 from 103 (the stored lengths differ; a small record keeps its compact form).
    reg = srv.raw("reg", PW)
    run.eq(val(reg.call("HSET", "patient:1003", "id", "P1003", "age", "95")), 2, "a small record")
    new = [k for k in val(r.call("SCAN", "0", "COUNT", "1000"))[1]
           if k.startswith("patient:") and k not in pseud]
    run.check(len(new) == 1, "its pseudonymous key", new)
    figures = []
    for age in ("95", "103"):
        run.eq(val(reg.call("HSET", "patient:1003", "age", age)), 0, f"age {age}")
        figures.append(val(r.call("MEMORY", "USAGE", new[0])) if new else None)
    run.check(figures[0] == figures[1] and isinstance(figures[0], int),
              "MEMORY USAGE: the de-identified figure does not tell 95 from 103", figures)
    run.eq(val(reg.call("DEL", "patient:1003")), 1, "the small record goes")
    by_zip = {v.get("zip"): v for v in views.values()}
    v1, v2 = by_zip.get("021"), by_zip.get("000")
    run.require(v1 is not None and v2 is not None, "ZIPs: first three digits, 000 for 036",
                views)
    run.eq(v1.get("dob"), "1950", "a date becomes its year")
    run.eq(v1.get("age"), "76", "an age under 90 stays")
    run.eq(v2.get("age"), "90+", "an age over 89 becomes 90+")
    run.eq(v2.get("dob"), "<=1936", "a birth year 90+ years back is capped")
    for f in ("id", "name", "ssn"):
        run.check(f not in v1 and f not in v2, f"identifying field {f} removed")
    run.eq(v1.get("diagnosis"), "hypertension, treated", "a field with no PHI kind stays")
    notes = v1.get("notes", "")
    run.check("Carter" not in notes and "617-555-0199" not in notes and "[" in notes,
              "free text redacted by the PHI detector", notes)
    k1 = [k for k, v in views.items() if v.get("zip") == "021"][0]
    run.eq(val(r.call("HGET", k1, "dob")), "1950", "HGET by pseudonym gives the view value")
    # A date the view cannot read is withheld, and every command says the same of it.
    run.eq(val(reg.call("HSET", "patient:1001", "dob", "sometime in spring")), 0, "a bad date")
    run.eq([val(r.call("HGET", k1, "dob")), val(r.call("HSTRLEN", k1, "dob")),
            val(r.call("HEXISTS", k1, "dob"))], [None, 0, 0],
           "an unreadable date: HGET nil, HSTRLEN 0, HEXISTS 0")
    run.check("dob" not in pairs(val(r.call("HGETALL", k1))), "HGETALL leaves it out")
    run.eq(val(reg.call("HSET", "patient:1001", "dob", P1["dob"])), 0, "the date back")
    run.eq(val(r.call("HEXISTS", k1, "dob")), 1, "HEXISTS of a date the view shows")
    reg.close()
    run.check(is_noperm(val(r.call("HGET", k1, "ssn")), "de-identified"),
              "explicit read of an identifying field refused")
    run.check(is_noperm(val(r.call("OBJECT", "ENCODING", k1)), "ENCODING"),
              "OBJECT ENCODING refused to the de-identified view")
    run.check(is_noperm(val(r.call("HGETALL", "patient:1001")), "pseudonym"),
              "real record names refused from a de-identified role")
    run.check(is_noperm(val(r.call("HSET", k1, "pulse", "1")), "de-identified"),
              "a de-identified role may not write")
    run.check(is_noperm(val(r.call("PHI.FIND", "patient", "ssn", "123-45-6789"))),
              "a de-identified role may not look up an SSN")
    # ... nor a birth date, which its view shows as a year: one exact guess at a time would
    # give back the date the view hides.
    found = val(r.call("PHI.FIND", "patient", "dob", P2["dob"]))
    run.check(is_noperm(found, "transformed"), "a de-identified role may not look up a date",
              found)
    doc = srv.raw("doc", PW)
    run.eq(val(doc.call("PHI.FIND", "patient", "dob", P2["dob"])), ["patient:1002"],
           "the physician may (it reads the date as stored)")
    doc.close()
    # Pseudonyms found by PHI.FIND come sorted, not in the order the records were written
    # (that would give back sequential record numbers).
    w = srv.raw("reg", PW)
    written = ["patient:9105", "patient:9101", "patient:9109", "patient:9103", "patient:9102",
               "patient:9107", "patient:9104"]
    for key in written:
        w.call("HSET", key, "id", "P" + key[-4:], "diagnosis", "influenza-test")
    found = val(r.call("PHI.FIND", "patient", "diagnosis", "influenza-test"))
    run.check(isinstance(found, list) and len(found) == len(written) and found == sorted(found)
              and all(k.startswith("patient:~") for k in found),
              "PHI.FIND by a de-identified role: pseudonyms, sorted", found)
    w.call("DEL", *written)
    w.close()
    # Free text longer than deid-text-max (256 KB by default) is withheld, not scanned on
    # the event loop (3 MB of crafted text would take seconds); shorter text is redacted.
    a = srv.raw()
    k2 = [k for k, v in views.items() if v.get("zip") == "000"][0]
    run.eq(val(a.call("HSET", "patient:1002", "notes", "1::" * 1000000)), 0, "a 3 MB note")
    v2 = pairs(val(r.call("HGETALL", k2)))
    run.check("notes" not in v2 and v2.get("age") == "90+", "over deid-text-max: withheld",
              str(v2)[:200])
    run.check(val(r.call("HGET", k2, "notes")) is None, "... by HGET too")
    long_note = ("Seen by Dr. John Carter, stable. " * 6000)[:190000]
    run.eq(val(a.call("HSET", "patient:1002", "notes", long_note)), 0, "a 190 KB note")
    got = val(r.call("HGET", k2, "notes")) or ""
    run.check("Carter" not in got and "[NAME]" in got, "under the bound: redacted", got[:80])
    two = val(r.call("HMGET", k2, "notes", "notes"))
    run.check(isinstance(two, list) and len(two) == 2 and two[0] == got and two[1] is None,
              "the bound is per reply: the same 190 KB twice, the second withheld",
              str(two)[:200])
    # ... and 1 MB for a whole transaction: six reads of it in one EXEC, the sixth withheld.
    run.eq(val(r.call("MULTI")), "OK", "MULTI")
    for _ in range(6):
        r.call("HGET", k2, "notes")
    ex = r.call("EXEC")
    got6 = [x[1] for x in ex[1]] if ex[0] == "*" else []
    run.check(len(got6) == 6 and all(g is not None for g in got6[:5]) and got6[5] is None,
              "EXEC: at most 1 MB of free text redacted in one transaction",
              str([None if g is None else len(g) for g in got6]))
    run.eq(val(a.call("CONFIG", "SET", "deid-text-max", "100kb")), "OK", "deid-text-max 100kb")
    run.check(val(r.call("HGET", k2, "notes")) is None, "then the 190 KB note is withheld")
    run.eq(val(a.call("CONFIG", "SET", "deid-text-max", "256kb")), "OK", "back to 256kb")
    # An empty note redacts to an empty value (its copy was a null pointer, which the
    # sanitized build stopped on in HSCAN and HGETALL).
    run.eq(val(a.call("HSET", "patient:1002", "notes", "")), 0, "an empty note")
    run.eq(pairs(val(r.call("HSCAN", k2, "0", "COUNT", "1000"))[1]).get("notes"), "",
           "HSCAN: the empty note")
    run.eq(pairs(val(r.call("HGETALL", k2))).get("notes"), "", "HGETALL: the empty note")
    run.eq(val(a.call("HSET", "patient:1002", "notes", "stable")), 0, "the note back")
    run.eq(val(a.call("HSET", "patient:1002", "notes", P2["notes"])), 0, "the note restored")
    # The ACL's key patterns hold behind pseudonyms (both the pseudonym and the key it
    # stands for must match): a de-identified user allowed ~patient:1001 (and pseudonyms,
    # ~patient:~*) lists only that record and cannot read the other by its pseudonym.
    run.eq(val(a.call("ACL", "SETUSER", "res2", "on", ">" + PW, "~patient:1001",
                      "~patient:~*", "~other:*",
                      "+@all", "-@dangerous", "role=research")), "OK", "user res2")
    r2 = srv.raw("res2", PW)
    mine = [k for k in val(r2.call("SCAN", "0", "COUNT", "1000"))[1] if k.startswith("patient:")]
    run.eq(mine, [k1], "a de-identified user lists only the records its key patterns allow")
    run.check(is_noperm(val(r2.call("HGETALL", k2)), "keys"),
              "... and may not read another by its pseudonym", val(r2.call("HGETALL", k2)))
    run.eq(pairs(val(r2.call("HGETALL", k1))), pairs(val(r.call("HGETALL", k1))),
           "... and reads its own as research does")
    r2.close()
    run.eq(val(a.call("ACL", "DELUSER", "res2")), 1, "res2 removed")
    a.close()
    # Purpose: research may not act for treatment.
    run.check(is_noperm(val(r.call("PHI.PURPOSE", "treatment")), "purpose"),
              "research may not use purpose treatment")
    r.close()


def purpose(run, srv):
    b = srv.raw("bill", PW)
    run.eq(val(b.call("PHI.PURPOSE")), "treatment", "default purpose")
    run.check(is_noperm(val(b.call("PHI.PURPOSE", "research")), "research"),
              "billing may not act for research")
    run.eq(val(b.call("PHI.PURPOSE", "payment")), "OK", "billing acts for payment")
    run.eq(val(b.call("PHI.PURPOSE")), "payment", "the purpose is kept")
    r = val(b.call("PHI.PURPOSE", "shopping"))
    run.check(r[0] == "ERR" and "unknown purpose" in r[1], "unknown purpose", r)
    b.close()
    # A new role: the sessions take its default purpose (a purpose of the old role would be
    # refused on every access).
    r = srv.raw("res", PW)
    run.eq(val(r.call("PHI.PURPOSE")), "research", "the researcher acts for research")
    a = srv.raw()
    run.eq(val(a.call("ACL", "SETUSER", "res", "role=physician")), "OK", "res becomes physician")
    run.eq(val(r.call("PHI.PURPOSE")), "treatment", "its session now acts for treatment")
    run.eq(val(r.call("HGET", "patient:1001", "pulse")), P1["pulse"], "and reads as physician")
    run.eq(val(a.call("ACL", "SETUSER", "res", "role=research")), "OK", "back to research")
    run.eq(val(r.call("PHI.PURPOSE")), "research", "and to research")
    a.close()
    r.close()


def blind_index(run, srv):
    d = srv.raw("doc", PW)
    run.eq(val(d.call("PHI.FIND", "patient", "ssn", "123 45 6789")), ["patient:1001"],
           "PHI.FIND with another spelling of the SSN")
    run.eq(val(d.call("PHI.FIND", "patient", "ssn", "000-00-0000")), [], "no match")
    reg = srv.raw("reg", PW)
    reg.call("HSET", "patient:1002", "ssn", "111-22-3333")
    run.eq(val(d.call("PHI.FIND", "patient", "ssn", "987654321")), [], "old value forgotten")
    run.eq(val(d.call("PHI.FIND", "patient", "ssn", "111223333")), ["patient:1002"],
           "kept current on write")
    reg.call("HSET", "patient:1002", "ssn", P2["ssn"])
    r = val(d.call("PHI.FIND", "patient", "name", "Alice Smith"))
    run.check(r[0] == "ERR" and "blind index" in r[1], "unindexed field refused", r)
    # An index-key rotation rebuilds the index (records written before it are still found)
    # and the pseudonyms, which change with the key and still lead to their records.
    a = srv.raw()
    res = srv.raw("res", PW)

    def pseudonyms():
        return sorted(k for k in val(res.call("SCAN", "0", "COUNT", "1000"))[1]
                      if k.startswith("patient:"))
    before = pseudonyms()
    r = val(a.call("PHI.KEYRING", "ROTATE", "index"))
    run.check(isinstance(r, list) and r and "index" in r[0], "PHI.KEYRING ROTATE index", r)
    run.eq(val(d.call("PHI.FIND", "patient", "ssn", "123-45-6789")), ["patient:1001"],
           "PHI.FIND after an index-key rotation")
    after = pseudonyms()
    run.check(len(after) == 2 and not set(after) & set(before),
              "the pseudonyms changed with the index key", (before, after))
    run.check(all(isinstance(val(res.call("HGETALL", k)), list) and val(res.call("HGETALL", k))
                  for k in after), "the new pseudonyms lead to their records")
    st = val(a.call("PHI.KEYRING", "STATUS"))
    idx = st[st.index("index") + 1] if isinstance(st, list) and "index" in st else []
    run.check([v[v.index("state") + 1] for v in idx] == ["retired", "current"],
              "the old index key is retired", st)
    # PHI.FIND by a self-scoped user looks each match's subject up; a match whose time has
    # passed but that the expiry cycle has not reaped yet (hz 1) expires during that walk
    # and leaves the index. The walk must neither read the freed entry (ASan) nor skip the
    # matches after it.
    run.eq(val(a.call("CONFIG", "SET", "hz", "1")), "OK", "hz 1")
    p = srv.raw("pat", PW)
    for attempt in range(3):
        reg.call("HSET", "patient:7002", "id", "P7002", "ssn", "555-01-0001")
        reg.call("PEXPIRE", "patient:7002", "100")
        reg.call("HSET", "patient:7001", "id", "P1001", "ssn", "555-01-0001")
        time.sleep(0.15)
        run.eq(val(p.call("PHI.FIND", "patient", "ssn", "555-01-0001")), ["patient:7001"],
               f"the patient finds its own record after an expiring match ({attempt + 1})")
        reg.call("DEL", "patient:7001")
        reg.call("HSET", "patient:7003", "id", "P7003", "ssn", "555-01-0002")
        reg.call("PEXPIRE", "patient:7003", "100")
        time.sleep(0.15)
        run.eq(val(p.call("PHI.FIND", "patient", "ssn", "555-01-0002")), [],
               f"an expiring match alone: nothing, and the server goes on ({attempt + 1})")
    # The same in SCAN: listing a record for a self-scoped user looks its subject up, which
    # must not remove an expired record inside the scan's step.
    for attempt in range(3):
        reg.call("HSET", "patient:7004", "id", "P1001", "pulse", "70")
        reg.call("PEXPIRE", "patient:7004", "100")
        time.sleep(0.15)
        keys = val(p.call("SCAN", "0", "MATCH", "patient:*", "COUNT", "1000"))[1]
        run.check("patient:7004" not in keys and "patient:1001" in keys,
                  f"SCAN past an expired own record ({attempt + 1})", keys)
    run.eq(val(a.call("EXISTS", "patient:7004")), 0, "the expired record is gone")
    run.eq(val(p.call("PING")), "PONG", "the patient's connection is fine")
    p.close()
    run.eq(val(a.call("CONFIG", "SET", "hz", "10")), "OK", "hz back")
    res.close()
    a.close()
    d.close()
    reg.close()


def breakglass(run, srv):
    n = srv.raw("nina", PW)
    run.check(is_noperm(val(n.call("HGET", "patient:1001", "diagnosis"))), "before: refused")
    r = val(n.call("PHI.BREAKGLASS", "P1001", "too", "short"))
    run.check(r[0] == "ERR" and "20" in r[1], "a short reason is refused", r)
    b = srv.raw("bill", PW)
    r = val(b.call("PHI.BREAKGLASS", "P1001", "patient collapsed in the waiting room"))
    run.check(is_noperm(r, "break-glass"), "billing may not break the glass", r)
    b.close()
    r = val(n.call("PHI.BREAKGLASS", "P1001", "patient", "unconscious", "in", "the", "ER,",
                   "no", "physician", "reachable"))
    run.require(isinstance(r, list) and len(r) == 2, "grant: [id, expires]", r)
    gid, exp = r
    run.check(re.fullmatch(r"[0-9a-f]{16}", gid) is not None, "grant id", gid)
    run.check(abs(int(exp) - (time.time() + 14400)) < 120, "expires in breakglass-ttl", exp)
    run.eq(val(n.call("HGET", "patient:1001", "diagnosis")), "hypertension, treated",
           "with the grant: the diagnosis is readable")
    got = pairs(val(n.call("HGETALL", "patient:1001")))
    run.check("diagnosis" in got and "balance" in got, "every group of that subject", got)
    run.eq(val(n.call("HMGET", "patient:1001", "diagnosis", "balance", "diagnosis")),
           ["hypertension, treated", P1["balance"], "hypertension, treated"],
           "HMGET of several fields outside the role's groups under the grant")
    run.check(is_noperm(val(n.call("HGET", "patient:1002", "diagnosis"))),
              "another subject stays refused")
    run.check(is_noperm(val(n.call("HSET", "patient:1001", "diagnosis", "x"))),
              "a grant is read-only")
    other = srv.raw("doc", PW)
    run.check(is_noperm(val(other.call("HGET", "patient:1001", "balance"))),
              "the grant is for that user only")
    other.close()
    a = srv.raw()
    lst = val(a.call("PHI.BREAKGLASS", "LIST"))
    run.check(isinstance(lst, list) and any(gid in str(x) for x in lst), "LIST shows it", lst)
    # Grants survive a restart.
    n.close()
    a.close()
    srv.restart()
    n = srv.raw("nina", PW)
    run.eq(val(n.call("HGET", "patient:1001", "diagnosis")), "hypertension, treated",
           "the grant survives a restart")
    a = srv.raw()
    run.eq(val(a.call("PHI.BREAKGLASS", "REVOKE", gid)), 1, "REVOKE")
    run.eq(val(a.call("PHI.BREAKGLASS", "REVOKE", gid)), 0, "REVOKE again: unknown")
    run.check(is_noperm(val(n.call("HGET", "patient:1001", "diagnosis"))), "revoked: refused")
    # Expiry: the shortest breakglass-ttl is 60 s (59 was accepted before). The grant is
    # given to a user of its own, and breakglass_expiry checks it after the cases in between
    # have used most of that minute.
    r = val(a.call("CONFIG", "SET", "breakglass-ttl", "59"))
    run.check(r[0] == "ERR" and "between 60 and 604800" in r[1], "breakglass-ttl 59 is refused", r)
    run.eq(val(a.call("CONFIG", "SET", "breakglass-ttl", "60")), "OK", "the shortest grants")
    run.eq(val(a.call("ACL", "SETUSER", "bgshort", "on", ">" + PW, "~*", "+@all", "-@dangerous",
                      "role=nurse")), "OK", "a nurse for the expiry test")
    run.eq(val(a.call("ACL", "SAVE")), "OK", "saved (the cases in between restart the server)")
    s = srv.raw("bgshort", PW)
    r = val(s.call("PHI.BREAKGLASS", "P1001", "second emergency for the expiry test"))
    run.require(isinstance(r, list), "second grant", r)
    run.check(abs(int(r[1]) - (time.time() + 60)) < 5, "it expires in 60 s", r)
    srv.bg_short_expires = int(r[1])
    run.eq(val(s.call("HGET", "patient:1001", "diagnosis")), "hypertension, treated",
           "usable at once")
    s.close()
    run.eq(val(a.call("CONFIG", "SET", "breakglass-ttl", "14400")), "OK", "ttl back")
    n.close()
    # A grant does not pass to a new account of the same name: ACL DELUSER revokes it.
    run.eq(val(a.call("ACL", "SETUSER", "nurse2", "on", ">" + PW, "~*", "+@all",
                      "-@dangerous", "role=nurse")), "OK", "a second nurse")
    n2 = srv.raw("nurse2", PW)
    r = val(n2.call("PHI.BREAKGLASS", "P1001", "patient unconscious, chart needed now"))
    run.require(isinstance(r, list), "nurse2's grant", r)
    n2.close()
    run.eq(val(a.call("ACL", "DELUSER", "nurse2")), 1, "nurse2 deleted")
    run.eq(val(a.call("ACL", "SETUSER", "nurse2", "on", ">" + PW + "x", "~*", "+@all",
                      "-@dangerous", "role=nurse")), "OK", "a new account named nurse2")
    n2 = srv.raw("nurse2", PW + "x")
    run.check(is_noperm(val(n2.call("HGET", "patient:1001", "diagnosis"))),
              "the deleted user's grant does not open the record to the new account")
    n2.close()
    listed = val(a.call("PHI.BREAKGLASS", "LIST"))
    run.check("nurse2" not in str(listed), "and LIST no longer shows it", listed)
    a.call("ACL", "DELUSER", "nurse2")
    # A grant follows the record's subject: a holder that may write the subject field must
    # not move another patient's record under its grant (set the subject, read, set it back).
    run.eq(val(a.call("ACL", "SETUSER", "desk", "on", ">" + PW, "~*", "+@all", "-@dangerous",
                      "role=frontdesk")), "OK", "a front desk user (writes demographics)")
    fd = srv.raw("desk", PW)
    r = val(fd.call("PHI.BREAKGLASS", "P1001", "patient unconscious in the ER, chart needed"))
    run.require(isinstance(r, list), "the front desk's grant for P1001", r)
    for cmd in (("HSET", "patient:1002", "id", "P1001"), ("HMSET", "patient:1002", "id", "P1001"),
                ("HSETNX", "patient:1002", "id", "P1001"), ("HINCRBY", "patient:1002", "id", "1")):
        got = val(fd.call(*cmd))
        run.check(is_noperm(got, "break-glass"), f"{cmd[0]} of the subject field to a granted "
                  "subject is refused", got)
    run.check(is_noperm(val(fd.call("HGET", "patient:1002", "diagnosis"))),
              "the other patient's record stays closed")
    run.eq(val(fd.call("HGET", "patient:1002", "id")), "P1002", "its subject is unchanged")
    run.eq(val(fd.call("HSET", "patient:1002", "id", "P1002", "pulse", P2["pulse"])), 0,
           "other writes (its own subject, a vital) go on")
    run.eq(val(a.call("PHI.BREAKGLASS", "REVOKE", r[0])), 1, "revoked")
    fd.close()
    a.call("ACL", "DELUSER", "desk")
    a.close()


def grants_old_keyring(run, srv):
    # The break-glass grants file is sealed with the values key outside the durable log: a
    # keyring file copied back from before it was written must not make the server seal with
    # its nonce again (start-up raises the counter above it and says so).
    keyring = os.path.join(srv.dir, "data", "keyring")

    def reserved():
        with open(keyring) as f:
            return max(v["reserved"] for v in json.load(f)["purposes"]["values"])
    srv.stop()
    with open(keyring, "rb") as f:
        first = f.read()
    was = reserved()
    srv.restart()  # resumes in a new block of nonces
    n = srv.raw("nina", PW)
    r = val(n.call("PHI.BREAKGLASS", "P1002", "patient unconscious, chart needed now for care"))
    run.require(isinstance(r, list) and len(r) == 2, "a grant sealed in the new block", r)
    n.close()
    srv.stop()
    with open(keyring, "wb") as f:
        f.write(first)
    srv.restart()
    run.check("nonce counters raised above nonces found in the break-glass grants file"
              in srv.log_text(), "start-up sees the keyring is older than the grants file",
              srv.log_tail(10))
    a = srv.raw()
    run.eq(val(a.call("PHI.BREAKGLASS", "REVOKE", r[0])), 1, "the grant opens and is revoked")
    a.close()
    # Without it the counter would resume at the old block's end and reserve exactly one
    # more block (4194304 nonces), the one whose first nonce sealed the grant.
    run.check(reserved() > was + 4194304, "the next seals are above the grant's nonce",
              f"{reserved()} vs {was} + 4194304")


def oathtool(secret_b32, offset=0):
    t = int(time.time()) + offset
    r = subprocess.run(["oathtool", "--totp", "-b", "-N", f"@{t}", secret_b32],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=True)
    return r.stdout.decode().strip()


def mfa(run, srv):
    a = srv.raw()
    run.eq(val(a.call("ACL", "SETUSER", "mfauser", "on", ">" + PW, "~*", "+@all",
                      "-@dangerous", "role=physician")), "OK", "a person")
    run.eq(val(a.call("ACL", "SAVE")), "OK", "ACL SAVE")
    a.close()
    srv.stop()
    # The issuer authenticator apps show comes from the mfa-issuer directive.
    with open(os.path.join(srv.dir, "phidb.conf"), "a") as f:
        f.write('\nmfa-issuer "Example Clinic"\n')
    r = subprocess.run([srv.tool_bin, "user", "mfa", srv.dir, "mfauser", "--no-qr",
                        "--no-confirm"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       stdin=subprocess.DEVNULL, timeout=120)
    out = r.stdout.decode()
    run.require(r.returncode == 0, "phidb user mfa enrolls", r.stderr.decode())
    run.check("(issuer Example Clinic)" in out and "issuer=Example%20Clinic" in out,
              "with the issuer of mfa-issuer", out)
    m = re.search(r"^key: ([A-Z2-7]+)", out, re.M)
    run.require(m is not None and "otpauth://totp/" in out, "URI and key printed", out)
    secret = m.group(1)
    srv.restart()
    c = srv.raw("mfauser", PW)  # the password is right: MFA pending
    r = val(c.call("HGET", "patient:1001", "name"))
    run.check(r[0] == "ERR" and r[1].startswith("NOAUTH") and "PHI.MFA" in r[1],
              "nothing before the code", r)
    r = val(c.call("PHI.MFA", "000000" if oathtool(secret) != "000000" else "111111"))
    run.check(r[0] == "ERR" and "WRONGPASS" in r[1], "a wrong code", r)
    code = oathtool(secret)
    run.eq(val(c.call("PHI.MFA", code)), "OK", "the right code (oathtool)")
    run.eq(val(c.call("HGET", "patient:1001", "name")), "Alice Smith", "then the session works")
    c2 = srv.raw("mfauser", PW)
    r = val(c2.call("PHI.MFA", code))
    run.check(r[0] == "ERR" and "WRONGPASS" in r[1], "a code is accepted once", r)
    c2.close()
    c.close()
    # Also across a restart (the code is still inside its window: the server keeps the
    # highest step accepted in data/totp.floor).
    srv.restart()
    c3 = srv.raw("mfauser", PW)
    r = val(c3.call("PHI.MFA", code))
    run.check(r[0] == "ERR" and "WRONGPASS" in r[1], "a code is accepted once, even after a "
              "restart", r)
    c3.close()
    # Wrong codes count toward the lockout (auth-max-failures, 3) even when each comes
    # after a fresh login with the right password: the password must not reset the count.
    wrong = "000000" if oathtool(secret) != "000000" else "111111"
    locked = None
    for i in range(4):
        try:
            c4 = srv.raw("mfauser", PW)
        except RuntimeError as e:
            locked = (i, str(e))
            break
        c4.call("PHI.MFA", wrong)
        c4.close()
    run.check(locked is not None, "wrong codes over several logins lock the account", locked)
    a = srv.raw()
    run.eq(val(a.call("ACL", "SETUSER", "mfauser", "unlock")), "OK", "unlock")
    a.close()
    c5 = srv.raw("mfauser", PW)
    used = oathtool(secret, offset=30)  # the next step's code (this step's is used)
    run.eq(val(c5.call("PHI.MFA", used)), "OK", "after the unlock: in")
    c5.close()
    # A user deleted and loaded again from the users file (the same secret) does not get its
    # used codes back.
    a = srv.raw()
    for cmd in (("ACL", "SAVE"), ("ACL", "DELUSER", "mfauser"), ("ACL", "LOAD")):
        a.call(*cmd)
    a.close()
    c6 = srv.raw("mfauser", PW)
    # The very code c5 used: computed again, it would be a new (unused) code whenever a 30 s
    # step began since c5's, and be accepted.
    r = val(c6.call("PHI.MFA", used))
    run.check(r[0] == "ERR" and "WRONGPASS" in r[1],
              "a used code stays used after ACL DELUSER and ACL LOAD", r)
    c6.close()
    # The trail: a right password says the second factor is pending, the command tried before
    # the code is a denied access, and a report counts a login once the code is in.
    r = subprocess.run([srv.tool_bin, "audit", "export", srv.dir, "--format", "jsonl"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    recs = [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]
    mine = [x for x in recs if x.get("user") == "mfauser"]
    run.check(any(x["ev"] == "auth" and x["res"] == "granted" and
                  x.get("reason") == "mfa-pending" for x in mine),
              "a right password is recorded with reason mfa-pending", mine[:3])
    run.check(any(x["ev"] == "access" and x["res"] == "denied" and
                  x.get("reason") == "mfa-pending" and x.get("key") == "patient:1001"
                  for x in mine), "the read tried before the code is a denied access", mine[:3])
    r = subprocess.run([srv.tool_bin, "audit", "report", srv.dir, "--user", "mfauser",
                        "--format", "json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    tot = json.loads(r.stdout.decode() or "{}").get("totals", {})
    codes_ok = len([x for x in mine if x["ev"] == "mfa" and x["res"] == "granted"])
    failed = len([x for x in mine if x["ev"] in ("auth", "mfa") and x["res"] == "denied"])
    run.check(codes_ok == 2 and tot.get("logins") == codes_ok and
              tot.get("failed_logins") == failed,
              "the report counts logins by their codes, and failed codes as failed logins",
              (tot, codes_ok, failed))
    values_rotation(run, srv)


def values_rotation(run, srv):
    # The TOTP secrets (users file and memory) and the break-glass grants file are sealed
    # with the values key too: rotating it must carry them over before the old version is
    # retired, or every enrolled user is locked out and the server cannot start again.
    a = srv.raw()
    run.eq(val(a.call("ACL", "SETUSER", "mfa2", "on", ">" + PW, "~*", "+@all", "-@dangerous",
                      "role=physician")), "OK", "a second person")
    run.eq(val(a.call("ACL", "SAVE")), "OK", "ACL SAVE")
    a.close()
    srv.stop()
    r = subprocess.run([srv.tool_bin, "user", "mfa", srv.dir, "mfa2", "--no-qr", "--no-confirm"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                       timeout=120)
    m = re.search(r"^key: ([A-Z2-7]+)", r.stdout.decode(), re.M)
    run.require(r.returncode == 0 and m, "enrolled", r.stderr.decode())
    secret = m.group(1)
    srv.restart()
    n = srv.raw("nina", PW)
    r = val(n.call("PHI.BREAKGLASS", "P1002", "patient unconscious in the ER, no physician "
                   "reachable"))
    run.require(isinstance(r, list) and len(r) == 2, "a live grant before the rotation", r)
    n.close()
    a = srv.raw()
    r = val(a.call("PHI.KEYRING", "ROTATE", "values"))
    run.require(isinstance(r, list) and r and "values" in r[0], "PHI.KEYRING ROTATE values", r)
    r = r[0]
    old = int(r[r.index("version") + 1]) - 1
    a.call("SET", "after-rotation", "x")
    harness.wait_until(lambda: f"values key v{old} retired" in srv.log_text() or
                       f"values key v{old} kept" in srv.log_text(),
                       timeout=120, what="the old values key retired")
    run.check(f"values key v{old} retired" in srv.log_text(),
              "the old values key is retired (the secrets were sealed again)")

    def items():
        st = val(a.call("PHI.KEYRING", "STATUS"))
        cur = [x for x in st[st.index("values") + 1] if x[x.index("state") + 1] == "current"]
        return int(cur[0][cur[0].index("items") + 1])
    before = items()
    a.call("ACL", "SETUSER", "mfa2", "mfa=none")  # forgets its secret (in memory)
    run.eq(before - items(), 1, "STATUS counts the TOTP secrets among the values key's items")
    a.call("ACL", "LOAD")  # the users file still has it
    a.close()
    # The users file's copy (sealed again on disk), then the in-memory one (ACL SAVE writes
    # it): `phidb user mfa --check` opens the secret and checks a code. (A login would wait
    # for the next TOTP step: the replay floor survives restarts.)
    for what in ("the users file's copy opens", "the in-memory copy opens (after ACL SAVE)"):
        if "memory" in what:
            srv.restart()
            a = srv.raw()
            run.eq(val(a.call("ACL", "SAVE")), "OK", "ACL SAVE")
            a.close()
        srv.stop()
        r = subprocess.run([srv.tool_bin, "user", "mfa", srv.dir, "mfa2", "--check",
                            oathtool(secret)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           stdin=subprocess.DEVNULL, timeout=120)
        run.check(r.returncode == 0 and "accepted" in r.stdout.decode(), what,
                  r.stdout.decode())
    srv.restart()
    n = srv.raw("nina", PW)
    r = val(n.call("HGET", "patient:1002", "diagnosis"))
    run.check(isinstance(r, str) and not is_noperm(r),
              "after a restart the server starts and the grant still opens the record", r)
    n.close()
    # The subjects in the users file were sealed again too (the old version is gone).
    p = srv.raw("pat", PW)
    run.eq(val(p.call("HGET", "patient:1001", "pulse")), P1["pulse"],
           "the patient user's subject opens under the new values key")
    r = val(p.call("HGET", "patient:1002", "pulse"))
    run.check(is_noperm(r, "own records"), "and still scopes it", r)
    p.close()


def cert_user(run, srv):
    a = srv.raw()
    run.eq(val(a.call("ACL", "SETUSER", "svc", "on", ">" + PW, "~*", "+@all", "-@dangerous",
                      "role=registrar", "cert=phidb-client")), "OK", "a service user")
    a.close()
    try:
        srv.raw("svc", PW)
        run.fail("a cert= user logged in without a client certificate")
    except Exception as e:
        run.check("WRONGPASS" in str(e) or "invalid" in str(e).lower(),
                  "no certificate: the login fails", str(e))
    cn = subprocess.run(["openssl", "x509", "-noout", "-subject", "-in", srv.client_cert],
                        stdout=subprocess.PIPE, check=True).stdout.decode()
    m = re.search(r"CN\s*=\s*([^,/\n]+)", cn)
    run.require(m is not None, "client certificate CN", cn)
    a = srv.raw()
    a.call("ACL", "SETUSER", "svc", "cert=" + m.group(1).strip())
    a.close()
    c = srv.raw("svc", PW, cert=True)
    run.eq(val(c.call("HGET", "patient:1001", "id")), "P1001", "with the certificate: in")
    c.close()


def breakglass_expiry(run, srv):
    """The 60 s grant of breakglass (kept across the restarts in between) ends on time."""
    s = srv.raw("bgshort", PW)
    if time.time() < srv.bg_short_expires - 1:
        run.eq(val(s.call("HGET", "patient:1001", "diagnosis")), "hypertension, treated",
               "before its expiry the grant still opens the record")
    time.sleep(max(0.0, srv.bg_short_expires + 1.5 - time.time()))
    run.check(is_noperm(val(s.call("HGET", "patient:1001", "diagnosis"))), "expired: refused")
    s.close()
    a = srv.raw()
    run.eq(val(a.call("ACL", "DELUSER", "bgshort")), 1, "the expiry test's user removed")
    run.eq(val(a.call("ACL", "SAVE")), "OK", "saved")
    a.close()


def bad_policy(run, srv):
    good = open(srv.policy_path).read()
    with open(srv.policy_path, "w") as f:
        f.write(good + "role intern read=demographics frobnicate=yes\n")
    a = srv.raw()
    r = val(a.call("PHI.POLICY", "RELOAD"))
    line = len(good.splitlines()) + 1
    run.check(r[0] == "ERR" and f":{line}:" in r[1], "RELOAD refuses the file with its line", r)
    d = srv.raw("doc", PW)
    run.eq(val(d.call("HGET", "patient:1001", "name")), "Alice Smith", "the old policy stays")
    os.kill(srv.proc.pid, signal.SIGHUP)
    harness.wait_until(lambda: "SIGHUP" in srv.log_text() and f":{line}:" in srv.log_text(),
                       what="SIGHUP reload refused in the log")
    run.eq(val(d.call("HGET", "patient:1001", "name")), "Alice Smith", "still after SIGHUP")
    # A good change takes effect: nurses may now read diagnosis.
    with open(srv.policy_path, "w") as f:
        f.write(good.replace("role nurse     read=demographics,vitals,medications",
                             "role nurse     read=demographics,vitals,medications,diagnosis"))
    # A file another user owns (who could change what is enforced) is refused.
    if os.geteuid() == 0:
        os.chown(srv.policy_path, 65534, 65534)
        r = val(a.call("PHI.POLICY", "RELOAD"))
        run.check(r[0] == "ERR" and "owned by uid 65534" in r[1],
                  "RELOAD refuses a file owned by another user", r)
        run.check(is_noperm(val(srv.raw("nina", PW).call("HGET", "patient:1001",
                                                          "diagnosis"))),
                  "... and the old policy stays")
        os.chown(srv.policy_path, 0, 0)
    run.eq(val(a.call("PHI.POLICY", "RELOAD")), "OK", "RELOAD of a good file")
    n = srv.raw("nina", PW)
    run.eq(val(n.call("HGET", "patient:1001", "diagnosis")), "hypertension, treated",
           "the new policy is in force")
    shown = val(a.call("PHI.POLICY", "SHOW"))
    run.check("role nurse" in shown and "diagnosis" in shown, "PHI.POLICY SHOW", shown[:200])
    n.close()
    d.close()
    a.close()
    # A bad file stops start-up with file, line and reason.
    with open(srv.policy_path, "w") as f:
        f.write("schema patient:* type=patient\n")
    srv.stop()
    r = subprocess.run([srv.server_bin, srv.conf, "--policy-file", srv.policy_path],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    out = r.stdout.decode()
    run.check(r.returncode != 0 and "policy.conf:1:" in out and "subject" in out,
              "start-up refused with the file and line", out[-400:])
    with open(srv.policy_path, "w") as f:
        f.write(good)
    srv.restart()


def flush(run, srv):
    a = srv.raw()
    for u in ("doc", "reg"):
        run.eq(val(a.call("ACL", "SETUSER", u, "+flushdb")), "OK", f"{u} gets FLUSHDB")
    a.close()
    d = srv.raw("doc", PW)
    r = val(d.call("FLUSHDB"))
    run.check(is_noperm(r, "every record"), "FLUSHDB needs delete on every group", r)
    d.close()
    g = srv.raw("reg", PW)
    run.eq(val(g.call("FLUSHDB")), "OK", "the registrar (delete=*) may flush")
    run.eq(val(g.call("DBSIZE")), 0, "everything is gone")
    run.eq(val(g.call("PHI.FIND", "patient", "ssn", P1["ssn"])), [], "so is the blind index")
    g.close()


def body(run):
    if harness.env_target() != "phidb":
        run.log("SKIP: phidb-only test")
        return
    srv = harness.PhidbServer()
    srv.use_policy(POLICY, [("allow-dangerous-commands", "flushdb")])
    run.cases([setup, matrix, patient_scope, existence_probes, sealed_subjects, research_view, purpose, blind_index,
               breakglass, grants_old_keyring, mfa, cert_user, breakglass_expiry, bad_policy,
               flush], run, srv)


if __name__ == "__main__":
    harness.main(body)
