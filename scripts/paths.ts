/**
 * Where things are in this repository, the same whether this module runs compiled (dist/scripts)
 * or from source under Jest (scripts/).
 */
import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

function findRoot(from: string): string {
  for (let dir = from; dir !== dirname(dir); dir = dirname(dir)) {
    if (existsSync(join(dir, "tsconfig.base.json")) && existsSync(join(dir, "Pulumi.yaml"))) return dir;
  }
  throw new Error(`no repository root above ${from}`);
}

export const REPO_ROOT = findRoot(__dirname);
/** The packages' command-line entry points, as their `bin` fields name them. */
export const EMULATOR_CLI = join(REPO_ROOT, "emulator", "dist", "cli.js");
export const RECEIVER_CLI = join(REPO_ROOT, "receiver", "dist", "cli.js");
/** Where built and fetched tools are cached between runs (as scripts/prepare.js and ensure-pulumi.sh put them). */
export const CACHE_DIR = process.env.GEMINI_WEBHOOKS_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "gemini-webhooks");
