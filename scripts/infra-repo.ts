/**
 * A scratch infra repository, made the way a user makes one: a project that already depends on
 * `@pulumi/pulumi`, then `npm install` of the provider and its client as packed by `npm pack`.
 * Tests and benchmarks use it to see what users get: what the install adds, and a `__provider`
 * stored in state by reference. Packages come from npm's cache when it has them (`--prefer-offline`).
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cleanNpmEnv } from "./exec";
import { REPO_ROOT } from "./paths";

export const PROVIDER_PACKAGE = "pulumi-gemini-webhooks";

export interface InfraRepo {
  dir: string;
  /** Installed package paths (relative to node_modules) before and after adding the provider. */
  before: string[];
  after: string[];
  /** The packages the provider brought, each with what it would run at install and whether it builds native code. */
  added: { name: string; installScripts: string[]; native: boolean }[];
  /** `npm ls --all` after adding the provider. */
  tree: string;
}

function npm(args: string[], cwd: string): string {
  // The caller's npm_* variables (an `npm test` run's workspace and script settings) stay out.
  const env = cleanNpmEnv();
  return execFileSync("npm", args, { cwd, env, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 });
}

function installed(dir: string): string[] {
  return npm(["ls", "--all", "--parseable"], dir)
    .split("\n")
    .filter((line) => line.includes("node_modules"))
    .map((line) => line.slice(line.indexOf("node_modules") + "node_modules/".length))
    .sort();
}

/** Packs `workspaces` of this repository into `dest` and returns the tarballs' paths. */
export function pack(workspaces: string[], dest: string): string[] {
  mkdirSync(dest, { recursive: true });
  const out = npm(["pack", ...workspaces.flatMap((w) => ["--workspace", w]), "--pack-destination", dest, "--json"], REPO_ROOT);
  return (JSON.parse(out) as { filename: string }[]).map((p) => join(dest, p.filename));
}

export function scratchInfraRepo(): InfraRepo {
  const dir = mkdtempSync(join(tmpdir(), "gemini-infra-"));
  const tarballs = pack(["client", "provider"], join(dir, "packs"));
  const pulumiVersion = (JSON.parse(readFileSync(join(REPO_ROOT, "node_modules", "@pulumi", "pulumi", "package.json"), "utf8")) as { version: string }).version;
  writeFileSync(join(dir, "package.json"), JSON.stringify({ name: "infra", private: true, dependencies: { "@pulumi/pulumi": pulumiVersion } }, null, 2));
  npm(["install", "--no-audit", "--no-fund", "--prefer-offline"], dir);
  const before = installed(dir);
  npm(["install", "--no-audit", "--no-fund", "--prefer-offline", ...tarballs], dir);
  const after = installed(dir);
  const added = after
    .filter((p) => !before.includes(p))
    .map((p) => {
      const root = join(dir, "node_modules", p);
      const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { name: string; scripts?: Record<string, string>; gypfile?: boolean };
      const installScripts = ["preinstall", "install", "postinstall"].filter((s) => manifest.scripts?.[s]);
      return { name: manifest.name, installScripts, native: manifest.gypfile === true || existsSync(join(root, "binding.gyp")) };
    });
  return { dir, before, after, added, tree: npm(["ls", "--all"], dir) };
}
