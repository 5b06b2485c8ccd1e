/**
 * lane: full (Redis)
 * Retries with backoff, and a circuit that pauses a replica whose handler fails for every event: a
 * failed run comes back after HANDLER_RETRY_BASE_MS × 2^(attempt−1) (with jitter, half to all of it),
 * from this replica, well inside the visibility timeout; HANDLER_CIRCUIT_FAILURES runs failing in a
 * row open the circuit — no run starts for the pause, so a broken downstream burns no attempts — and
 * one probe after it closes the circuit once the downstream is back: 0 dead letters.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReceiver, loadConfig, ReceivedEvent } from "gemini-webhooks-receiver";
import { freePort } from "../../scripts/free-port";
import { waitFor } from "../../scripts/wait-for";
import { logSink } from "../support/log-sink";
import { RedisServer } from "../support/redis-server";

const work = mkdtempSync(join(tmpdir(), "gemini-retries-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const secret = "whsec_" + randomBytes(32).toString("base64");

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start({ dir: mkdtempSync(join(work, "redis-")) });
});
afterAll(() => redis?.kill());

async function start(env: Record<string, string>, handler: (event: ReceivedEvent) => Promise<void>) {
  const port = await freePort();
  const logs = logSink();
  const receiver = buildReceiver(
    loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "info", HANDLER_TIMEOUT_MS: "1000", ...env }),
    { logStream: logs.stream, handler },
  );
  await receiver.listen();
  const base = `http://127.0.0.1:${port}`;
  const deliver = async (id: string) => {
    const body = JSON.stringify({ type: "batch.succeeded", data: { id: `batches/${id}` } });
    const ts = Math.floor(Date.now() / 1000);
    const signature = "v1," + createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64");
    const response = await fetch(`${base}/webhooks/gemini`, { method: "POST", headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature }, body });
    assert.equal(response.status, 200);
  };
  const metric = async (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(await (await fetch(`${base}/metrics`)).text())?.[1]);
  return { receiver, deliver, metric, logs };
}

test("a failing run comes back after an exponential backoff with jitter, from this replica, inside the visibility timeout", async () => {
  const runs: number[] = [];
  const { receiver, deliver } = await start(
    { REDIS_KEY_PREFIX: "backoff:", HANDLER_RETRY_BASE_MS: "300", HANDLER_VISIBILITY_TIMEOUT_MS: "20000", HANDLER_MAX_ATTEMPTS: "5" },
    async () => {
      runs.push(Date.now());
      if (runs.length <= 3) throw new Error("downstream said 503");
    },
  );
  try {
    await deliver("msg_backoff");
    await waitFor("four runs: three failures, then success", () => runs.length === 4, 15_000, 20);
    const gaps = runs.slice(1).map((t, i) => t - runs[i]);
    console.log(`backoff at HANDLER_RETRY_BASE_MS=300: gaps ${gaps.join(", ")} ms (bounds 150–300, 300–600, 600–1,200 before scheduling delays)`);
    gaps.forEach((gap, i) => assert.ok(gap >= 300 * 2 ** i * 0.5 - 5, `retry ${i + 1} after ${gap} ms, before its backoff`));
    assert.ok(gaps[2] > gaps[0], `the backoff grows: ${gaps.join(", ")}`);
    assert.ok(runs[3] - runs[0] < 20_000, "retried by this replica, not taken over after the visibility timeout");
  } finally {
    await receiver.shutdown(1_000);
  }
}, 60_000);

test("every run failing opens the circuit: nothing runs during the pause (no attempt spent), a probe after it closes the circuit once the downstream is back; 0 dead letters", async () => {
  let broken = true;
  const runs: { at: number; ok: boolean }[] = [];
  const handled = new Set<string>();
  const { receiver, deliver, metric, logs } = await start(
    { REDIS_KEY_PREFIX: "circuit:", HANDLER_CONCURRENCY: "1", HANDLER_CIRCUIT_FAILURES: "5", HANDLER_RETRY_BASE_MS: "100", HANDLER_MAX_ATTEMPTS: "10", HANDLER_VISIBILITY_TIMEOUT_MS: "60000" },
    async (event) => {
      runs.push({ at: Date.now(), ok: !broken });
      if (broken) throw new Error("the database is down");
      handled.add(event.webhookId);
    },
  );
  try {
    assert.equal(await metric("gemini_webhook_circuit_open"), 0);
    const ids = Array.from({ length: 20 }, (_, i) => `msg_circuit_${i}`);
    for (const id of ids) await deliver(id);
    await waitFor("the circuit open", async () => (await metric("gemini_webhook_circuit_open")) === 1, 15_000, 50);
    const failedBeforeOpening = runs.length;
    assert.ok(failedBeforeOpening >= 5, `${failedBeforeOpening} runs`);
    assert.match(logs.text(), /circuit open: the handler failed for every one of the last runs/);
    broken = false; // the downstream is back; the circuit does not know until its probe
    await waitFor("the probe after the pause, then every event handled", () => handled.size === ids.length, 60_000, 50);
    const opened = runs[failedBeforeOpening - 1].at;
    const probe = runs[failedBeforeOpening];
    console.log(`circuit: opened after ${failedBeforeOpening} failed runs; first run after it ${probe.at - opened} ms later (the pause is 5 s); ${runs.length} runs for ${ids.length} events`);
    assert.ok(probe.at - opened >= 4_900, `a run started ${probe.at - opened} ms after the circuit opened, inside its pause`);
    assert.equal(probe.ok, true);
    await waitFor("the circuit closed", async () => (await metric("gemini_webhook_circuit_open")) === 0, 5_000, 50);
    assert.equal(await metric("gemini_webhook_circuit_opened_total"), 1);
    assert.match(logs.text(), /circuit closed: a run succeeded/);
    assert.equal(runs.length, failedBeforeOpening + ids.length, "after the pause, each event ran once");
    await waitFor("no dead letter", async () => (await metric("gemini_webhook_dead_letters")) === 0, 5_000, 100);
  } finally {
    await receiver.shutdown(1_000);
  }
}, 90_000);
