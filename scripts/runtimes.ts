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
