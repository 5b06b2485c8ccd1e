/**
 * Receiver throughput, side by side in one run: (a) ours, (b) the guide's Express receiver,
 * (c) bare node:http. Each target runs in its own process; autocannon runs here. Every request is
 * a realistic delivery: a ~1 KB envelope, a unique webhook-id, a fresh timestamp, two signatures
 * (two valid secrets, as during a rotation).
 */
import { ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import autocannon from "autocannon";
import { Webhook as StandardWebhook } from "standardwebhooks";

export interface ReceiverFigure {
  target: string;
  requests: number;
  requestsPerSecond: number;
  /** Server CPU time per request (user + system), microseconds: the cost independent of the load generator. */
  cpuMicrosPerRequest: number;
  /** Durable mode: redis-server's CPU per request, beside the receiver's (the master). */
  redisCpuMicrosPerRequest?: number;
  /** With a replica: the replica's CPU per request. */
  replicaCpuMicrosPerRequest?: number;
  p99Ms: number;
  non2xx: number;
  errors: number;
  /** How many interleaved rounds the figure is the median of, and their throughput's spread. */
  rounds?: number;
  requestsPerSecondRange?: string;
}

export const SECRET_OLD = "whsec_" + randomBytes(32).toString("base64");
export const SECRET_NEW = "whsec_" + randomBytes(32).toString("base64");
const FORWARD_SECRET = "whsec_" + randomBytes(32).toString("base64");

/** Resolves once the receiver's queue is empty and no handler runs (at most 120 s). */
async function drained(metricsUrl: string): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const text = await (await fetch(metricsUrl)).text();
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? NaN);
    if (value("gemini_webhook_queue_depth") === 0 && value("gemini_webhook_handlers_in_flight") === 0) return;
    if (Date.now() > deadline) throw new Error("the queue did not drain within 120 s");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function envelope(i: number): string {
  const body = {
    type: "batch.succeeded",
    version: "v1",
    timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
    data: { id: `batches/${i.toString(16).padStart(12, "0")}`, output_file_uri: `gs://bench-bucket/results/${"r".repeat(40)}/${i}.jsonl` },
    padding: "x".repeat(760), // brings the body to about 1 KB
  };
  return JSON.stringify(body);
}

export function prepare(count: number): { headers: Record<string, string>; body: string }[] {
  // Signed by the reference library, with both secrets as during a rotation grace window.
  const signers = [new StandardWebhook(SECRET_NEW), new StandardWebhook(SECRET_OLD)];
  const at = new Date();
  const ts = Math.floor(at.getTime() / 1000);
  return Array.from({ length: count }, (_, i) => {
    const id = `msg_${randomBytes(6).toString("hex")}_${i}`;
    const body = envelope(i);
    return {
      body,
      headers: {
        "content-type": "application/json",
        "webhook-id": id,
        "webhook-timestamp": String(ts),
        "webhook-signature": signers.map((s) => s.sign(id, at, body)).join(" "),
      },
    };
  });
}

/** user + system CPU seconds of a process, from /proc (Linux). */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** A bare HTTP server answering 200 to everything: HANDLER_URL's backend. */
export function startBackend(): Promise<{ child: ChildProcess; port: number }> {
  return startTarget("bare-http.js", {});
}

async function startTarget(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [join(__dirname, "servers", script)], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "ignore"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c.toString();
      const m = /listening (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    child.once("exit", (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  child.stdout!.resume();
  return { child, port };
}

interface LoadResult {
  result: autocannon.Result;
  /** Requests sent beyond the prepared set (their ids repeat). */
  wrapped: number;
}

export async function load(url: string, requests: { headers: Record<string, string>; body: string }[], connections: number, durationSeconds: number): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url,
    method: "POST",
    connections,
    duration: durationSeconds,
    timeout: 20,
    requests: [
      {
        setupRequest: (req) => {
          const r = requests[next++ % requests.length];
          return { ...req, method: "POST", headers: r.headers, body: r.body };
        },
      },
    ],
  });
  return { result, wrapped: Math.max(0, next - requests.length) };
}

interface Target {
  name: string;
  script: string;
  path: string;
  env: Record<string, string>;
  /** The Redis master and replica a durable target uses (their CPU is measured beside the receiver's). */
  redisPids?: number[];
  /** CPU read once the queue is empty (every accepted event handled), not when the load stops. */
  drain?: boolean;
}

export interface BenchOptions {
  durationSeconds?: number;
  connections?: number;
  /** Durable mode on one Redis. */
  redis?: { url: string; pid: number };
  /** Durable mode with REDIS_WAIT_REPLICAS=1 on a master with one replica. */
  replicated?: { url: string; pid: number; replicaPid: number };
  /** Interleaved rounds (default 3); each figure is the median round's. */
  rounds?: number;
  /** HANDLER_URL's backend (a process of its own, its CPU not counted): adds the forwarding comparison. */
  forwardUrl?: string;
}

export async function benchReceivers(options: BenchOptions = {}): Promise<ReceiverFigure[]> {
  const durationSeconds = options.durationSeconds ?? 6;
  const connections = options.connections ?? 32;
  const rounds = options.rounds ?? 3;
  const targets = benchTargets(options);
  // Rounds interleave the targets, so a slow spell of this shared machine falls on all of them; each
  // target's figure is the median round's. Fresh ids each round: the durable targets' Redis keeps its
  // dedup keys from one round to the next.
  const measured = new Map<string, ReceiverFigure[]>();
  for (let round = 0; round < rounds; round++) {
    const prepared = prepare(60_000 * durationSeconds);
    for (const target of targets) {
      const figure = await measure(target, prepared, connections, durationSeconds);
      measured.set(target.name, [...(measured.get(target.name) ?? []), figure]);
    }
  }
  return targets.map((target) => median(measured.get(target.name)!));
}

