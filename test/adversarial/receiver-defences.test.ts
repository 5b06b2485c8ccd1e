/**
 * Adversarial, the receiver's second round: each case an outside attack run found, sent as the
 * attacker sent it — a captured JWT replayed under fresh headers, a JWKS that fails, a body sent at
 * 1 byte/s, Redis going away mid-traffic, malformed secrets in the environment, tokens that live for
 * years or come from the future, an http: JWKS off loopback.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash, createHmac, randomBytes } from "node:crypto";
import { createServer, Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, KeyLike, SignJWT } from "jose";
import { buildReceiver, loadConfig, Receiver } from "gemini-webhooks-receiver";
import { freePort } from "../../scripts/free-port";
import { RECEIVER_CLI } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { rawRequest } from "../support/raw-http";
import { RedisServer } from "../support/redis-server";

const secret = "whsec_" + randomBytes(32).toString("base64");
const key = Buffer.from(secret.slice(6), "base64");
const now = () => Math.floor(Date.now() / 1000);
const envelope = () => JSON.stringify({ type: "batch.succeeded", version: "v1", timestamp: new Date().toISOString(), data: { id: "batches/" + randomBytes(4).toString("hex") } });
const sign = (id: string, ts: number, body: string) => "v1," + createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64");

/** A JWKS server whose answer the test switches: good keys, garbage, a 500, or a hang. */
class JwksServer {
  mode: "good" | "garbage" | "500" | "not-a-set" = "good";
  fetches = 0;
  server!: Server;
  url = "";
  privateKey!: KeyLike;
  #jwk!: Record<string, unknown>;

  static async start(): Promise<JwksServer> {
    const s = new JwksServer();
    const pair = await generateKeyPair("RS256", { extractable: true });
    s.privateKey = pair.privateKey;
    s.#jwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "RS256", use: "sig" };
    s.server = createServer((_req, res) => {
      s.fetches++;
      if (s.mode === "500") return res.writeHead(500).end("boom");
      if (s.mode === "garbage") return res.writeHead(200, { "content-type": "application/json" }).end("<html>not json");
      if (s.mode === "not-a-set") return res.writeHead(200, { "content-type": "application/json" }).end('{"hello":1}');
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [s.#jwk] }));
    });
    await new Promise<void>((r) => s.server.listen(0, "127.0.0.1", r));
    s.url = `http://127.0.0.1:${(s.server.address() as AddressInfo).port}`;
    return s;
  }
}

async function dynamicReceiver(jwks: JwksServer, env: Record<string, string> = {}) {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const processed: string[] = [];
  const receiver = buildReceiver(
    loadConfig({ JWKS_URI: `${jwks.url}/jwks.json`, JWT_ISSUER: jwks.url, JWT_AUDIENCE: `${base}/webhooks/gemini/dynamic`, LOG_LEVEL: "silent", ...env }),
    { handler: async (e) => void processed.push(e.webhookId) },
  );
  await receiver.app.listen({ port, host: "127.0.0.1" });
  const token = (body: string, claims: Record<string, unknown> = {}, times: { iat?: number; exp?: number } = {}) =>
    new SignJWT({ body_sha256: createHash("sha256").update(body).digest("base64url"), ...claims })
      .setProtectedHeader({ alg: "RS256", kid: "k1" })
      .setIssuer(jwks.url)
      .setAudience(`${base}/webhooks/gemini/dynamic`)
      .setIssuedAt(times.iat ?? now())
      .setExpirationTime(times.exp ?? now() + 300)
      .sign(jwks.privateKey);
  const deliver = async (body: string, jwt: string, id = "msg_" + randomBytes(6).toString("hex")) => {
    const response = await fetch(`${base}/webhooks/gemini/dynamic`, {
      method: "POST",
      headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(now()), "webhook-signature": jwt },
      body,
    });
    return { status: response.status, body: (await response.json()) as { status?: string; error?: string; detail?: string } };
  };
  return { receiver, base, processed, token, deliver };
}

