/**
 * Emulator delivery rate (signed deliveries per second fanned out to 10 local receivers) and
 * retry-schedule accuracy under time scaling (no attempt early; lateness reported in real ms).
 */
import { ChildProcess, spawn } from "node:child_process";
import { startEmulator } from "gemini-webhooks-emulator";

export interface EmulatorFigure {
  deliveriesPerSecond: number;
  deliveries: number;
  receivers: number;
  retry: { attempts: number; early: number; latenessP50Ms: number; latenessP99Ms: number; latenessMaxMs: number };
}

async function startReceivers(count: number): Promise<{ child: ChildProcess; ports: number[] }> {
  // One process serving `count` bare receivers (200 after reading the body): the ceiling side.
  const script = `
    const http = require("node:http");
    const ports = [];
    let ready = 0;
    for (let i = 0; i < ${count}; i++) {
      const s = http.createServer((req, res) => { req.resume(); req.on("end", () => { res.writeHead(200); res.end(); }); });
      s.keepAliveTimeout = 10000;
      s.listen(0, "127.0.0.1", () => { ports.push(s.address().port); if (++ready === ${count}) console.log("ports " + ports.join(",")); });
    }`;
  const child = spawn(process.execPath, ["-e", script], { stdio: ["ignore", "pipe", "inherit"] });
  const ports = await new Promise<number[]>((resolve) => {
    let out = "";
    child.stdout!.on("data", (c: Buffer) => {
      out += c;
      const m = /ports ([\d,]+)/.exec(out);
      if (m) resolve(m[1].split(",").map(Number));
    });
  });
  return { child, ports };
}

async function until(predicate: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error("benchmark timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
}

export async function benchEmulator(options: { events?: number; receivers?: number } = {}): Promise<EmulatorFigure> {
  const receivers = options.receivers ?? 10;
  const events = options.events ?? 1000;
  const { child, ports } = await startReceivers(receivers);
  const emulator = await startEmulator({ inMemory: true, apiKey: "bench" });
  let deliveriesPerSecond = 0;
  try {
    for (const port of ports) {
      emulator.ctx.store.insertWebhook(
        { id: `bench${port}`, name: null, uri: `http://127.0.0.1:${port}/hook`, events: ["batch.succeeded"], state: "enabled", createTime: Date.now(), updateTime: Date.now() },
        "whsec_" + Buffer.alloc(32, port % 251).toString("base64"),
      );
    }
    // Warm-up: connections, JIT.
    for (let i = 0; i < 50; i++) emulator.ctx.deliveries.emit("batch.succeeded");
    await until(() => emulator.ctx.deliveries.queue.counts().succeeded === 50 * receivers, 60_000);
    const started = performance.now();
    for (let i = 0; i < events; i++) emulator.ctx.deliveries.emit("batch.succeeded");
    const total = (events + 50) * receivers;
    await until(() => emulator.ctx.deliveries.queue.counts().succeeded === total, 300_000);
    deliveriesPerSecond = Math.round((events * receivers) / ((performance.now() - started) / 1000));
  } finally {
    await emulator.close();
    child.kill("SIGKILL");
  }

  // Retry accuracy: 20 deliveries to a dead port, 1 s real = 1 h emulated, for 6 s.
  const scale = 3600;
  const retrying = await startEmulator({ inMemory: true, apiKey: "bench", timeScale: scale });
  try {
    for (let i = 0; i < 20; i++) {
      retrying.ctx.store.insertWebhook(
        { id: `dead${i}`, name: null, uri: `http://127.0.0.1:9/dead/${i}`, events: ["batch.failed"], state: "enabled", createTime: Date.now(), updateTime: Date.now() },
        "whsec_" + Buffer.alloc(32, i).toString("base64"),
      );
    }
    retrying.ctx.deliveries.emit("batch.failed");
    await new Promise((r) => setTimeout(r, 6_000));
    const attempts = retrying.ctx.deliveries.queue.inspect({}).flatMap((d) => d.attempt_log);
    const lateness = attempts.map((a) => (a.at - a.scheduledAt) / scale).sort((a, b) => a - b);
    const pick = (q: number) => Math.round(lateness[Math.min(lateness.length - 1, Math.floor(q * lateness.length))] * 10) / 10;
    return {
      deliveriesPerSecond,
      deliveries: events * receivers,
      receivers,
      retry: { attempts: attempts.length, early: lateness.filter((l) => l < 0).length, latenessP50Ms: pick(0.5), latenessP99Ms: pick(0.99), latenessMaxMs: pick(1) },
    };
  } finally {
    await retrying.close();
  }
}