/** The round with the median throughput, and the spread of the throughput over the rounds. */
function median(figures: ReceiverFigure[]): ReceiverFigure {
  const sorted = [...figures].sort((a, b) => a.requestsPerSecond - b.requestsPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)];
  return { ...middle, rounds: figures.length, requestsPerSecondRange: `${sorted[0].requestsPerSecond}–${sorted[sorted.length - 1].requestsPerSecond}` };
}

function benchTargets(options: BenchOptions): Target[] {
  const secrets = `${SECRET_NEW} ${SECRET_OLD}`;
  return [
    { name: "ours (verify + dedup + enqueue)", script: "ours.js", path: "/webhooks/gemini", env: { WEBHOOK_SIGNING_SECRETS: secrets } },
    ...(options.redis
      ? [{ name: "ours, durable (Redis Streams)", script: "ours.js", path: "/webhooks/gemini", env: { WEBHOOK_SIGNING_SECRETS: secrets, REDIS_URL: options.redis.url }, redisPids: [options.redis.pid] }]
      : []),
    ...(options.replicated
      ? [{
          name: "ours, durable + WAIT 1 replica",
          script: "ours.js",
          path: "/webhooks/gemini",
          env: { WEBHOOK_SIGNING_SECRETS: secrets, REDIS_URL: options.replicated.url, REDIS_WAIT_REPLICAS: "1" },
          redisPids: [options.replicated.pid, options.replicated.replicaPid],
        }]
      : []),
    ...(options.redis && options.forwardUrl
      ? [
          { name: "ours, durable, no-op handler module (drained)", script: "ours.js", path: "/webhooks/gemini", env: { WEBHOOK_SIGNING_SECRETS: secrets, REDIS_URL: options.redis.url, REDIS_KEY_PREFIX: "bench-module:" }, redisPids: [options.redis.pid], drain: true },
          {
            name: "ours, durable, handler module POSTing each event with fetch (drained)",
            script: "ours.js",
            path: "/webhooks/gemini",
            env: { WEBHOOK_SIGNING_SECRETS: secrets, REDIS_URL: options.redis.url, REDIS_KEY_PREFIX: "bench-fetch:", BENCH_FETCH_URL: options.forwardUrl },
            redisPids: [options.redis.pid],
            drain: true,
          },
          {
            name: "ours, durable, HANDLER_URL forwarding (drained)",
            script: "ours.js",
            path: "/webhooks/gemini",
            env: { WEBHOOK_SIGNING_SECRETS: secrets, REDIS_URL: options.redis.url, REDIS_KEY_PREFIX: "bench-forward:", HANDLER_URL: options.forwardUrl, FORWARD_SIGNING_SECRETS: FORWARD_SECRET },
            redisPids: [options.redis.pid],
            drain: true,
          },
        ]
      : []),
    { name: "guide Express + standardwebhooks", script: "guide-express.js", path: "/gemini-callback", env: { WEBHOOK_SIGNING_SECRET: SECRET_OLD } },
    { name: "bare node:http 200 (ceiling)", script: "bare-http.js", path: "/", env: {} },
    { name: "bare Fastify 200 (framework floor)", script: "fastify-floor.js", path: "/", env: {} },
  ];
}

/** One target for `durationSeconds` in a process of its own: throughput, and CPU per request from /proc. */
async function measure(target: Target, prepared: ReturnType<typeof prepare>, connections: number, durationSeconds: number): Promise<ReceiverFigure> {
  const { child, port } = await startTarget(target.script, target.env);
  try {
    const url = `http://127.0.0.1:${port}${target.path}`;
    await load(url, prepare(5_000), connections, 1); // warm-up: JIT, keep-alive sockets
    const redisPids = target.redisPids ?? [];
    const cpuBefore = cpuSeconds(child.pid!);
    const redisBefore = redisPids.map(cpuSeconds);
    const { result, wrapped } = await load(url, prepared, connections, durationSeconds);
    if (target.drain) await drained(`http://127.0.0.1:${port}/metrics`);
    const cpu = cpuSeconds(child.pid!) - cpuBefore;
    const [redisCpu, replicaCpu] = redisPids.map((pid, i) => cpuSeconds(pid) - redisBefore[i]);
    const perRequest = (seconds: number) => Math.round((seconds * 1e6) / result.requests.total);
    if (wrapped > 0) console.warn(`${target.name}: ${wrapped} requests reused ids (prepare more)`);
    return {
      target: target.name,
      requests: result.requests.total,
      requestsPerSecond: Math.round(result.requests.total / durationSeconds),
      cpuMicrosPerRequest: perRequest(cpu),
      ...(redisCpu !== undefined ? { redisCpuMicrosPerRequest: perRequest(redisCpu) } : {}),
      ...(replicaCpu !== undefined ? { replicaCpuMicrosPerRequest: perRequest(replicaCpu) } : {}),
      p99Ms: result.latency.p99,
      non2xx: result.non2xx,
      errors: result.errors + result.timeouts,
    };
  } finally {
    child.kill("SIGKILL");
  }
}
