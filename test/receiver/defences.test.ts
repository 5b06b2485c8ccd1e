/**
 * lane: full (Redis)
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
import { buildReceiver, loadConfig, Receiver, verifyDynamicDelivery } from "gemini-webhooks-receiver";
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

/**
 * A JWKS server whose answer the test switches: good keys, garbage, a 500, not a set, or 300 MB (as a
 * stream without a length, or with a content-length that says so). `keys` is what it serves.
 */
class JwksServer {
  mode: "good" | "garbage" | "500" | "not-a-set" | "huge-stream" | "huge-length" = "good";
  fetches = 0;
  /** Bytes written for the huge answers before the client went away. */
  hugeBytesSent = 0;
  server!: Server;
  url = "";
  privateKey!: KeyLike;
  keys: Record<string, unknown>[] = [];

  /** A new RS256 key under `kid`, served from now on (alone, or beside the others); its private key. */
  async newKey(kid: string, alone: boolean): Promise<KeyLike> {
    const pair = await generateKeyPair("RS256", { extractable: true });
    const jwk = { ...(await exportJWK(pair.publicKey)), kid, alg: "RS256", use: "sig" };
    this.keys = alone ? [jwk] : [...this.keys.filter((k) => k.kid !== kid), jwk];
    return pair.privateKey;
  }

  static async start(): Promise<JwksServer> {
    const s = new JwksServer();
    s.privateKey = await s.newKey("k1", true);
    s.server = createServer((_req, res) => {
      s.fetches++;
      if (s.mode === "500") return res.writeHead(500).end("boom");
      if (s.mode === "garbage") return res.writeHead(200, { "content-type": "application/json" }).end("<html>not json");
      if (s.mode === "not-a-set") return res.writeHead(200, { "content-type": "application/json" }).end('{"hello":1}');
      if (s.mode === "huge-stream" || s.mode === "huge-length") {
        const total = 300 * 1024 * 1024;
        const chunk = Buffer.alloc(64 * 1024, 0x20);
        res.writeHead(200, { "content-type": "application/json", ...(s.mode === "huge-length" ? { "content-length": String(total) } : {}) });
        const pump = () => {
          while (s.hugeBytesSent < total && !res.destroyed) {
            s.hugeBytesSent += chunk.length;
            if (!res.write(chunk)) return void res.once("drain", pump);
          }
          res.end();
        };
        res.on("close", () => undefined);
        return pump();
      }
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: s.keys }));
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

  test("a captured token without a webhook_id claim, re-spelled in non-canonical base64url under fresh webhook-ids, is accepted once", async () => {
    const { receiver, processed, token, deliver } = await dynamicReceiver(jwks);
    try {
      const body = envelope();
      const captured = await token(body);
      const [head, payload, signature] = captured.split(".");
      const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
      const last = alphabet.indexOf(signature.at(-1)!);
      const variants = [
        // 2,048-bit signature: 342 characters, the last carrying 2 bits and 4 spare ones.
        ...Array.from({ length: 15 }, (_, bits) => `${head}.${payload}.${signature.slice(0, -1)}${alphabet[last ^ (bits + 1)]}`),
        // Characters outside the alphabet, which Node's decoder skips.
        ...Array.from({ length: 100 }, (_, i) => {
          const at = 1 + Math.floor((i * (signature.length - 2)) / 100);
          return `${head}.${payload}.${signature.slice(0, at)}!${signature.slice(at)}`;
        }),
        `${captured}=`,
        `${captured}~`,
        `${head}.${payload}.${signature.slice(0, 100)} ${signature.slice(100)}`,
        `${head}=.${payload}.${signature}`,
      ];
      assert.equal((await deliver(body, captured, "msg_original")).body.status, "accepted");
      const answers = await Promise.all(variants.map((v, i) => deliver(body, v, `msg_respelled_${i}`)));
      const accepted = answers.filter((a) => a.status === 200);
      assert.equal(accepted.length, 0, `${accepted.length} of ${variants.length} re-spellings answered 200`);
      assert.ok(answers.every((a) => a.status === 400 && a.body.error === "malformed" && /canonical base64url/.test(a.body.detail ?? "")), JSON.stringify(answers.find((a) => a.status !== 400)));
      await receiver.idle();
      assert.deepEqual(processed, ["msg_original"]);
    } finally {
      await receiver.close();
    }
  });

