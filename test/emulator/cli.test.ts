/** The emulator's CLI: help on every command, bad flags and env named, `trigger` against a running emulator. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { kill, spawnEmulator } from "../support/emulator-process";
import { ReceiverStub, waitFor } from "../support/receiver-stub";
import { EMULATOR_CLI } from "../../scripts/paths";

const cli = EMULATOR_CLI;
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [cli, ...args], { encoding: "utf8", env: { PATH: process.env.PATH ?? "", ...env }, timeout: 30_000 });

test("--help on every command", () => {
  for (const args of [["--help"], ["serve", "--help"], ["trigger", "--help"]]) {
    const r = run(args);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^Usage: gemini-webhooks-emulator/);
  }
});

test("bad flags and environment values stop with a message naming them", () => {
  const cases: [string[], Record<string, string>, RegExp][] = [
    [["serve", "--port", "99999"], {}, /--port must be between 0 and 65535/],
    [["serve", "--port", "eighty"], {}, /--port must be an integer/],
    [["serve"], { GEMINI_EMULATOR_PORT: "-1" }, /GEMINI_EMULATOR_PORT must be an integer/],
    [["serve", "--time-scale", "0"], {}, /--time-scale must be a positive number/],
    [["serve"], { GEMINI_EMULATOR_TIME_SCALE: "fast" }, /GEMINI_EMULATOR_TIME_SCALE must be a positive number/],
    [["serve", "--in-memory", "--data-dir", "/tmp/x"], {}, /--in-memory and --data-dir exclude each other/],
    [["serve", "--api-key", " "], {}, /--api-key \/ GEMINI_EMULATOR_API_KEY must not be empty/],
    [["serve", "--colour"], {}, /Unknown option '--colour'/],
    [["trigger"], {}, /exactly one event type/],
    [["trigger", "batch.succeeded", "--data", "{nope"], {}, /--data must be a JSON object/],
    [["explode"], {}, /unknown command "explode"/],
  ];
  for (const [args, env, message] of cases) {
    const r = run(args, env);
    assert.equal(r.status, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});

test("trigger emits an event on a running emulator and reports bad types", async () => {
  const stub = await ReceiverStub.start();
  const emulator = await spawnEmulator(["--api-key", "cli-key"]);
  try {
    const client = new WebhooksClient({ baseUrl: `${emulator.url}/v1beta`, apiKey: "cli-key" });
    await client.create({ uri: stub.url, subscribed_events: ["video.generated"] });
    const keyless = spawnSync(process.execPath, [cli, "trigger", "video.generated", "--url", emulator.url], { encoding: "utf8" });
    assert.equal(keyless.status, 2, "an emulator with --api-key refuses admin calls without it");
    assert.match(keyless.stderr, /Please use API Key/);
    const ok = spawnSync(process.execPath, [cli, "trigger", "video.generated", "--data", '{"id":"operations/7"}', "--url", emulator.url, "--api-key", "cli-key"], { encoding: "utf8" });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout.trim(), /^evt_/);
    await waitFor("the delivery", () => stub.received.length === 1);
    assert.equal(JSON.parse(stub.received[0].body.toString()).data.id, "operations/7");
    const bad = spawnSync(process.execPath, [cli, "trigger", "batch.completed", "--url", emulator.url], { encoding: "utf8", env: { ...process.env, GEMINI_EMULATOR_API_KEY: "cli-key" } });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /Invalid event at 'type'/);
  } finally {
    await kill(emulator, "SIGTERM");
    await stub.close();
    await closeAllPools();
  }
});
