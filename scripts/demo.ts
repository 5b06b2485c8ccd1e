/**
 * `npm run demo`: the whole system, offline, in about a minute. Starts the emulator, deploys the
 * quickstart stack through the real Pulumi engine (local file:// backend in .pulumi/), starts the
 * verifying receiver, delivers one event of each subscribed type, rotates the secret by changing
 * `rotationKey` and shows deliveries accepted through the grace window, then destroys the stack.
 * Secrets are shown truncated only.
 */
import { ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Stack } from "@pulumi/pulumi/automation";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { QUICKSTART_EVENTS, quickstart } from "../examples/quickstart/program";
import { closeAllPools } from "gemini-webhooks-client";
import { openStack, pulumiBinDir } from "./engine";
import { RECEIVER_CLI, REPO_ROOT } from "./paths";
import { freePort } from "./free-port";
import { waitFor } from "./wait-for";

const STACK = "demo";
const API_KEY = "demo-local-key";

const cleanups: (() => Promise<void> | void)[] = [];
/** Set while the demo stack has resources, so an interrupted run destroys them. */
let liveStack: Stack | undefined;
const summary: string[] = [];
let engineLog = "";

function step(text: string): void {
  console.log(`\u25b8 ${text}`);
}
function ok(text: string): void {
  console.log(`  \u2713 ${text}`);
}
function short(secret: string): string {
  return secret.slice(0, 10) + "\u2026";
}


/** The receiver as a separate process configured by env, as it would be deployed. */
class ReceiverProcess {
  readonly processed = new Map<string, string>();
  #child?: ChildProcess;

  constructor(readonly port: number) {}

