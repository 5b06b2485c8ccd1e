/**
 * `npm test`: sets up what the suites need (scripts/services.ts), makes the Pulumi CLI available
 * (scripts/ensure-pulumi.sh), then runs Jest over test/ and examples/ (jest.config.js).
 * `npm run test:unit` (`--unit`): the fast lane — every suite whose file does not say `lane: full`
 * (the ones needing the engine, Docker, Redis, Python or Go), with no set-up. Extra arguments go to
 * Jest: `npm test -- emulator` runs the suites whose path matches "emulator".
 */
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { pulumiBinDir } from "./engine";
import { REPO_ROOT } from "./paths";
import { ensureServices } from "./services";

/** Suites that declare `lane: full` in their header: they need the engine, Docker, Redis, Python or Go. */
export function fullLaneSuites(): string[] {
  const listed = spawnSync(process.execPath, [require.resolve("jest/bin/jest"), "--listTests"], { cwd: REPO_ROOT, encoding: "utf8" });
  return listed.stdout
    .split("\n")
    .filter((file) => file.endsWith(".ts") && /^ \* lane: full\b|^\/\/ lane: full\b/m.test(readFileSync(file, "utf8").slice(0, 2000)))
    .map((file) => relative(REPO_ROOT, file));
}

const args = process.argv.slice(2);
const unit = args.includes("--unit");
const jestArgs = args.filter((a) => a !== "--unit");
let env: NodeJS.ProcessEnv = process.env;
if (unit) {
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  // These suites share no fixed port, Redis or engine: two workers, one per core.
  jestArgs.push("--maxWorkers=2", "--testPathIgnorePatterns", ...fullLaneSuites().map(escape), "/node_modules/");
} else {
  const problems = ensureServices();
  if (problems.length) {
    console.error(`\nnpm test needs these first (nothing was run):\n${problems.map((p) => `  - ${p}`).join("\n")}\n\n\`npm run test:unit\` runs the suites that need none of them.`);
    process.exit(1);
  }
  env = { ...process.env, GEMINI_TEST_PULUMI_BIN: pulumiBinDir() };
}
const result = spawnSync(process.execPath, [require.resolve("jest/bin/jest"), ...jestArgs], { stdio: "inherit", cwd: REPO_ROOT, env });
process.exit(result.status ?? 1);
