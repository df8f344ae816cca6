// ioredis against a TLS server (phidb or redis-server), driven by test_clients_ioredis.py.
//
// Why: ioredis is the most used Node.js client; it authenticates with AUTH user pass,
// runs a ready check (INFO) before the first command, pipelines, and uses MULTI/EXEC.
// Each check is recorded as {name, ok, got, want}; the Python test fails on any ok=false.
//
// Input (environment): PHIDB_PORT, PHIDB_CA (CA file), PHIDB_USER, PHIDB_PASSWORD,
// optional PHIDB_CERT and PHIDB_KEY (client certificate). Output: one JSON line on stdout.
"use strict";

const fs = require("fs");
const Redis = require("ioredis");

const checks = [];

function check(name, got, want) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  checks.push({ name, ok: g === w, got, want });
}

function connect(extra) {
  const tls = { ca: fs.readFileSync(process.env.PHIDB_CA), servername: "localhost" };
  if (process.env.PHIDB_CERT) {
    tls.cert = fs.readFileSync(process.env.PHIDB_CERT);
    tls.key = fs.readFileSync(process.env.PHIDB_KEY);
  }
  return new Redis(Object.assign({
    host: "127.0.0.1",
    port: Number(process.env.PHIDB_PORT),
    username: process.env.PHIDB_USER,
    password: process.env.PHIDB_PASSWORD,
    tls,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,   // a failed connection is a failed test, not a retry loop
    lazyConnect: true,
  }, extra || {}));
}

async function main() {
  const r = connect({ connectionName: "ioredis-check" });
  await r.connect();
  check("status after connect (ready check passed)", r.status, "ready");
  check("ping", await r.ping(), "PONG");
  check("client getname", await r.client("GETNAME"), "ioredis-check");

  // Strings.
  check("set", await r.set("io:k", "v1"), "OK");
  check("get", await r.get("io:k"), "v1");
  check("get missing", await r.get("io:missing"), null);
  check("set EX NX on existing", await r.set("io:k", "v2", "EX", 100, "NX"), null);
  check("set GET", await r.set("io:k", "v3", "GET"), "v1");
  check("incr", await r.incr("io:n"), 1);
  check("incrbyfloat", await r.incrbyfloat("io:n", "0.5"), "1.5");
  const bin = Buffer.from([0, 13, 10, 255, 36, 0]);
  await r.set("io:bin", bin);
  check("binary value round trip", (await r.getBuffer("io:bin")).toString("hex"), bin.toString("hex"));
  check("mset", await r.mset("io:a", "1", "io:b", "2"), "OK");
  check("mget", await r.mget("io:a", "io:b", "io:missing"), ["1", "2", null]);
  check("expire", await r.expire("io:a", 1000), 1);
  const ttl = await r.ttl("io:a");
  check("ttl in (990, 1000]", ttl > 990 && ttl <= 1000, true);

  // Hashes.
  check("hset", await r.hset("io:h", "name", "Ada", "dob", "1815-12-10"), 2);
  check("hset object", await r.hset("io:h", { mrn: "12345" }), 1);
  check("hget", await r.hget("io:h", "name"), "Ada");
  check("hgetall content", sortObj(await r.hgetall("io:h")),
    sortObj({ name: "Ada", dob: "1815-12-10", mrn: "12345" }));
  check("hgetall missing", await r.hgetall("io:missing"), {});
  check("hincrbyfloat", await r.hincrbyfloat("io:h", "score", "2.5"), "2.5");
  check("hdel", await r.hdel("io:h", "score", "nope"), 1);

  // Errors come back as rejected promises with Redis's text.
  let err = null;
  try { await r.hget("io:k", "f"); } catch (e) { err = e.message; }
  check("WRONGTYPE error", err, "WRONGTYPE Operation against a key holding the wrong kind of value");

  // Pipeline: 1000 commands in one round trip.
  const p = r.pipeline();
  for (let i = 0; i < 500; i++) { p.set(`io:p:${i}`, `v${i}`); p.get(`io:p:${i}`); }
  const res = await p.exec();
  let good = res.length === 1000;
  for (let i = 0; i < 500 && good; i++) {
    good = res[2 * i][0] === null && res[2 * i][1] === "OK" &&
           res[2 * i + 1][0] === null && res[2 * i + 1][1] === `v${i}`;
  }
  check("pipeline of 1000 commands, all replies right", good, true);
  const p2 = await r.pipeline().set("io:s", "x").incr("io:s").get("io:s").exec();
  check("pipeline with an error in the middle",
    p2.map(([e, v]) => (e ? "ERR:" + e.message : v)),
    ["OK", "ERR:ERR value is not an integer or out of range", "x"]);

  // MULTI/EXEC.
  const m = await r.multi().set("io:t", "1").incr("io:t").hset("io:th", "f", "v").exec();
  check("multi/exec", m, [[null, "OK"], [null, 2], [null, 1]]);
  let execErr = null;
  try {
    await r.multi().set("io:t", "1").call("NOSUCHCOMMAND").exec();
  } catch (e) { execErr = e.message; }
  check("multi with a queued unknown command fails with EXECABORT",
    execErr !== null && execErr.startsWith("EXECABORT"), true);

  // WATCH: another connection changes the key, EXEC returns null.
  const other = connect();
  await other.connect();
  await r.watch("io:w");
  await other.set("io:w", "changed");
  check("watch + modification: exec is null", await r.multi().set("io:w", "mine").exec(), null);
  check("the other client's value stays", await r.get("io:w"), "changed");
  other.disconnect();

  // Cleanup of what this script wrote (admin may not FLUSHALL on phidb).
  let cursor = "0";
  do {
    const [next, keys] = await r.scan(cursor, "MATCH", "io:*", "COUNT", 1000);
    if (keys.length) await r.del(...keys);
    cursor = next;
  } while (cursor !== "0");
  check("all io:* keys removed", (await r.scan("0", "MATCH", "io:*", "COUNT", 10000))[1], []);
  await r.quit();
}

function sortObj(o) {
  const out = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k];
  return out;
}

main().then(
  () => { console.log(JSON.stringify({ checks })); process.exit(0); },
  (e) => { console.log(JSON.stringify({ checks, error: String(e && e.stack || e) })); process.exit(1); },
);