describe("dynamic tokens", () => {
  let jwks: JwksServer;
  beforeAll(async () => {
    jwks = await JwksServer.start();
  });
  afterAll(() => new Promise((r) => jwks.server.close(r)));

  test("a token without a webhook_id claim, replayed under 5 fresh webhook-id headers, is processed once", async () => {
    const { receiver, processed, token, deliver } = await dynamicReceiver(jwks);
    try {
      const body = envelope();
      const captured = await token(body); // no webhook_id claim
      const answers = [];
      for (let i = 0; i < 5; i++) answers.push((await deliver(body, captured, `msg_fresh_${i}`)).body.status);
      assert.deepEqual(answers, ["accepted", "duplicate", "duplicate", "duplicate", "duplicate"]);
      // The sender's own retry (same webhook-id, a freshly minted token) is a duplicate too.
      assert.equal((await deliver(body, await token(body, {}, { iat: now() - 1 }), "msg_fresh_0")).body.status, "duplicate");
      await receiver.idle();
      assert.deepEqual(processed, ["msg_fresh_0"]);
    } finally {
      await receiver.close();
    }
  });

  test("a token living ten years, issued a day ahead or issued long ago is refused, naming the claim", async () => {
    const { receiver, processed, token, deliver } = await dynamicReceiver(jwks);
    try {
      const body = envelope();
      const cases: [string, { iat?: number; exp?: number }, RegExp][] = [
        ["ten years", { exp: now() + 10 * 365 * 86_400 }, /claim exp: the token lives \d+ s, longer than 3600 s/],
        ["a day ahead", { iat: now() + 86_400, exp: now() + 86_400 + 300 }, /iat/],
        ["an hour old", { iat: now() - 3600, exp: now() + 300 }, /iat/],
      ];
      for (const [what, times, reason] of cases) {
        const { status, body: answer } = await deliver(body, await token(body, {}, times));
        assert.equal(status, 401, what);
        assert.equal(answer.error, "unauthorized_jwt", what);
        assert.match(answer.detail ?? "", reason, what);
      }
      const noHash = await new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(jwks.url).setAudience(`${receiver.app.listeningOrigin}/webhooks/gemini/dynamic`).setIssuedAt().setExpirationTime("5m").sign(jwks.privateKey);
      const missing = await deliver(body, noHash);
      assert.equal(missing.status, 401);
      assert.equal(processed.length, 0);
    } finally {
      await receiver.close();
    }
  });

  test("JWT_REQUIRE_BODY_HASH=false accepts a token without body_sha256, and the 401 for a missing one names the claim", async () => {
    const strict = await dynamicReceiver(jwks);
    const lenient = await dynamicReceiver(jwks, { JWT_REQUIRE_BODY_HASH: "false" });
    try {
      const body = envelope();
      const withoutHash = (aud: string) =>
        new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(jwks.url).setAudience(aud).setIssuedAt().setExpirationTime("5m").sign(jwks.privateKey);
      const refused = await strict.deliver(body, await withoutHash(`${strict.base}/webhooks/gemini/dynamic`));
      assert.equal(refused.status, 401);
      assert.match(refused.body.detail ?? "", /claim body_sha256 is missing/);
      const accepted = await lenient.deliver(body, await withoutHash(`${lenient.base}/webhooks/gemini/dynamic`));
      assert.equal(accepted.body.status, "accepted");
      // A token that does carry a hash is still held to it.
      const tampered = await lenient.deliver(body + " ", await lenient.token(body));
      assert.equal(tampered.status, 401);
    } finally {
      await strict.receiver.close();
      await lenient.receiver.close();
    }
  });

  for (const mode of ["500", "garbage", "not-a-set"] as const) {
    test(`a JWKS answering ${mode}: 50 deliveries cost at most 2 fetches and are answered 503 jwks_unavailable, not 401`, async () => {
      const failing = await JwksServer.start();
      failing.mode = mode;
      const { receiver, token, deliver } = await dynamicReceiver(failing);
      try {
        const body = envelope();
        const answers = await Promise.all(Array.from({ length: 50 }, async () => deliver(body, await token(body))));
        assert.ok(answers.every((a) => a.status === 503 && a.body.error === "jwks_unavailable"), JSON.stringify(answers[0]));
        assert.ok(failing.fetches <= 2, `${failing.fetches} JWKS fetches for 50 deliveries`);
        const metrics = await (await fetch(`${receiver.app.listeningOrigin}/metrics`)).text();
        assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="jwks_unavailable",kind="dynamic"\} 50/);
      } finally {
        await receiver.close();
        await new Promise((r) => failing.server.close(r));
      }
    });
  }
});

