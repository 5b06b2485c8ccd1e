/**
 * lane: full (Docker, Python and PyPI)
 * examples/emulator-python-tests as a Python team uses it: the folder copied out of this repository,
 * its requirements.txt installed from PyPI, then
 * 1. `python -m pytest -q` on a developer's machine: the fixture starts the emulator image with
 *    Testcontainers;
 * 2. the GitHub Actions workflow: its service container started with the image, ports, env and
 *    options it declares (Docker waits for the image's own HEALTHCHECK, as the runner does), then its
 *    `run:` steps run in the job's environment;
 * and the workflow passes actionlint. The one substitution: the image is this run's local build of
 * emulator/Dockerfile under the ghcr.io name and version the workflow names (no registry here).
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import * as yaml from "js-yaml";
import { actionlintBin } from "../../scripts/actionlint";
import { execCommand } from "../../scripts/exec";
import { assertPortFree } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";
import { pythonVenv } from "../../scripts/python-venv";
import { waitFor } from "../../scripts/wait-for";
import { docker, releasedEmulatorImage, requireDocker, stopRegistry } from "../support/docker";

const EXAMPLE = join(REPO_ROOT, "examples", "emulator-python-tests");
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, "emulator", "package.json"), "utf8")) as { version: string }).version;
const work = mkdtempSync(join(tmpdir(), "gemini-python-tests-"));
const copy = join(work, "webhook-tests");
const service = `gemini-ci-service-${process.pid}`;
let python = "";

interface Workflow {
  jobs: { test: { services: { gemini: { image: string; ports: string[]; env: Record<string, string>; options: string } }; env: Record<string, string>; steps: { run?: string; uses?: string }[] } };
}
const workflow = yaml.load(readFileSync(join(EXAMPLE, ".github", "workflows", "webhook-tests.yml"), "utf8")) as Workflow;

beforeAll(async () => {
  requireDocker();
  cpSync(EXAMPLE, copy, { recursive: true });
  const requirements = readFileSync(join(copy, "requirements.txt"), "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
  python = await pythonVenv(requirements);
  // The name the fixture and the workflow pull: this run's build, pushed to a registry on loopback
  // under the release's tag and pulled back by it, then named as ghcr.io would serve it.
  docker(["tag", await releasedEmulatorImage(), `ghcr.io/gemini-webhooks/gemini-webhooks-emulator:${VERSION}`]);
}, 600_000);

afterAll(async () => {
  await stopRegistry();
  spawnSync("docker", ["rm", "-f", service]);
  rmSync(work, { recursive: true, force: true });
});

/** A user's shell: the virtualenv's bin first on PATH, nothing of this repository's environment. */
const userEnv = (extra: Record<string, string>) => ({ PATH: [dirname(python), process.env.PATH ?? "/usr/bin:/bin"].join(delimiter), HOME: process.env.HOME ?? "/tmp", ...extra });

test("on a developer's machine: pytest starts the image with Testcontainers; 3 tests pass", async () => {
  // Testcontainers' reaper image comes from Docker Hub, unreachable here: the README says to set this.
  const result = await execCommand(python, ["-m", "pytest", "-q"], { cwd: copy, env: userEnv({ TESTCONTAINERS_RYUK_DISABLED: "true" }) });
  assert.equal(result.code, 0, result.output);
  assert.match(result.stdout, /3 passed/);
  assert.doesNotMatch(result.output, /whsec_/, "no secret in the test output");
}, 300_000);

test("in GitHub Actions: the service container as the workflow declares it, then its run: steps in the job's environment; actionlint accepts the workflow", async () => {
  execFileSync(actionlintBin(), ["-shellcheck=", "-pyflakes=", join(EXAMPLE, ".github", "workflows", "webhook-tests.yml")], { stdio: "pipe" });
  const job = workflow.jobs.test;
  const declared = job.services.gemini;
  assert.equal(declared.image, `ghcr.io/gemini-webhooks/gemini-webhooks-emulator:${VERSION}`, "the workflow names this release's image");
  assert.doesNotMatch(declared.options, /--health-cmd/, "a --health-cmd runs through /bin/sh, which the image lacks");
  for (const port of declared.ports) await assertPortFree(Number(port.split(":")[0]), "the workflow's service container");
  docker([
    "run", "-d", "--name", service,
    ...declared.ports.flatMap((p) => ["-p", p]),
    ...Object.entries(declared.env).flatMap(([k, v]) => ["-e", `${k}=${v}`]),
    ...declared.options.split(/\s+/).filter(Boolean),
    declared.image,
  ]);
  // The runner starts the job's steps once the service is healthy.
  await waitFor("the service healthy", () => docker(["inspect", "--format", "{{.State.Health.Status}}", service]) === "healthy", 60_000, 200);
  const steps = job.steps.filter((s) => s.run !== undefined);
  assert.deepEqual(steps.map((s) => s.run), ["pip install -r requirements.txt", "python -m pytest -q"]);
  for (const step of steps) {
    const result = await execCommand("bash", ["-eo", "pipefail", "-c", step.run!], { cwd: copy, env: userEnv(job.env) });
    assert.equal(result.code, 0, `${step.run}: ${result.output}`);
    if (step.run!.includes("pytest")) assert.match(result.stdout, /3 passed/);
  }
}, 300_000);
