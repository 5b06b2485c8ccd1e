/**
 * `npm test`: makes the Pulumi CLI available (scripts/ensure-pulumi.sh), then runs every compiled
 * suite under Node's test runner. Suites share the machine's ports, Docker engine and CPU, so
 * files run one at a time; a file may run its own tests concurrently.
 *
 * Usage: node dist/scripts/run-tests.js [name-filter ...]   e.g. `npm test -- client emulator`
 */
import { execFileSync, spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";

const root = join(__dirname, "..", "..");
const testDir = join(root, "dist", "test");

function ensurePulumi(): string {
  if (process.env.GEMINI_TEST_PULUMI_BIN) return process.env.GEMINI_TEST_PULUMI_BIN;
  return execFileSync("bash", [join(root, "scripts", "ensure-pulumi.sh")], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  }).trim();
}

const filters = process.argv.slice(2);
const files = readdirSync(testDir)
  .filter((f) => f.endsWith(".test.js"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()
  .map((f) => join(testDir, f));
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}

const pulumiBin = ensurePulumi();
const result = spawnSync(
  process.execPath,
  ["--test", "--test-concurrency=1", "--test-reporter=spec", ...files],
  {
    stdio: "inherit",
    cwd: root,
    env: { ...process.env, GEMINI_TEST_PULUMI_BIN: pulumiBin },
  },
);
process.exit(result.status ?? 1);
