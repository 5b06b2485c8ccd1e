/**
 * `npm run bench`: every benchmark side by side in one run; readable tables, then one line of JSON
 * holding every figure. Never part of `npm test`.
 *
 * Usage: node dist/bench/run.js [receiver] [web] [provider] [emulator]   (default: all)
 */
import { cpus, totalmem } from "node:os";
import { benchEmulator } from "./emulator";
import { benchProvider } from "./provider";
import { benchReceivers, startBackend } from "./receiver";
import { benchWebVerifiers } from "./web";
import { startRedis } from "./redis";

function table(title: string, rows: Record<string, unknown>[]): void {
  console.log(`\n${title}`);
  console.table(rows);
}

async function main(): Promise<void> {
  const wanted = new Set(process.argv.slice(2));
  const all = wanted.size === 0;
  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model ?? "unknown", memGiB: Math.round(totalmem() / 2 ** 30), node: process.version };
  const results: Record<string, unknown> = { machine, date: new Date().toISOString() };
  console.log(`Machine: ${machine.cpus} x ${machine.cpuModel}, ${machine.memGiB} GiB, node ${machine.node}`);

  if (all || wanted.has("receiver")) {
    // One Redis for the durable target; a master with a replica (same machine) for REDIS_WAIT_REPLICAS=1.
    const redis = await startRedis();
    const master = await startRedis();
    const replica = await startRedis(master);
    // HANDLER_URL's backend: a bare server in a process of its own (its CPU is not the receiver's).
    const backend = await startBackend();
    let receivers;
    try {
      receivers = await benchReceivers({ redis, replicated: { url: master.url, pid: master.pid, replicaPid: replica.pid }, forwardUrl: `http://127.0.0.1:${backend.port}/events` });
    } finally {
      [redis, master, replica].forEach((r) => r.stop());
      backend.child.kill("SIGKILL");
    }
    const find = (prefix: string) => receivers.find((r) => r.target.startsWith(prefix))!;
    const [ours, durable, waited, guide, bare, fastify] = [find("ours (verify"), find("ours, durable (Redis"), find("ours, durable + WAIT"), find("guide"), find("bare node:http"), find("bare Fastify")];
    table("Receiver: 6 s per target per round, 3 interleaved rounds (the median round shown), 32 connections; each request a ~1 KB delivery with a unique id and 2 signatures", receivers.map((r) => ({ ...r })));
    const ratios = {
      throughputVsGuide: +(ours.requestsPerSecond / guide.requestsPerSecond).toFixed(2),
      throughputVsBare: +(ours.requestsPerSecond / bare.requestsPerSecond).toFixed(2),
      cpuCapacityVsGuide: +(guide.cpuMicrosPerRequest / ours.cpuMicrosPerRequest).toFixed(2),
      cpuCapacityVsBare: +(bare.cpuMicrosPerRequest / ours.cpuMicrosPerRequest).toFixed(2),
      cpuCapacityVsFastify: +(fastify.cpuMicrosPerRequest / ours.cpuMicrosPerRequest).toFixed(2),
      durableThroughputVsGuide: +(durable.requestsPerSecond / guide.requestsPerSecond).toFixed(2),
      durableCpuVsMemory: +(durable.cpuMicrosPerRequest / ours.cpuMicrosPerRequest).toFixed(2),
      durableCpuCapacityVsBare: +(bare.cpuMicrosPerRequest / durable.cpuMicrosPerRequest).toFixed(2),
      waitedThroughputVsGuide: +(waited.requestsPerSecond / guide.requestsPerSecond).toFixed(2),
      waitedCpuVsMemory: +(waited.cpuMicrosPerRequest / ours.cpuMicrosPerRequest).toFixed(2),
      forwardCpuVsModule: +(find("ours, durable, HANDLER_URL").cpuMicrosPerRequest / find("ours, durable, no-op handler").cpuMicrosPerRequest).toFixed(2),
      forwardCpuVsFetchModule: +(find("ours, durable, HANDLER_URL").cpuMicrosPerRequest / find("ours, durable, handler module POSTing").cpuMicrosPerRequest).toFixed(2),
    };
    console.log("Ratios (targets: durableThroughputVsGuide >= 1.2, durableCpuVsMemory <= 1.25, forwardCpuVsModule <= 1.3):", ratios);
    results.receiver = { figures: receivers, ratios };
  }
  if (all || wanted.has("web")) {
    const web = await benchWebVerifiers();
    table("Portable verifier (gemini-webhooks-receiver/web), per runtime: µs per verification of a ~1 KB delivery, one secret — ours, the reference standardwebhooks library, and the floor: one bare crypto.subtle.verify", web.map((w) => ({ ...w })));
    results.web = web;
  }
  if (all || wanted.has("provider")) {
    const provider = await benchProvider();
    table(
      "Provider: pulumi up through the real engine against the emulator (seconds; calls per resource)",
      provider.map((p) => ({
        n: p.n,
        kind: p.kind,
        create: p.createSeconds,
        noop: p.noopSeconds,
        update: p.updateSeconds,
        destroy: p.destroySeconds,
        calls: p.callsPerResource ? `${p.callsPerResource.create}/${p.callsPerResource.noop}/${p.callsPerResource.update}/${p.callsPerResource.destroy}` : "-",
        stateBytes: p.stateBytesPerResource,
      })),
    );
    results.provider = provider;
  }
  if (all || wanted.has("emulator")) {
    const emulator = await benchEmulator();
    table("Emulator: signed deliveries fanned out to 10 local receivers; retry accuracy at time scale 3600", [
      { deliveriesPerSecond: emulator.deliveriesPerSecond, deliveries: emulator.deliveries, ...emulator.retry },
    ]);
    results.emulator = emulator;
  }
  console.log("\n" + JSON.stringify(results));
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
