/**
 * lane: full (the Pulumi engine)
 * `npm run demo`, typed as the README types it: the whole system offline through the real engine,
 * the receiver as a process, a rotation with no refused delivery, and a destroy that leaves nothing.
 * Then run again: the demo is re-runnable.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { REPO_ROOT } from "../../scripts/paths";

const execFileAsync = promisify(execFile);

test("npm run demo deploys, delivers, rotates with 0 refused deliveries and destroys; a second run works too", async () => {
  for (const run of [1, 2]) {
    const { stdout } = await execFileAsync("npm", ["run", "demo"], { cwd: REPO_ROOT, encoding: "utf8", timeout: 300_000, maxBuffer: 16 * 1024 * 1024 });
    assert.match(stdout, /rotated with 0 refused deliveries during the grace window/, `run ${run}:\n${stdout}`);
    assert.match(stdout, /destroyed: nothing left/, `run ${run}`);
    assert.ok(!/whsec_[A-Za-z0-9+/]{20,}/.test(stdout), `run ${run} printed a whole secret`);
  }
}, 600_000);
