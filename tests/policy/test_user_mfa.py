#!/usr/bin/python3
"""Drives the built `phidb user mfa` on a data directory made by `phidb init`.

Checks: enrollment prints an otpauth URI (and a QR code unless --no-qr); the ACL file
then holds mfa=totp and a sealed secret, never the secret itself; --check accepts the
current code (computed with oathtool from the printed key) and refuses a wrong one; the
command refuses a locked data directory, an unknown user and bad usage; --remove drops
the requirement and the secret. Run by ctest (cmake/policy.cmake) with PHIDB_BUILD.
"""
import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse

BUILD = os.environ.get("PHIDB_BUILD", "build")
PHIDB = os.path.join(BUILD, "phidb")
failures = 0
passes = 0


def run(args, timeout=120):
    p = subprocess.run([PHIDB] + args, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def check(cond, what, detail=""):
    global failures, passes
    if cond:
        passes += 1
        print("ok   " + what)
    else:
        failures += 1
        print("FAIL " + what + ((": " + detail) if detail else ""))


def acl_text(d):
    with open(os.path.join(d, "data", "users.acl")) as f:
        return f.read()


def totp(key):
    if not shutil.which("oathtool"):
        return None
    return subprocess.run(["oathtool", "--totp", "-b", key], capture_output=True,
                          text=True).stdout.strip()


def main():
    tmp = tempfile.mkdtemp(prefix="phidb-usermfa-")
    d = os.path.join(tmp, "srv")
    rc, out, err = run(["init", d])
    check(rc == 0, "phidb init", err)
    if rc != 0:
        return
    check(" mfa=" not in acl_text(d), "no user has mfa before enrollment")

    rc, out, err = run(["user", "mfa", d, "admin", "--no-qr", "--issuer", "Clinic phidb"])
    check(rc == 0, "enrollment exits 0", err)
    m = re.search(r"otpauth://totp/([^\s]+)", out)
    check(m is not None, "prints an otpauth URI", out)
    if not m:
        return
    uri = urllib.parse.urlparse("otpauth://totp/" + m.group(1))
    q = urllib.parse.parse_qs(uri.query)
    key = q.get("secret", [""])[0]
    check(urllib.parse.unquote(uri.path) == "/Clinic phidb:admin", "URI label is issuer:user",
          uri.path)
    check(q.get("issuer") == ["Clinic phidb"] and q.get("digits") == ["6"] and
          q.get("period") == ["30"] and q.get("algorithm") == ["SHA1"], "URI parameters", str(q))
    check(len(key) == 32 and re.fullmatch("[A-Z2-7]+", key) is not None,
          "a 160-bit base32 key", key)
    check("\033[47;30m" not in out, "--no-qr prints no QR code")
    text = acl_text(d)
    check(re.search(r"user admin .* mfa=totp totp-secret=[0-9a-f]{104}\b", text) is not None,
          "the ACL file holds mfa=totp and the sealed secret", text)
    check(key not in text and key.lower() not in text, "the ACL file does not hold the key")
    mode = os.stat(os.path.join(d, "data", "users.acl")).st_mode & 0o777
    check(mode == 0o600, "the ACL file stays 0600", oct(mode))

    code = totp(key)
    if code:
        rc, out, err = run(["user", "mfa", d, "admin", "--check", code])
        check(rc == 0 and "code accepted" in out, "--check accepts the current code", out + err)
        wrong = "%06d" % ((int(code) + 500000) % 1000000)
        rc, out, err = run(["user", "mfa", d, "admin", "--check", wrong])
        check(rc == 1 and "not accepted" in out, "--check refuses a wrong code", out + err)
    else:
        print("skip --check (no oathtool)")

    # A second enrollment replaces the secret.
    rc, out, err = run(["user", "mfa", d, "admin"])
    check(rc == 0, "re-enrollment with a QR code exits 0", err)
    check("\033[47;30m" in out and ("\u2580" in out or "\u2584" in out or "\u2588" in out),
          "prints a QR code in the terminal")
    check(acl_text(d) != text, "re-enrollment stores a new sealed secret")

    # The data directory lock: refused next to a live server.
    with open(os.path.join(d, "data", "phidb.lock"), "a") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX | fcntl.LOCK_NB)
        before = acl_text(d)
        rc, out, err = run(["user", "mfa", d, "admin", "--no-qr"])
        check(rc == 1 and "in use" in err, "refused while the data directory is locked", err)
        check(acl_text(d) == before, "nothing changed while locked")
        fcntl.flock(lk, fcntl.LOCK_UN)

    rc, out, err = run(["user", "mfa", d, "nobody", "--no-qr"])
    check(rc == 1 and "no user 'nobody'" in err, "unknown user refused", err)
    rc, out, err = run(["user", "mfa", d])
    check(rc == 2 and "usage" in err, "bad usage exits 2", err)
    rc, out, err = run(["user", "mfa", d, "admin", "--bogus"])
    check(rc == 2, "unknown option exits 2", err)

    rc, out, err = run(["user", "mfa", d, "admin", "--remove"])
    check(rc == 0, "--remove exits 0", err)
    text = acl_text(d)
    check(" mfa=" not in text and "totp-secret" not in text, "--remove drops mfa and the secret",
          text)
    rc, out, err = run(["user", "mfa", d, "admin", "--check", "123456"])
    check(rc == 1 and "not enrolled" in err, "--check on a user without mfa", err)
    shutil.rmtree(tmp, ignore_errors=True)


main()
print("%d passed, %d failed" % (passes, failures))
sys.exit(1 if failures else 0)
