/**
 * lane: full (Python and PyPI)
 * Google's Python SDK (`google-genai`, from PyPI into a cached virtualenv) against the emulator at
 * the SDK's defaults: `genai.Client()` with only GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL in its
 * environment. The script (programs/python_sdk_oracle.py) reports what it observed; this suite
 * checks it and which requests reached the emulator.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { pythonVenv } from "../../scripts/python-venv";
import { execOk } from "../../scripts/exec";

/** The release this suite was written against; the SDK's webhooks surface is new and still moving. */
const GOOGLE_GENAI = "google-genai==3.6.1";
const KEY = "py-oracle-key-0123456789";
let emulator: RunningEmulator;
const seen: string[] = [];
const checks = new Map<string, Record<string, unknown>>();

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: KEY });
  emulator.app.server.on("request", (req) => seen.push(`${req.method} ${req.url} key:${req.headers["x-goog-api-key"] === KEY ? "ok" : "other"}`));
  const python = await pythonVenv([GOOGLE_GENAI]);
  const stdout = await execOk(python, [join(__dirname, "programs", "python_sdk_oracle.py")], {
    // Only what a user's shell would hold: the key and the origin (no proxy, no other settings).
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", GEMINI_API_KEY: KEY, GOOGLE_GEMINI_BASE_URL: emulator.url },
  });
  for (const line of stdout.split("\n").filter((l) => l.startsWith("{"))) {
    const { check, ...observed } = JSON.parse(line) as { check: string } & Record<string, unknown>;
    checks.set(check, observed);
  }
}, 300_000);

afterAll(async () => {
  await emulator?.close();
});

const check = (name: string) => {
  const observed = checks.get(name);
  assert.ok(observed, `the script did not reach "${name}"`);
  return observed;
};

test("create returns the secret once; get never returns it", () => {
  const created = check("create");
  assert.equal(created.name, "py-a");
  assert.equal(created.state, "enabled");
  assert.deepEqual(created.events, ["batch.succeeded", "batch.failed"]);
  assert.equal(created.secret_prefix, "whsec_");
  assert.equal((created.truncated as string[]).length, 1);
  assert.equal(check("get").secret_returned, false);
});

test("the SDK calls /v1 by default and /v1beta when asked, with the key in x-goog-api-key", () => {
  assert.ok(seen.some((s) => s.startsWith("POST /v1/webhooks key:ok")), seen.join("\n"));
  assert.ok(seen.some((s) => /^GET \/v1beta\/webhooks\/\w+ key:ok/.test(s)), "api_version=v1beta");
  assert.equal(check("v1beta").id, check("create").id);
  // Every request carried the configured key, except the one made with a wrong key on purpose.
  assert.equal(seen.filter((s) => s.endsWith("key:other")).length, 1);
});

test("list pages with page_size and next_page_token through every webhook", () => {
  const list = check("list");
  assert.equal(list.pages, 2);
  assert.deepEqual([...(list.ids as string[])].sort(), [...(list.expected as string[])].sort());
});

test("update with an update_mask and without one (fields given)", () => {
  assert.equal(check("update_masked").name, "py-a2");
  assert.deepEqual(check("update_masked").events, ["batch.succeeded", "batch.failed"], "fields outside the mask untouched");
  const unmasked = check("update_unmasked");
  assert.equal(unmasked.state, "disabled");
  assert.deepEqual(unmasked.events, ["interaction.completed"]);
  assert.equal(unmasked.name, "py-a2");
});

test("rotation in both modes: 24 h grace keeps the old secret with an expiry; immediate leaves one", () => {
  const grace = check("rotate_after_h24");
  assert.equal(grace.secret_prefix, "whsec_");
  assert.equal(grace.secrets, 2);
  assert.equal(grace.expiring, 1);
  assert.equal(check("rotate_immediately").secrets, 1);
});

test("ping answers the SDK's response type", () => {
  assert.equal(check("ping").response, "WebhookPingResponse");
});

test("errors arrive as the SDK's typed errors: NotFoundError, BadRequestError naming the field, a rejected key without echoing it", () => {
  assert.equal(check("not_found").error, "NotFoundError");
  const bad = check("bad_request");
  assert.equal(bad.error, "BadRequestError");
  assert.match(bad.message as string, /uri/);
  const wrong = check("wrong_key");
  assert.equal(wrong.error, "BadRequestError");
  assert.equal(wrong.reason, true);
  assert.equal(wrong.key_echoed, false);
  assert.equal(emulator.ctx.store.countWebhooks(), 0);
});
