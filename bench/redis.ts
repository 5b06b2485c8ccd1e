/** A redis-server for the durable-mode benchmark: AOF with appendfsync everysec, in a temporary dir. */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { freePort } from "../scripts/free-port";

export interface BenchRedis {
  url: string;
  pid: number;
  stop(): void;
}

/** A redis-server; with `replicaOf`, a replica of that one (ready once its link to the master is up). */
export async function startRedis(replicaOf?: BenchRedis): Promise<BenchRedis> {
  const dir = mkdtempSync(join(tmpdir(), "gemini-bench-redis-"));
  const port = await freePort();
  const replication = replicaOf ? ["--replicaof", "127.0.0.1", new URL(replicaOf.url).port] : [];
  const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "yes", "--appendfsync", "everysec", ...replication], { stdio: "ignore" });
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null });
    probe.on("error", () => undefined);
    const up = await probe.connect().then(async () => !replicaOf || /master_link_status:up/.test(await probe.info("replication")), () => false);
    probe.disconnect();
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    stop: () => {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
