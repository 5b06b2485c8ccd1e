/**
 * `npm run bench`: every benchmark side by side in one run; readable tables, then one line of JSON
 * holding every figure. Never part of `npm test`.
 *
 * Usage: node dist/bench/run.js [receiver] [provider] [emulator]   (default: all)
 */
import { cpus, totalmem } from "node:os";
import { benchEmulator } from "./emulator";
import { benchProvider } from "./provider";
import { benchReceivers } from "./receiver";
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
    const redis = await startRedis();
    let receivers;
    try {
      receivers = await benchReceivers({ redisUrl: redis.url, redisPid: redis.pid });
    } finally {
      redis.stop();
    }
    const find = (prefix: string) => receivers.find((r) => r.target.startsWith(prefix))!;
    const [ours, durable, guide, bare, fastify] = [find("ours (verify"), find("ours, durable"), find("guide"), find("bare node:http"), find("bare Fastify")];
    table("Receiver: 6 s per target, 32 connections; each request a ~1 KB delivery with a unique id and 2 signatures", receivers.map((r) => ({ ...r })));
    const ratios = {
      throughputVsGuide: +(ours.requestsPerSecond / guide.requestsPerSecond).toFixed(2),
      throughputVsBare: +(ours.requestsPerSecond / bare.requestsPerSecond).toFixed(2),
      cpuCapacityVsGuide: +(guide.cpuMicrosPerRequest / ours.cpuMicrosPerRequest).toFixed(2),
      cpuCapacityVsBare: +(bare.cpuMicrosPerRequest / ours.cpuMicrosPerRequest).toFixed(2),
      cpuCapacityVsFastify: +(fastify.cpuMicrosPerRequest / ours.cpuMicrosPerRequest).toFixed(2),
      durableThroughputVsGuide: +(durable.requestsPerSecond / guide.requestsPerSecond).toFixed(2),
      durableCpuCapacityVsBare: +(bare.cpuMicrosPerRequest / durable.cpuMicrosPerRequest).toFixed(2),
    };
    console.log("Ratios (targets: cpuCapacityVsBare >= 0.6, throughputVsGuide >= 3):", ratios);
    results.receiver = { figures: receivers, ratios };
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
