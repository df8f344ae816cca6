"""Integration-test harness: start real servers on free ports, talk to them.

What it gives a test file:
  - PhidbServer: `phidb init` + `phidb-server` from $PHIDB_BUILD, exactly as docs/CONTRACT.md
    describes them (TLS only, user `admin`, password in DIR/admin.password).
  - RedisServer: the real redis-server 7.0 with TLS, configured like phidb (an `admin` user
    with `+@all`, no default user, one database), so the same test code can target either.
  - start_target(): the server under test -- phidb, or a redis-server stand-in when
    PHIDB_TARGET=redis (how these tests are validated before phidb runs; see README.md).
    If phidb-server is missing and PHIDB_TARGET is not `redis`, the test FAILS: a test
    that cannot fail is a defect.
  - RawConn: a TLS socket with a complete RESP2/RESP3 reply parser, for byte-level tests
    and for the differential compatibility tests (difftest.py), which compare replies
    including their wire types.
  - Run: a tiny dependency-free test runner: named cases, checks that record failures and
    keep going, a summary, a non-zero exit on failure. Temp dirs are removed on success
    and kept (and printed) on failure.

Every server is a child process that dies with the test (PR_SET_PDEATHSIG), so a test
that is killed by ctest's timeout does not leave servers behind.
"""

import contextlib
import ctypes
import faulthandler
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback

HOST = "127.0.0.1"
SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:")

# Generous waits: these only protect against hangs (2 cores, ASan builds, parallel jobs);
# no test passes or fails because something was fast or slow.
START_TIMEOUT = 60.0
IO_TIMEOUT = 30.0
STOP_TIMEOUT = 60.0


def env_target():
    """'phidb' (default) or 'redis' (the stand-in used to validate the tests themselves)."""
    t = os.environ.get("PHIDB_TARGET", "phidb").strip().lower()
    if t not in ("phidb", "redis"):
        raise SystemExit(f"PHIDB_TARGET must be 'phidb' or 'redis', not {t!r}")
    return t


def sanitized():
    return os.environ.get("PHIDB_SANITIZE", "OFF").upper() in ("ON", "1", "TRUE", "YES")


def source_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("PHIDB_SOURCE") or os.path.dirname(os.path.dirname(here))


def build_dir():
    return os.environ.get("PHIDB_BUILD") or os.path.join(source_dir(), "build")


