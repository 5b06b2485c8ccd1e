/**
 * The real Pulumi engine for the demo, the tests and the benchmarks: the CLI that
 * scripts/ensure-pulumi.sh provides, the `pulumi-resource-pulumi-nodejs` plugin shipped in
 * @pulumi/pulumi, a local `file://` backend and an inline program run by the Automation API.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import type { InlineProgramArgs, Stack } from "@pulumi/pulumi/automation";

import { REPO_ROOT } from "./paths";

/** Directory holding the `pulumi` binary (builds and caches it on first use). */
export function pulumiBinDir(): string {
  if (process.env.GEMINI_TEST_PULUMI_BIN) return process.env.GEMINI_TEST_PULUMI_BIN;
  const dir = execFileSync("bash", [join(REPO_ROOT, "scripts", "ensure-pulumi.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
  process.env.GEMINI_TEST_PULUMI_BIN = dir;
  return dir;
}

/** PATH with the CLI and the dynamic-provider plugin script (of `pulumiPackageDir`) in front. */
export function enginePath(pulumiPackageDir = dirname(require.resolve("@pulumi/pulumi/package.json"))): string {
  const pluginDir = pulumiPackageDir;
  return [pulumiBinDir(), pluginDir, process.env.PATH ?? ""].join(":");
}

export interface EngineStackOptions {
  projectName: string;
  stackName: string;
  program: InlineProgramArgs["program"];
  /** Directory of the `file://` backend (created when missing). */
  backendDir: string;
  /** Stack config; `secret: true` values are encrypted in state. */
  config?: Record<string, { value: string; secret?: boolean }>;
  /** Extra environment for the CLI and the provider processes it starts. */
  env?: Record<string, string>;
  passphrase?: string;
  /** Where provider processes run (default: the repository root). */
  mainDir?: string;
  /**
   * The @pulumi/pulumi whose Automation API and dynamic-provider plugin run the stack (default:
   * this repository's). A program built from another copy (an infra repo's) must use that copy.
   */
  pulumiPackageDir?: string;
  /** Remove a stack of the same name first, lock included (its resources are not destroyed). */
  fresh?: boolean;
}

export async function openStack(options: EngineStackOptions): Promise<Stack> {
  mkdirSync(options.backendDir, { recursive: true });
  const pulumiPackageDir = options.pulumiPackageDir ?? dirname(require.resolve("@pulumi/pulumi/package.json"));
  const { LocalWorkspace, PulumiCommand, Stack } = require(join(pulumiPackageDir, "automation")) as typeof import("@pulumi/pulumi/automation");
  const binDir = pulumiBinDir();
  const pulumiCommand = await PulumiCommand.get({ root: dirname(binDir) });
  const pulumiHome = join(options.backendDir, ".pulumi-home");
  const workDir = join(options.backendDir, ".workspace");
  mkdirSync(pulumiHome, { recursive: true });
  mkdirSync(workDir, { recursive: true });
  const workspace = await LocalWorkspace.create({
    program: options.program,
    pulumiCommand,
    pulumiHome,
    workDir,
    projectSettings: {
      name: options.projectName,
      runtime: "nodejs",
      // The provider process runs in `main`: it must resolve @pulumi/pulumi and this package.
      main: options.mainDir ?? REPO_ROOT,
      backend: { url: `file://${options.backendDir}` },
    },
    envVars: {
      PATH: enginePath(pulumiPackageDir),
      PULUMI_CONFIG_PASSPHRASE: options.passphrase ?? "gemini-webhooks-local",
      PULUMI_SKIP_UPDATE_CHECK: "true",
      PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION: "true",
      ...options.env,
    },
  });
  if (options.fresh) {
    // A lock left by an interrupted run would block the removal; nothing else uses this stack.
    rmSync(join(options.backendDir, ".pulumi", "locks", "organization", options.projectName, options.stackName), { recursive: true, force: true });
    const existing = await workspace.listStacks();
    if (existing.some((s) => s.name === options.stackName)) await workspace.removeStack(options.stackName, { force: true });
  }
  const stack = await Stack.createOrSelect(options.stackName, workspace);
  for (const [key, entry] of Object.entries(options.config ?? {})) {
    await stack.setConfig(key, { value: entry.value, secret: entry.secret ?? false });
  }
  return stack;
}
