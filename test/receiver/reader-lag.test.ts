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

test("an entry handed to this replica's consumer whose reply never arrived (a reset connection) is run again after 10 s idle, not after the visibility timeout", async () => {
  const port = await freePort();
  const runs: { id: string; at: number }[] = [];
  let release: () => void = () => undefined;
  const blocked = new Promise<void>((resolve) => (release = resolve));
  const receiver = buildReceiver(
    loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, PORT: String(port), HOST: "127.0.0.1", LOG_LEVEL: "warn", REDIS_KEY_PREFIX: "lost:", HANDLER_CONCURRENCY: "1", HANDLER_VISIBILITY_TIMEOUT_MS: "300000", HANDLER_TIMEOUT_MS: "60000" }),
    {
      logStream: logSink().stream,
      handler: async (event: ReceivedEvent) => {
        runs.push({ id: event.webhookId, at: Date.now() });
        if (event.webhookId === "msg_block") await blocked;
      },
    },
  );
  await receiver.listen();
  try {
    const body = JSON.stringify({ type: "batch.succeeded", data: { id: "batches/lost" } });
    const ts = Math.floor(Date.now() / 1000);
    const signature = "v1," + createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`msg_block.${ts}.${body}`).digest("base64");
    await fetch(`http://127.0.0.1:${port}/webhooks/gemini`, { method: "POST", headers: { "content-type": "application/json", "webhook-id": "msg_block", "webhook-timestamp": String(ts), "webhook-signature": signature }, body });
    // Its one slot taken, the replica has no read outstanding: the next entry is read by another client under its name.
    await waitFor("the blocking run started", () => runs.length === 1, 10_000, 20);
    const stream = cli("KEYS", "lost:*events");
    const field = (reply: string, name: string) => {
      const lines = reply.split("\n");
      return lines[lines.indexOf(name) + 1];
    };
    const group = field(cli("XINFO", "GROUPS", stream), "name");
    const consumer = field(cli("XINFO", "CONSUMERS", stream, group), "name");
    cli("XADD", stream, "*", "event", `static\nmsg_lost\n${body}`);
    // Redis now counts it as handed to the replica; the replica never saw the reply.
    assert.match(cli("XREADGROUP", "GROUP", group, consumer, "COUNT", "1", "STREAMS", stream, ">"), /msg_lost/);
    const lostAt = Date.now();
    release();
    await waitFor("the lost entry run by its replica", () => runs.some((r) => r.id === "msg_lost"), 60_000, 100);
    const after = runs.find((r) => r.id === "msg_lost")!.at - lostAt;
    console.log(`an entry lost on its way to the replica: run ${after} ms later (visibility timeout 300 s: the claim loop would take it after 150 s or more)`);
    assert.ok(after >= 9_000, "not before it had been idle 10 s: a reply still on its way is not run twice");
    assert.ok(after < 60_000, `run ${after} ms later: the sweep runs every 5 s, not at the claim loop's pace (half the visibility timeout)`);
    assert.equal(runs.filter((r) => r.id === "msg_lost").length, 1);
  } finally {
    release();
    await receiver.shutdown(1_000);
  }
}, 120_000);
