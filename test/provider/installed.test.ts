/**
 * lane: full (the Pulumi engine and npm)
 * The provider as an infra repo installs it (`npm pack` tarballs into a project that already has
 * @pulumi/pulumi): what the install adds, and then `__provider` in state is a `require` of the
 * installed package (no code, no absolute path, no credential), state stays small, and every
 * operation runs from node_modules through the real engine.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { startEmulator } from "gemini-webhooks-emulator";
import { closeAllPools } from "gemini-webhooks-client";
import { openStack, pulumiBinDir } from "../../scripts/engine";
import { REPO_ROOT } from "../../scripts/paths";
import { PROVIDER_PACKAGE, scratchInfraRepo } from "../../scripts/infra-repo";
import { TEST_API_KEY } from "../support/emulator";
import { PulumiProject } from "../../scripts/yaml-project";
import { execOk } from "../../scripts/exec";

const repo = scratchInfraRepo();
const dir = repo.dir;
afterAll(async () => {
  await closeAllPools();
  rmSync(dir, { recursive: true, force: true });
});

test("adding the provider to an infra repo brings 4 packages, no install script, no native build, none of the emulator's or receiver's", () => {
  const added = repo.added.map((p) => p.name).sort();
  assert.deepEqual(added, ["gemini-webhooks-client", "pulumi-gemini-webhooks", "undici", "zod"]);
  assert.ok(added.length <= 5);
  assert.deepEqual(repo.added.filter((p) => p.installScripts.length > 0 || p.native), [], "an added package runs an install script or builds native code");
  for (const heavy of ["fastify", "better-sqlite3", "ioredis", "prom-client", "jose", "gemini-webhooks-emulator", "gemini-webhooks-receiver"]) {
    assert.ok(!repo.tree.includes(`${heavy}@`), `npm ls shows ${heavy}`);
  }
  assert.equal(repo.after.length, repo.before.length + added.length, "the install changed packages it did not add");
});

test("installed from node_modules, the provider is stored by reference and state stays under 4 KB per webhook", async () => {
  const installed = require(join(dir, "node_modules", PROVIDER_PACKAGE)) as typeof import("pulumi-gemini-webhooks");
  const emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  let uri = "https://example.com/installed/a";
  try {
    const stack = await openStack({
      projectName: "installed",
      stackName: "dev",
      backendDir: join(dir, "state"),
      mainDir: dir,
      pulumiPackageDir: join(dir, "node_modules", "@pulumi", "pulumi"),
      program: async () => {
        const hook = new installed.Webhook("hook", { uri, subscribedEvents: ["batch.succeeded"] });
        const rotation = new installed.SecretRotation("rotation", { webhookId: hook.id, rotationKey: "k1" });
        return { id: hook.id, secret: rotation.secret };
      },
      config: { "gemini:apiKey": { value: TEST_API_KEY, secret: true }, "gemini:baseUrl": { value: emulator.apiUrl } },
    });
    await stack.up();
    uri = "https://example.com/installed/b";
    await stack.up();
    assert.equal(emulator.ctx.metrics.calls.update, 1);

    const stateFile = join(dir, "state", ".pulumi", "stacks", "installed", "dev.json");
    const resources = (JSON.parse(readFileSync(stateFile, "utf8")) as { checkpoint: { latest: { resources: { type: string; inputs: { __provider: string } }[] } } }).checkpoint.latest.resources;
    const webhook = resources.find((r) => r.type === "pulumi-nodejs:dynamic/gemini:Webhook")!;
    assert.match(webhook.inputs.__provider, /require\("pulumi-gemini-webhooks\/webhook-shim"\)/);
    assert.ok(webhook.inputs.__provider.length < 600, `__provider is ${webhook.inputs.__provider.length} bytes`);
    assert.ok(!webhook.inputs.__provider.includes(REPO_ROOT) && !webhook.inputs.__provider.includes(dir), "an absolute path in __provider");
    const bytes = JSON.stringify(webhook).length;
    assert.ok(bytes <= 4096, `state per webhook is ${bytes} bytes`);
    const rotation = resources.find((r) => r.type === "pulumi-nodejs:dynamic/gemini:SecretRotation")!;
    assert.match(rotation.inputs.__provider, /require\("pulumi-gemini-webhooks\/rotation-shim"\)/);

    await stack.destroy();
    assert.equal(emulator.ctx.store.countWebhooks(), 0);
    assert.ok(readdirSync(join(dir, "state", ".pulumi", "stacks", "installed")).length > 0);
  } finally {
    await emulator.close();
  }
});

test("the install puts the plugin on the infra repo's PATH: node_modules/.bin/pulumi-resource-gemini serves the schema to the CLI", async () => {
  const bin = join(dir, "node_modules", ".bin", "pulumi-resource-gemini");
  const schema = await execOk(join(pulumiBinDir(), "pulumi"), ["package", "get-schema", bin], { env: { ...process.env, PULUMI_SKIP_UPDATE_CHECK: "true" } });
  const parsed = JSON.parse(schema) as { name: string; version: string; resources: Record<string, unknown> };
  assert.equal(parsed.name, "gemini");
  assert.equal(parsed.version, JSON.parse(readFileSync(join(REPO_ROOT, "provider", "package.json"), "utf8")).version);
  assert.deepEqual(Object.keys(parsed.resources).sort(), ["gemini:index:SecretRotation", "gemini:index:Webhook"]);
});

test("with node_modules/.bin on PATH, the pulumi command runs a YAML program on the npm-installed plugin (no plugin install)", async () => {
  const emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  const path = [pulumiBinDir(), join(dir, "node_modules", ".bin"), dirname(process.execPath), "/usr/bin", "/bin"].join(":");
  const project = await PulumiProject.create(
    { yaml: "name: from-npm\nruntime: yaml\nresources:\n  hook:\n    type: gemini:Webhook\n    properties:\n      uri: https://example.com/npm\n      subscribedEvents: [batch.succeeded]\n" },
    { PATH: path, GEMINI_API_KEY: TEST_API_KEY },
    "path",
  );
  try {
    await project.ok(["stack", "init", "dev"]);
    await project.ok(["config", "set", "gemini:baseUrl", emulator.url]);
    const up = await project.ok(["up", "--yes"]);
    assert.match(up.output, /using pulumi-resource-gemini from \$PATH at .*node_modules\/\.bin\/pulumi-resource-gemini/);
    assert.equal(emulator.ctx.store.countWebhooks(), 1);
    await project.ok(["destroy", "--yes"]);
    assert.equal(emulator.ctx.store.countWebhooks(), 0);
  } finally {
    project.remove();
    await emulator.close();
  }
});
