/**
 * A real redis-server (Debian's package) for a suite: started on a free loopback port, ready once it
 * answers PING, SIGKILLable and restartable on the same port and data directory. `fsync` turns on
 * the append-only file; without it the server keeps nothing on disk.
 */
import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Redis from "ioredis";
import { freePort } from "../../scripts/free-port";
import { waitFor } from "../../scripts/wait-for";

/** Every server a suite started: a failed test must not leave one running (it would keep Jest alive). */
const live = new Set<RedisServer>();
/** Data directories made for servers given none, removed with them. */
const made = new Set<string>();
if (typeof afterAll === "function") {
  afterAll(async () => {
    await Promise.all([...live].map((server) => server.kill()));
    made.forEach((dir) => rmSync(dir, { recursive: true, force: true }));
  });
}

export interface RedisServerOptions {
  /** The data directory (the append-only file, a cluster node's nodes.conf). */
  dir?: string;
  /** Turns the append-only file on. */
  fsync?: "always" | "everysec";
  /** More redis-server arguments (`--replicaof …`, `--cluster-enabled yes`, …). */
  args?: string[];
}

export class RedisServer {
  child?: ChildProcess;

  private constructor(
    readonly port: number,
    public options: RedisServerOptions = {},
  ) {}

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    // Always a directory of its own: a replica writes the RDB of its full sync to its working
    // directory, and any server started there later would load it.
    if (!options.dir) {
      options = { ...options, dir: mkdtempSync(join(tmpdir(), "gemini-redis-")) };
      made.add(options.dir!);
    }
    const server = new RedisServer(await freePort(), options);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const { dir, fsync, args = [] } = this.options;
    const durability = [...(dir ? ["--dir", dir] : []), ...(fsync ? ["--appendonly", "yes", "--appendfsync", fsync] : ["--appendonly", "no"])];
    const child = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", ...durability, ...args], { stdio: "ignore" });
    this.child = child;
    live.add(this);
    const failed = once(child, "error").then(([e]) => e as Error);
    const ready = waitFor("redis-server to answer", async () => {
      const probe = new Redis(this.url, { lazyConnect: true, retryStrategy: () => null, enableReadyCheck: false });
      probe.on("error", () => undefined); // refused until the server is up
      try {
        await probe.connect();
        return (await probe.ping()) === "PONG";
      } catch (err) {
        return /NOAUTH/.test((err as Error).message); // up, with a password
      } finally {
        probe.disconnect();
      }
    }).then(() => undefined);
    const result = await Promise.race([ready, failed]);
    if (result instanceof Error) throw new Error(`redis-server is needed for this test (apt-get install redis-server): ${result.message}`);
  }

  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await once(child, "exit");
  }
}
