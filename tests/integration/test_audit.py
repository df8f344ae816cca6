"""The audit trail end to end, without a server (issue 5): a REAL rsyslog as the SIEM, the
`phidb audit` tools and `phidb breach-report` on a data directory made by `phidb init`.

- syslog sink: Debian's rsyslogd (imtcp with the ossl stream driver, TLS certificates
  generated here) receives every record exactly as written locally, framed by octet
  counting (RFC 5425), checkpoints marked; `redacted` sends no key names or subjects;
  a required sink whose certificate does not chain to the configured CA keeps the module
  unhealthy (nothing accepted); a sink that is down and not required does not stop
  local records;
- no key name or subject in plaintext in any file of the audit directory;
- the tools: verify (OK, then DAMAGED after a byte flip), report, export (jsonl, csv),
  tail, accounting, breach-report, prune; bad numeric options are refused; breach-report
  refuses --end before --start and malformed --states lines (naming the line).
The records come from build/audit_probe (tests/integration/audit_probe.c), which opens the
trail with the config's audit-* directives and appends N access records (patient:0..N-1).
phidb-only: skipped when PHIDB_TARGET=redis.
"""

import json
import os
import shutil
import signal
import subprocess
import time

import harness


def tool():
    return os.path.join(harness.build_dir(), "phidb")


def probe():
    return os.path.join(harness.build_dir(), "audit_probe")


class Rsyslog:
    """rsyslogd in the foreground on a free port, TLS (ossl), writing '%msgid% %msg%'."""

    def __init__(self, root, tls):
        self.root = root
        self.port = harness.free_port()
        self.out = os.path.join(root, "received.log")
        work = os.path.join(root, "work")
        os.makedirs(work, exist_ok=True)
        conf = os.path.join(root, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write(f'''global(workDirectory="{work}"
       DefaultNetstreamDriver="ossl"
       DefaultNetstreamDriverCAFile="{tls}/ca.crt"
       DefaultNetstreamDriverCertFile="{tls}/server.crt"
       DefaultNetstreamDriverKeyFile="{tls}/server.key"
       maxMessageSize="64k")
module(load="imtcp" StreamDriver.Name="ossl" StreamDriver.Mode="1"
       StreamDriver.AuthMode="anon")
input(type="imtcp" port="{self.port}")
template(name="raw" type="string" string="%msgid% %msg%\\n")
action(type="omfile" file="{self.out}" template="raw")
''')
        self.log = open(os.path.join(root, "rsyslogd.out"), "wb")
        self.proc = subprocess.Popen(
            ["rsyslogd", "-n", "-f", conf, "-i", os.path.join(root, "rsyslogd.pid")],
            stdout=self.log, stderr=subprocess.STDOUT, preexec_fn=harness._die_with_parent)
        harness.wait_until(self.listening, timeout=30, what="rsyslogd listening")

    def listening(self):
        import socket
        try:
            with socket.create_connection((harness.HOST, self.port), timeout=1):
                return True
        except OSError:
            if self.proc.poll() is not None:
                raise RuntimeError("rsyslogd exited: " + open(self.log.name).read())
            return False

    def lines(self):
        try:
            with open(self.out, encoding="utf-8") as f:
                return [l.rstrip("\n") for l in f]
        except FileNotFoundError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=30)
        self.log.close()


def new_dir(root, name, directives):
    d = os.path.join(root, name)
    r = subprocess.run([tool(), "init", d, "--port", str(harness.free_port())],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300)
    if r.returncode != 0:
        raise RuntimeError("phidb init failed: " + r.stdout.decode())
    with open(os.path.join(d, "phidb.conf"), "a") as f:
        for k, v in directives.items():
            f.write(f"{k} {v}\n")
    return d


