/**
 * The JavaScript runtimes the portable verifier is tested in, each from the npm registry (their
 * packages carry the binaries as optional platform packages): installed once into the cache, by
 * version. Returns each runtime's command (Linux; x64 or arm64).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CACHE_DIR } from "./paths";

export const RUNTIME_VERSIONS = { deno: "2.9.6", bun: "1.4.5", workerd: "1.20261123.1" } as const;

export type Runtime = keyof typeof RUNTIME_VERSIONS;

export function runtimeBins(): Record<Runtime, string> {
  const dir = join(CACHE_DIR, `runtimes-${Object.values(RUNTIME_VERSIONS).join("-")}`);
  // The platform packages' binaries themselves (the wrappers' launchers need their install scripts).
  const arch = process.arch === "arm64" ? { deno: "arm64", bun: "aarch64", workerd: "arm64" } : { deno: "x64", bun: "x64", workerd: "64" };
  const modules = join(dir, "node_modules");
  const bins = {
    deno: join(modules, "@deno", `linux-${arch.deno}-glibc`, "deno"),
    bun: join(modules, "@oven", `bun-linux-${arch.bun}`, "bin", "bun"),
    workerd: join(modules, "@cloudflare", `workerd-linux-${arch.workerd}`, "bin", "workerd"),
  };
  if (!Object.values(bins).every((bin) => existsSync(bin)) || !existsSync(join(dir, ".complete"))) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "runtimes", private: true }));
    // No install scripts: the binaries are the optional platform packages' files.
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--ignore-scripts", ...Object.entries(RUNTIME_VERSIONS).map(([name, version]) => `${name}@${version}`)], { cwd: dir, stdio: "pipe" });
    for (const bin of Object.values(bins)) execFileSync(bin, ["--version"], { stdio: "pipe" });
    writeFileSync(join(dir, ".complete"), "");
  }
  return bins;
}

/**
 * A workerd config (Cap'n Proto text): one worker of ES modules (the first is the entry) embedded from
 * the config's directory, text bindings, a socket on 127.0.0.1:`port`; `reachLoopback` gives it an
 * outbound network that may reach private and local addresses (a key set served on this machine).
 */
export function workerdConfig(options: { port: number; modules: string[]; bindings?: Record<string, string>; reachLoopback?: boolean }): string {
  const modules = options.modules.map((name) => `(name = ${JSON.stringify(name)}, esModule = embed ${JSON.stringify(name)})`).join(",\n    ");
  const bindings = Object.entries(options.bindings ?? {}).map(([name, value]) => `(name = ${JSON.stringify(name)}, text = ${JSON.stringify(value)})`).join(",\n    ");
  const outbound = options.reachLoopback ? `(name = "net", network = (allow = ["public", "private", "local"])),` : "";
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .worker), ${outbound} ],
  sockets = [ (name = "http", address = "127.0.0.1:${options.port}", http = (), service = "main") ],
);
const worker :Workerd.Worker = (
  modules = [
    ${modules}
  ],
  compatibilityDate = "2025-09-01",
  bindings = [
    ${bindings}
  ],
  ${options.reachLoopback ? 'globalOutbound = "net",' : ""}
);
`;
}
