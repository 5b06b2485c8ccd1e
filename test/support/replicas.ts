/**
 * Receiver replicas as real processes (the CLI, as the image runs it), a HANDLER_MODULE that
 * records each run in a file, and a sender that signs deliveries as Gemini signs them and retries
 * elsewhere on a refused connection or a 503 (as Gemini behind a load balancer would).
 */
import { ChildProcess, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { RECEIVER_CLI, REPO_ROOT } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";

export const secret = "whsec_" + randomBytes(32).toString("base64");
const key = Buffer.from(secret.slice(6), "base64");
/** Records `start <id> <pid> <attempt>` and `done <id> <pid> <type>`; RECORD_WORK_MS of work between. */
export const HANDLER = join(REPO_ROOT, "test", "fixtures", "recording-handler.js");
const children = new Set<ChildProcess>();

if (typeof afterAll === "function") afterAll(() => children.forEach((c) => c.kill("SIGKILL")));

export class Replica {
  child!: ChildProcess;
  log = "";
  constructor(
    readonly port: number,
    readonly env: Record<string, string>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(ready = "/readyz"): Promise<void> {
    this.log = "";
    this.child = spawn(process.execPath, [RECEIVER_CLI], { env: { PATH: process.env.PATH, PORT: String(this.port), HOST: "127.0.0.1", ...this.env }, stdio: ["ignore", "pipe", "pipe"] });
    children.add(this.child);
    this.child.stdout!.on("data", (c: Buffer) => (this.log += c.toString()));
    this.child.stderr!.on("data", (c: Buffer) => (this.log += c.toString()));
    await waitFor(`replica :${this.port} to be ready`, async () => {
      if (this.child.exitCode !== null) throw new Error(`replica exited with ${this.child.exitCode}: ${this.log}`);
      try {
        return (await fetch(`${this.url}${ready}`)).status === 200;
      } catch {
        return false;
      }
    }, 20_000);
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signal`; resolves with the exit code and how long the process took to exit. */
  async kill(signal: NodeJS.Signals): Promise<{ code: number | null; ms: number }> {
    if (!this.running) return { code: this.child.exitCode, ms: 0 };
    const exited = once(this.child, "exit");
    const startedAt = Date.now();
    this.child.kill(signal);
    const [code] = (await exited) as [number | null];
    return { code, ms: Date.now() - startedAt };
  }
}

/** Handler runs one process has started and not finished, from the record file. */
export function inFlight(file: string, pid: number): number {
  let open = 0;
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [what, , linePid] = line.split(" ");
    if (Number(linePid) !== pid) continue;
    if (what === "start") open++;
    if (what === "done") open--;
  }
  return open;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs per webhook id: how often the handler started and completed it. */
export function runs(file: string): { started: Map<string, number>; done: Map<string, number> } {
  const started = new Map<string, number>();
  const done = new Map<string, number>();
  for (const line of readFileSync(file, "utf8").split("\n")) {
    const [what, id] = line.split(" ");
    if (what === "start") started.set(id, (started.get(id) ?? 0) + 1);
    if (what === "done") done.set(id, (done.get(id) ?? 0) + 1);
  }
  return { started, done };
}

/** One signed delivery's request (signed with `signingSecret`, default this suite's `secret`). */
export function signed(id: string, signingSecret = secret) {
  const body = JSON.stringify({ type: "batch.succeeded", version: "v1", timestamp: new Date().toISOString(), data: { id: `batches/${id}` } });
  const ts = Math.floor(Date.now() / 1000);
  const hmacKey = signingSecret === secret ? key : Buffer.from(signingSecret.slice(6), "base64");
  const signature = "v1," + createHmac("sha256", hmacKey).update(`${id}.${ts}.${body}`).digest("base64");
  return { method: "POST", headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature }, body };
}

/** One signed delivery, sent like Gemini behind a load balancer: a refused connection or a 503 is retried on the next replica. */
export async function deliver(ports: number[], id: string, first: number, signingSecret = secret): Promise<string> {
  for (let attempt = 0; attempt < 400; attempt++) {
    const port = ports[(first + attempt) % ports.length];
    try {
      const response = await fetch(`http://127.0.0.1:${port}/webhooks/gemini`, { ...signed(id, signingSecret), signal: AbortSignal.timeout(5_000) });
      const answer = (await response.json()) as { status?: string; error?: string };
      if (response.status === 200) return answer.status!;
      if (response.status !== 503) throw new Error(`${id}: ${response.status} ${JSON.stringify(answer)}`);
    } catch (err) {
      if ((err as Error).message.startsWith(id)) throw err;
      // refused, reset or timed out: this replica is down; the next one gets it
    }
    await sleep(25);
  }
  throw new Error(`${id} was never accepted`);
}

export async function sendAll(
  ports: number[],
  ids: string[],
  concurrency: number,
  onAnswered: (n: number) => Promise<void> | void = () => undefined,
  signingSecret = secret,
  onEach: (id: string) => void = () => undefined,
): Promise<Map<string, string>> {
  const answers = new Map<string, string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ids.length) {
        const i = next++;
        answers.set(ids[i], await deliver(ports, ids[i], i, signingSecret));
        onEach(ids[i]);
        await onAnswered(answers.size);
      }
    }),
  );
  return answers;
}
