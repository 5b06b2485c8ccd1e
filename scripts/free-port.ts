/** A TCP port free on loopback right now (the OS picks it). */
import { createServer } from "node:net";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function isFree(port: number): Promise<boolean> {
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
