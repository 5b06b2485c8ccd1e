/**
 * actionlint for the GitHub workflows this repository ships: its own (.github/workflows) and the
 * ones examples give users to copy (examples/<name>/.github/workflows). Built once from the Go
 * module proxy into the cache.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { CACHE_DIR, REPO_ROOT } from "./paths";

export const ACTIONLINT_VERSION = "v1.7.12";

/** The actionlint binary, installed with `go install` on first use. */
export function actionlintBin(): string {
  const dir = join(CACHE_DIR, `actionlint-${ACTIONLINT_VERSION}`);
  if (!existsSync(join(dir, "actionlint"))) {
    execFileSync("go", ["install", `github.com/rhysd/actionlint/cmd/actionlint@${ACTIONLINT_VERSION}`], { env: { ...process.env, GOBIN: dir }, stdio: "inherit" });
  }
  return join(dir, "actionlint");
}

/** Every shipped workflow file, relative to the repository root. */
export function shippedWorkflows(): string[] {
  const inDir = (dir: string) => (existsSync(join(REPO_ROOT, dir)) ? readdirSync(join(REPO_ROOT, dir)).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f)) : []);
  const examples = readdirSync(join(REPO_ROOT, "examples")).flatMap((name) => inDir(join("examples", name, ".github", "workflows")));
  return [...inDir(join(".github", "workflows")), ...examples];
}
