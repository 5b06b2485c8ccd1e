/**
 * Redis beyond one server, from Debian's redis-server: a master with a replica watched by three
 * sentinels, and a Cluster of masters built with `redis-cli --cluster create`.
 */
import { ChildProcess, execFile, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { AddressInfo, createServer, connect, Server, Socket } from "node:net";
import { join } from "node:path";
import { promisify } from "node:util";
import Redis from "ioredis";
import { freePort } from "../../scripts/free-port";
import { waitFor } from "../../scripts/wait-for";
import { RedisServer } from "./redis-server";

const run = promisify(execFile);
/** Processes started here outside RedisServer (sentinels, TLS nodes): killed with the suite. */
const children = new Set<ChildProcess>();
const links = new Set<{ close(): void }>();
if (typeof afterAll === "function") {
  afterAll(() => {
    children.forEach((child) => child.kill("SIGKILL"));
    links.forEach((link) => link.close());
  });
}

/** One command to a server, on a connection of its own. */
export function ask<T>(port: number, ...command: (string | number)[]): Promise<T> {
  return askWith<T>(port, {}, ...command);
}

/** How to reach a server that wants a password, or speaks TLS with certificates from `ca`. */
export interface Access {
  password?: string;
  ca?: string;
}

/** One command to a server reached with `access`. */
export async function askWith<T>(port: number, access: Access, ...command: (string | number)[]): Promise<T> {
  const client = new Redis(port, "127.0.0.1", {
    lazyConnect: true,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    ...(access.password ? { password: access.password } : {}),
    ...(access.ca ? { tls: { ca: readFileSync(access.ca) } } : {}),
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    return (await client.call(String(command[0]), ...command.slice(1))) as T;
  } finally {
    client.disconnect();
  }
}

/**
 * The replication link as a TCP relay that can stall: while stalled, what the master sends is held
 * here (not in the replica's socket buffer), as on a slow or congested link; when the master dies,
 * what was held is gone. The replica's acknowledgements pass through, so `WAIT` sees the true lag.
 */
export class ReplicationLink {
  #stalled = false;
  #sockets = new Set<Socket>();

  private constructor(
    readonly server: Server,
    readonly port: number,
  ) {}

  static async start(masterPort: number): Promise<ReplicationLink> {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const link = new ReplicationLink(server, (server.address() as AddressInfo).port);
    server.on("connection", (replica) => {
      const master = connect(masterPort, "127.0.0.1");
      const held: Buffer[] = [];
      link.#sockets.add(replica).add(master);
      master.on("data", (chunk: Buffer) => (link.#stalled ? held.push(chunk) : replica.write(chunk)));
      replica.pipe(master);
      const end = () => {
        held.length = 0; // what the master sent and the replica never got
        replica.destroy();
        master.destroy();
      };
      master.on("close", end).on("error", end);
      replica.on("close", end).on("error", end);
    });
    return link;
  }

  stall(): void {
    this.#stalled = true;
  }

  close(): void {
    this.#sockets.forEach((s) => s.destroy());
    this.server.close();
  }
}

export interface SentinelSet {
  name: string;
  master: RedisServer;
  replica: RedisServer;
  /** The relay the replica reaches its master through. */
  link: ReplicationLink;
  sentinelPorts: number[];
  /** REDIS_SENTINELS for the receivers. */
  sentinelsVariable: string;
  /** The port of the master the sentinels name now. */
  masterPort(): Promise<number>;
}

/**
 * A master, one replica (through a `ReplicationLink`) and three sentinels (quorum 2, a master down
 * for 1 s is failed over; a failover timeout long enough that the sentinels leave the relayed link
 * alone during a test).
 */
export async function startSentinelSet(dir: string, auth: { password?: string; sentinelPassword?: string } = {}): Promise<SentinelSet> {
  const name = "receiver-master";
  const dataAuth = auth.password ? ["--requirepass", auth.password, "--masterauth", auth.password] : [];
  const master = await RedisServer.start({ args: dataAuth });
  const link = await ReplicationLink.start(master.port);
  links.add(link);
  const replica = await RedisServer.start({ args: ["--replicaof", "127.0.0.1", String(link.port), ...dataAuth] });
  await waitFor("the replica in sync", async () => /master_link_status:up/.test(await askWith<string>(replica.port, { password: auth.password }, "INFO", "replication")), 20_000, 50);
  const ports = await Promise.all([0, 1, 2].map(() => freePort()));
  for (const port of ports) {
    const conf = join(dir, `sentinel-${port}.conf`);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        "protected-mode no",
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${master.port} 2`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 120000`,
        `sentinel parallel-syncs ${name} 1`,
        ...(auth.password ? [`sentinel auth-pass ${name} ${auth.password}`] : []),
        ...(auth.sentinelPassword ? [`requirepass ${auth.sentinelPassword}`, `sentinel sentinel-pass ${auth.sentinelPassword}`] : []),
      ].join("\n") + "\n",
    );
    const child = spawn("redis-server", [conf, "--sentinel"], { stdio: "ignore" });
    children.add(child);
  }
  const set: SentinelSet = {
    name,
    master,
    replica,
    link,
    sentinelPorts: ports,
    sentinelsVariable: ports.map((p) => `127.0.0.1:${p}`).join(","),
    async masterPort() {
      const [, port] = await askWith<[string, string]>(ports[0], { password: auth.sentinelPassword }, "SENTINEL", "get-master-addr-by-name", name);
      return Number(port);
    },
  };
  // Every sentinel has found the replica and the other sentinels: a failover can be agreed on.
  await waitFor("the sentinels to know the replica and each other", async () => {
    for (const port of ports) {
      const [state] = await askWith<string[][]>(port, { password: auth.sentinelPassword }, "SENTINEL", "masters").catch(() => [[]]);
      const fields = Object.fromEntries((state ?? []).flatMap((v, i, a) => (i % 2 ? [] : [[v, a[i + 1]]])));
      if (fields["num-slaves"] !== "1" || fields["num-other-sentinels"] !== "2") return false;
    }
    return true;
  }, 30_000, 100);
  return set;
}

export interface RedisCluster {
  /** Masters first, then replicas (with `replicasPerMaster`). */
  nodes: RedisServer[];
  /** REDIS_CLUSTER_NODES for the receivers. */
  nodesVariable: string;
  /** The port of the master serving a slot. */
  portOfSlot(slot: number): Promise<number>;
  /** The ports of a master's replicas. */
  replicasOf(masterPort: number): Promise<number[]>;
}

/** `count` masters (and `replicasPerMaster` replicas of each), each node with its own directory (nodes.conf, and the AOF with `fsync`). */
export async function startCluster(dir: string, count: number, fsync?: "always" | "everysec", replicasPerMaster = 0): Promise<RedisCluster> {
  const nodes = await Promise.all(
    Array.from({ length: count * (1 + replicasPerMaster) }, async (_, i) => {
      const nodeDir = join(dir, `node-${i}`);
      mkdirSync(nodeDir, { recursive: true });
      return RedisServer.start({ dir: nodeDir, ...(fsync ? { fsync } : {}), args: ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"] });
    }),
  );
  const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
  await run("redis-cli", ["--cluster", "create", ...addresses, "--cluster-replicas", String(replicasPerMaster), "--cluster-yes"], { timeout: 60_000 });
  await clusterAgrees(nodes.map((n) => n.port), {}, count * replicasPerMaster);
  return {
    nodes,
    nodesVariable: addresses.join(","),
    async portOfSlot(slot: number) {
      const ranges = await ask<[number, number, [string, number]][]>(nodes[0].port, "CLUSTER", "SLOTS");
      const range = ranges.find(([low, high]) => slot >= low && slot <= high);
      if (!range) throw new Error(`slot ${slot} is not served`);
      return Number(range[2][1]);
    },
    async replicasOf(masterPort: number) {
      const replication = await ask<string>(masterPort, "INFO", "replication");
      return [...replication.matchAll(/^slave\d+:ip=[^,]+,port=(\d+)/gm)].map((m) => Number(m[1]));
    },
  };
}

/** Every node sees `cluster_state:ok` and `replicas` replicas are attached to their masters and in sync. */
async function clusterAgrees(ports: number[], access: Access, replicas: number): Promise<void> {
  await waitFor("the cluster to agree", async () => {
    for (const port of ports) if (!/cluster_state:ok/.test(await askWith<string>(port, access, "CLUSTER", "INFO").catch(() => ""))) return false;
    let linked = 0;
    for (const port of ports) {
      if (/role:slave[\s\S]*master_link_status:up/.test(await askWith<string>(port, access, "INFO", "replication"))) linked++;
    }
    return linked === replicas;
  }, 90_000, 100); // six nodes' full syncs beside other suites on two loaded cores took over 30 s
}

/** A private CA and a certificate for 127.0.0.1 signed by it (openssl), as an operator's internal PKI would issue. */
export async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => run("openssl", args, { cwd: dir });
  await openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", at("ca.key"), "-days", "2", "-subj", "/CN=receiver-test-ca", "-out", at("ca.crt"));
  await openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", at("redis.key"), "-subj", "/CN=127.0.0.1", "-out", at("redis.csr"));
  writeFileSync(at("san.ext"), "subjectAltName=IP:127.0.0.1\n");
  await openssl("x509", "-req", "-in", at("redis.csr"), "-CA", at("ca.crt"), "-CAkey", at("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", at("san.ext"), "-out", at("redis.crt"));
  return { ca: at("ca.crt"), cert: at("redis.crt"), key: at("redis.key") };
}

/** `count` masters speaking TLS only (clients and the cluster bus), built with `redis-cli --cluster create --tls`. */
export async function startTlsCluster(dir: string, count: number): Promise<{ nodesVariable: string; ca: string; nodes: ChildProcess[] }> {
  const pki = await makeCertificates(dir);
  const ports = await Promise.all(Array.from({ length: count }, () => freePort()));
  const nodes = ports.map((port, i) => {
    const nodeDir = join(dir, `tls-node-${i}`);
    mkdirSync(nodeDir, { recursive: true });
    const child = spawn("redis-server", [
      "--port", "0", "--tls-port", String(port), "--bind", "127.0.0.1", "--dir", nodeDir, "--save", "", "--appendonly", "no",
      "--tls-cert-file", pki.cert, "--tls-key-file", pki.key, "--tls-ca-cert-file", pki.ca, "--tls-auth-clients", "no",
      "--tls-cluster", "yes", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
    ], { stdio: "ignore" });
    children.add(child);
    return child;
  });
  const access = { ca: pki.ca };
  await waitFor("the TLS nodes to answer", async () => (await Promise.all(ports.map((p) => askWith(p, access, "PING").catch(() => "")))).every((a) => a === "PONG"), 20_000, 100);
  const addresses = ports.map((p) => `127.0.0.1:${p}`);
  await run("redis-cli", ["--tls", "--cacert", pki.ca, "--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"], { timeout: 60_000 });
  await clusterAgrees(ports, access, 0);
  return { nodesVariable: addresses.join(","), ca: pki.ca, nodes };
}
