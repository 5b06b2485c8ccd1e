/**
 * `npm test`: makes the Pulumi CLI available (scripts/ensure-pulumi.sh), then runs Jest over
 * test/ (jest.config.js). Extra arguments go to Jest: `npm test -- emulator` runs the suites
 * whose path matches "emulator".
 */
import { spawnSync } from "node:child_process";
import { pulumiBinDir } from "./engine";
import { REPO_ROOT } from "./paths";

const bin = pulumiBinDir();
const result = spawnSync(process.execPath, [require.resolve("jest/bin/jest"), ...process.argv.slice(2)], {
  stdio: "inherit",
  cwd: REPO_ROOT,
  env: { ...process.env, GEMINI_TEST_PULUMI_BIN: bin },
});
process.exit(result.status ?? 1);
