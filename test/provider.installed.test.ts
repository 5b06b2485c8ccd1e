/**
 * The package as users install it: `__provider` in state is a `require` of the installed package
 * (no code, no absolute path, no credential), state stays small, and every operation runs from
 * node_modules through the real engine.
 */
import assert from "node:assert/strict";
import { readFileSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { startEmulator } from "../emulator";
import { closeAllPools } from "../provider/api";
import { openStack, REPO_ROOT } from "../scripts/engine";
import { installedLayout, PACKAGE_NAME } from "../scripts/installed-layout";
import { TEST_API_KEY } from "./support/emulator";

const dir = installedLayout();
after(async () => {
  await closeAllPools();
  rmSync(dir, { recursive: true, force: true });
});

test("installed from node_modules, the provider is stored by reference and state stays under 4 KB per webhook", async () => {
  const installed = require(join(dir, "node_modules", PACKAGE_NAME)) as typeof import("../provider");
  const emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  let uri = "https://example.com/installed/a";
  try {
    const stack = await openStack({
      projectName: "installed",
      stackName: "dev",
      backendDir: join(dir, "state"),
      mainDir: dir,
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
    assert.match(webhook.inputs.__provider, /require\("pulumi-gemini-webhooks\/dist\/provider\/webhook-shim\.js"\)/);
    assert.ok(webhook.inputs.__provider.length < 600, `__provider is ${webhook.inputs.__provider.length} bytes`);
    assert.ok(!webhook.inputs.__provider.includes(REPO_ROOT) && !webhook.inputs.__provider.includes(dir), "an absolute path in __provider");
    const bytes = JSON.stringify(webhook).length;
    assert.ok(bytes <= 4096, `state per webhook is ${bytes} bytes`);
    const rotation = resources.find((r) => r.type === "pulumi-nodejs:dynamic/gemini:SecretRotation")!;
    assert.match(rotation.inputs.__provider, /rotation-shim\.js/);

    await stack.destroy();
    assert.equal(emulator.ctx.store.countWebhooks(), 0);
    assert.ok(readdirSync(join(dir, "state", ".pulumi", "stacks", "installed")).length > 0);
  } finally {
    await emulator.close();
  }
});