def free_port():
    """A TCP port that nobody listens on right now (the kernel's choice).

    There is a window between closing this socket and the server binding the port; the
    servers below retry with a new port if the bind fails with 'Address already in use'.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def _die_with_parent():
    # Runs in the child between fork and exec: SIGKILL it when the test process dies.
    PR_SET_PDEATHSIG = 1
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


# --------------------------------------------------------------------------------------
# Temp dirs: one per server, removed when the whole test file passed, kept otherwise.

_TEMP_DIRS = []
_SERVERS = []


def cleanup_temp_dirs():
    """Remove every temp dir made so far (for scripts that do not use Run, e.g. bench/)."""
    while _TEMP_DIRS:
        shutil.rmtree(_TEMP_DIRS.pop(), ignore_errors=True)


def stop_all(check=True):
    """Stop every server still running; with check, raise on the first unclean stop."""
    errors = []
    for srv in _SERVERS:
        if srv.proc is not None:
            try:
                srv.stop() if check else srv.abandon()
            except ServerError as e:
                errors.append(e)
    if errors:
        raise errors[0]


def make_temp_dir(prefix):
    d = tempfile.mkdtemp(prefix=f"phidb-it-{prefix}-")
    _TEMP_DIRS.append(d)
    return d


# --------------------------------------------------------------------------------------
# RESP: encoding commands and parsing replies.
#
# A parsed reply is a hashable tuple that keeps the wire type, so comparing two parsed
# replies is comparing bytes, except where a test normalizes (e.g. sorts) on purpose:
#   ('+', b'OK')  ('-', b'ERR ...')  (':', 5)  ('$', b'..') ('$', None)=RESP2 null bulk
#   ('*', (..items..)) ('*', None)=RESP2 null array  ('_',)=RESP3 null  (',', b'1.5')
#   ('#', True)  ('!', b'ERR ..')  ('=', b'txt', b'...')  ('(', b'123')
#   ('%', ((k, v), ...))  ('~', (...))  ('>', (...))  ('|', ((k, v), ...), reply)


class ProtocolError(Exception):
    pass


class ConnectionClosed(Exception):
    pass


def encode_command(*args):
    """RESP array of bulk strings; str is UTF-8, int/float use their decimal text."""
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        elif isinstance(a, (int, float)) and not isinstance(a, bool):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RawConn:
    """One TLS connection with a buffered RESP reader. Not thread-safe."""

    def __init__(self, port, ca, certfile=None, keyfile=None, host=HOST, timeout=IO_TIMEOUT):
        ctx = ssl.create_default_context(cafile=ca)
        if certfile:
            ctx.load_cert_chain(certfile, keyfile)
        sock = socket.create_connection((host, port), timeout=timeout)
        try:
            self.sock = ctx.wrap_socket(sock, server_hostname=host)
        except Exception:
            sock.close()
            raise
        self.buf = bytearray()  # grows in place: a large reply is not copied per chunk
        self.timeout = timeout

    # -- bytes ------------------------------------------------------------------------
    def send(self, data):
        self.sock.sendall(data)

    def _fill(self, timeout):
        self.sock.settimeout(timeout if timeout is not None else self.timeout)
        try:
            chunk = self.sock.recv(65536)
        except ssl.SSLZeroReturnError:
            chunk = b""
        except (ConnectionResetError, BrokenPipeError, ssl.SSLEOFError):
            chunk = b""
        if not chunk:
            raise ConnectionClosed("server closed the connection")
        self.buf += chunk

    def recv_some(self, timeout=None):
        """Whatever bytes are buffered or arrive next (b'' on close)."""
        if not self.buf:
            try:
                self._fill(timeout)
            except ConnectionClosed:
                return b""
        data, self.buf = bytes(self.buf), bytearray()
        return data

    def is_closed(self, timeout=None):
        """True if the server closes the connection (EOF) before sending anything more."""
        if self.buf:
            return False
        try:
            self._fill(timeout)
        except ConnectionClosed:
            return True
        except (socket.timeout, TimeoutError):
            return False
        return False

    def close(self):
        with contextlib.suppress(OSError):
            self.sock.close()

    # -- replies ----------------------------------------------------------------------
    def _line(self, timeout):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill(timeout)

    def _exact(self, n, timeout):
        while len(self.buf) < n + 2:
            self._fill(timeout)
        data, crlf = bytes(self.buf[:n]), bytes(self.buf[n:n + 2])
        del self.buf[:n + 2]
        if crlf != b"\r\n":
            raise ProtocolError(f"bulk not terminated by CRLF: {crlf!r}")
        return data

    def read_reply(self, timeout=None):
        """Parse exactly one reply (see the tuple forms above)."""
        line = self._line(timeout)
        if not line:
            raise ProtocolError("empty line where a reply type was expected")
        t, rest = line[:1], line[1:]
        if t == b"+":
            return ("+", rest)
        if t == b"-":
            return ("-", rest)
        if t == b":":
            return (":", int(rest))
        if t in (b"$", b"!", b"="):
            n = int(rest)
            if n < 0:
                return (t.decode(), None)
            data = self._exact(n, timeout)
            if t == b"=":
                return ("=", data[:3], data[4:])
            return (t.decode(), data)
        if t in (b"*", b"~", b">"):
            n = int(rest)
            if n < 0:
                return (t.decode(), None)
            return (t.decode(), tuple(self.read_reply(timeout) for _ in range(n)))
        if t in (b"%", b"|"):
            n = int(rest)
            pairs = tuple((self.read_reply(timeout), self.read_reply(timeout)) for _ in range(n))
            if t == b"|":  # an attribute precedes the real reply
                return ("|", pairs, self.read_reply(timeout))
            return ("%", pairs)
        if t == b"_":
            return ("_",)
        if t == b",":
            return (",", rest)
        if t == b"#":
            return ("#", rest == b"t")
        if t == b"(":
            return ("(", rest)
        raise ProtocolError(f"unknown reply type byte {t!r} in line {line[:80]!r}")

    def call(self, *args, timeout=None):
        """Send one command, return its parsed reply."""
        self.send(encode_command(*args))
        return self.read_reply(timeout)

    def auth(self, user, password, protocol=2):
        """AUTH (RESP2) or HELLO 3 AUTH (RESP3); raises if the server refuses."""
        if protocol == 3:
            r = self.call("HELLO", "3", "AUTH", user, password)
            if r[0] not in ("%", "*"):
                raise RuntimeError(f"HELLO 3 AUTH failed: {r!r}")
        else:
            r = self.call("AUTH", user, password)
            if r != ("+", b"OK"):
                raise RuntimeError(f"AUTH failed: {r!r}")
        return self


def show(reply, limit=300):
    """Readable one-line text of a parsed reply for failure messages."""
    s = repr(reply)
    return s if len(s) <= limit else s[:limit] + f"...({len(s)} chars)"


# --------------------------------------------------------------------------------------
# Servers.


class ServerError(Exception):
    pass


class Server:
    """What PhidbServer and RedisServer share: client factories, stop/kill/restart."""

    kind = "?"

    def __init__(self):
        self.proc = None
        self.port = None
        self.dir = None
        self.log_path = None
        self.password = None
        self.ca = self.client_cert = self.client_key = None
        self._log_file = None
        _SERVERS.append(self)

    # -- subclasses provide ----------------------------------------------------------
    def _command(self):
        raise NotImplementedError

    # -- lifecycle ---------------------------------------------------------------------
    def _spawn(self):
        self._log_file = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self._command(), stdin=subprocess.DEVNULL,
                                     stdout=self._log_file, stderr=subprocess.STDOUT,
                                     cwd=self.dir, preexec_fn=_die_with_parent)
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerError(f"{self.kind} exited with {self.proc.returncode} before it "
                                  f"was ready\n{self.log_tail()}")
            try:
                c = self.raw(auth=True, timeout=5)
                try:
                    r = c.call("PING", timeout=5)
                finally:
                    c.close()
                if r == ("+", b"PONG"):
                    return
                last = r
            except RuntimeError as e:
                # A refused login will not get better by retrying, and retrying could trip
                # phidb's lockout: report it at once.
                if "WRONGPASS" in str(e):
                    raise ServerError(f"{self.kind} refused the admin login while starting: "
                                      f"{e}\n{self.log_tail()}") from e
                last = e
            except (OSError, ConnectionClosed, ProtocolError) as e:
                last = e
            time.sleep(0.05)  # poll interval, not synchronization
        raise ServerError(f"{self.kind} on port {self.port} not ready after {START_TIMEOUT}s "
                          f"(last: {last!r})\n{self.log_tail()}")

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, n=60):
        lines = self.log_text().splitlines()
        return f"--- {self.log_path} (last {n} lines) ---\n" + "\n".join(lines[-n:])

    def sanitizer_reports(self):
        text = self.log_text()
        return [m for m in SANITIZER_MARKERS if m in text]

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, wait; raise unless it exits 0 with no sanitizer report in its log."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise ServerError(f"{self.kind} did not exit within {STOP_TIMEOUT}s of SIGTERM\n"
                              f"{self.log_tail()}")
        finally:
            self._log_file.close()
        problems = []
        if rc != 0:
            problems.append(f"exit status {rc} after SIGTERM (want 0)")
        reports = self.sanitizer_reports()
        if reports:
            problems.append("sanitizer reports in the log: " + ", ".join(reports))
        if problems:
            raise ServerError(f"{self.kind}: " + "; ".join(problems) + "\n" + self.log_text())

    def kill9(self):
        """SIGKILL (crash simulation); no exit checks, but sanitizer reports still fail."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        proc.kill()
        proc.wait()
        self._log_file.close()
        reports = self.sanitizer_reports()
        if reports:
            raise ServerError(f"{self.kind}: sanitizer reports in the log: "
                              + ", ".join(reports) + "\n" + self.log_text())

    def restart(self):
        """Start again on the same directory and port (after stop() or kill9())."""
        if self.running():
            self.stop()
        self._spawn()
        return self

    def abandon(self):
        """Last-resort cleanup at exit: kill without checks."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    # -- clients -------------------------------------------------------------------------
    def _password_for(self, user, password):
        if password is not None:
            return password
        if user == "admin":
            return self.password
        raise ValueError(f"no password given for user {user!r}")

    def raw(self, user="admin", password=None, auth=True, protocol=2, cert=False, timeout=None):
        """A RawConn; authenticated (AUTH, or HELLO 3 AUTH when protocol=3) unless auth=False."""
        c = RawConn(self.port, self.ca,
                    certfile=self.client_cert if cert else None,
                    keyfile=self.client_key if cert else None,
                    timeout=timeout or IO_TIMEOUT)
        if auth:
            try:
                c.auth(user, self._password_for(user, password), protocol)
            except Exception:
                c.close()
                raise
        return c

    def client(self, user="admin", password=None, protocol=2, cert=False, **kw):
        """A redis-py client over TLS (the CA is checked, and the host name 127.0.0.1)."""
        import redis  # Debian's python3-redis, only for /usr/bin/python3

        if protocol != 2:
            # redis-py 4.3 speaks RESP2 only; RESP3 is tested through RawConn and redis-cli -3.
            raise ValueError("redis-py 4.3 supports protocol=2 only")
        opts = dict(host=HOST, port=self.port, username=user,
                    password=self._password_for(user, password), ssl=True,
                    ssl_ca_certs=self.ca, ssl_check_hostname=True,
                    socket_timeout=IO_TIMEOUT, socket_connect_timeout=IO_TIMEOUT)
        if cert:
            opts.update(ssl_certfile=self.client_cert, ssl_keyfile=self.client_key)
        opts.update(kw)
        return redis.Redis(**opts)

    def cli_args(self, user="admin", password=None, resp3=False, cert=False):
        args = ["redis-cli", "--tls", "--cacert", self.ca, "-h", HOST, "-p", str(self.port),
                "--user", user, "--pass", self._password_for(user, password),
                "--no-auth-warning"]
        if cert:
            args += ["--cert", self.client_cert, "--key", self.client_key]
        if resp3:
            args.append("-3")
        return args

    def cli_run(self, *args, user="admin", password=None, input=None, resp3=False,
                cert=False, timeout=120):
        """Run redis-cli; returns the CompletedProcess (stdout/stderr as bytes)."""
        if isinstance(input, str):
            input = input.encode()
        argv = self.cli_args(user, password, resp3, cert) + [str(a) for a in args]
        return subprocess.run(argv, input=input, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=timeout,
                              stdin=None if input is not None else subprocess.DEVNULL)

    def cli(self, *args, user="admin", password=None, input=None, resp3=False, cert=False):
        """Run redis-cli and return its stdout as text."""
        r = self.cli_run(*args, user=user, password=password, input=input, resp3=resp3, cert=cert)
        return r.stdout.decode("utf-8", "replace")

    def __repr__(self):
        return f"<{self.kind} port={self.port} dir={self.dir}>"


class PhidbServer(Server):
    """phidb, started exactly as docs/CONTRACT.md says.

    extra: directives passed as `--name value ...` after the config file; a dict or a list
    of (name, value) pairs, where value may be a list for multi-word directives.
    before_start: called with the server after `phidb init` and before the first start.
    """

    kind = "phidb"

    def use_policy(self, text, extra=()):
        """Write text as this server's policy file (0600), then restart it with policy-file
        pointing there and the directives in extra (pairs) after it."""
        pol = os.path.join(self.dir, "policy.conf")
        with open(pol, "w") as f:
            f.write(text)
        os.chmod(pol, 0o600)
        self.stop()
        self.extra = [("policy-file", pol), *extra]
        self.restart()
        return pol

    def __init__(self, extra=None, fast_argon2=True, before_start=None):
        super().__init__()
        build = build_dir()
        self.server_bin = os.path.join(build, "phidb-server")
        self.tool_bin = os.path.join(build, "phidb")
        for b in (self.server_bin, self.tool_bin):
            if not os.access(b, os.X_OK):
                raise ServerError(
                    f"{b} does not exist or is not executable: build phidb first (PHIDB_BUILD="
                    f"{build}), or set PHIDB_TARGET=redis to run these tests against a "
                    f"redis-server stand-in")
        self.extra = list(extra.items()) if isinstance(extra, dict) else list(extra or [])
        self.fast_argon2 = fast_argon2
        for attempt in range(3):
            root = make_temp_dir("phidb")
            self.port = free_port()
            self.dir = os.path.join(root, "srv")  # `phidb init` creates it
            self.log_path = os.path.join(root, "server.log")
            self._init(root)
            if before_start:
                before_start(self)
            try:
                self._spawn()
                return
            except ServerError:
                if attempt < 2 and "already in use" in self.log_text().lower():
                    self.abandon()
                    continue
                raise

    def _init(self, root):
        with open(os.path.join(root, "init.log"), "wb") as out:
            r = subprocess.run([self.tool_bin, "init", self.dir, "--port", str(self.port)],
                               stdout=out, stderr=subprocess.STDOUT, timeout=300)
        if r.returncode != 0:
            with open(os.path.join(root, "init.log"), "rb") as f:
                raise ServerError(f"phidb init failed ({r.returncode}):\n"
                                  + f.read().decode("utf-8", "replace"))
        with open(os.path.join(self.dir, "admin.password")) as f:
            self.password = f.read().strip()
        tls = os.path.join(self.dir, "tls")
        self.ca = os.path.join(tls, "ca.crt")
        self.client_cert = os.path.join(tls, "client.crt")
        self.client_key = os.path.join(tls, "client.key")
        self.conf = os.path.join(self.dir, "phidb.conf")

    def _command(self):
        cmd = [self.server_bin, self.conf]
        if self.fast_argon2:
            cmd += ["--argon2-memory-kib", "8192", "--argon2-time", "1"]
        for name, value in self.extra:
            cmd.append("--" + name)
            cmd += [str(v) for v in value] if isinstance(value, (list, tuple)) else [str(value)]
        return cmd


# -- certificates for redis-server (generated per server, never committed) --------------

def _openssl(*args, cwd):
    r = subprocess.run(["openssl", *args], cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    if r.returncode != 0:
        raise ServerError("openssl " + " ".join(args) + " failed:\n" + r.stdout.decode())


def make_certs(tls_dir):
    """A CA, a server cert (SAN localhost, 127.0.0.1, ::1) and a client cert (CN=admin).

    Same file names as `phidb init` writes. EC P-256 keys: quick to make on a busy machine.
    """
    os.makedirs(tls_dir, exist_ok=True)
    with open(os.path.join(tls_dir, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                "extendedKeyUsage=serverAuth\n")
    with open(os.path.join(tls_dir, "client.ext"), "w") as f:
        f.write("extendedKeyUsage=clientAuth\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
             "-subj", "/CN=phidb-it test CA", cwd=tls_dir)
    for name, cn, ext in (("server", "localhost", "san.ext"), ("client", "admin", "client.ext")):
        _openssl("req", "-new", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={cn}", cwd=tls_dir)
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.crt", "-days", "2", "-extfile", ext,
                 cwd=tls_dir)
    for key in ("ca.key", "server.key", "client.key"):
        os.chmod(os.path.join(tls_dir, key), 0o600)


class RedisServer(Server):
    """redis-server 7.0 with TLS only, configured to match phidb's contract.

    phidb_rules: extra ACL rules for admin. start_target() passes
    '-keys -flushall -flushdb' when redis stands in for phidb, because phidb's admin may not
    run those by default (CONTRACT.md); the reference server keeps the plain `+@all`.
    """

    kind = "redis-server"

    def __init__(self, extra=None, phidb_rules="", binary="redis-server"):
        super().__init__()
        self.binary = shutil.which(binary) or binary
        self.extra = list(extra.items()) if isinstance(extra, dict) else list(extra or [])
        self.password = secrets.token_hex(16)
        self.phidb_rules = phidb_rules
        for attempt in range(3):
            self.dir = make_temp_dir("redis")
            self.port = free_port()
            self.log_path = os.path.join(self.dir, "server.log")
            tls = os.path.join(self.dir, "tls")
            make_certs(tls)
            self.ca = os.path.join(tls, "ca.crt")
            self.client_cert = os.path.join(tls, "client.crt")
            self.client_key = os.path.join(tls, "client.key")
            self._write_conf()
            try:
                self._spawn()
                return
            except ServerError:
                if attempt < 2 and "already in use" in self.log_text().lower():
                    self.abandon()
                    continue
                raise

    def _write_conf(self):
        tls = os.path.join(self.dir, "tls")
        lines = [
            "port 0",
            f"tls-port {self.port}",
            f"bind {HOST}",
            f"tls-cert-file {tls}/server.crt",
            f"tls-key-file {tls}/server.key",
            f"tls-ca-cert-file {tls}/ca.crt",
            "tls-auth-clients optional",
            'save ""',
            "appendonly no",
            "databases 1",
            f"dir {self.dir}",
            'logfile ""',
            "user default off",
            f"user admin on >{self.password} ~* &* +@all {self.phidb_rules}".rstrip(),
        ]
        for name, value in self.extra:
            v = " ".join(str(x) for x in value) if isinstance(value, (list, tuple)) else str(value)
            lines.append(f"{name} {v}")
        self.conf = os.path.join(self.dir, "redis.conf")
        with open(self.conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        os.chmod(self.conf, 0o600)

    def _command(self):
        return [self.binary, self.conf]


def start_reference(**kw):
    """The real redis-server every differential test compares against."""
    return RedisServer(**kw)


def start_target(extra=None, **kw):
    """The server under test: phidb, or a redis-server stand-in if PHIDB_TARGET=redis.

    `extra` holds phidb directives; the stand-in ignores them (redis does not know them).
    """
    if env_target() == "redis":
        return RedisServer(phidb_rules="-keys -flushall -flushdb")
    return PhidbServer(extra=extra, **kw)


# --------------------------------------------------------------------------------------
# Small helpers shared by test files.


def wipe(conn):
    """Delete every key through SCAN + DEL (phidb's admin may not FLUSHALL)."""
    cursor = b"0"
    while True:
        r = conn.call("SCAN", cursor, "COUNT", "1000")
        if r[0] != "*":
            raise RuntimeError(f"SCAN failed while wiping: {r!r}")
        cursor = r[1][0][1]
        keys = [k[1] for k in r[1][1][1]]
        if keys:
            d = conn.call("DEL", *keys)
            if d[0] != ":":
                raise RuntimeError(f"DEL failed while wiping: {d!r}")
        if cursor == b"0":
            break


def wait_until(predicate, timeout=30.0, interval=0.02, what="condition"):
    """Poll predicate() until it returns truthy; returns that value or raises TimeoutError."""
    deadline = time.monotonic() + timeout
    while True:
        v = predicate()
        if v:
            return v
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------------------
# The runner.


class CheckFailed(Exception):
    """Raised by Run.require to abort the current case (Run.check just records)."""


class Run:
    """Collects the results of one test file."""

    def __init__(self, name):
        self.name = name
        self.failures = []   # (case, message)
        self.checks = 0
        self.current = None
        self.verbose = os.environ.get("PHIDB_TEST_VERBOSE", "") not in ("", "0")

    def log(self, msg):
        print(msg, flush=True)

    def fail(self, msg):
        where = self.current or "(setup)"
        self.failures.append((where, msg))
        self.log(f"  FAIL [{where}] {msg}")

    def check(self, ok, what, detail=""):
        """Record one check; return ok so callers can branch on it."""
        self.checks += 1
        if not ok:
            self.fail(what + (f": {detail}" if detail else ""))
        return bool(ok)

    def eq(self, got, want, what):
        return self.check(got == want, what, f"got {show(got)}, want {show(want)}")

    def require(self, ok, what, detail=""):
        if not self.check(ok, what, detail):
            raise CheckFailed(what)

    @contextlib.contextmanager
    def case(self, name):
        """A named case; an exception inside it is a failure, and the file goes on."""
        outer, self.current = self.current, name
        before = len(self.failures)
        t0 = time.monotonic()
        try:
            yield
        except CheckFailed:
            pass
        except Exception as e:
            self.fail(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}\n"
                      + traceback.format_exc())
        finally:
            status = "ok" if len(self.failures) == before else "FAILED"
            self.log(f"{status:6} {name} ({time.monotonic() - t0:.1f}s)")
            self.current = outer

    def cases(self, functions, *args):
        for fn in functions:
            with self.case(fn.__name__):
                fn(*args)

    def finish(self):
        """Stop servers (checking their logs), report, clean up, exit."""
        for srv in list(_SERVERS):
            if srv.proc is not None:
                with self.case(f"stop {srv.kind}:{srv.port}"):
                    srv.stop()
        for srv in _SERVERS:
            srv.abandon()
        if self.failures:
            self.log(f"\n{self.name}: {len(self.failures)} FAILED check(s) of {self.checks}:")
            for where, msg in self.failures:
                first = msg.splitlines()[0] if msg else ""
                self.log(f"  - [{where}] {first}")
            if _TEMP_DIRS:
                self.log("kept for inspection: " + " ".join(_TEMP_DIRS))
            sys.exit(1)
        for d in _TEMP_DIRS:
            shutil.rmtree(d, ignore_errors=True)
        self.log(f"\n{self.name}: all {self.checks} checks passed "
                 f"(target: {env_target()})")
        sys.exit(0)


def main(body, name=None):
    """Entry point for a test file: body(run) does the work; exit status reports it.

    A watchdog dumps every thread's stack and exits if the file hangs far beyond any
    reasonable run time (ctest's own timeout is 900 s).
    """
    name = name or os.path.basename(sys.argv[0])
    faulthandler.dump_traceback_later(840, exit=True)
    run = Run(name)
    run.log(f"{name}: target={env_target()} build={build_dir()}")
    try:
        with run.case("setup and body"):
            body(run)
    finally:
        faulthandler.cancel_dump_traceback_later()
        run.finish()
