/**
 * Python virtualenvs with packages from PyPI, cached beside the CLI (created on first use, one per
 * package set). Returns the venv's python.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { execOk } from "./exec";
import { CACHE_DIR } from "./paths";

/** The Python SDK release closest to the CLI's that PyPI serves. */
export const PYTHON_PULUMI_VERSION = "3.272.0";

const run = (cmd: string, args: string[]) => execOk(cmd, args).then(() => undefined);

/** A cached virtualenv holding exactly `packages` (pinned versions). */
export async function pythonVenv(packages: string[]): Promise<string> {
  const venv = join(CACHE_DIR, `python-${packages.join("-").replace(/[^A-Za-z0-9.=-]+/g, "_")}`);
  const python = join(venv, "bin", "python");
  if (!existsSync(join(venv, ".complete"))) {
    await run("python3", ["-m", "venv", "--clear", venv]);
    await run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", ...packages]);
    await run("touch", [join(venv, ".complete")]);
  }
  return python;
}

/** Pulumi's Python SDK, with a generated gemini SDK (re)installed from `sdkDir`. */
export async function pythonWithPulumi(sdkDir: string): Promise<string> {
  const python = await pythonVenv([`pulumi==${PYTHON_PULUMI_VERSION}`]);
  await run(python, ["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--force-reinstall", "--no-deps", sdkDir]);
  return python;
}