  async start(secrets: string[]): Promise<void> {
    await this.stop();
    const child = spawn(process.execPath, [RECEIVER_CLI], {
      env: { PATH: process.env.PATH, PORT: String(this.port), HOST: "127.0.0.1", WEBHOOK_SIGNING_SECRETS: secrets.join(" "), LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.#child = child;
    let buffered = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as { msg?: string; webhook_id?: string; type?: string };
          if (entry.msg === "gemini webhook processed" && entry.webhook_id) this.processed.set(entry.webhook_id, entry.type ?? "");
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on("data", (chunk: Buffer) => (engineLog += chunk.toString()));
    await waitFor("the receiver to answer /healthz", async () => {
      try {
        return (await fetch(`http://127.0.0.1:${this.port}/healthz`)).ok;
      } catch {
        return false;
      }
    });
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once("exit", () => resolve());
      child.kill("SIGTERM");
    });
  }

  async refused(): Promise<number> {
    const text = await (await fetch(`http://127.0.0.1:${this.port}/metrics`)).text();
    return [...text.matchAll(/gemini_webhook_deliveries_total\{outcome="(invalid_signature|stale_timestamp|malformed|unauthorized_jwt)",kind="static"\} (\d+)/g)]
      .map((m) => Number(m[2]))
      .reduce((a, b) => a + b, 0);
  }
}

interface DeliveryView {
  webhook_id_header: string;
  status: string;
  attempts: { http_status: number | null }[];
}

async function deliverAndConfirm(emulator: RunningEmulator, receiver: ReceiverProcess, type: string): Promise<{ signatures: number }> {
  const admin = { "x-goog-api-key": API_KEY };
  const response = await fetch(`${emulator.url}/emulator/v1/events`, { method: "POST", headers: { "content-type": "application/json", ...admin }, body: JSON.stringify({ type }) });
  const { event_id } = (await response.json()) as { event_id: string };
  let delivery: DeliveryView | undefined;
  await waitFor(`${type} to be delivered`, async () => {
    const list = (await (await fetch(`${emulator.url}/emulator/v1/deliveries?event_id=${event_id}`, { headers: admin })).json()) as { deliveries: DeliveryView[] };
    delivery = list.deliveries[0];
    return delivery?.status === "succeeded";
  });
  await waitFor(`${type} to be processed`, () => receiver.processed.has(delivery!.webhook_id_header));
  const webhookId = emulator.ctx.store.listWebhooks(0, 1)[0]?.id;
  const signatures = webhookId ? emulator.ctx.store.validSecrets(webhookId, emulator.ctx.clock.now()).length : 0;
  return { signatures };
}

/** The emulator and the quickstart stack, deployed and then re-deployed with no change. */
async function deploy() {
  console.log("Gemini webhooks as code: offline demo (emulator, real Pulumi engine, verifying receiver)\n");

  step("Pulumi CLI");
  const bin = pulumiBinDir();
  ok(`using ${bin}/pulumi`);

  step("Emulator");
  const dataDir = mkdtempSync(join(tmpdir(), "gemini-demo-"));
  cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
  const emulator = await startEmulator({ dataDir, apiKey: API_KEY });
  cleanups.push(() => emulator.close());
  ok(`WebhookService at ${emulator.apiUrl} (data in ${dataDir})`);

  const receiverPort = await freePort();
  const receiverUrl = `http://127.0.0.1:${receiverPort}/webhooks/gemini`;

  step(`Stack "${STACK}" in the local backend file://${join(REPO_ROOT, ".pulumi")}`);
  const stack: Stack = await openStack({
    projectName: "gemini-webhooks-quickstart",
    stackName: STACK,
    program: async () => quickstart(),
    backendDir: join(REPO_ROOT, ".pulumi"),
    passphrase: "gemini-webhooks-demo",
    fresh: true,
    config: {
      "gemini:apiKey": { value: API_KEY, secret: true },
      "gemini:baseUrl": { value: emulator.url },
      receiverUrl: { value: receiverUrl },
    },
  });
  const onOutput = (text: string) => (engineLog += text);
  liveStack = stack;

  step("pulumi up (create)");
  const before = { ...emulator.ctx.metrics.calls };
  await stack.up({ onOutput });
  const outputs = await stack.outputs();
  const webhookId = outputs.webhookId.value as string;
  const firstSecret = outputs.currentSecret.value as string;
  ok(`webhook ${webhookId} for ${QUICKSTART_EVENTS.join(", ")} \u2192 ${receiverUrl}`);
  ok(`signing secret ${short(firstSecret)} (an encrypted stack output; ${emulator.ctx.metrics.calls.create - before.create} API call)`);
  summary.push(`created webhook ${webhookId} with 1 API call`);

  step("pulumi up again (no changes)");
  const beforeNoop = Object.values(emulator.ctx.metrics.calls).reduce((a, b) => a + b, 0);
  await stack.up({ onOutput });
  const noopCalls = Object.values(emulator.ctx.metrics.calls).reduce((a, b) => a + b, 0) - beforeNoop;
  ok(`${noopCalls} API calls`);

  return { emulator, stack, onOutput, outputs, webhookId, firstSecret, receiverUrl, receiverPort };
}

/** The receiver verifies one delivery of each type, then keeps verifying across a rotation. */
async function deliverAndRotate({ emulator, stack, onOutput, outputs: deployed, webhookId, firstSecret, receiverUrl, receiverPort }: Awaited<ReturnType<typeof deploy>>) {
  let outputs = deployed;
  step("Receiver");
  const receiver = new ReceiverProcess(receiverPort);
  cleanups.push(() => receiver.stop());
  await receiver.start(outputs.receiverSecrets.value as string[]);
  ok(`verifying deliveries on ${receiverUrl} with 1 secret`);

  step("Deliveries");
  for (const type of QUICKSTART_EVENTS) {
    await deliverAndConfirm(emulator, receiver, type);
    ok(`${type}: delivered, signature verified, processed`);
  }
  summary.push(`${QUICKSTART_EVENTS.length} events delivered and verified`);

  step("Rotation: pulumi config set rotationKey demo-1 && pulumi up");
  await stack.setConfig("rotationKey", { value: "demo-1" });
  await stack.up({ onOutput });
  outputs = await stack.outputs();
  const newSecret = outputs.currentSecret.value as string;
  const receiverSecrets = outputs.receiverSecrets.value as string[];
  const grace = emulator.ctx.store.validSecrets(webhookId, emulator.ctx.clock.now()).find((s) => s.secret === firstSecret)?.expireTime;
  ok(`new secret ${short(newSecret)}; the old one ${short(firstSecret)} stays valid until ${grace ? new Date(grace).toISOString() : "?"}`);

  const oldOnly = await deliverAndConfirm(emulator, receiver, "batch.succeeded");
  ok(`receiver still on the old secret only: accepted (the delivery carried ${oldOnly.signatures} signatures)`);
  await receiver.start(receiverSecrets);
  const both = await deliverAndConfirm(emulator, receiver, "batch.failed");
  ok(`receiver redeployed with currentSigningSecrets() (${receiverSecrets.length} secrets): accepted (${both.signatures} signatures)`);
  const refused = await receiver.refused();
  if (refused !== 0) throw new Error(`the receiver refused ${refused} deliveries`);
  summary.push(`rotated with 0 refused deliveries during the grace window`);
}

async function main(): Promise<void> {
  const started = Date.now();
  const deployed = await deploy();
  await deliverAndRotate(deployed);
  const { emulator, stack, onOutput } = deployed;

  step("pulumi destroy");
  await stack.destroy({ onOutput });
  liveStack = undefined;
  const left = emulator.ctx.store.countWebhooks();
  if (left !== 0) throw new Error(`${left} webhooks left after destroy`);
  ok("the emulator lists 0 webhooks");
  summary.push("destroyed: nothing left");

  console.log(`\nDone in ${((Date.now() - started) / 1000).toFixed(1)} s:`);
  for (const line of summary) console.log(`  - ${line}`);
  console.log(`\nNext: \`npm test\` runs the suites; README.md shows the same flow against the real API.`);
}

async function cleanup(): Promise<void> {
  // Leave nothing behind if the demo stopped half-way.
  if (liveStack) {
    await liveStack.destroy({ onOutput: (t) => (engineLog += t) }).catch((err: Error) => {
      console.error(`  could not destroy the demo stack: ${err.message.split("\n").filter((l) => /error/i.test(l))[0] ?? err.message.split("\n")[0]}`);
    });
  }
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch {
      // best effort
    }
  }
  await closeAllPools();
}

let interrupted = false;
const run = main();

// Ctrl-C reaches the whole process group: the Pulumi CLI cancels its operation, then we destroy
// what the demo created, stop the receiver and the emulator, and exit 130.
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.log("\nInterrupted: cleaning up (Ctrl-C again to quit at once)...");
  run
    .catch(() => undefined)
    .then(cleanup)
    .finally(() => process.exit(130));
});

run.then(
  async () => {
    if (interrupted) return;
    await cleanup().catch(() => undefined);
    process.exit(0);
  },
  async (err: unknown) => {
    // A Ctrl-C also makes the Pulumi CLI fail; its SIGINT may be handled a moment after the failure.
    await new Promise((resolve) => setTimeout(resolve, 300));
    if (interrupted) return;
    console.error(`\n\u2717 demo failed: ${err instanceof Error ? err.message.split("\n").filter((l) => /error/i.test(l)).slice(0, 3).join("\n  ") || err.message.split("\n")[0] : String(err)}`);
    if (engineLog) console.error(`\nLast engine and receiver output:\n${engineLog.split("\n").slice(-40).join("\n")}`);
    await cleanup();
    process.exit(1);
  },
);
