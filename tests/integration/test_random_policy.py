"""Random commands from users of every role against records under a policy: no reply ever
shows a user a value the policy keeps from them, and the server neither crashes nor reports
a sanitizer error (the ASan/UBSan build runs this file too).

Seven users (physician, nurse, billing, research with the de-identified view, a patient
with scope=self, registrar, and admin) send random hash, key, string, transaction,
break-glass, purpose and PHI commands with edge-value arguments, each on its own
connection, one command at a time. Every so often admin rewrites a record with values that
carry a marker naming their field group and a serial number ("DXMARK17" in a diagnosis).
Every reply (errors included) is searched for markers:
- a marker of a group the user's role does not read is a leak, unless the user holds a
  break-glass grant for the subject the marked record has now;
- the patient reads only records whose subject is their own (the record's subject is looked
  up when a marker shows up; the script follows RENAMEs, in transactions too, to know
  which records a marker may be in);
- the research role sees no name, SSN, exact date of birth, full ZIP, the note's
  identifiers, or real record key names (only pseudonyms).
Every 150 commands PHI.POLICY RELOAD gives the nurse the diagnosis group or takes it back,
and the checks follow the policy of the moment. And a command answered with an error (NOPERM, a dlp refusal, a syntax error ...) outside a
transaction changes nothing that admin can see of the keys in play; the server log holds
no value, subject or key name; with dlp-mode block (the default seed; seeds cycle through
block, warn, off) PHI.SCAN finds no PHI in key names or outside the fields declared as PHI.

    PHIDB_POLICY_COMMANDS=50000 PHIDB_POLICY_SEED=7 /usr/bin/python3 tests/integration/test_random_policy.py

Found so far: SCAN/HSCAN with COUNT near 2^63 (a signed overflow) and an empty note in the
de-identified view (a copy from a null pointer), both stopped by UBSan.
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import os
import random
import re

import harness

PW = "random-policy-password-4711"

POLICY = """\
schema patient:* type=patient subject=id
field patient id        group=demographics phi=mrn
field patient name      group=demographics phi=name
field patient ssn       group=demographics phi=ssn index=blind
field patient dob       group=demographics phi=date
field patient zip       group=demographics phi=zip
field patient diagnosis group=diagnosis
field patient pulse     group=vitals
field patient notes     group=notes phi=text
field patient balance   group=billing
schema lab:* type=lab subject=patient strict
field lab patient group=labs phi=mrn
field lab result  group=labs
role physician read=demographics,diagnosis,vitals,labs,notes write=diagnosis,notes,labs breakglass=yes
role nurse     read=demographics,vitals write=vitals,notes breakglass=yes
role billing   read=demographics,billing write=billing
role research  read=* view=deidentified purpose=research
role patient   read=demographics,vitals scope=self
role registrar read=* write=* delete=* purpose=*
"""

USERS = {"doc": "physician", "nina": "nurse", "bill": "billing", "res": "research",
         "pat": "patient", "reg": "registrar", "admin": "registrar"}
ALL = {"demographics", "diagnosis", "vitals", "labs", "notes", "billing"}
READS = {"physician": {"demographics", "diagnosis", "vitals", "labs", "notes"},
         "nurse": {"demographics", "vitals"}, "billing": {"demographics", "billing"},
         "research": ALL, "patient": {"demographics", "vitals"}, "registrar": ALL}
GROUP = {b"NAME": "demographics", b"DX": "diagnosis", b"VIT": "vitals", b"NOTE": "notes",
         b"BILL": "billing", b"LAB": "labs"}
MARK = re.compile(rb"(NAME|DX|VIT|NOTE|BILL|LAB)MARK(\d+)")
SELF = b"P1001"
SUBJECTS = [b"P1001", b"P1001", b"P1002", b"P1003", b"P1004"]
RECORDS = [b"patient:1", b"patient:2", b"patient:3", b"patient:19", b"lab:1", b"lab:2"]
# What the de-identified view must never show (the values admin writes, below).
DEID_NEVER = [b"Carter", b"617-555-0199", b"123-45-6789", b"1950-03-14", b"02139", b"NAMEMARK"]
REAL_NAME = re.compile(rb"\b(patient|lab):[0-9]")
PSEUDONYM = re.compile(rb"(?:patient|lab):~[a-z2-7]{16}")

FIELDS = [b"id", b"name", b"ssn", b"dob", b"zip", b"diagnosis", b"pulse", b"notes", b"balance",
          b"patient", b"result", b"undeclared", b"", b"*"]
VALS = [b"", b"0", b"-1", b"9223372036854775807", b"1e308", b"nan", b"\x00", b"\xff\xfe",
        b"x" * 3000, b"P1001", b"P1002", b"1960-01-01", b"90210", b"120",
        b"Seen by Dr. Ann Lee at Mass General, 55 Fruit St, Boston MA 02114, 212-555-0100"]
WORDS = [b"treatment", b"research", b"emergency", b"payment", b"legal", b"operations", b"LIST",
         b"REVOKE", b"SHOW", b"RELOAD", b"STATUS", b"x"]


def shapes(rnd, key):
    f = lambda: rnd.choice(FIELDS)  # noqa: E731
    v = lambda: rnd.choice(VALS)  # noqa: E731
    n = lambda: rnd.choice([b"0", b"1", b"-1", b"5", b"100", b"-0", b"1.5",  # noqa: E731
                            b"9223372036854775807"])
    fv = lambda: [x for _ in range(rnd.randint(1, 3)) for x in (f(), v())]  # noqa: E731
    return {
        "HGET": lambda: [key(), f()], "HMGET": lambda: [key()] + [f() for _ in range(4)],
        "HGETALL": lambda: [key()], "HSET": lambda: [key()] + fv(), "HMSET": lambda: [key()] + fv(),
        "HSETNX": lambda: [key(), f(), v()], "HDEL": lambda: [key(), f()],
        "HKEYS": lambda: [key()], "HVALS": lambda: [key()], "HLEN": lambda: [key()],
        "HSTRLEN": lambda: [key(), f()], "HEXISTS": lambda: [key(), f()],
        "HINCRBY": lambda: [key(), f(), n()], "HINCRBYFLOAT": lambda: [key(), f(), n()],
        "HSCAN": lambda: [key(), b"0"] + rnd.choice([[], [b"MATCH", b"n*"], [b"COUNT", n()],
                                                     [b"NOVALUES"]]),
        "HRANDFIELD": lambda: [key()] + rnd.choice([[], [n()], [n(), b"WITHVALUES"]]),
        "DEL": lambda: [key()], "UNLINK": lambda: [key()], "RENAME": lambda: [key(), key()],
        "RENAMENX": lambda: [key(), key()], "EXPIRE": lambda: [key(), rnd.choice([b"100", b"0"])],
        "PERSIST": lambda: [key()], "TTL": lambda: [key()], "TYPE": lambda: [key()],
        "EXISTS": lambda: [key(), key()], "GET": lambda: [key()], "SET": lambda: [key(), v()],
        "MGET": lambda: [key(), key()], "APPEND": lambda: [key(), v()],
        "GETRANGE": lambda: [key(), b"0", b"-1"], "GETDEL": lambda: [key()],
        "SCAN": lambda: [b"0"] + rnd.choice([[], [b"MATCH", b"patient:*"], [b"TYPE", b"hash"],
                                             [b"COUNT", b"1000"]]),
        "PHI.PURPOSE": lambda: rnd.choice([[], [rnd.choice(WORDS)]]),
        "PHI.BREAKGLASS": lambda: rnd.choice([[rnd.choice(SUBJECTS), b"patient", b"collapsed",
                                               b"in", b"the", b"ER"], [b"LIST"]]),
        "PHI.FIND": lambda: [b"patient", b"ssn", rnd.choice([b"123-45-6789", b"000-00-0000"])],
        "PHI.REDACT": lambda: [v()], "PHI.POLICY": lambda: [b"SHOW"],
        "MULTI": lambda: [], "EXEC": lambda: [], "DISCARD": lambda: [], "WATCH": lambda: [key()],
        "HELLO": lambda: [rnd.choice([b"3", b"2"])], "PING": lambda: [],
    }


def strings(r):
    """Every byte string in a parsed reply (nested arrays, maps, errors)."""
    if isinstance(r, (bytes, bytearray)):
        yield r
    elif isinstance(r, (tuple, list)):
        for x in r:
            yield from strings(x)


class Checker:
    def __init__(self, admin):
        self.admin = admin
        self.loc = {}  # marker serial -> record keys its values may be in now
        self.glass = {u: set() for u in USERS}  # user -> subjects of their grants
        self.serial = 0
        self.leaks = []
        self.reads = {role: set(groups) for role, groups in READS.items()}  # policy now

    def write_record(self, rnd):
        key = rnd.choice(RECORDS)
        self.serial += 1
        s = str(self.serial).encode()
        subject = rnd.choice(SUBJECTS)
        if key.startswith(b"patient:"):
            args = [b"id", subject, b"name", b"Alice NAMEMARK" + s + b" Smith",
                    b"ssn", b"123-45-6789", b"dob", b"1950-03-14", b"zip", b"02139",
                    b"diagnosis", b"hypertension DXMARK" + s, b"pulse", b"VITMARK" + s + b" 72",
                    b"notes", b"NOTEMARK" + s + b": seen by Dr. John Carter, call 617-555-0199",
                    b"balance", b"BILLMARK" + s]
        else:
            args = [b"patient", subject, b"result", b"LABMARK" + s + b" normal"]
        r = self.admin.call("HSET", key, *args)
        assert r[0] == ":", r
        self.loc[self.serial] = {key}

    def subject(self, key):
        field = b"id" if key.startswith(b"patient:") else b"patient"
        r = self.admin.call("HGET", key, field)
        return r[1] if r[0] == "$" else None

    def renamed(self, src, dst):
        if src == dst:
            return
        for keys in self.loc.values():
            keys.discard(dst)  # RENAME replaces the destination
            if src in keys:
                keys.discard(src)
                keys.add(dst)

    def applied(self, args, reply):
        """Follow what a command did that the checks depend on."""
        name = args[0].upper()
        ok = reply[0] != "-"
        if name == b"RENAME" and reply == ("+", b"OK"):
            self.renamed(args[1], args[2])
        elif name == b"RENAMENX" and reply == (":", 1):
            self.renamed(args[1], args[2])
        elif name == b"PHI.BREAKGLASS" and ok and args[1:2] != [b"LIST"] and reply[0] == "*":
            return "grant"
        return None

    def check(self, user, args, reply):
        role = USERS[user]
        where = f"{user} ({role}): {harness.show(args, 120)} -> {harness.show(reply, 300)}"
        texts = list(strings(reply))
        for t in texts:
            for m in MARK.finditer(t):
                group, serial = GROUP[m.group(1)], int(m.group(2))
                if role == "research" and m.group(1) == b"NAME":
                    self.leaks.append(f"de-identified view shows a name: {where}")
                    continue
                if group in self.reads[role] and role != "patient":
                    continue
                keys = self.loc.get(serial, set())
                subjects = {self.subject(k) for k in keys}
                if role == "patient" and group in self.reads[role] and SELF in subjects:
                    continue
                if subjects & self.glass[user]:
                    continue  # a break-glass grant for this record's subject
                self.leaks.append(f"{m.group(0).decode()} (group {group}, records "
                                  f"{sorted(keys)} of subjects {sorted(map(str, subjects))}) "
                                  f"shown to {where}")
        if role == "research":
            for t in texts:
                for bad in DEID_NEVER:
                    if bad in t:
                        self.leaks.append(f"de-identified view shows {bad!r}: {where}")
                if reply[0] != "-" and REAL_NAME.search(t):
                    self.leaks.append(f"de-identified view shows a real key name: {where}")


# Fields declared as PHI (phi=...): dlp-mode lets PHI be written there and nowhere else.
PHI_FIELDS = {b"patient": {b"id", b"name", b"ssn", b"dob", b"zip", b"notes"},
              b"lab": {b"patient"}}


def phi_outside_phi_fields(admin):
    """Key names, and values and field names outside PHI fields, in which PHI.SCAN finds
    something at dlp-min-score or above."""
    min_score = int(admin.call("CONFIG", "GET", "dlp-min-score")[1][1][1]) / 100

    def phi(text):
        r = admin.call("PHI.SCAN", text)
        return r[0] == "*" and any(
            float(dict(zip(e[1][0::2], e[1][1::2]))[("$", b"score")][1]) >= min_score
            for e in r[1])

    found, cur = [], b"0"
    while True:
        r = admin.call("SCAN", cur, "COUNT", "1000")
        cur = r[1][0][1]
        for item in r[1][1][1]:
            key = item[1]
            t = admin.call("TYPE", key)[1]
            if phi(key):
                found.append(("key name", key))
            if t == b"string":
                v = admin.call("GET", key)[1]
                if v and phi(v):
                    found.append(("value", key, v[:60]))
            elif t == b"hash":
                x = admin.call("HGETALL", key)[1]
                kind = key.split(b":")[0] if key.startswith((b"patient:", b"lab:")) else None
                for f, v in ((a[1], b[1]) for a, b in zip(x[0::2], x[1::2])):
                    if f in PHI_FIELDS.get(kind, ()):
                        continue
                    if phi(f) or (v and phi(v)):
                        found.append(("field", key, f, v[:60]))
        if cur == b"0":
            return found


def start_clinic(run, extra=()):
    """A server with POLICY and a user of each role; returns it and admin's connection."""
    srv = harness.PhidbServer()
    srv.use_policy(POLICY, extra)
    admin = srv.raw()
    run.eq(admin.call("ACL", "SETUSER", "admin", "role=registrar", "+phi.breakglass|list"),
           ("+", b"OK"), "admin gets the registrar role")
    for u, role in USERS.items():
        if u == "admin":
            continue
        extra = ["subject=P1001", "~patient:*"] if role == "patient" else ["~*"]
        run.eq(admin.call("ACL", "SETUSER", u, "on", ">" + PW, "+@all", "-@dangerous",
                          "role=" + role, *extra), ("+", b"OK"), f"user {u} ({role})")
    return srv, admin


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    count = int(os.environ.get("PHIDB_POLICY_COMMANDS", "4000"))
    seed = int(os.environ.get("PHIDB_POLICY_SEED", "1"))
    rnd = random.Random(seed)
    dlp = ("block", "warn", "off")[(seed - 1) % 3]  # the default seed: block
    srv, admin = start_clinic(run, [("dlp-mode", dlp)])
    chk = Checker(admin)
    for _ in range(12):
        chk.write_record(rnd)
    pseudonyms = []
    conns, queued = {}, {}

    def conn(u):
        if u not in conns:
            conns[u] = srv.raw() if u == "admin" else srv.raw(u, PW)
            queued[u] = None
        return conns[u]

    def key_for(u):
        if USERS[u] == "research" and pseudonyms and rnd.random() < 0.7:
            return lambda: rnd.choice(pseudonyms)
        return lambda: rnd.choice(RECORDS + [b"other", b"patient:7", b"lab:"])

    users = sorted(USERS)
    changed = []  # errors after which the data was not as before
    watched = RECORDS + [b"other", b"patient:7", b"lab:"]

    def state():
        """What admin sees of the keys the commands use: type, value or fields, expiry."""
        out = {}
        for k in watched:
            t = admin.call("TYPE", k)[1]
            if t == b"hash":
                x = admin.call("HGETALL", k)[1]
                out[k] = (t, sorted((a[1], b[1]) for a, b in zip(x[0::2], x[1::2])))
            elif t == b"string":
                out[k] = (t, admin.call("GET", k)[1])
            if t != b"none":
                out[k] += (admin.call("PTTL", k)[1] > 0,)
        return out

    # Every 150 commands the policy is reloaded, giving the nurse diagnosis or taking it
    # back: open sessions (and transactions queued before) follow the policy of the moment.
    wider = POLICY.replace("role nurse     read=demographics,vitals ",
                           "role nurse     read=demographics,vitals,diagnosis ")
    run.check(wider != POLICY, "a wider policy for the reloads")
    reloads = 0
    for n in range(count):
        if n % 50 == 0:
            chk.write_record(rnd)
        if n % 150 == 75:
            widen = reloads % 2 == 0
            with open(os.path.join(srv.dir, "policy.conf"), "w") as f:
                f.write(wider if widen else POLICY)
            run.require(admin.call("PHI.POLICY", "RELOAD") == ("+", b"OK"), "PHI.POLICY RELOAD")
            reloads += 1
            if widen:
                chk.reads["nurse"].add("diagnosis")
            else:
                chk.reads["nurse"].discard("diagnosis")
        u = rnd.choice(users)
        table = shapes(rnd, key_for(u))
        name = rnd.choice(sorted(table))
        args = [name.encode()] + table[name]()
        c = conn(u)
        before = state()
        try:
            reply = c.call(*args, timeout=60)
        except harness.ConnectionClosed:
            run.require(srv.running(), f"the server is running after {harness.show(args)}",
                        srv.log_tail(30))
            conns.pop(u)
            continue
        chk.check(u, args, reply)
        if reply[0] == "-" and queued[u] is None and args[0].upper() != b"EXEC":
            after = state()
            if after != before:
                changed.append(f"{u}: {harness.show(args, 120)} -> {harness.show(reply, 120)}: "
                               f"{sorted(k for k in after if after[k] != before.get(k))}")
        if USERS[u] == "research":
            for t in strings(reply):
                for p in PSEUDONYM.findall(t):
                    if p not in pseudonyms:
                        pseudonyms.append(p)
        up = args[0].upper()
        if up == b"MULTI" and reply == ("+", b"OK"):
            queued[u] = []
        elif queued[u] is not None and up not in (b"EXEC", b"DISCARD", b"WATCH", b"MULTI"):
            if reply == ("+", b"QUEUED"):
                queued[u].append(args)
        elif up in (b"EXEC", b"DISCARD"):
            if up == b"EXEC" and queued[u] is not None and reply[0] in ("*",) and reply[1]:
                for a, r in zip(queued[u], reply[1]):
                    if chk.applied(a, r) == "grant":
                        chk.glass[u].add(a[1])
            queued[u] = None
        elif chk.applied(args, reply) == "grant":
            chk.glass[u].add(args[1])
    for c in conns.values():
        c.close()
    run.eq(changed[:5], [], "a command answered with an error changed nothing")
    if dlp == "block":
        found = phi_outside_phi_fields(admin)
        run.eq(found[:5], [], "dlp-mode block: no PHI in key names, undeclared fields or "
                              "fields not declared as PHI")
    run.check(not chk.leaks, f"no value shown against the policy in {count} random commands "
                             f"(seed {seed})", "\n".join(chk.leaks[:8]))
    run.check(len(pseudonyms) > 0, "the research user saw pseudonyms", str(len(pseudonyms)))
    run.log(f"{count} random commands (seed {seed}), {chk.serial} record writes, "
            f"{len(pseudonyms)} pseudonyms, "
            f"grants {sorted((u, sorted(s)) for u, s in chk.glass.items() if s)}")
    admin.close()
    log = srv.log_text()
    shown = [w for w in ("MARK", "Ann Lee", "Fruit St", "John Carter", "123-45-6789", "P1002",
                         "patient:1", "lab:1", "patient:~") if w in log]
    run.eq(shown, [], "the server log holds no value, subject or key name")
    srv.stop()  # raises on a non-zero exit or a sanitizer report


if __name__ == "__main__":
    harness.main(body)
