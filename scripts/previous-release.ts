/**
 * The previous release's artifacts, built from its commit as its release would have built them
 * (`npm ci && npm run build`, then `npm pack` and the plugin tarballs) — for the upgrade tests, as
 * pulumi/providertest deploys with the previous release and then moves to this one. Built once per
 * machine into the cache (a few minutes), by commit.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanNpmEnv } from "./exec";
import { CACHE_DIR, REPO_ROOT } from "./paths";

/** 0.3.0: the last commit of the round that wrote its CHANGELOG entry (no tag was made). */
export const PREVIOUS_RELEASE = { version: "0.3.0", commit: "c3866ff683ad284a9f440a17f9df02bf244bafc7" } as const;

export interface PreviousArtifacts {
  version: string;
  /** npm tarballs of the client and the provider. */
  npm: string[];
  /** The plugin tarballs, named as its release names them. */
  plugin: string[];
}

export function buildPreviousRelease(): PreviousArtifacts {
  const { version, commit } = PREVIOUS_RELEASE;
  const dir = join(CACHE_DIR, `release-${version}-${commit.slice(0, 12)}`);
  const src = join(dir, "src");
  const out = join(dir, "artifacts");
  if (!existsSync(join(dir, ".complete"))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(src, { recursive: true });
    mkdirSync(join(out, "npm"), { recursive: true });
    const env = cleanNpmEnv();
    const run = (cmd: string, args: string[], cwd: string) => execFileSync(cmd, args, { cwd, env, stdio: "pipe", timeout: 900_000, maxBuffer: 64 * 1024 * 1024 });
    // The commit's tree, as its tag's source archive.
    const archive = execFileSync("git", ["archive", "--format=tar", commit], { cwd: REPO_ROOT, maxBuffer: 512 * 1024 * 1024 });
    execFileSync("tar", ["-x", "-C", src], { input: archive });
    run("npm", ["ci", "--no-audit", "--no-fund", "--prefer-offline"], src);
    run("npm", ["run", "build"], src);
    run("npm", ["pack", "--workspace", "client", "--workspace", "provider", "--pack-destination", join(out, "npm")], src);
    mkdirSync(join(out, "plugin"));
    const release = join(src, "provider", "dist", "release");
    for (const f of readdirSync(release).filter((f) => f.endsWith(".tar.gz"))) execFileSync("cp", [join(release, f), join(out, "plugin", f)]);
    rmSync(src, { recursive: true, force: true });
    writeFileSync(join(dir, ".complete"), "");
  }
  const files = (sub: string) => readdirSync(join(out, sub)).map((f) => join(out, sub, f));
  return { version, npm: files("npm"), plugin: files("plugin") };
}