describe("configuration", () => {
  const hex = randomBytes(32).toString("hex");
  const cases: [string, string][] = [
    ["a hex secret", hex],
    ["a hex secret with the prefix", "whsec_" + hex.slice(0, 62) + "!!"],
    ["a double-quoted secret", `"${secret}"`],
    ["a single-quoted secret", `'${secret}'`],
    ["junk after the base64", secret + "junk"],
    ["base64url characters", "whsec_" + randomBytes(32).toString("base64url")],
    ["no prefix", secret.slice(6)],
    ["a short key", "whsec_" + randomBytes(8).toString("base64")],
  ];
  for (const [what, value] of cases) {
    test(`WEBHOOK_SIGNING_SECRETS holding ${what} stops start-up, naming the variable and the entry, never the value`, () => {
      assert.throws(
        () => loadConfig({ WEBHOOK_SIGNING_SECRETS: `${secret} ${value}` }),
        (e: Error) => /^WEBHOOK_SIGNING_SECRETS: entry #2 of 2 /.test(e.message) && !e.message.includes(value) && !e.message.includes(secret),
      );
    });
  }

  test("the server exits 2 on such a secret and says why on stderr, without the secret", () => {
    const result = spawnSync(process.execPath, [RECEIVER_CLI], { env: { PATH: process.env.PATH, WEBHOOK_SIGNING_SECRETS: `"${secret}"` }, encoding: "utf8", timeout: 20_000 });
    assert.equal(result.status, 2);
    assert.match(result.stderr, /WEBHOOK_SIGNING_SECRETS: entry #1 of 1 is not a secret of the form whsec_<base64>/);
    assert.ok(!result.stderr.includes(secret.slice(6, 30)) && !result.stdout.includes(secret.slice(6, 30)));
  });

  test("an http: JWKS_URI off loopback needs JWKS_ALLOW_HTTP=true; loopback and https are fine", () => {
    const jwt = { JWT_ISSUER: "https://gemini.example", JWT_AUDIENCE: "https://hooks.example/dynamic" };
    assert.throws(() => loadConfig({ ...jwt, JWKS_URI: "http://172.17.0.1:8089/.well-known/jwks.json" }), /JWKS_URI uses http: on a host other than loopback/);
    assert.throws(() => loadConfig({ ...jwt, JWKS_URI: "http://jwks.example/keys" }), /JWKS_ALLOW_HTTP=true/);
    assert.ok(loadConfig({ ...jwt, JWKS_URI: "http://172.17.0.1:8089/.well-known/jwks.json", JWKS_ALLOW_HTTP: "true" }).jwt);
    assert.ok(loadConfig({ ...jwt, JWKS_URI: "http://127.0.0.1:8089/.well-known/jwks.json" }).jwt);
    assert.ok(loadConfig({ ...jwt, JWKS_URI: "https://jwks.example/keys" }).jwt);
    assert.throws(() => loadConfig({ ...jwt, JWKS_URI: "https://x/k", JWKS_ALLOW_HTTP: "yes please" }), /JWKS_ALLOW_HTTP must be true or false/);
  });
});

describe("slow senders", () => {
  test("a body sent at 1 byte/s is cut off at the 15 s request limit", async () => {
    const port = await freePort();
    const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, LOG_LEVEL: "silent" }));
    await receiver.app.listen({ port, host: "127.0.0.1" });
    try {
      const body = Buffer.from(envelope());
      const ts = now();
      const answer = await rawRequest(
        port,
        ["POST /webhooks/gemini HTTP/1.1", "host: x", "content-type: application/json", "webhook-id: msg_slow", `webhook-timestamp: ${ts}`, `webhook-signature: ${sign("msg_slow", ts, body.toString())}`],
        body,
        { dripMs: 1000, timeoutMs: 60_000 },
      );
      assert.ok(answer.ms >= 14_000 && answer.ms <= 17_500, `the connection lasted ${answer.ms} ms`);
      assert.ok(answer.status === 408 || answer.status === 0, `answered ${answer.status}`);
    } finally {
      await receiver.close();
    }
  }, 60_000);
});

describe("Redis outage", () => {
  let redis: RedisServer | undefined;
  afterAll(() => redis?.kill());

  test("Redis down: deliveries get 503 (never 500, never 200), /healthz is not ready; back up: the retried delivery is processed", async () => {
    redis = await RedisServer.start();
    const redisPort = redis.port;
    const port = await freePort();
    const processed: string[] = [];
    const receiver: Receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: `redis://127.0.0.1:${redisPort}`, LOG_LEVEL: "silent" }), {
      handler: async (e) => void processed.push(e.webhookId),
    });
    await receiver.start();
    await receiver.app.listen({ port, host: "127.0.0.1" });
    const base = `http://127.0.0.1:${port}`;
    const health = async () => (await fetch(`${base}/healthz`)).status;
    const deliver = async (id: string) => {
      const body = envelope();
      const ts = now();
      const r = await fetch(`${base}/webhooks/gemini`, { method: "POST", headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": sign(id, ts, body) }, body });
      return { status: r.status, retryAfter: r.headers.get("retry-after"), body: (await r.json()) as { status?: string; error?: string } };
    };
    try {
      await waitFor("ready", async () => (await health()) === 200);
      assert.equal((await deliver("msg_before")).status, 200);
      // This Redis keeps nothing on disk: let the event be handled before it dies (persistence is
      // test/receiver/durable.test.ts's subject).
      await waitFor("msg_before handled", () => processed.includes("msg_before"));

      await redis.kill();
      await waitFor("not ready", async () => (await health()) === 503);
      const during = await Promise.all(Array.from({ length: 20 }, (_, i) => deliver(`msg_during_${i}`)));
      for (const answer of during) {
        assert.equal(answer.status, 503, JSON.stringify(answer));
        assert.equal(answer.body.error, "unavailable");
        assert.ok(Number(answer.retryAfter) > 0);
      }
      assert.equal((await fetch(`${base}/livez`)).status, 200, "the process itself is alive");

      await redis.start();
      await waitFor("ready again", async () => (await health()) === 200, 20_000);
      // The sender retries what was refused: now accepted and processed, once.
      for (let i = 0; i < 20; i++) assert.equal((await deliver(`msg_during_${i}`)).body.status, "accepted");
      await receiver.idle();
      assert.deepEqual(processed.sort(), ["msg_before", ...Array.from({ length: 20 }, (_, i) => `msg_during_${i}`)].sort());
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="unavailable",kind="static"\} 20/);
    } finally {
      await receiver.close();
    }
  }, 120_000);
});
