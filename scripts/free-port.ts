/** A TCP port free on loopback right now (the OS picks it). */
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** True when nothing listens on `port` on loopback right now (a bind succeeds). */
export async function isFree(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive ports free on loopback right now (a stack publishing base + i). */
export async function freePortRange(count: number): Promise<number> {
  for (let tries = 0; tries < 50; tries++) {
    const base = await freePort();
    if (base + count > 65535) continue;
    let free = true;
    for (let i = 1; i < count && free; i++) free = await isFree(base + i);
    if (free) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/**
 * Who listens on `port` (TCP, any address): "pid 123 (node emulator/bin/… serve)", from /proc — or
 * "an unknown process" (another network namespace, or no permission to look).
 */
export function portHolder(port: number): string {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let text = "";
    try {
      text = readFileSync(table, "utf8");
    } catch {
      continue;
    }
    for (const line of text.split("\n").slice(1)) {
      const fields = line.trim().split(/\s+/);
      // local_address is hex ip:port; state 0A is LISTEN; field 9 is the socket's inode
      if (fields.length > 9 && fields[3] === "0A" && parseInt(fields[1].split(":")[1], 16) === port) inodes.add(fields[9]);
    }
  }
  if (inodes.size === 0) return "an unknown process";
  for (const pid of readdirSync("/proc").filter((name) => /^\d+$/.test(name))) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let link = "";
      try {
        link = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (inode && inodes.has(inode)) {
        let command = "";
        try {
          command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ").slice(0, 200);
        } catch {
          // gone meanwhile
        }
        return `pid ${pid} (${command || "?"})`;
      }
    }
  }
  return "an unknown process";
}

/**
 * For a server a test starts on a fixed (documented) port: fails at once, naming who holds the port,
 * rather than waiting for a server that cannot bind — or talking to someone else's.
 */
export async function assertPortFree(port: number, what: string): Promise<void> {
  if (await isFree(port)) return;
  throw new Error(`${what} needs port ${port}, which ${portHolder(port)} already listens on: stop it, or free the port, and run again`);
}
