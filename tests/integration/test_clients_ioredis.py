"""ioredis (Node.js) against the server under test, over TLS with username/password.

Runs ioredis_check.js with node (NODE_PATH = tests/integration/node_modules, installed by
scripts/install-deps.sh) once with the CA only and once with the client certificate too,
and fails on every check the script reports as not ok, or if the script does not finish.
ioredis exercises its INFO ready check, AUTH user pass, CLIENT SETNAME, pipelines,
MULTI/EXEC and WATCH: the server must support all of them as Redis does.
"""

import json
import os
import shutil
import subprocess

import harness

HERE = os.path.dirname(os.path.abspath(__file__))


def run_node(run, srv, cert):
    node = shutil.which("node")
    run.require(node is not None, "node is installed (scripts/install-deps.sh)")
    modules = os.path.join(HERE, "node_modules")
    run.require(os.path.isdir(os.path.join(modules, "ioredis")),
                "ioredis is installed in tests/integration/node_modules (npm install)")
    env = dict(os.environ, NODE_PATH=modules, PHIDB_PORT=str(srv.port), PHIDB_CA=srv.ca,
               PHIDB_USER="admin", PHIDB_PASSWORD=srv.password)
    if cert:
        env.update(PHIDB_CERT=srv.client_cert, PHIDB_KEY=srv.client_key)
    p = subprocess.run([node, os.path.join(HERE, "ioredis_check.js")], env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    out = p.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        result = json.loads(out[-1])
    except (IndexError, ValueError):
        run.check(False, "ioredis_check.js printed a JSON result",
                  f"rc={p.returncode}\nstdout={p.stdout[-2000:]!r}\nstderr={p.stderr[-2000:]!r}")
        return
    for c in result["checks"]:
        run.check(c["ok"], f"ioredis: {c['name']}", f"got {c['got']!r}, want {c['want']!r}")
    run.check("error" not in result, "ioredis script ran to the end", result.get("error", ""))
    run.check(p.returncode == 0, "node exited 0", p.stderr.decode("utf-8", "replace")[-2000:])
    run.check(len(result["checks"]) >= 30, "all ioredis checks ran",
              f"only {len(result['checks'])}")


def body(run):
    srv = harness.start_target()
    run.log(f"target {srv}")
    with run.case("ioredis, TLS with the CA, user and password"):
        run_node(run, srv, cert=False)
    with run.case("ioredis, TLS with a client certificate as well"):
        run_node(run, srv, cert=True)


if __name__ == "__main__":
    harness.main(body)
