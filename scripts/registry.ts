/**
 * A container registry on loopback — Debian's `docker-registry` (the distribution registry), as a
 * user's registry — so tests use the images as users get them: pushed under the release's tag,
 * removed locally, pulled by that tag. Docker talks plain HTTP to a registry on 127.0.0.0/8.
 */
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port";
import { waitFor } from "./wait-for";

export interface Registry {
  /** host:port, the image references' prefix. */
  host: string;
  stop(): void;
}

export async function startRegistry(): Promise<Registry> {
  const dir = mkdtempSync(join(tmpdir(), "gemini-registry-"));
  const port = await freePort();
  writeFileSync(
    join(dir, "config.yml"),
    ["version: 0.1", "log:", "  level: error", "storage:", "  filesystem:", `    rootdirectory: ${join(dir, "data")}`, "http:", `  addr: 127.0.0.1:${port}`, ""].join("\n"),
  );
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" });
  const exited = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`docker-registry exited ${code}`))));
  await Promise.race([waitFor("the registry answering /v2/", async () => (await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined))?.status === 200, 30_000, 100), exited]);
  return {
    host: `127.0.0.1:${port}`,
    stop: () => {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * `local` released as `<registry>/gemini-webhooks/<name>:<version>` and pulled back by that tag (the
 * pushed tag removed first, so the pull is real). Returns the reference.
 */
export function releaseAndPull(registry: Registry, local: string, name: string, version: string): string {
  const reference = `${registry.host}/gemini-webhooks/${name}:${version}`;
  const run = (...args: string[]) => execFileSync("docker", args, { stdio: "pipe", timeout: 300_000 });
  run("tag", local, reference);
  run("push", "-q", reference);
  run("rmi", reference);
  run("pull", "-q", reference);
  return reference;
}
