/**
 * lane: full (Redis)
 * A replica whose event loop stalls (a loaded machine, a long GC pause, a handler that computes) while
 * its blocking read is answered: Redis has handed the entry to this consumer when it replied, so a read
 * the client gives up on leaves the entry pending, out of reach until the visibility timeout and a
 * claim round. The readers' connections therefore wait for a reply far longer than the main
 * connection's fast-failure timeout: the entry read during a 3 s stall runs as soon as the loop is
 * free again, not a minute later.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildReceiver, loadConfig, ReceivedEvent } from "gemini-webhooks-receiver";
import { freePort } from "../../scripts/free-port";
import { waitFor } from "../../scripts/wait-for";
import { logSink } from "../support/log-sink";
import { RedisServer } from "../support/redis-server";

const work = mkdtempSync(join(tmpdir(), "gemini-reader-lag-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const secret = "whsec_" + randomBytes(32).toString("base64");

let redis: RedisServer;
beforeAll(async () => {
  redis = await RedisServer.start({ dir: mkdtempSync(join(work, "redis-")) });
});
afterAll(() => redis?.kill());

const cli = (...args: string[]) => execFileSync("redis-cli", ["-p", String(redis.port), ...args], { encoding: "utf8" }).trim();

test("an entry Redis hands over while the replica's event loop is stalled past the command timeout runs when the loop is free, not after the visibility timeout", async () => {
  const port = await freePort();
  const runs: { id: string; at: number }[] = [];
  const receiver = buildReceiver(
    loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn", REDIS_KEY_PREFIX: "lag:", HANDLER_VISIBILITY_TIMEOUT_MS: "60000" }),
    { logStream: logSink().stream, handler: async (event: ReceivedEvent) => void runs.push({ id: event.webhookId, at: Date.now() }) },
  );
  await receiver.listen();
  try {
    const body = JSON.stringify({ type: "batch.succeeded", data: { id: "batches/lag" } });
    const ts = Math.floor(Date.now() / 1000);
    const signature = "v1," + createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`msg_lag.${ts}.${body}`).digest("base64");
    const response = await fetch(`http://127.0.0.1:${port}/webhooks/gemini`, { method: "POST", headers: { "content-type": "application/json", "webhook-id": "msg_lag", "webhook-timestamp": String(ts), "webhook-signature": signature }, body });
    assert.equal(response.status, 200);
    await waitFor("the delivery handled", () => runs.length === 1, 10_000, 20);

    // An entry as the accept writes it (kind, webhook id, the verified body), added by another client.
    const stream = cli("KEYS", "lag:*events");
    const event = `static\nmsg_lag_stalled\n${body}`;
    await waitFor("the reader blocked in XREADGROUP", () => /cmd=xreadgroup/.test(cli("CLIENT", "LIST")), 10_000, 20);

    // From the check phase, so the timers phase (where a command timeout fires) comes before the poll
    // phase that reads the reply: the entry is added while the reader blocks, and the loop stays busy 3 s.
    const stalledFrom = await new Promise<number>((resolve) =>
      setImmediate(() => {
        execFileSync("redis-cli", ["-p", String(redis.port), "XADD", stream, "*", "event", event]);
        const from = Date.now();
        while (Date.now() - from < 3_000);
        resolve(from);
      }),
    );
    await waitFor("the entry added during the stall handled", () => runs.length === 2, 20_000, 20);
    console.log(`entry read during a 3 s stall of the event loop: run ${runs[1].at - stalledFrom} ms after the stall began`);
    assert.ok(runs[1].at - stalledFrom < 15_000, "not left pending until the visibility timeout");
  } finally {
    await receiver.shutdown(1_000);
  }
}, 90_000);