def run_probe(d, n, wait_ms=10000):
    r = subprocess.run([probe(), os.path.join(d, "phidb.conf"), str(n), str(wait_ms)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("audit_probe failed: " + r.stderr.decode())
    return json.loads(r.stdout.decode().strip().splitlines()[-1])


def phidb(*args, ok=True):
    r = subprocess.run([tool(), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=300)
    out = r.stdout.decode("utf-8", "replace")
    if ok and r.returncode != 0:
        raise RuntimeError(f"phidb {' '.join(args)} -> {r.returncode}: {out}"
                           + r.stderr.decode("utf-8", "replace"))
    return r.returncode, out


def body(run):
    if harness.env_target() == "redis":
        run.log("skipped: phidb-only checks (PHIDB_TARGET=redis)")
        return
    for b in (tool(), probe()):
        run.require(os.access(b, os.X_OK), f"{b} is built")
    run.require(shutil.which("rsyslogd") is not None, "rsyslogd is installed (rsyslog)")
    root = harness.make_temp_dir("audit")
    tls = os.path.join(root, "tls")
    harness.make_certs(tls)
    other = os.path.join(root, "other-ca")
    harness.make_certs(other)
    rs = Rsyslog(root, tls)
    try:
        sink = {"audit-syslog-host": "127.0.0.1", "audit-syslog-port": rs.port,
                "audit-syslog-ca": os.path.join(tls, "ca.crt"),
                "audit-checkpoint-records": 50}

        with run.case("syslog sink: every record, exactly as written"):
            d = new_dir(root, "all", {**sink, "audit-syslog-records": "all",
                                      "audit-required-sinks": "syslog"})
            res = run_probe(d, 300)
            run.eq((res["healthy"], res["accepted"], res["dropped"]), (1, 300, 0),
                   "healthy, all accepted, nothing dropped")
            _, exported = phidb("audit", "export", d)
            local = exported.splitlines()
            total = len(local)
            run.check(total in (res["last_seq"], res["last_seq"] + 1),
                      "records in the local trail (a final checkpoint if records followed the "
                      "last one)", f"{total}")
            harness.wait_until(lambda: len(rs.lines()) >= total, timeout=30,
                               what="rsyslog received every record")
            # `phidb audit export` records itself in the trail after the export (and that
            # record, with its checkpoint, reaches rsyslog too): compare what was exported.
            got = rs.lines()[:total]
            run.check(all('"ev":"export"' in l or l.startswith("checkpoint ")
                          for l in rs.lines()[total:]),
                      "rsyslog holds nothing else but the export's own record")
            run.eq([l.split(" ", 1)[1] for l in got], local,
                   "rsyslog holds each record byte for byte, in order")
            ck = [l for l in got if l.startswith("checkpoint ")]
            run.eq(len(ck), total - 300, "checkpoints marked with MSGID checkpoint")
            run.check(all('"sig":"' in l for l in ck), "checkpoints carry their signature")
            last = ck[-1].split(" ", 1)[1]
            rc, out = phidb("audit", "verify", d, "--checkpoint", last)
            run.check(rc == 0 and "matches the SIEM's copy" in out,
                      "verify --checkpoint with the SIEM's last checkpoint", out)
            forged = last.replace('"count":', '"count":1')
            rc, out = phidb("audit", "verify", d, "--checkpoint", forged, ok=False)
            run.check(rc == 1 and "differs from the SIEM's copy" in out,
                      "a checkpoint the trail does not hold is reported", out)

        with run.case("syslog sink: redacted"):
            before = len(rs.lines())
            d = new_dir(root, "redacted", {**sink, "audit-syslog-records": "redacted"})
            res = run_probe(d, 40)
            harness.wait_until(lambda: len(rs.lines()) >= before + res["last_seq"],
                               timeout=30, what="rsyslog received the redacted records")
            new = rs.lines()[before:]
            run.check(not any("patient:" in l or '"subject"' in l or '"key"' in l for l in new),
                      "no key name and no subject reach the SIEM")
            run.check(all('"fields":["name","dob"]' in l for l in new if l.startswith("audit ")),
                      "the rest of the record is there")

        with run.case("required sink with an untrusted certificate: fail closed"):
            before = len(rs.lines())
            d = new_dir(root, "untrusted", {**sink, "audit-syslog-ca":
                                            os.path.join(other, "ca.crt"),
                                            "audit-required-sinks": "syslog"})
            res = run_probe(d, 20, wait_ms=1500)
            run.eq((res["healthy"], res["accepted"], res["connected"]), (0, 0, 0),
                   "unhealthy, nothing accepted, not connected")
            run.check("syslog" in res["error"], "the reason names the sink", res["error"])
            time.sleep(0.5)
            run.eq(len(rs.lines()), before, "rsyslog received nothing from it")
            # The tools' own records are kept while the required sink connects (or not):
            # an export is recorded in the local trail all the same.
            phidb("audit", "export", d)
            rc, out = phidb("audit", "export", d)
            run.check('"ev":"export"' in out, "an export beside a required sink that is down "
                      "is recorded in the local trail", out[-300:])

        with run.case("sink down, not required: local records go on"):
            d = new_dir(root, "down", {**sink, "audit-syslog-port": harness.free_port()})
            res = run_probe(d, 25, wait_ms=1000)
            run.eq((res["healthy"], res["accepted"], res["connected"]), (1, 25, 0),
                   "healthy, accepted, not connected")
            rc, out = phidb("audit", "verify", d)
            run.check(out.startswith("OK:"), "the local trail verifies", out)
    finally:
        rs.stop()

    with run.case("tools"):
        d = new_dir(root, "tools", {"audit-checkpoint-records": 30})
        run_probe(d, 100)
        audit_dir = os.path.join(d, "data", "audit")
        for name in os.listdir(audit_dir):
            with open(os.path.join(audit_dir, name), "rb") as f:
                data = f.read()
            run.check(b"patient:" not in data and b"probe" not in data,
                      f"no plaintext record in {name}")
        rc, out = phidb("audit", "verify", d)
        run.check(out.startswith("OK: 1 segments") and "104 records" in out, "verify OK", out)
        rc, out = phidb("audit", "report", d, "--format", "json")
        rep = json.loads(out)
        run.eq((rep["totals"]["events"], rep["totals"]["granted"]), (100, 100), "report totals")
        run.eq(len(rep["subjects"]), 100, "report: one row per subject")
        rc, out = phidb("audit", "report", d, "--user", "nobody", "--format", "csv")
        run.check(out.startswith("section,name"), "report csv")
        rc, out = phidb("audit", "export", d, "--format", "csv", "--subject", "7")
        rows = out.splitlines()
        run.eq(len(rows), 2, "export csv: header and the one record of subject 7")
        run.check(rows[0].startswith("seq,ts,ev,res,user") and ",patient:7,7,name;dob," in rows[1],
                  "export csv columns", out)
        rc, out = phidb("audit", "tail", d, "-n", "3")
        run.eq(len(out.splitlines()), 3, "tail -n 3")
        run.check('"ev":"checkpoint"' in out.splitlines()[-1], "the trail ends with a checkpoint")
        rc, out = phidb("audit", "accounting", d, "--subject", "5", "--format", "json")
        run.eq(json.loads(out)["count"], 0, "accounting: treatment is exempt")
        rc, out = phidb("audit", "accounting", d, "--subject", "5", "--all", "--format", "json")
        acc = json.loads(out)
        run.eq(acc["count"], 1, "accounting --all")
        run.eq(acc["disclosures"][0]["user"], "probe", "accounting names the user")
        rc, out = phidb("breach-report", d, "--incident", "INC-7", "--start", "2000-01-01",
                        "--end", "2100-01-01", "--key", "patient:1*", "--format", "json")
        br = json.loads(out)
        run.eq(br["affected_count"], 11, "breach: patient:1 and patient:10..19")
        run.eq(br["fields"], {"name": 11, "dob": 11}, "breach: fields exposed")
        rc, out = phidb("breach-report", d, "--incident", "INC-7", "--start", "2000-01-01",
                        "--end", "2100-01-01")
        run.check("Affected individuals (distinct subjects): 100" in out, "breach text", out)
        rc, out = phidb("audit", "prune", d)
        run.check(out.startswith("removed 0 segments"), "prune: nothing is old enough", out)
        seg = sorted(n for n in os.listdir(audit_dir) if n.endswith(".seg"))[0]
        p = os.path.join(audit_dir, seg)
        with open(p, "r+b") as f:
            f.seek(200)
            b = f.read(1)
            f.seek(200)
            f.write(bytes([b[0] ^ 0x40]))
        rc, out = phidb("audit", "verify", d, ok=False)
        run.eq(rc, 1, "verify fails on a flipped byte")
        run.check(out.startswith("DAMAGED: segment 1") and "altered" in out, "and says where", out)

    with run.case("tools refuse bad numbers"):
        bad_numbers(run)
    with run.case("breach-report: bad windows and state files refused"):
        breach_inputs(run)


def bad_numbers(run):
    """Numeric options are checked: `audit tail -n abc` or `-n -1` printed nothing and
    exited 0 (atoi)."""
    d = new_dir(harness.make_temp_dir("audit-args"), "args", {})
    run_probe(d, 5)
    for bad in ("abc", "-1", "3x", "", "99999999999999999999"):
        r = subprocess.run([tool(), "audit", "tail", d, "-n", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=60)
        err = r.stderr.decode()
        run.check(r.returncode == 2 and "-n needs a whole number" in err and not r.stdout,
                  f"tail -n '{bad}' is refused", err)
    rc, out = phidb("audit", "tail", d, "-n", "2")
    run.eq(len(out.splitlines()), 2, "tail -n 2 still works")


def breach_inputs(run):
    """breach-report refuses what would make it report too few people: --end before --start
    (it reported 0 records), a --states file with malformed lines (skipped silently, naming
    nobody's state); and the media notice line keeps its parentheses on one line."""
    root = harness.make_temp_dir("audit-breach")
    d = new_dir(root, "breach", {})
    run_probe(d, 5)  # subjects 0..4
    base = ["breach-report", d, "--incident", "INC-9"]

    def br(*args):
        r = subprocess.run([tool(), *base, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=120)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    rc, out, err = br("--start", "2100-01-01", "--end", "2000-01-01")
    run.check(rc == 2 and "--end is before --start" in err and not out,
              "--end before --start is refused", out + err)
    window = ["--start", "2000-01-01", "--end", "2100-01-01"]
    bad_files = {"no comma": "subject,state\n0,CA\ngarbage line\n",
                 "three fields": "0,CA\n1,NV,extra\n",
                 "no state": "0,CA\n\n1,\n",
                 "not a state": "0,CA\n1,!!\n",
                 "two states": "0,CA\n0,NV\n"}
    lines = {"no comma": 3, "three fields": 2, "no state": 3, "not a state": 2, "two states": 2}
    for what, text in bad_files.items():
        path = os.path.join(root, "states.csv")
        with open(path, "w") as f:
            f.write(text)
        rc, out, err = br(*window, "--states", path)
        run.check(rc == 1 and f"states.csv line {lines[what]} " in err and not out,
                  f"--states with a bad line ({what}) is refused, naming the line", out + err)
    path = os.path.join(root, "good.csv")
    with open(path, "w") as f:
        f.write('subject,state\n0,CA\n1, ca \n"2","NV"\n\n3,NV\n4,CA\n')
    rc, out, err = br(*window, "--states", path)
    media = [ln for ln in out.splitlines() if ln.startswith("Media notice:")]
    run.check(rc == 0 and media == ["Media notice: not required (residents by state: CA (3) "
                                    "NV (2))"], "a good --states file; the media line is whole",
              out + err)


if __name__ == "__main__":
    harness.main(body)
