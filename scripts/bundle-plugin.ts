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

function main(): void {
  const stage = join(PLUGIN_RELEASE_DIR, "stage");
  rmSync(PLUGIN_RELEASE_DIR, { recursive: true, force: true });
  mkdirSync(stage, { recursive: true });
  bundleForNode(join(REPO_ROOT, "provider", "dist", "plugin", "main.js"), join(stage, "pulumi-resource-gemini.js"));
  writeFileSync(join(stage, "pulumi-resource-gemini"), LAUNCHER);
  chmodSync(join(stage, "pulumi-resource-gemini"), 0o755);
  writeFileSync(join(stage, "pulumi-resource-gemini.cmd"), WINDOWS_LAUNCHER);
  for (const platform of PLATFORMS) {
    execFileSync("tar", ["-czf", pluginTarball(platform), "-C", stage, ...PLUGIN_FILES]);
  }
}

if (require.main === module) main();
