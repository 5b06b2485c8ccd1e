/**
 * lane: full (the Pulumi engine)
 * The provider's configuration in the SDKs' terms, and the API key's life, through the real engine:
 * `gemini:baseUrl` as an origin plus `gemini:apiVersion`; a key set without `--secret` stops the
 * preview before anything is stored; after the key is rotated, refresh and destroy work with the key
 * in the environment, or fail naming that fix.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { Webhook } from "pulumi-gemini-webhooks";
import { closeAllPools } from "gemini-webhooks-client";
import { openStack } from "../../scripts/engine";
import { freePort } from "../../scripts/free-port";
import { REPO_ROOT } from "../../scripts/paths";

const dirs: string[] = [];
function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await closeAllPools();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

const program = async () => {
  const hook = new Webhook("hook", { name: "key-test", uri: "https://example.com/key-test", subscribedEvents: ["batch.succeeded"] });
  return { id: hook.id };
};

test("a key set without --secret stops the preview and the update with the exact command, and never reaches the state", async () => {
  const key = "plaintext-key-" + Math.random().toString(36).slice(2);
  const emulator = await startEmulator({ inMemory: true, apiKey: key });
  const backendDir = tempDir("gemini-plainkey-");
  try {
    // The program's error must surface as Pulumi reports it to a user, so the stack runs in a plain
    // Node process (Jest would also report the rejections the Pulumi runtime leaves behind).
    const script = `
      const { openStack } = require(${JSON.stringify(join(REPO_ROOT, "dist", "scripts", "engine.js"))});
      const { Webhook } = require("pulumi-gemini-webhooks");
      (async () => {
        const stack = await openStack({
          projectName: "plainkey", stackName: "dev", backendDir: ${JSON.stringify(backendDir)},
          program: async () => { new Webhook("hook", { uri: "https://example.com/k", subscribedEvents: ["batch.succeeded"] }); },
          config: { "gemini:apiKey": { value: ${JSON.stringify(key)}, secret: false }, "gemini:baseUrl": { value: ${JSON.stringify(emulator.url)} } },
        });
        for (const op of ["preview", "up"]) {
          try { await stack[op](); console.log(op + ": succeeded"); }
          catch (e) { console.log(op + ": " + (e.message.includes("pulumi config set --secret gemini:apiKey <key>") ? "refused with the command" : "failed otherwise")); }
        }
      })();`;
    const run = spawnSync(process.execPath, ["-e", script], { cwd: REPO_ROOT, encoding: "utf8", timeout: 300_000 });
    assert.match(run.stdout, /preview: refused with the command/, run.stdout + run.stderr);
    assert.match(run.stdout, /up: refused with the command/, run.stdout + run.stderr);
    assert.equal(emulator.ctx.store.countWebhooks(), 0, "nothing was created");
    // The state (checkpoints and their backups) never holds the key. Pulumi's own update history
    // does record the plaintext config of the refused update: the user typed it so.
    const stateFiles = filesUnder(join(backendDir, ".pulumi", "stacks")).concat(filesUnder(join(backendDir, ".pulumi", "backups")));
    assert.ok(stateFiles.length > 0, "the stack exists");
    for (const f of stateFiles) assert.ok(!readFileSync(f, "utf8").includes(key), `${f} holds the key`);
  } finally {
    await emulator.close();
  }
});

test("gemini:baseUrl is an origin and gemini:apiVersion picks the version, as in the SDKs", async () => {
  const emulator = await startEmulator({ inMemory: true, apiKey: "k" });
  const paths: string[] = [];
  emulator.app.server.on("request", (req) => paths.push(`${req.method} ${req.url}`));
  try {
    for (const [apiVersion, prefix] of [[undefined, "/v1beta/"], ["v1", "/v1/"]] as const) {
      paths.length = 0;
      const stack = await openStack({
        projectName: "origin",
        stackName: apiVersion ?? "default",
        backendDir: tempDir("gemini-origin-"),
        program,
        config: {
          "gemini:apiKey": { value: "k", secret: true },
          "gemini:baseUrl": { value: emulator.url },
          ...(apiVersion ? { "gemini:apiVersion": { value: apiVersion } } : {}),
        },
      });
      await stack.up();
      await stack.destroy();
      assert.ok(paths.length >= 2 && paths.every((p) => p.split(" ")[1].startsWith(prefix)), `${apiVersion ?? "default"}: ${paths.join(", ")}`);
    }
    const bad = await openStack({
      projectName: "origin",
      stackName: "bad",
      backendDir: tempDir("gemini-origin-"),
      program,
      config: { "gemini:apiKey": { value: "k", secret: true }, "gemini:baseUrl": { value: emulator.url }, "gemini:apiVersion": { value: "v2" } },
    });
    await assert.rejects(bad.up(), (e: Error) => /gemini:apiVersion must be one of v1beta, v1, got "v2"/.test(e.message));
  } finally {
    await emulator.close();
  }
});

test("after the key is rotated, refresh and destroy fail naming the fix, then work with GEMINI_API_KEY", async () => {
  const oldKey = "old-key-" + Math.random().toString(36).slice(2);
  const newKey = "new-key-" + Math.random().toString(36).slice(2);
  const dataDir = tempDir("gemini-rotkey-data-");
  const backendDir = tempDir("gemini-rotkey-");
  const port = await freePort();
  let emulator: RunningEmulator = await startEmulator({ port, dataDir, apiKey: oldKey });
  const open = (env: Record<string, string> = {}) =>
    openStack({
      projectName: "rotkey",
      stackName: "dev",
      backendDir,
      program,
      env,
      config: { "gemini:apiKey": { value: oldKey, secret: true }, "gemini:baseUrl": { value: emulator.url } },
    });
  try {
    await (await open()).up();
    assert.equal(emulator.ctx.store.countWebhooks(), 1);

    // The key is rotated at the service: the one stored with the provider is now refused.
    await emulator.close();
    emulator = await startEmulator({ port, dataDir, apiKey: newKey });
    await assert.rejects((await open()).refresh(), (e: Error) => {
      assert.match(e.message, /rejected the API key/);
      assert.match(e.message, /set GEMINI_API_KEY to the current key/);
      assert.ok(!e.message.includes(oldKey) && !e.message.includes(newKey), "an error holds a key");
      return true;
    });
    const withEnv = await open({ GEMINI_API_KEY: newKey });
    const refreshed = await withEnv.refresh();
    assert.equal(refreshed.summary.result, "succeeded");
    await withEnv.destroy();
    assert.equal(emulator.ctx.store.countWebhooks(), 0);
  } finally {
    await emulator.close();
  }
});
