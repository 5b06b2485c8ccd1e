/**
 * The adapters in docs/adapters, run as their frameworks run them: Hono's app.request, a Next.js
 * route handler's POST with a Request, the Functions Framework's own server (its test server), and an
 * Express app on a port. Each accepts a signed delivery (and hands the event on), refuses a tampered
 * one with 401, and answers a malformed one 400.
 */
import assert from "node:assert/strict";
import { createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import type { Server } from "node:http";

const secret = "whsec_" + randomBytes(32).toString("base64");
process.env.GEMINI_WEBHOOK_SECRETS = secret; // read by the Next.js and Cloud Functions files at import

function delivery(id: string, tamper = false) {
  const body = JSON.stringify({ type: "batch.succeeded", version: "v1", data: { id: `batches/${id}` } });
  const ts = Math.floor(Date.now() / 1000);
  const signature = "v1," + createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64");
  return { method: "POST", headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature }, body: tamper ? body.replace("batches/", "batches/x") : body };
}

async function onPort(server: Server): Promise<string> {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

test("Hono middleware", async () => {
  const { Hono } = require("hono") as typeof import("hono");
  const { geminiWebhook } = require("../../docs/adapters/hono") as typeof import("../../docs/adapters/hono");
  const seen: string[] = [];
  const app = new Hono<{ Variables: { geminiEvent: import("gemini-webhooks-receiver/web").VerifiedWebhook } }>();
  app.post("/webhooks/gemini", geminiWebhook({ secrets: secret }), (c) => {
    seen.push(c.get("geminiEvent").webhookId);
    return c.body(null, 204);
  });
  assert.equal((await app.request("/webhooks/gemini", delivery("msg_hono"))).status, 204);
  assert.equal((await app.request("/webhooks/gemini", delivery("msg_hono_t", true))).status, 401);
  assert.equal((await app.request("/webhooks/gemini", { ...delivery("msg_hono_m"), headers: { ...delivery("msg_hono_m").headers, "content-type": "text/plain" } })).status, 400);
  assert.deepEqual(seen, ["msg_hono"]);
});

test("Next.js route handler", async () => {
  const { POST } = require("../../docs/adapters/nextjs-route") as typeof import("../../docs/adapters/nextjs-route");
  const request = (init: ReturnType<typeof delivery>) => new Request("http://localhost/webhooks/gemini", init);
  assert.equal((await POST(request(delivery("msg_next")))).status, 204);
  assert.equal((await POST(request(delivery("msg_next_t", true)))).status, 401);
});

test("Cloud Functions (Functions Framework)", async () => {
  require("../../docs/adapters/cloud-function");
  const { getTestServer } = require("@google-cloud/functions-framework/testing") as typeof import("@google-cloud/functions-framework/testing");
  const server = getTestServer("geminiWebhook");
  const url = await onPort(server);
  try {
    assert.equal((await fetch(url, delivery("msg_gcf"))).status, 204);
    assert.equal((await fetch(url, delivery("msg_gcf_t", true))).status, 401);
  } finally {
    server.close();
  }
});

test("Express middleware", async () => {
  const express = require("express") as typeof import("express");
  const { geminiWebhook } = require("../../docs/adapters/express") as typeof import("../../docs/adapters/express");
  const seen: string[] = [];
  const app = express();
  app.post("/webhooks/gemini", ...geminiWebhook(secret), (_req, res) => {
    seen.push(res.locals.geminiEvent.webhookId);
    res.sendStatus(204);
  });
  const server = app.listen(0, "127.0.0.1");
  await once(server, "listening");
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/gemini`;
  try {
    assert.equal((await fetch(url, delivery("msg_express"))).status, 204);
    assert.equal((await fetch(url, delivery("msg_express_t", true))).status, 401);
    assert.deepEqual(seen, ["msg_express"]);
  } finally {
    server.close();
  }
});

test("each adapter has a page in docs/adapters, which shows the tested file as it is", () => {
  const { readdirSync, readFileSync } = require("node:fs") as typeof import("node:fs");
  const { join } = require("node:path") as typeof import("node:path");
  const dir = join(__dirname, "..", "..", "docs", "adapters");
  const files = [...readdirSync(dir).filter((f) => f.endsWith(".ts")), ...readdirSync(join(dir, "runtimes")).map((f) => `runtimes/${f}`)];
  const shown = new Map<string, string>();
  for (const page of readdirSync(dir).filter((f) => f.endsWith(".md"))) {
    const text = readFileSync(join(dir, page), "utf8");
    for (const m of text.matchAll(/<!-- the file: docs\/adapters\/(\S+) -->\n```\w+\n([\s\S]*?)```/g)) {
      assert.equal(m[2], readFileSync(join(dir, m[1]), "utf8"), `${page} shows docs/adapters/${m[1]} as it is`);
      shown.set(m[1], page);
    }
  }
  assert.deepEqual(files.filter((f) => !shown.has(f)), [], "every adapter file is shown on a page");
});