  for (const mode of ["huge-stream", "huge-length"] as const) {
    test(`a 300 MB JWKS answer (${mode === "huge-stream" ? "streamed without a length" : "with a content-length saying so"}) is cut at 256 KiB: memory stays flat, deliveries get 503`, async () => {
      const huge = await JwksServer.start();
      huge.mode = mode;
      const { receiver, token, deliver } = await dynamicReceiver(huge);
      try {
        const body = envelope();
        const before = process.memoryUsage().rss;
        const answer = await deliver(body, await token(body));
        const grown = process.memoryUsage().rss - before;
        assert.equal(answer.status, 503);
        assert.equal(answer.body.error, "jwks_unavailable");
        assert.match(answer.body.detail ?? "", /too large/);
        assert.ok(grown < 64 * 1024 * 1024, `RSS grew ${Math.round(grown / 1048576)} MiB`);
        await new Promise((resolve) => setTimeout(resolve, 200));
        console.log(`JWKS ${mode}: 300 MB offered, ${(huge.hugeBytesSent / 1048576).toFixed(1)} MiB sent before the receiver hung up, RSS +${Math.round(grown / 1048576)} MiB`);
        assert.ok(huge.hugeBytesSent < 16 * 1024 * 1024, `${Math.round(huge.hugeBytesSent / 1048576)} MiB sent before the receiver hung up`);
      } finally {
        await receiver.close();
        huge.server.closeAllConnections();
        await new Promise((r) => huge.server.close(r));
      }
    }, 60_000);
  }

  test("a key removed from the JWKS stops being trusted after JWKS_MAX_AGE_MS", async () => {
    const rotating = await JwksServer.start();
    const { receiver, token, deliver } = await dynamicReceiver(rotating, { JWKS_MAX_AGE_MS: "1000" });
    try {
      const body = envelope();
      assert.equal((await deliver(body, await token(body))).body.status, "accepted");
      await rotating.newKey("k2", true); // k1 removed (compromised, say)
      await new Promise((resolve) => setTimeout(resolve, 1_200));
      const refused = await deliver(body, await token(body));
      assert.equal(refused.status, 401);
      assert.equal(refused.body.error, "unauthorized_jwt");
    } finally {
      await receiver.close();
      await new Promise((r) => rotating.server.close(r));
    }
  });

  test("a key replaced under the same kid is refetched when its signature fails (bounded by the cooldown)", async () => {
    const replacing = await JwksServer.start();
    const aud = "https://hooks.example/webhooks/gemini/dynamic";
    const options = { jwksUri: `${replacing.url}/jwks.json`, issuer: replacing.url, audience: aud, cooldownMs: 300 };
    const signed = async (key: KeyLike, body: string) => ({
      "webhook-id": "msg_" + randomBytes(4).toString("hex"),
      "webhook-timestamp": String(now()),
      "webhook-signature": await new SignJWT({ body_sha256: createHash("sha256").update(body).digest("base64url") })
        .setProtectedHeader({ alg: "RS256", kid: "k1" }).setIssuer(replacing.url).setAudience(aud).setIssuedAt().setExpirationTime("5m").sign(key),
    });
    try {
      const body = envelope();
      await verifyDynamicDelivery(body, await signed(replacing.privateKey, body), options);
      const replaced = await replacing.newKey("k1", true);
      await new Promise((resolve) => setTimeout(resolve, 400)); // past the cooldown
      const fetchesBefore = replacing.fetches;
      await verifyDynamicDelivery(body, await signed(replaced, body), options);
      assert.equal(replacing.fetches, fetchesBefore + 1, "one refetch");
      // Forged signatures under a known kid cannot turn into a flood of fetches.
      const forgedKey = (await generateKeyPair("RS256")).privateKey;
      const forged = await Promise.all(Array.from({ length: 30 }, async () => verifyDynamicDelivery(body, await signed(forgedKey, body), options).then(() => "accepted", (e: Error) => e.message)));
      assert.ok(forged.every((f) => /unauthorized_jwt/.test(f)), forged[0]);
      assert.ok(replacing.fetches <= fetchesBefore + 2, `${replacing.fetches - fetchesBefore} fetches`);
    } finally {
      await new Promise((r) => replacing.server.close(r));
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
    ["whsec_ and 64 hex characters (the third attack run's case)", "whsec_" + hex],
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
