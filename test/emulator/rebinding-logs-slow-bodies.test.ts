/**
 * Adversarial, the emulator's third round, sent as the attacker sent it: a DNS-rebinding page (its
 * own name in `Host`, its origin in `Origin`) against an emulator with no --api-key, the key in a
 * query string of a logged request, and a slow body held open; and round 4's lax parsing (odd Host
 * values, a second Host, upper-case fetch metadata, verbs with a tail). Each fails on the code before the fix.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { defaultGateways } from "../../emulator/src/host-policy";
import { rawRequest } from "../support/raw-http";

function port(emulator: RunningEmulator): number {
  return (emulator.app.server.address() as { port: number }).port;
}

describe("DNS rebinding: an emulator without --api-key (the default)", () => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ inMemory: true, jobCompletionDelayMs: 0 });
  });
  afterAll(() => emulator.close());

  const page = (p: number, line: string, host: string, extra: string[] = [], body?: string) =>
    rawRequest(p, [line, `host: ${host}`, "x-goog-api-key: anything", ...extra, ...(body ? ["content-type: application/json"] : [])], Buffer.from(body ?? ""));

  test("a page on a rebound name can neither list, create, rotate nor read deliveries", async () => {
    const p = port(emulator);
    const create = await fetch(`${emulator.apiUrl}/webhooks`, { method: "POST", headers: { "content-type": "application/json", "x-goog-api-key": "k" }, body: JSON.stringify({ uri: "http://127.0.0.1:9/h", subscribed_events: ["batch.succeeded"] }) });
    const { id } = (await create.json()) as { id: string };
    const attacks: [string, string?][] = [
      ["GET /v1beta/webhooks HTTP/1.1"],
      ["GET /v1/webhooks HTTP/1.1"],
      ["POST /v1beta/webhooks HTTP/1.1", JSON.stringify({ uri: "http://127.0.0.1:9/evil", subscribed_events: ["batch.succeeded"] })],
      [`POST /v1beta/webhooks/${id}:rotateSigningSecret HTTP/1.1`, "{}"],
      ["GET /emulator/v1/deliveries HTTP/1.1"],
      ["GET /.well-known/jwks.json HTTP/1.1"],
      ["GET /no/such/route HTTP/1.1"],
    ];
    const hosts = [`evil.example:${p}`, "evil.example", `attacker.127.0.0.1.nip.io:${p}`, `localhost.evil.example:${p}`, `EVIL.example.:${p}`];
    let refused = 0;
    for (const host of hosts) {
      for (const [line, body] of attacks) {
        const answer = await page(p, line, host, [`origin: http://${host}`], body);
        assert.equal(answer.status, 403, `${line} with Host ${host}: ${answer.status} ${answer.body.slice(0, 200)}`);
        assert.ok(!answer.body.includes("whsec_"));
        refused++;
      }
    }
    assert.equal(refused, hosts.length * attacks.length);
    // Nothing was created or rotated.
    const listed = (await (await fetch(`${emulator.apiUrl}/webhooks`, { headers: { "x-goog-api-key": "k" } })).json()) as { webhooks: unknown[] };
    assert.equal(listed.webhooks.length, 1);
  });

  test("loopback names are served; a cross-site page on a served name is still refused", async () => {
    const p = port(emulator);
    for (const host of [`127.0.0.1:${p}`, `localhost:${p}`, `LOCALHOST.:${p}`, `[::1]:${p}`, `127.1.2.3:${p}`]) {
      assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", host)).status, 200, host);
    }
    const host = `127.0.0.1:${p}`;
    assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", host, ["origin: https://evil.example"])).status, 403);
    assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", host, ["origin: null"])).status, 403);
    assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", host, ["sec-fetch-site: cross-site"])).status, 403);
    assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", host, [`origin: http://localhost:3000`])).status, 200, "a local page is not cross-site");
  });

  test("round 4: Host and fetch metadata parsed strictly — odd hosts, a second Host, any case of cross-site", async () => {
    const p = port(emulator);
    const odd = [
      `[::1]evil.example:${p}`,
      "[::1]evil.example",
      `[::1]:${p}evil`,
      "127.999.999.999",
      `127.0.0.256:${p}`,
      "127.1",
      "127.0.0.1.",
      `127.0.0.1:${p}:${p}`,
      `127.0.0.1:abc`,
      "localhost@evil.example",
      "localhost/evil",
      "local host",
      "[::1",
      "[evil.example]",
      "0x7f.0.0.1",
      "0177.0.0.1",
      "",
    ];
    for (const host of odd) {
      const answer = await page(p, "GET /v1beta/webhooks HTTP/1.1", host);
      assert.ok(answer.status === 403 || answer.status === 400, `Host ${JSON.stringify(host)}: ${answer.status}`);
    }
    const twice = await rawRequest(p, ["GET /v1beta/webhooks HTTP/1.1", `host: 127.0.0.1:${p}`, "host: evil.example", "x-goog-api-key: anything"], Buffer.alloc(0));
    assert.ok(twice.status === 403 || twice.status === 400, `two Host headers: ${twice.status}`);
    const twiceServed = await rawRequest(p, ["GET /v1beta/webhooks HTTP/1.1", `host: 127.0.0.1:${p}`, `Host: localhost:${p}`, "x-goog-api-key: anything"], Buffer.alloc(0));
    assert.ok(twiceServed.status === 403 || twiceServed.status === 400, `two served Host headers: ${twiceServed.status}`);
    for (const site of ["CROSS-SITE", "Cross-Site", " cross-site "]) {
      const answer = await page(p, "GET /v1beta/webhooks HTTP/1.1", `127.0.0.1:${p}`, [`sec-fetch-site: ${site}`]);
      assert.equal(answer.status, 403, `Sec-Fetch-Site: ${site}`);
      const admin = await page(p, "GET /emulator/v1/deliveries HTTP/1.1", `127.0.0.1:${p}`, [`sec-fetch-site: ${site}`]);
      assert.equal(admin.status, 403, `admin, Sec-Fetch-Site: ${site}`);
    }
    assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", `127.0.0.1:${p}`, ["sec-fetch-site: same-origin"])).status, 200);
  });

  test("round 4: admin and model verbs matched exactly — :failDeliveries:junk is not :failDeliveries", async () => {
    const p = port(emulator);
    const create = await fetch(`${emulator.apiUrl}/webhooks`, { method: "POST", headers: { "content-type": "application/json", "x-goog-api-key": "k" }, body: JSON.stringify({ uri: "http://127.0.0.1:9/v", subscribed_events: ["batch.succeeded"] }) });
    const { id } = (await create.json()) as { id: string };
    for (const verb of ["failDeliveries:junk", "failDeliveries:", "failDeliveries:failDeliveries", "FAILDELIVERIES", "failDeliveries%3Ajunk"]) {
      const answer = await rawRequest(p, [`POST /emulator/v1/webhooks/${id}:${verb} HTTP/1.1`, `host: 127.0.0.1:${p}`, "content-type: application/json"], Buffer.from("{}"));
      assert.equal(answer.status, 404, `:${verb}: ${answer.status} ${answer.body.slice(0, 120)}`);
    }
    const state = (await (await fetch(`${emulator.apiUrl}/webhooks/${id}`, { headers: { "x-goog-api-key": "k" } })).json()) as { state: string };
    assert.equal(state.state, "enabled", "no variant disabled it");
    const batch = await rawRequest(p, ["POST /v1beta/models/gemini-3-flash-preview:batchGenerateContent:junk HTTP/1.1", `host: 127.0.0.1:${p}`, "x-goog-api-key: k", "content-type: application/json"], Buffer.from(JSON.stringify({ batch: { input_config: {} } })));
    assert.equal(batch.status, 404, `:batchGenerateContent:junk: ${batch.status}`);
  });

  test("--allow-host and --public-url add names; an emulator on every interface serves host.docker.internal", async () => {
    const wide = await startEmulator({ inMemory: true, host: "0.0.0.0", publicUrl: "http://emulator.internal:8089", allowedHosts: ["gemini.test"] });
    try {
      const p = port(wide);
      for (const host of ["host.docker.internal", "emulator.internal:8089", "gemini.test"]) assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", host)).status, 200, host);
      // The default gateway's address (in a container: the Docker host, as Testcontainers reaches it).
      for (const gateway of defaultGateways()) assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", `${gateway}:${p}`)).status, 200, gateway);
      assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", "evil.example")).status, 403);
      assert.equal((await page(p, "GET /v1beta/webhooks HTTP/1.1", "203.0.113.9")).status, 403, "an address that is neither this machine's nor its gateway's");
    } finally {
      await wide.close();
    }
  });
});

test("the default gateways are read from Linux's routing table (little-endian hex)", () => {
  const table = ["Iface\tDestination\tGateway \tFlags", "eth0\t00000000\t010200C0\t0003", "docker0\t000011AC\t00000000\t0001", "wg0\t00000000\t00000000\t0001"].join("\n");
  assert.deepEqual(defaultGateways(table), ["192.0.2.1"]);
  assert.deepEqual(defaultGateways(""), []);
});

test("a key sent in the query string never reaches the request log, in any spelling", async () => {
  const lines: string[] = [];
  const logStream = new Writable({ write: (chunk, _e, cb) => (lines.push(chunk.toString()), cb()) });
  const emulator = await startEmulator({ inMemory: true, logStream });
  try {
    const secretKey = "AIzaSyD-query-string-key-value-0123456789";
    const spellings = ["key", "api_key", "apiKey", "API-KEY", "access_token", "token", "x-goog-api-key", "X_Goog_Api_Key", "%6Bey", "k%65y", "acc%65ss_token"];
    for (const name of spellings) {
      await fetch(`${emulator.apiUrl}/webhooks?${name}=${secretKey}&page_size=1`, { headers: { "x-goog-api-key": secretKey } });
      await fetch(`${emulator.url}/no/such/route?${name}=${secretKey}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    const log = lines.join("");
    assert.ok(log.includes("page_size=1"), "requests are logged");
    assert.ok(log.includes("[redacted]"));
    assert.ok(!log.includes(secretKey), "the key reached the log");
    assert.ok(!log.includes(secretKey.slice(0, 20)));
  } finally {
    await emulator.close();
  }
});

test("slow bodies are cut: 50 connections sending a byte every 5 s are all closed within 20 s", async () => {
  const emulator = await startEmulator({ inMemory: true });
  try {
    const p = port(emulator);
    const startedAt = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () =>
        rawRequest(p, ["POST /v1beta/webhooks HTTP/1.1", "host: 127.0.0.1", "x-goog-api-key: k", "content-type: application/json"], Buffer.alloc(100_000, 0x20), {
          dripMs: 5_000,
          timeoutMs: 40_000,
        }),
      ),
    );
    const longest = Math.max(...answers.map((a) => a.ms));
    console.log(`emulator slow bodies: 50 connections closed after at most ${longest} ms (${Date.now() - startedAt} ms in all)`);
    assert.ok(longest < 20_000, `a connection stayed open ${longest} ms`);
  } finally {
    await emulator.close();
  }
}, 60_000);
