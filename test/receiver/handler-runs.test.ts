/**
 * lane: full (Redis)
 * The receiver as a library, in this process: the handler's deadline and signal, what in-memory
 * mode does with a failed handler, rate-limited refusal logs, and OpenTelemetry spans recorded by the
 * SDK's in-memory exporter (memory and durable mode, the handle span joining the delivery's trace
 * through Redis).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { trace } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { buildReceiver, HandlerMeta, loadConfig, Receiver } from "gemini-webhooks-receiver";
import { inject } from "../support/inject";
import { logSink } from "../support/log-sink";
import { RedisServer } from "../support/redis-server";
import { secret, signed } from "../support/replicas";
import { waitFor } from "../../scripts/wait-for";

const exporter = new InMemorySpanExporter();
trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));

const post = (receiver: Receiver, id: string, signWith = secret) => {
  const request = signed(id);
  if (signWith !== secret) request.headers["webhook-signature"] = "v1," + randomBytes(32).toString("base64");
  return inject(receiver.app, { method: "POST", url: "/webhooks/gemini", headers: request.headers, payload: request.body });
};

test("in memory: a handler past HANDLER_TIMEOUT_MS is aborted through meta.signal, frees its slot, and is dropped with a log line that says so", async () => {
  const logs = logSink();
  const signals: AbortSignal[] = [];
  const handled: string[] = [];
  const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, HANDLER_TIMEOUT_MS: "200", HANDLER_CONCURRENCY: "1" }), {
    logStream: logs.stream,
    handler: async (event, meta: HandlerMeta) => {
      signals.push(meta.signal);
      if (event.webhookId === "msg_hang") return new Promise<void>(() => undefined);
      handled.push(event.webhookId);
    },
  });
  try {
    assert.equal((await post(receiver, "msg_hang")).statusCode, 200);
    assert.equal((await post(receiver, "msg_next")).statusCode, 200);
    await waitFor("the next event handled on the one slot", () => handled.includes("msg_next"), 5_000);
    assert.equal(signals[0].aborted, true);
    assert.equal((signals[0].reason as Error).name, "HandlerTimeoutError");
    assert.equal(signals[1].aborted, false);
    const dropped = logs.lines().find((l) => String(l.msg).includes("in-memory mode does not retry"));
    assert.ok(dropped, "the log says the event is dropped");
    assert.equal(dropped.webhook_id, "msg_hang");
    assert.equal(dropped.reason, "timeout");
    const metrics = await receiver.metrics.registry.metrics();
    assert.match(metrics, /gemini_webhook_handler_timeouts_total 1/);
    assert.match(metrics, /gemini_webhook_processed_total\{outcome="dropped"\} 1/);
  } finally {
    await receiver.close();
  }
});

test("refusals are logged at warn with webhook-id, reason and source, one line per reason and window plus a count", async () => {
  const logs = logSink();
  // A window no run of this test outlasts, however loaded the machine: it ends when the receiver closes
  // (which writes what the open windows hold), not when a timer says so.
  const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret }), { logStream: logs.stream, refusalLogWindowMs: 10 * 60_000 });
  try {
    for (let i = 0; i < 50; i++) assert.equal((await post(receiver, `msg_forged_${i}`, "forged")).statusCode, 401);
    // A credential in the query string never reaches the log (the receiver logs no URLs at all).
    const request = signed("msg_query_key");
    const keyInQuery = await inject(receiver.app, { method: "POST", url: "/webhooks/gemini?key=AIzaQueryKey0123456789&access_token=tok-0123456789", headers: request.headers, payload: request.body });
    assert.equal(keyInQuery.statusCode, 200);
    const first = logs.lines().filter((l) => l.reason === "invalid_signature");
    assert.equal(first.length, 1);
    assert.equal(first[0].level, 40);
    assert.equal(first[0].webhook_id, "msg_forged_0");
    assert.equal(first[0].remote, "127.0.0.1");
    await receiver.close();
    assert.equal(logs.lines().filter((l) => l.reason === "invalid_signature").length, 2, "the window's summary line, at close");
    const summary = logs.lines().filter((l) => l.reason === "invalid_signature")[1];
    assert.equal(summary.count, 49);
    assert.deepEqual(summary.webhook_ids, ["msg_forged_1", "msg_forged_2", "msg_forged_3", "msg_forged_4", "msg_forged_5"]);
    assert.match(String(summary.msg), /49 more deliveries refused \(invalid_signature\)/);
    const all = JSON.stringify(logs.lines());
    assert.ok(!all.includes("AIzaQueryKey0123456789") && !all.includes("tok-0123456789"));
  } finally {
    await receiver.close();
  }
});

describe("OpenTelemetry spans with a registered SDK", () => {
  beforeEach(() => exporter.reset());

  const spans = () => exporter.getFinishedSpans();
  const named = (name: string) => spans().filter((s) => s.name === name);

  test("in memory: receive → verify, accept, handle in one trace, with the webhook id and outcomes", async () => {
    const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret }), { logStream: logSink().stream, handler: async () => undefined });
    try {
      await post(receiver, "msg_traced");
      await post(receiver, "msg_traced");
      await post(receiver, "msg_forged", "forged");
      await receiver.idle();
      await waitFor("the handle span", () => named("gemini_webhook.handle").length === 1, 5_000);
      const receives = named("gemini_webhook.receive");
      assert.deepEqual(receives.map((s) => s.attributes["gemini_webhook.outcome"]), ["accepted", "duplicate", "invalid_signature"]);
      const [accepted] = receives;
      assert.equal(accepted.attributes["gemini_webhook.id"], "msg_traced");
      assert.equal(accepted.attributes["gemini_webhook.type"], "batch.succeeded");
      const traceId = accepted.spanContext().traceId;
      const children = spans().filter((s) => s.spanContext().traceId === traceId && s !== accepted);
      assert.deepEqual(children.map((s) => s.name).sort(), ["gemini_webhook.accept", "gemini_webhook.handle", "gemini_webhook.verify"]);
      for (const child of children) assert.equal(child.parentSpanContext?.spanId, accepted.spanContext().spanId);
      const [handle] = named("gemini_webhook.handle");
      assert.equal(handle.attributes["gemini_webhook.outcome"], "ok");
      assert.equal(handle.attributes["gemini_webhook.attempt"], 1);
      assert.equal(receives[2].status.code, 2, "a refusal is an error span");
    } finally {
      await receiver.close();
    }
  });

  test("durable: the handle span joins the delivery's trace through the traceparent kept in the stream, and a timeout is its outcome", async () => {
    const redis = await RedisServer.start();
    const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_URL: redis.url, HANDLER_TIMEOUT_MS: "100", HANDLER_MAX_ATTEMPTS: "1" }), {
      logStream: logSink().stream,
      handler: async (event) => {
        if (event.webhookId === "msg_slow_traced") await new Promise((resolve) => setTimeout(resolve, 1_000));
      },
    });
    try {
      await receiver.start();
      await waitFor("redis", () => receiver.handoff.ready());
      await post(receiver, "msg_durable_traced");
      await post(receiver, "msg_slow_traced");
      await waitFor("two handle spans", () => named("gemini_webhook.handle").length === 2, 10_000);
      for (const id of ["msg_durable_traced", "msg_slow_traced"]) {
        const receive = named("gemini_webhook.receive").find((s) => s.attributes["gemini_webhook.id"] === id)!;
        const handle = named("gemini_webhook.handle").find((s) => s.attributes["gemini_webhook.id"] === id)!;
        assert.equal(handle.spanContext().traceId, receive.spanContext().traceId);
        assert.equal(handle.parentSpanContext?.spanId, receive.spanContext().spanId);
        assert.equal(handle.attributes["gemini_webhook.outcome"], id === "msg_slow_traced" ? "timeout" : "ok");
      }
    } finally {
      await receiver.close();
      await redis.kill();
    }
  });
});
