/**
 * Packs the `gemini` resource provider plugin for `pulumi plugin install resource gemini <version>
 * --file <tarball>`: the plugin bundled into one file (no node_modules), and at the tarball's root
 * the executable the CLI launches — `pulumi-resource-gemini`, a shell script that runs it with `node`
 * (Linux, macOS), and `pulumi-resource-gemini.cmd` (Windows, as @pulumi/pulumi ships its own
 * plugin there). The bundle is plain JavaScript, so one tarball content serves every OS/arch name.
 */
import { execFileSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { bundleForNode } from "./bundle";
import { REPO_ROOT } from "./paths";

export const PLUGIN_VERSION: string = JSON.parse(readFileSync(join(REPO_ROOT, "provider", "package.json"), "utf8")).version;
export const PLUGIN_RELEASE_DIR = join(REPO_ROOT, "provider", "dist", "release");
/** The platforms whose release names are produced (Pulumi's `<os>-<arch>` names). */
export const PLATFORMS = ["linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64", "windows-amd64", "windows-arm64"];

export function pluginTarball(platform = `${process.platform}-${process.arch === "x64" ? "amd64" : process.arch}`): string {
  return join(PLUGIN_RELEASE_DIR, `pulumi-resource-gemini-v${PLUGIN_VERSION}-${platform}.tar.gz`);
}

const LAUNCHER = `#!/bin/sh
# The gemini resource provider plugin for Pulumi; needs node (22.13 or newer) on PATH.
exec node "$(dirname "$0")/pulumi-resource-gemini.js" "$@"
`;

const WINDOWS_LAUNCHER = `@echo off\r
rem The gemini resource provider plugin for Pulumi; needs node (22.13 or newer) on PATH.\r
node "%~dp0pulumi-resource-gemini.js" %*\r
`;

/** What every tarball holds. */
export const PLUGIN_FILES = ["pulumi-resource-gemini", "pulumi-resource-gemini.cmd", "pulumi-resource-gemini.js"];

/**
 * The time every file in a tarball carries: SOURCE_DATE_EPOCH when set, else the commit's time, so two
 * builds of one commit are byte-identical (reproducible-builds.org's convention).
 */
export function sourceDateEpoch(): number {
  const given = Number(process.env.SOURCE_DATE_EPOCH);
  if (Number.isInteger(given) && given > 0) return given;
  try {
    return Number(execFileSync("git", ["log", "-1", "--format=%ct"], { cwd: REPO_ROOT, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim()) || 0;
  } catch {
    return 0;
  }
}

/**
 * Stages the plugin and writes a tarball per platform into `dir` (default: provider/dist/release).
 * Reproducible: names sorted, one mtime (sourceDateEpoch), owner root, fixed modes, gzip without a
 * timestamp — `npm run release:check` builds it twice and compares the bytes.
 */
export function packPlugin(dir = PLUGIN_RELEASE_DIR): string[] {
  const stage = join(dir, "stage");
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  bundleForNode(join(REPO_ROOT, "provider", "dist", "plugin", "main.js"), join(stage, "pulumi-resource-gemini.js"), "pulumi-resource-gemini");
  writeFileSync(join(stage, "pulumi-resource-gemini"), LAUNCHER);
  writeFileSync(join(stage, "pulumi-resource-gemini.cmd"), WINDOWS_LAUNCHER);
  chmodSync(join(stage, "pulumi-resource-gemini"), 0o755);
  chmodSync(join(stage, "pulumi-resource-gemini.cmd"), 0o644);
  chmodSync(join(stage, "pulumi-resource-gemini.js"), 0o644);
  const tar = execFileSync(
    "tar",
    ["--sort=name", `--mtime=@${sourceDateEpoch()}`, "--owner=0", "--group=0", "--numeric-owner", "--format=gnu", "-cf", "-", "-C", stage, ...PLUGIN_FILES],
    { maxBuffer: 256 * 1024 * 1024 },
  );
  const gz = gzipSync(tar, { level: 9 }); // zlib's header carries no time and no file name
  return PLATFORMS.map((platform) => {
    const file = join(dir, pluginTarball(platform).split("/").pop()!);
    writeFileSync(file, gz);
    return file;
  });
}

if (require.main === module) packPlugin();
