/**
 * lane: full (the Pulumi engine)
 * Adversarial: a whole lifecycle — deploy, deliver (static and dynamic), rotate, refresh, destroy —
 * with everything captured: engine and provider output, emulator and receiver logs, and every file
 * of the state backend. The scanner fails if any signing secret, the API key or a JWT private key
 * appears in plaintext anywhere.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { startEmulator } from "gemini-webhooks-emulator";
import { currentSigningSecrets, SecretRotation, Webhook } from "pulumi-gemini-webhooks";
import { closeAllPools } from "gemini-webhooks-client";
import { buildReceiver, loadConfig } from "gemini-webhooks-receiver";
import { openStack } from "../../scripts/engine";
import { LeakScanner } from "../support/leaks";
import { waitFor } from "../support/receiver-stub";
import { freePort } from "../../scripts/free-port";
import { admin } from "../support/admin";

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  return { stream: new Writable({ write: (c, _e, cb) => (chunks.push(c.toString()), cb()) }), text: () => chunks.join("") };
}

function filesUnder(dir: string): { path: string; text: string }[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .map((path) => ({ path, text: readFileSync(path, "utf8") }));
}

test("no signing secret, API key or JWT private key appears in output, logs or state", async () => {
  const apiKey = "AIzaSy-leak-test-" + Math.random().toString(36).slice(2);
  const leaks = new LeakScanner([apiKey]);
  const emulatorLog = sink();
  const receiverLog = sink();
  let engineOutput = "";
  const onOutput = (t: string) => (engineOutput += t);
  const dir = mkdtempSync(join(tmpdir(), "gemini-leaks-"));
  const emulator = await startEmulator({ inMemory: true, apiKey, logStream: emulatorLog.stream, jobCompletionDelayMs: 0 });
  const port = await freePort();
  const receiverUrl = `http://127.0.0.1:${port}/webhooks/gemini`;
  const harvest = () => {
    for (const row of emulator.ctx.store.db.prepare("SELECT secret FROM secrets").all() as { secret: string }[]) leaks.addSecret(row.secret);
    for (const row of emulator.ctx.store.db.prepare("SELECT private_jwk FROM signing_keys").all() as { private_jwk: string }[]) {
      const jwk = JSON.parse(row.private_jwk) as Record<string, string>;
      for (const part of ["d", "p", "q", "dp", "dq", "qi"]) leaks.addSecret(jwk[part]);
    }
  };
  let rotationKey = "2026-12";
  const stack = await openStack({
    projectName: "leaks",
    stackName: "dev",
    backendDir: dir,
    program: async () => {
      const webhook = new Webhook("hook", { uri: receiverUrl, subscribedEvents: ["batch.succeeded", "batch.failed"] });
      const rotation = new SecretRotation("rotation", { webhookId: webhook.id, rotationKey });
      return { secrets: currentSigningSecrets({ webhook, rotation }), id: webhook.id };
    },
    config: { "gemini:apiKey": { value: apiKey, secret: true }, "gemini:baseUrl": { value: emulator.apiUrl } },
  });
  let receiver: ReturnType<typeof buildReceiver> | undefined;
  try {
    await stack.up({ onOutput });
    harvest();
    const secrets = (await stack.outputs()).secrets.value as string[];
    receiver = buildReceiver(
      loadConfig({
        WEBHOOK_SIGNING_SECRETS: secrets.join(","),
        JWKS_URI: `${emulator.url}/.well-known/jwks.json`,
        JWT_ISSUER: emulator.url,
        JWT_AUDIENCE: `${receiverUrl}/dynamic`,
        LOG_LEVEL: "debug",
      }),
      { logStream: receiverLog.stream },
    );
    await receiver.app.listen({ port, host: "127.0.0.1" });
    const emit = (b: unknown) => admin(emulator, "POST", "/events", b);
    await emit({ type: "batch.succeeded" });
    await emit({ type: "batch.failed", webhook_config: { uris: [`${receiverUrl}/dynamic`] } });
    // A forged delivery too, so refusals are logged.
    await fetch(receiverUrl, { method: "POST", headers: { "content-type": "application/json", "webhook-id": "x", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "v1," + Buffer.alloc(32).toString("base64") }, body: "{}" });
    await waitFor("both deliveries to succeed", async () => {
      const { deliveries } = (await (await admin(emulator, "GET", "/deliveries")).json()) as { deliveries: { status: string }[] };
      return deliveries.length === 2 && deliveries.every((d) => d.status === "succeeded");
    });
    rotationKey = "2027-01";
    await stack.up({ onOutput });
    harvest();
    await admin(emulator, "POST", "/jwks:rotate");
    harvest();
    await stack.refresh({ onOutput });
    await stack.destroy({ onOutput });
    harvest();
  } finally {
    await receiver?.close();
    await emulator.close();
    await closeAllPools();
  }
  const places: [string, string][] = [
    ["engine and provider output", engineOutput],
    ["emulator log", emulatorLog.text()],
    ["receiver log", receiverLog.text()],
    ...filesUnder(dir).map((f) => [f.path, f.text] as [string, string]),
  ];
  assert.ok(emulatorLog.text().includes("incoming request"), "the emulator log was captured");
  assert.ok(receiverLog.text().includes("gemini webhook processed"), "the receiver log was captured");
  assert.ok(places.length > 5, "state files were read");
  for (const [where, text] of places) leaks.assertClean(where, text);
  rmSync(dir, { recursive: true, force: true });
});

