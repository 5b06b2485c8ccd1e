/**
 * lane: full (the Pulumi engine, Go and Python)
 * The SDKs generated from the schema the plugin serves (`npm run sdks`, typed as the README types
 * it), used as users use them:
 * the Python and Go examples run through the real engine (the Automation API's inline programs host
 * their own language runtime) with the plugin from its release tarball, against the emulator; the
 * Node.js SDK typechecks; the .NET SDK is generated (no .NET toolchain on this machine).
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { closeAllPools } from "gemini-webhooks-client";
import { SDKS_DIR } from "../../scripts/gen-sdks";
import { pulumiBinDir } from "../../scripts/engine";
import { PLUGIN_VERSION, pluginTarball } from "../../scripts/bundle-plugin";
import { REPO_ROOT } from "../../scripts/paths";
import { execCommand } from "../../scripts/exec";
import { textUnder } from "../../scripts/yaml-project";
import { LeakScanner } from "../support/leaks";
import { pythonWithPulumi } from "../../scripts/python-venv";
import { TEST_API_KEY } from "../support/emulator";

let emulator: RunningEmulator;
const scratch = mkdtempSync(join(tmpdir(), "gemini-sdks-"));
const pulumiHome = join(scratch, "pulumi-home");

/** A command with extra environment over this process's. */
const run = (cmd: string, args: string[], options: { cwd?: string; env?: Record<string, string> } = {}) =>
  execCommand(cmd, args, { cwd: options.cwd, env: { ...process.env, ...options.env } });

const enginePath = () => [pulumiBinDir(), dirname(process.execPath), process.env.PATH ?? ""].join(":");

beforeAll(async () => {
  // `npm run sdks` as the README types it.
  const sdks = await execCommand("npm", ["run", "sdks"], { cwd: REPO_ROOT });
  assert.equal(sdks.code, 0, sdks.output);
  assert.match(sdks.stdout, /SDKs written to .*dist\/sdks\/\{nodejs,python,go,dotnet\}/);
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  const install = await run(join(pulumiBinDir(), "pulumi"), ["plugin", "install", "resource", "gemini", PLUGIN_VERSION, "--file", pluginTarball()], {
    env: { PULUMI_HOME: pulumiHome, PULUMI_SKIP_UPDATE_CHECK: "true" },
  });
  assert.equal(install.code, 0, install.output);
});

afterAll(async () => {
  await emulator?.close();
  await closeAllPools();
  rmSync(scratch, { recursive: true, force: true });
});

test("the schema the plugin serves marks the secrets, and every SDK generated from it encrypts them", () => {
  const schema = JSON.parse(readFileSync(join(SDKS_DIR, "schema.json"), "utf8"));
  assert.equal(schema.resources["gemini:index:Webhook"].properties.signingSecret.secret, true);
  assert.equal(schema.resources["gemini:index:SecretRotation"].properties.secret.secret, true);
  assert.equal(schema.config.variables.apiKey.secret, true);
  assert.equal(schema.provider.inputProperties.apiKey.secret, true);
  for (const [file, mark] of [
    ["nodejs/webhook.ts", /additionalSecretOutputs: \["signingSecret"\]/],
    ["python/pulumi_gemini/webhook.py", /additional_secret_outputs=\["signingSecret"\]/],
    ["go/gemini/webhook.go", /"signingSecret",\s*\}\)/],
    ["dotnet/Webhook.cs", /AdditionalSecretOutputs =\s*\{\s*"signingSecret",/],
    ["dotnet/SecretRotation.cs", /AdditionalSecretOutputs =\s*\{\s*"secret",/],
  ] as const) {
    assert.match(readFileSync(join(SDKS_DIR, file), "utf8"), mark, file);
  }
});

test("the Node.js SDK typechecks against @pulumi/pulumi", async () => {
  const tsc = await run(process.execPath, [require.resolve("typescript/bin/tsc"), "-p", join(SDKS_DIR, "nodejs"), "--noEmit"]);
  assert.equal(tsc.code, 0, tsc.output);
});

test("examples/go-webhooks compiles against the Go SDK and runs through the engine: create, no-op, destroy", async () => {
  const before = { ...emulator.ctx.metrics.calls };
  const test = await run("go", ["test", "-count=1", "-v", "./..."], {
    cwd: join(REPO_ROOT, "examples", "go-webhooks"),
    env: { GOFLAGS: "-mod=mod", PATH: enginePath(), PULUMI_HOME: pulumiHome, GEMINI_EXAMPLE_BASE_URL: emulator.url, GEMINI_API_KEY: TEST_API_KEY },
  });
  assert.equal(test.code, 0, test.output);
  assert.match(test.output, /--- PASS: TestProgramThroughTheEngine/);
  const calls = emulator.ctx.metrics.calls;
  assert.deepEqual(
    [calls.create - before.create, calls.rotateSigningSecret - before.rotateSigningSecret, calls.delete - before.delete],
    [1, 1, 1],
  );
});

test("examples/python-webhooks runs with the Python SDK through the engine: create, no-op, rotation, destroy; no secret in state", async () => {
  const python = await pythonWithPulumi(join(SDKS_DIR, "python"));
  const workDir = join(scratch, "python");
  const res = await run(python, [join(__dirname, "programs", "run_python_example.py"), join(REPO_ROOT, "examples", "python-webhooks"), workDir, pulumiHome, emulator.url], {
    env: { PATH: enginePath(), GEMINI_API_KEY: TEST_API_KEY },
  });
  assert.equal(res.code, 0, res.output);
  const steps = Object.fromEntries(
    res.stdout
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l))
      .map((s: { step: string; changes: Record<string, number>; outputs: Record<string, { value: string; secret: boolean }> }) => [s.step, s]),
  );
  assert.deepEqual(steps.up.changes, { create: 3 });
  assert.deepEqual(steps["up-again"].changes, { same: 3 });
  assert.deepEqual(steps.rotate.changes, { replace: 1, same: 2 });
  assert.deepEqual(steps.destroy.changes, { delete: 3 });
  assert.equal(steps.up.outputs.signingSecrets.secret, true);
  const [first, creation] = steps.up.outputs.signingSecrets.value.split(" ");
  const [rotated, stillValid] = steps.rotate.outputs.signingSecrets.value.split(" ");
  assert.notEqual(rotated, first);
  assert.equal(stillValid, creation);

  const leaks = new LeakScanner([TEST_API_KEY, first, creation, rotated]);
  const backend = textUnder(join(workDir, ".pulumi"));
  assert.match(backend, /== \S*\/history\//, "the backend was written");
  leaks.assertClean("the Python stack's backend", backend);
  assert.ok(!existsSync(join(REPO_ROOT, "examples", "python-webhooks", "Pulumi.dev.yaml")), "nothing written into the example");
});
