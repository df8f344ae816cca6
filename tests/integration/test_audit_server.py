"""The audit trail of the real server (issue 5), read back with the real tools.

A policy-governed clinic (the policy of test_policy_server.py), driven by raw TLS clients
and redis-cli: granted and denied accesses, a failed and a locked login, MFA-less logins and
logouts, break-glass grant and use, an ACL change, a CONFIG SET, a policy reload, a key
rotation. Then `phidb audit export` must show each as a record with the right fields (user,
role, client, command, key, subject, field names, purpose, emergency mark, old/new values)
and never a value or a password; `phidb audit verify` reports OK; the segment files hold no
key name, subject or value in plaintext; alerts arrive on __phidb:alerts (break-glass,
lockout), to SUBSCRIBE and to PSUBSCRIBE __phidb:*, and a subscribed connection logging in
as a user whose channel rules do not allow its subscriptions is closed; and with a full disk (RLIMIT_FSIZE) a read of PHI is refused (AUDITFAIL), then
served again once the disk recovers, with nothing accepted lost. `phidb audit prune` beside
the running server goes through PHI.AUDIT PRUNE (an old segment made under libfaketime).
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import glob
import json
import os
import re
import subprocess
import time

import harness
from test_policy_server import P1, P2, POLICY, PW, is_noperm, pairs, val


def records(srv):
    r = subprocess.run([srv.tool_bin, "audit", "export", srv.dir, "--format", "jsonl"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("phidb audit export failed: " + r.stderr.decode())
    return [json.loads(x) for x in r.stdout.decode().splitlines() if x.strip()]


def info_audit(c):
    """INFO audit as a dict."""
    r = c.call("INFO", "audit")
    text = r[1].decode() if isinstance(r[1], bytes) else str(r[1])
    return dict(l.split(":", 1) for l in text.splitlines() if ":" in l)


def trail_written(c):
    """Wait until every record the server has accepted is written to its segments (INFO
    audit: written_seq reaches last_seq), for tools that read the trail beside it: with
    audit-fsync everysec the writer thread writes them after the replies."""
    last = int(info_audit(c)["audit_last_seq"])
    harness.wait_until(lambda: int(info_audit(c)["audit_written_seq"]) >= last, timeout=60,
                       what="the audit records to reach the segments")


def find(recs, **kw):
    out = []
    for r in recs:
        if all(r.get(k) == v for k, v in kw.items()):
            out.append(r)
    return out


def body(run):
    if harness.env_target() != "phidb":
        run.log("SKIP: phidb-only test")
        return
    srv = harness.PhidbServer()
    srv.use_policy(POLICY, [("audit-checkpoint-records", "50"),
                            ("alert-hours", "00:00-00:01"), ("auth-max-failures", "2")])

    with run.case("activity"):
        a = srv.raw()
        a.call("ACL", "SETUSER", "admin", "role=registrar", "+phi.policy|reload")
        for u, role in (("doc", "physician"), ("nina", "nurse"), ("vic", "billing")):
            run.eq(val(a.call("ACL", "SETUSER", u, "on", ">" + PW, "~*", "+@all", "-@dangerous",
                              "role=" + role)), "OK", "user " + u)
        for key, rec in (("patient:1001", P1), ("patient:1002", P2)):
            a.call("HSET", key, *[x for kv in rec.items() for x in kv])
        # One command on 100 record keys: a record for each (there were 64 at most).
        run.eq(a.call("EXISTS", *[f"patient:m{i}" for i in range(100)]), (":", 0),
               "EXISTS of 100 record keys")
        a.call("SET", "plain:1", "not a record")
        # Alerts channel.
        sub = srv.raw()
        run.eq(val(sub.call("SUBSCRIBE", "__phidb:alerts"))[0], "subscribe", "subscribed")
        psub = srv.raw()
        run.eq(val(psub.call("PSUBSCRIBE", "__phidb:*"))[0], "psubscribe", "pattern subscriber")
        # A connection subscribed to the alerts that logs in as a user whose channel rules
        # do not allow them is closed (it would otherwise keep receiving them), and the
        # refused login is recorded.
        run.eq(val(a.call("ACL", "SETUSER", "watch", "on", ">" + PW, "resetchannels",
                          "&__phidb:alerts", "+@all", "-@dangerous")), "OK", "user watch")
        w = srv.raw("watch", PW, protocol=3)
        run.eq(w.call("SUBSCRIBE", "__phidb:alerts")[0], ">", "watch subscribes (a RESP3 push)")
        w.send(harness.encode_command("AUTH", "doc", PW))  # doc: no channel rules
        run.check(w.is_closed(), "logging in as doc closes the subscribed connection")
        w.close()
        w = srv.raw("watch", PW, protocol=3)
        run.eq(w.call("SUBSCRIBE", "__phidb:alerts")[0], ">", "again")
        run.eq(val(w.call("AUTH", "watch", PW)), "OK", "logging in as a user it allows is fine")
        run.eq(val(w.call("PING")), "PONG", "and the connection stays")
        w.close()

        d = srv.raw("doc", PW)
        run.eq(val(d.call("HGET", "patient:1001", "name")), "Alice Smith", "granted read")
        run.check(is_noperm(val(d.call("HGET", "patient:1001", "balance"))), "denied read")
        run.eq(val(d.call("PHI.PURPOSE", "operations")), "OK", "purpose")
        run.eq(len(pairs(val(d.call("HGETALL", "patient:1002")))), 9, "enumeration")
        run.eq(val(d.call("HSET", "patient:1001", "diagnosis", "stable")), 0, "write")
        d.call("QUIT")
        d.close()

        n = srv.raw("nina", PW)
        g = val(n.call("PHI.BREAKGLASS", "P1002", "cardiac arrest, chart needed right now"))
        run.require(isinstance(g, list), "break-glass grant", g)
        run.eq(val(n.call("HGET", "patient:1002", "diagnosis")), "asthma", "emergency read")
        n.close()

        # A failed login, then a lockout (auth-max-failures 2).
        for _ in range(2):
            try:
                srv.raw("vic", "wrong-password-123")
            except RuntimeError:
                pass
        run.eq(val(a.call("CONFIG", "SET", "timeout", "1234")), "OK", "CONFIG SET")
        run.eq(val(a.call("PHI.POLICY", "RELOAD")), "OK", "policy reload")
        run.check(isinstance(val(a.call("PHI.KEYRING", "ROTATE", "audit")), list), "rotate")
        run.eq(val(a.call("GET", "plain:1")), "not a record", "unclassified read")
        # A key longer than a whole audit block: its record holds a cut name.
        run.eq(val(a.call("SET", "L" * (17 << 20), "v")), "OK", "a 17 MB key name")
        run.eq(val(a.call("DEL", "L" * (17 << 20))), 1, "deleted again")
        run.eq(val(a.call("GET", "plain:1")), "not a record", "the trail still works")
        # Alerts: the break-glass grant and the lockout (and after-hours accesses: the
        # working hours are one minute long).
        got = []
        deadline = time.time() + 20
        while time.time() < deadline and not ({"breakglass", "lockout"} <= set(got)):
            try:
                m = sub.read_reply(timeout=2)
            except Exception:
                continue
            msg = val(m)
            if isinstance(msg, list) and msg[0] == "message":
                got.append(json.loads(msg[2]).get("rule", json.loads(msg[2]).get("alert")))
        run.check({"breakglass", "lockout"} <= set(got), "alerts on __phidb:alerts", got)
        pgot = []
        deadline = time.time() + 20
        while time.time() < deadline and not ({"breakglass", "lockout"} <= set(pgot)):
            try:
                msg = val(psub.read_reply(timeout=2))
            except Exception:
                continue
            if isinstance(msg, list) and msg[0] == "pmessage" and msg[2] == "__phidb:alerts":
                body = json.loads(msg[3])
                pgot.append(body.get("rule", body.get("alert")))
        run.check({"breakglass", "lockout"} <= set(pgot), "alerts to PSUBSCRIBE __phidb:*", pgot)
        psub.close()
        sub.close()
        a.close()

    with run.case("a refused attempt to change rights is recorded"):
        d2 = srv.raw("doc", PW)
        r = val(d2.call("ACL", "SETUSER", "doc", "+@all"))
        run.check(isinstance(r, tuple) and "NOPERM" in r[1], "ACL SETUSER refused by the ACL", r)
        # On doc's session: a failed AUTH as nina (recorded with nina's role), then a
        # successful one (doc is logged out first).
        run.check(isinstance(val(d2.call("AUTH", "nina", "not-her-password")), tuple),
                  "a wrong password for nina")
        run.eq(val(d2.call("AUTH", "nina", PW)), "OK", "the session switches to nina")
        d2.close()
        # Attempts by an administrator that fail on their arguments are recorded too.
        a = srv.raw()
        for cmd in (("ACL", "SETUSER", "tryuser", "on", ">Short-pw-9"),
                    ("ACL", "SETUSER", "tryuser", "on", "bogus-rule"),
                    ("CONFIG", "SET", "maxclients", "many"),
                    ("PHI.KEYRING", "ROTATE", "no-such-purpose"),
                    ("PHI.BACKUP", "try.phib", "PASSPHRASE", "Backup-pp-7")):
            r = val(a.call(*cmd))
            run.check(isinstance(r, tuple) and r[0].startswith("ERR"), f"{cmd[:2]} fails", r)
        a.close()

    with run.case("full disk"):
        d = srv.raw("doc", PW)
        seg_dir = os.path.join(srv.dir, "data", "audit")
        used = sum(os.path.getsize(p) for p in glob.glob(os.path.join(seg_dir, "*.seg*"))
                   if os.path.isfile(p))
        subprocess.run(["prlimit", f"--pid={srv.proc.pid}", "--fsize=1:unlimited"], check=True)
        refused = None
        for i in range(200):
            r = val(d.call("HGET", "patient:1001", "name"))
            if isinstance(r, tuple) and r[1].startswith("AUDITFAIL"):
                refused = r
                break
            time.sleep(0.05)
        run.check(refused is not None, "with a full disk a read of PHI is refused", refused)
        run.check(refused is None or "Alice" not in refused[1], "and no PHI in the error")
        # A failed login happens whatever the trail's state: its record is kept and written
        # once the disk recovers (checked in "records").
        x = srv.raw(auth=False)
        x.call("AUTH", "ghost-during-outage", "wrong")
        x.close()
        # Changes that are recorded once done would run unrecorded: they are refused too.
        adm = srv.raw()
        for cmd in (("ACL", "SETUSER", "mallory", "on", ">" + PW, "~*", "+@all"),
                    ("CONFIG", "SET", "timeout", "7"), ("PHI.POLICY", "RELOAD")):
            r = val(adm.call(*cmd))
            run.check(isinstance(r, tuple) and r[1].startswith("AUDITFAIL"),
                      f"{cmd[0]} {cmd[1]} is refused while the trail cannot write", r)
        subprocess.run(["prlimit", f"--pid={srv.proc.pid}", "--fsize=unlimited:unlimited"],
                       check=True)
        harness.wait_until(lambda: val(d.call("HGET", "patient:1001", "name")) == "Alice Smith",
                           timeout=30, what="service resumes when the disk recovers")
        d.close()
        run.eq(val(adm.call("ACL", "GETUSER", "mallory")), None, "the refused user was not made")
        run.check(val(adm.call("CONFIG", "GET", "timeout"))[1] != "7", "nor the CONFIG SET")
        adm.close()
        after = sum(os.path.getsize(p) for p in glob.glob(os.path.join(seg_dir, "*.seg*"))
                    if os.path.isfile(p))
        run.check(used > 0 and after > used,
                  "the records held back during the failure reached the segments", (used, after))

    with run.case("reports: subjects that are not UTF-8, CSV formulas"):
        # A patient id that is not valid UTF-8 is recorded as subject_hex: the reports count
        # and list it as "hex:<hex>" and --subject selects it by its bytes; a key that a
        # spreadsheet would run as a formula is kept text in CSV.
        a = srv.raw()
        a.call("HSET", b"patient:9\xfc", "id", b"M\xfcller-9", "name", "N")
        a.call("PHI.PURPOSE", "research")
        a.call("HGET", b"patient:9\xfc", "name")
        a.call("SET", "=HYPERLINK(1)", "x")
        trail_written(a)
        a.close()
        tool = lambda *args: subprocess.run([srv.tool_bin, *args], stdout=subprocess.PIPE,
                                            stderr=subprocess.PIPE, timeout=120).stdout
        br = json.loads(tool("breach-report", srv.dir, "--incident", "X", "--start",
                             "2000-01-01", "--end", "2100-01-01", "--user", "admin",
                             "--format", "json"))
        run.check("hex:4dfc6c6c65722d39" in br["affected_subjects"],
                  "breach-report counts the subject", br["affected_subjects"][-5:])
        acc = json.loads(tool("audit", "accounting", srv.dir, "--subject", b"M\xfcller-9",
                              "--format", "json"))
        run.check(acc.get("count", 0) >= 1, "accounting --subject selects it by its bytes", acc)
        csv = tool("audit", "export", srv.dir, "--format", "csv").decode()
        run.check("\"'=HYPERLINK(1)\"" in csv and ",=HYPERLINK" not in csv,
                  "a formula-like key is kept text in CSV export")

    with run.case("subject changes"):
        # A write that moves a record to another subject is recorded under both; HSETNX
        # that writes nothing and a repeated field are recorded under what is stored.
        a = srv.raw()
        for cmd in (("HSET", "patient:1002", "id", "X-DECOY"), ("HGETALL", "patient:1002"),
                    ("HSET", "patient:1002", "id", "P1002"),
                    ("HSET", "patient:1002", "id", "DECOY2", "id", "P1002"),
                    ("HSETNX", "patient:1002", "id", "DECOY3"),
                    ("HSET", "patient:1077", "id", "1077"), ("HINCRBY", "patient:1077", "id", "1"),
                    ("HINCRBYFLOAT", "patient:1077", "id", "0.5")):
            r = val(a.call(*cmd))
            run.check(not (isinstance(r, tuple) and r[0] == "ERR"), " ".join(cmd), r)
        # A key the ACL refuses inside MULTI is a denial on record, as at top level.
        run.eq(val(a.call("ACL", "SETUSER", "narrow", "on", ">" + PW, "~other:*", "+@all",
                          "-@dangerous", "role=physician")), "OK", "a user limited to other:*")
        a.close()
        # A deleted user's grant is revoked on record: the admin as its user, the holder in
        # detail.
        a = srv.raw()
        a.call("ACL", "SETUSER", "nurse9", "on", ">" + PW, "~*", "+@all", "-@dangerous",
               "role=nurse")
        n9 = srv.raw("nurse9", PW)
        g = val(n9.call("PHI.BREAKGLASS", "P1002", "patient unconscious, chart needed now"))
        run.require(isinstance(g, list), "nurse9's grant", g)
        srv.orphan_grant = g[0]
        n9.close()
        run.eq(val(a.call("ACL", "DELUSER", "nurse9")), 1, "nurse9 deleted")
        a.close()
        n = srv.raw("narrow", PW)
        n.call("MULTI")
        r = val(n.call("HGET", "patient:1001", "name"))
        run.check(is_noperm(r), "refused while queued", r)
        n.call("DISCARD")
        n.close()

    with run.case("signing key rotation"):
        # Checkpoints before and after a rotation of the signing key, in the running server
        # and across a restart, all verify: audit.pub lists every version.
        a = srv.raw()
        r = val(a.call("PHI.KEYRING", "ROTATE", "sign"))
        run.check(isinstance(r, list) and "sign" in r[0], "PHI.KEYRING ROTATE sign", r)
        for i in range(120):
            a.call("GET", "plain:1")
        a.close()
        srv.stop()
        srv.restart()
        a = srv.raw()
        for i in range(120):
            a.call("GET", "plain:1")
        a.close()
        with open(os.path.join(srv.dir, "data", "audit", "audit.pub")) as f:
            keys = f.read().count("BEGIN PUBLIC KEY")
        run.eq(keys, 2, "audit.pub lists the old and the new signing key")
        r = subprocess.run([srv.tool_bin, "audit", "verify", srv.dir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
        run.check(r.returncode == 0 and "OK" in r.stdout.decode(),
                  "phidb audit verify after the rotation", r.stdout.decode()[-500:])
        # A trusted copy listing the keys newest first (as the previous release could
        # write it) still verifies: the tool puts them in version order.
        with open(os.path.join(srv.dir, "data", "audit", "audit.pub")) as f:
            blocks = re.findall(r"-----BEGIN PUBLIC KEY-----.*?-----END PUBLIC KEY-----\n",
                                f.read(), re.S)
        copy = os.path.join(harness.make_temp_dir("pubcopy"), "audit.pub")
        with open(copy, "w") as f:
            f.write("".join(reversed(blocks)))
        r = subprocess.run([srv.tool_bin, "audit", "verify", srv.dir, "--pubkey", copy],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        run.check(r.returncode == 0 and "OK" in r.stdout.decode(),
                  "verify --pubkey with the keys newest first", r.stdout.decode()[-500:])

    with run.case("backup tools"):
        a = srv.raw()
        rep = val(a.call("PHI.BACKUP"))
        a.close()
        run.require(isinstance(rep, list) and "path" in rep, "PHI.BACKUP", rep)
        bpath = rep[rep.index("path") + 1]
        srv.backup_path = bpath
        # Beside the running server: the record goes through its inbox.
        r = subprocess.run([srv.tool_bin, "backup", "verify", bpath, "--from", srv.dir],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
        run.check(r.returncode == 0, "phidb backup verify", r.stdout.decode()[-300:])
        inbox = os.path.join(srv.dir, "data", "audit", "inbox")
        harness.wait_until(lambda: not [f for f in os.listdir(inbox) if f.endswith(".json")],
                           timeout=30, what="the server takes the tool's record")

    srv.stop()
    with run.case("drill offline"):
        r = subprocess.run([srv.tool_bin, "restore", "--drill", srv.backup_path, "--from",
                            srv.dir], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=600)
        run.check(r.returncode == 0, "phidb restore --drill", r.stdout.decode()[-400:])
    recs = records(srv)

    with run.case("records"):
        bad = [r for r in find(recs, ev="auth", user="nina", res="denied")]
        run.check(bad and all(r.get("role") == "nurse" for r in bad),
                  "a failed AUTH as nina on doc's session has nina's role", bad[-1:])
        run.check(find(recs, ev="logout", user="doc", action="switch"),
                  "switching the session to another user logs the previous one out")
        # --from and --to given to the same minute cover that minute.
        last = [r for r in recs if r.get("ev") == "access"][-1]
        minute = last["ts"][:16]
        out = subprocess.run([srv.tool_bin, "audit", "export", srv.dir, "--from", minute,
                              "--to", minute], stdout=subprocess.PIPE, timeout=120).stdout
        run.check(f'"seq":{last["seq"]},'.encode() in out,
                  f"export --from {minute} --to {minute} includes a record of that minute")
        run.check(find(recs, ev="access", user="doc", res="denied", cmd="acl|setuser"),
                  "the refused ACL SETUSER of a user without the right is a denied record")
        tried = find(recs, ev="acl", action="setuser", res="failed", user="admin")
        run.check(len(tried) == 2 and all(r.get("detail", {}).get("name") == "tryuser"
                                          for r in tried),
                  "two failed ACL SETUSER attempts, naming the user", tried)
        run.check(any(">***" in r.get("reason", "") for r in tried) and
                  any("Syntax error" in r.get("reason", "") for r in tried),
                  "with their errors (the password masked)", tried)
        for ev, action in (("config", "set"), ("keyrotate", "rotate"), ("backup", "backup")):
            got = find(recs, ev=ev, action=action, res="failed", user="admin")
            run.check(got and got[-1].get("reason"), f"a failed {ev} attempt with its error",
                      got[-1:])
        run.check(find(recs, ev="auth", user="ghost-during-outage"),
                  "a failed login while the trail could not write was recorded after it recovered")
        subj = [(r.get("cmd"), r.get("subject")) for r in recs if r.get("ev") == "access" and
                r.get("key") == "patient:1002" and r.get("user") == "admin" and
                r.get("cmd") in ("hset", "hsetnx", "hgetall")]
        run.eq(subj[-7:], [("hset", "P1002"), ("hset", "X-DECOY"), ("hgetall", "X-DECOY"),
                           ("hset", "X-DECOY"), ("hset", "P1002"), ("hset", "P1002"),
                           ("hsetnx", "P1002")], "subjects of the writes that change them")
        inc = [(r.get("cmd"), r.get("subject")) for r in recs if r.get("ev") == "access" and
               r.get("key") == "patient:1077" and r.get("user") == "admin"]
        run.eq(inc, [("hset", "1077"), ("hincrby", "1077"), ("hincrby", "1078"),
                     ("hincrbyfloat", "1078"), ("hincrbyfloat", "1078.5")],
               "HINCRBY and HINCRBYFLOAT of the subject field name the new subject too")
        run.check(not [r for r in recs if r.get("subject") in ("DECOY2", "DECOY3")],
                  "no record names a subject that was never stored")
        rv = [r for r in find(recs, ev="breakglass", action="revoke")
              if r.get("emergency") == getattr(srv, "orphan_grant", None)]
        run.check(rv and rv[0].get("user") == "admin" and rv[0].get("reason") == "user-deleted"
                  and rv[0].get("detail", {}).get("holder") == "nurse9",
                  "a deleted user's grant: revoked on record by the admin, holder in detail", rv)
        nar = find(recs, ev="access", user="narrow", res="denied", key="patient:1001")
        run.check(nar and nar[0].get("reason") == "acl", "an ACL refusal in MULTI is recorded",
                  nar[:1])
        many = {r.get("key") for r in find(recs, ev="access", cmd="exists", user="admin")}
        run.eq(len(many & {f"patient:m{i}" for i in range(100)}), 100,
               "a command on 100 record keys: a record for each key")
        run.check(len(find(recs, ev="start")) >= 2 and len(find(recs, ev="stop")) >= 2,
                  "start and stop records")
        g = [r for r in find(recs, ev="access", res="granted", cmd="hget", user="doc")
             if r.get("key") == "patient:1001"]
        run.require(g, "the granted HGET is recorded")
        r = g[0]
        run.eq(r.get("role"), "physician", "role")
        run.eq(r.get("subject"), "P1001", "subject")
        run.eq(r.get("fields"), ["name"], "field names")
        run.eq(r.get("purpose"), "treatment", "purpose")
        run.check(r.get("addr", "").startswith("127.0.0.1:") and r.get("sess"), "client")
        dn = find(recs, ev="access", res="denied", cmd="hget", user="doc")
        run.check(dn and dn[0].get("fields") == ["balance"] and
                  dn[0].get("reason") == 'group "billing"',
                  "the denied HGET with its reason, naming the group as the reply does", dn[:1])
        en = find(recs, ev="access", cmd="hgetall", user="doc")
        run.check(en and en[0].get("purpose") == "operations" and "balance" not in
                  en[0].get("fields", []) and "name" in en[0].get("fields", []),
                  "an enumeration names the fields it showed", en[:1])
        # The subject the reply showed is the one recorded (taken from the reply's opening).
        run.check(en and en[0].get("subject") == "P1002", "an enumeration names its subject",
                  en[:1])
        cr = [r for r in find(recs, ev="access", cmd="hset", user="admin")
              if r.get("key") == "patient:1002"]
        run.check(cr and cr[0].get("subject") == "P1002",
                  "a write creating a record names its subject", cr[:1])
        w = find(recs, ev="access", cmd="hset", user="doc")
        run.check(w and w[0].get("fields") == ["diagnosis"], "a write", w[:1])
        bg = find(recs, ev="breakglass", action="grant", user="nina")
        run.check(bg and bg[0].get("subject") == "P1002" and "cardiac" in bg[0].get("reason", ""),
                  "break-glass grant with reason", bg[:1])
        em = [r for r in find(recs, ev="access", user="nina") if r.get("emergency")]
        run.check(em and em[0].get("subject") == "P1002", "emergency access marked", em[:1])
        run.check(all(r.get("purpose") == "emergency" for r in em),
                  "an access through break-glass has purpose emergency", em[:1])
        use = find(recs, ev="breakglass", action="use", user="nina")
        run.check(use and all(r.get("purpose") == "emergency" for r in use), "break-glass use",
                  use[:1])
        run.check(find(recs, ev="auth", res="denied", user="vic"), "failed login")
        run.check(find(recs, ev="lockout", user="vic", res="denied"), "lockout (res denied)")
        run.check(find(recs, ev="auth", res="granted", user="doc"), "login")
        run.check(find(recs, ev="auth", res="denied", user="doc", reason="subscriptions"),
                  "a login refused for the connection's subscriptions")
        run.check(find(recs, ev="logout", user="doc", action="quit"), "logout")
        cs = find(recs, ev="config")
        det = [json.loads(x["detail"]) if isinstance(x.get("detail"), str) else x.get("detail")
               for x in cs]
        run.check(any(x and x.get("name") == "timeout" and x.get("old") == "900" and
                      x.get("new") == "1234" for x in det), "CONFIG SET old and new", det)
        acl = find(recs, ev="acl", action="setuser")
        run.check(acl, "ACL change recorded")
        sets = find(recs, ev="config", action="set")
        run.check(sets and all(x.get("cmd") == "config|set" for x in sets),
                  "a CONFIG SET record's command is config|set (not set, the data command)",
                  sets[:2])
        run.check(all(x.get("cmd") == "acl|setuser" for x in acl), "ACL SETUSER: acl|setuser",
                  acl[:2])
        gone = find(recs, ev="logout", action="disconnect")
        run.check(gone and not any("cmd" in x for x in gone),
                  "a logout by disconnect names no command (not the session's last one)",
                  gone[:2])
        run.check(all(x.get("cmd") == "quit" for x in find(recs, ev="logout", action="quit")),
                  "a logout by QUIT names quit")
        run.check(find(recs, ev="policy", action="reload"), "policy reload")
        pr = find(recs, ev="policy", action="reload", res="granted")
        det = pr[0].get("detail", {}) if pr else {}
        run.check(isinstance(det, dict) and "schema patient:*" in str(det.get("old")) and
                  "schema patient:*" in str(det.get("new")),
                  "the policy record holds the policy before and after", det)
        run.check(find(recs, ev="keyrotate"), "key rotation")
        run.check(find(recs, ev="alert"), "alerts are records too")
        lk = [r for r in find(recs, ev="alert") if r.get("detail", {}).get("alert") == "lockout"]
        run.check(lk and lk[0].get("user") == "vic",
                  "an alert record names its user in the user field", lk[:1])
        run.check(find(recs, ev="access", cmd="get", key="plain:1"),
                  "unclassified access (audit-unclassified all)")
        text = json.dumps(recs)
        for secret in ("Alice Smith", "123-45-6789", PW, "wrong-password-123", "asthma",
                       "Short-pw-9", "Backup-pp-7"):
            run.check(secret not in text, f"no value or password in the records: {secret!r}")
        run.check(find(recs, ev="checkpoint"), "signed checkpoints")
        run.check(find(recs, ev="backup", res="granted", user="admin"), "PHI.BACKUP recorded")
        v = find(recs, ev="backup", action="verify")
        run.check(v and "phidb backup verify" in v[0].get("user", ""),
                  "the verify beside the running server (inbox)", v[:1])
        again = records(srv)
        ex = find(again, ev="export")
        run.check(ex and "phidb audit export" in ex[-1].get("user", ""),
                  "an export of the trail is recorded in it", ex[-1:])
        dr = find(recs, ev="restore", action="drill")
        run.check(dr and dr[0].get("res") == "granted", "the offline drill (direct)", dr[:1])
        long = [r for r in find(recs, ev="access", cmd="set") if r.get("key", "").startswith("LLL")]
        run.check(long and len(long[0]["key"]) == 1024 and
                  long[0].get("detail", {}).get("key_length") == 17 << 20,
                  "a long key name is cut in its record, with its length",
                  [len(x.get("key", "")) for x in long])

    with run.case("verify and raw files"):
        r = subprocess.run([srv.tool_bin, "audit", "verify", srv.dir], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
        out = r.stdout.decode()
        run.check(r.returncode == 0 and "OK" in out, "phidb audit verify: OK", out[-500:])
        blob = b""
        for p in glob.glob(os.path.join(srv.dir, "data", "audit", "*")):
            if os.path.isdir(p):
                continue
            with open(p, "rb") as f:
                blob += f.read()
        for marker in (b"patient:1001", b"P1001", b"Alice", b"doc"):
            run.check(marker not in blob, f"no plaintext {marker!r} in the audit files")
        rep = subprocess.run([srv.tool_bin, "audit", "accounting", srv.dir, "--subject", "P1002",
                              "--all", "--format", "json"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=300)
        run.check(rep.returncode == 0 and b"nina" in rep.stdout,
                  "accounting of disclosures lists the emergency access", rep.stdout[-400:])
        # Without --all too: an emergency access is not treatment, payment or operations.
        rep = subprocess.run([srv.tool_bin, "audit", "accounting", srv.dir, "--subject", "P1002",
                              "--format", "json"], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, timeout=300)
        run.check(rep.returncode == 0 and b"nina" in rep.stdout,
                  "... also without --all", rep.stdout[-400:])


def syslog_sink(run):
    """The server's records reach a real rsyslogd (TLS); with the sink required, losing it
    fails closed, and service resumes when it is back."""
    from test_audit import Rsyslog
    srv = harness.PhidbServer()
    tls = os.path.join(srv.dir, "tls")
    root = harness.make_temp_dir("rsyslog")
    rs = Rsyslog(root, tls)
    srv.stop()
    srv.extra = [("audit-syslog-host", "127.0.0.1"), ("audit-syslog-port", str(rs.port)),
                 ("audit-syslog-ca", os.path.join(tls, "ca.crt")),
                 ("audit-required-sinks", "syslog")]
    srv.restart()
    c = srv.raw()
    run.eq(val(c.call("SET", "sink:1", "v")), "OK", "a write with the SIEM up")
    harness.wait_until(lambda: any('"set"' in l for l in rs.lines()), timeout=30,
                       what="rsyslogd receives the server's records")
    run.check(not any("sink:1" in l for l in rs.lines()),
              "key names are left out of syslog (redacted by default)")
    # The sink thread counts a batch once SSL_write has returned, which can be after
    # rsyslogd has already written its lines: wait for the count, do not race it.
    try:
        harness.wait_until(lambda: int(info_audit(c).get("audit_sink_sent", 0)) > 0,
                           timeout=30, what="INFO audit_sink_sent to count the records")
    except TimeoutError:
        pass  # reported by the check below
    inf = info_audit(c)
    run.check(inf.get("audit_sink") == "syslog" and inf.get("audit_sink_connected") == "1"
              and int(inf.get("audit_sink_sent", 0)) > 0 and inf.get("audit_healthy") == "1",
              "INFO audit: the sink connected and sending", inf)
    port = rs.port
    rs.stop()
    refused = None
    for _ in range(300):
        r = val(c.call("GET", "sink:1"))
        if isinstance(r, tuple) and r[1].startswith("AUDITFAIL"):
            refused = r
            break
        time.sleep(0.1)
    run.check(refused is not None, "the required sink down: fail closed", refused)
    inf = info_audit(c)
    run.check(inf.get("audit_healthy") == "0" and "syslog" in inf.get("audit_error", ""),
              "INFO audit says why", inf)
    real_free_port = harness.free_port
    harness.free_port = lambda: port
    try:
        rs = Rsyslog(harness.make_temp_dir("rsyslog"), tls)
    finally:
        harness.free_port = real_free_port
    harness.wait_until(lambda: val(c.call("GET", "sink:1")) == "v", timeout=60,
                       what="service resumes when the SIEM is back")
    c.close()
    # Not required: the trail stays healthy when the SIEM goes away, but its copy has a gap,
    # which is an audit-failure alert (component syslog) once it lasts 10 s.
    srv.stop()
    srv.extra = [x for x in srv.extra if x[0] != "audit-required-sinks"]
    srv.restart()
    c = srv.raw()
    sub = srv.raw()
    sub.call("SUBSCRIBE", "__phidb:alerts")
    rs.stop()
    got = None
    deadline = time.time() + 40
    while time.time() < deadline and got is None:
        try:
            m = sub.read_reply(timeout=2)
        except Exception:
            continue
        if m and b"audit-failure" in repr(m).encode() and b"syslog" in repr(m).encode():
            got = m
    run.check(got is not None, "a SIEM that is not required going away raises an alert")
    run.eq(val(c.call("SET", "sink:2", "v")), "OK", "while the trail itself stays healthy")
    sub.close()
    c.close()
    srv.stop()
    recs = records(srv)
    run.check([r for r in find(recs, ev="alert") if "syslog" in json.dumps(r)],
              "the alert is an audit record too")


def fsync_always(run):
    """audit-fsync always: each reply waits for its record to be on disk, and comes."""
    srv = harness.PhidbServer(extra={"audit-fsync": "always"})
    c = srv.raw()
    for i in range(50):
        run.eq(val(c.call("SET", f"fs:{i}", "v")), "OK", f"write {i}")
    c.send(b"".join(harness.encode_command("GET", f"fs:{i}") for i in range(50)))
    got = [val(c.read_reply()) for _ in range(50)]
    run.eq(got, ["v"] * 50, "a pipeline of 50 reads, each recorded before its reply")
    inf = info_audit(c)
    run.check(inf.get("audit_enabled") == "1" and inf.get("audit_fsync") == "always" and
              inf.get("audit_sink") == "none" and
              int(inf.get("audit_written_seq", 0)) >= 100 and
              int(inf.get("audit_last_seq", 0)) >= int(inf.get("audit_written_seq", 0)),
              "INFO audit", inf)
    # A reply waiting for its record when the trail cannot write (here a file size limit)
    # does not hang: it is dropped for -AUDITFAIL and the connection is closed.
    w = srv.raw()
    subprocess.run(["prlimit", f"--pid={srv.proc.pid}", "--fsize=1:unlimited"], check=True)
    got = []
    for i in range(20):
        try:
            r = w.call("GET", "fs:1", timeout=15)
        except Exception as e:
            got.append(("no reply", str(e)))
            break
        got.append(r)
        if r[0] == "-":
            break
    last = got[-1] if got else None
    run.check(last is not None and last[0] == "-" and last[1].startswith(b"AUDITFAIL"),
              "with the trail unable to write, a waiting read gets -AUDITFAIL", got[-3:])
    run.check(isinstance(last[1], bytes) and
              (w.is_closed(timeout=10) or not last[1].endswith(b"closed")),
              "and is closed when its waiting replies were dropped", last)
    w.close()
    subprocess.run(["prlimit", f"--pid={srv.proc.pid}", "--fsize=unlimited:unlimited"],
                   check=True)
    harness.wait_until(lambda: val(c.call("GET", "fs:2")) == "v", timeout=30,
                       what="service resumes when the disk recovers")
    c.close()
    srv.kill9()
    recs = records(srv)
    run.check({r.get("key") for r in find(recs, ev="access", cmd="get") if r.get("res") ==
               "granted"} >= {f"fs:{i}" for i in range(50)},
              "every acknowledged read is in the trail after kill -9")


def prune_online(run):
    """`phidb audit prune` beside the running server goes through PHI.AUDIT PRUNE: the
    server records the prune in its own trail, then removes the segments past
    audit-retention-days (here an old one, written before the first start by audit_probe
    under libfaketime, three days back); the trail still verifies; --now is refused while
    the server runs; a user without the command is refused. The server is started with
    --port other than phidb.conf's: the tool finds it through the lock file."""
    probe = os.path.join(harness.build_dir(), "audit_probe")

    def old_segment(s):
        env = dict(os.environ, FAKETIME_DONT_FAKE_MONOTONIC="1",
                   ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
        r = subprocess.run(["faketime", "-m", "-f", "-3d", probe, s.conf, "20"], env=env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
        if r.returncode != 0:
            raise RuntimeError("audit_probe under faketime: " + r.stdout.decode())
        s.port = harness.free_port()  # phidb.conf keeps the port `phidb init` gave it
        s.extra.append(("port", s.port))

    srv = harness.PhidbServer(extra={"audit-retention-days": "1"}, before_start=old_segment)
    adir = os.path.join(srv.dir, "data", "audit")

    def segments():
        return sorted(n for n in os.listdir(adir) if n.endswith(".seg"))

    before = segments()
    run.require(len(before) == 2, "an old segment and the server's", before)

    def tool(*args):
        r = subprocess.run([srv.tool_bin, "audit", *args], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=300)
        return r.returncode, r.stdout.decode()

    rc, out = tool("prune", srv.dir, "--now", "2100-01-01")
    run.check(rc == 1 and "--now needs the server stopped" in out, "--now refused online", out)
    run.eq(segments(), before, "and nothing removed")
    c = srv.raw()
    run.eq(val(c.call("ACL", "SETUSER", "ops", "on", ">ops-password-123", "+@all",
                      "-@dangerous")), "OK", "a user without dangerous commands")
    o = srv.raw(auth=False)
    run.eq(val(o.call("AUTH", "ops", "ops-password-123")), "OK", "ops logs in")
    r = o.call("PHI.AUDIT", "PRUNE")
    run.check(r[0] == "-" and b"NOPERM" in r[1], "PHI.AUDIT PRUNE needs the permission", r)
    o.close()
    # A reader of the trail holds audit.lock: the prune is refused, and the refusal recorded.
    import fcntl
    with open(os.path.join(adir, "audit.lock"), "a+") as lk:
        fcntl.flock(lk, fcntl.LOCK_SH)
        r = c.call("PHI.AUDIT", "PRUNE")
        fcntl.flock(lk, fcntl.LOCK_UN)
    run.check(r[0] == "-" and b"a reader of the trail" in r[1], "refused while a reader runs",
              r)
    run.eq(segments(), before, "and nothing removed")
    run.eq(segments(), before, "nothing removed by the refused command")
    rc, out = tool("prune", srv.dir)
    run.check(rc == 0 and out.startswith("removed 1 segment older than 1 days (the prune is "
                                         "recorded"), "the tool prunes through the server", out)
    run.eq(segments(), before[1:], "the old segment is gone, the server's stays")
    rep = val(c.call("PHI.AUDIT", "PRUNE"))
    run.eq(rep, ["removed", 0, "retention_days", 1], "again: nothing left to remove")
    # A client that leaves while its prune runs on the worker (its connection is torn down
    # while the job holds it): the server carries on.
    for _ in range(5):
        z = srv.raw()
        z.send(harness.encode_command("PHI.AUDIT", "PRUNE"))
        z.close()
    run.eq(val(c.call("SET", "after:prune", "v")), "OK", "the server goes on")
    c.close()
    rc, out = tool("verify", srv.dir)
    run.check(rc == 0 and out.startswith("OK") and "pruned after retention" in out,
              "the trail verifies beside the server, the prune accounted for", out)
    recs = records(srv)
    failed = find(recs, ev="prune", res="failed")
    run.check(len(failed) == 1 and "a reader of the trail" in failed[0].get("reason", ""),
              "the refused prune is recorded with its reason", failed)
    pr = find(recs, ev="prune", res="granted")
    run.check(len(pr) == 1 and pr[0].get("user") == "admin" and pr[0].get("cmd") == "phi.audit"
              and pr[0].get("addr", "").startswith("127.0.0.1:")
              and pr[0].get("detail", {}).get("removed") == 1
              and pr[0]["detail"].get("through_seq", 0) >= 20,
              "the prune record: who, from where, what", pr)
    # Records are written within 20 ms of their command (audit-fsync everysec).
    harness.wait_until(lambda: find(records(srv), ev="access", cmd="set", key="after:prune"),
                       timeout=30, what="the records after the prune")
    srv.stop()
    rc, out = tool("verify", srv.dir)
    run.check(rc == 0 and out.startswith("OK"), "and after a stop", out)


def all_cases(run):
    body(run)
    if harness.env_target() == "phidb":
        with run.case("fsync always"):
            fsync_always(run)
        with run.case("syslog sink"):
            syslog_sink(run)
        with run.case("prune beside the running server"):
            prune_online(run)


if __name__ == "__main__":
    harness.main(all_cases)
