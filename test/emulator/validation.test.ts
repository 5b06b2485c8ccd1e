/** The emulator's validation table: one bad input per row, and the exact Google error it earns. */
import assert from "node:assert/strict";
import { buildEmulatorApp } from "gemini-webhooks-emulator";
import { inject } from "../support/inject";

const KEY = "k";
const { app, ctx } = buildEmulatorApp({ inMemory: true, apiKey: KEY });
afterAll(() => app.close());

async function call(method: "GET" | "POST" | "PATCH" | "DELETE" | "PUT", url: string, payload?: unknown, headers: Record<string, string> = {}) {
  const response = await inject(app, {
    method,
    url,
    headers: { "x-goog-api-key": KEY, "content-type": "application/json", ...headers },
    payload: typeof payload === "string" ? payload : payload === undefined ? undefined : JSON.stringify(payload),
  });
  return { status: response.statusCode, body: response.json() as { error?: { code: number; message: string; status: string; details?: { reason: string }[] } } & Record<string, unknown> };
}

const VALID = { name: "n", uri: "https://example.com/hook", subscribed_events: ["batch.succeeded"] };
let existingId = "";
beforeAll(async () => {
  existingId = (await call("POST", "/v1beta/webhooks", VALID)).body.id as string;
});

describe("create validation", () => {
  const cases: [string, unknown, RegExp][] = [
    ["camelCase key suggests the snake_case name", { uri: VALID.uri, subscribedEvents: ["batch.succeeded"] }, /Unknown name "subscribedEvents": Did you mean "subscribed_events"\?/],
    ["unknown key", { ...VALID, colour: "red" }, /Unknown name "colour": Cannot find field\./],
    ["unknown event lists the 7 valid ones", { ...VALID, subscribed_events: ["batch.cancelled"] }, /Invalid value at 'subscribed_events\[0\]' \("batch.cancelled"\)\. Valid values: batch\.succeeded, batch\.expired, batch\.failed, interaction\.requires_action, interaction\.completed, interaction\.failed, video\.generated\./],
    ["upper-case event suggests lower case", { ...VALID, subscribed_events: ["BATCH.FAILED"] }, /Did you mean "batch\.failed"\?/],
    ["missing subscribed_events", { uri: VALID.uri }, /Field 'subscribed_events' is required\./],
    ["empty subscribed_events", { ...VALID, subscribed_events: [] }, /Invalid value at 'subscribed_events': must list at least one event of: batch\.succeeded/],
    ["subscribed_events not an array", { ...VALID, subscribed_events: "batch.succeeded" }, /Invalid value at 'subscribed_events' \("batch.succeeded"\)/],
    ["missing uri", { subscribed_events: ["batch.succeeded"] }, /Field 'uri' is required\./],
    ["malformed uri", { ...VALID, uri: "not a url" }, /Invalid value at 'uri' \("not a url"\): must be an absolute http:\/\/ or https:\/\/ URL/],
    ["non-http uri", { ...VALID, uri: "ftp://example.com/x" }, /Invalid value at 'uri' \("ftp:\/\/example.com\/x"\)/],
    ["state is not accepted on create", { ...VALID, state: "enabled" }, /Unknown name "state": Cannot find field\./],
    ["body is an array", [VALID], /The request body must be a JSON object/],
    ["name is not a string", { ...VALID, name: 5 }, /Invalid value at 'name' \(5\): expected string/],
  ];
  for (const [title, body, message] of cases) {
    test(title, async () => {
      const { status, body: json } = await call("POST", "/v1beta/webhooks", body);
      assert.equal(status, 400);
      assert.equal(json.error?.status, "INVALID_ARGUMENT");
      assert.equal(json.error?.code, 400);
      assert.match(json.error?.message ?? "", message);
    });
  }

  test("malformed JSON is a 400 INVALID_ARGUMENT", async () => {
    const { status, body } = await call("POST", "/v1beta/webhooks", "{\"uri\": ");
    assert.equal(status, 400);
    assert.match(body.error?.message ?? "", /^Invalid JSON payload received\./);
  });

  test("no webhook was created by any bad request", () => {
    assert.equal(ctx.store.countWebhooks(), 1);
  });
});

describe("update and rotate validation", () => {
  test("unknown enum spelling for state suggests the lower-case value", async () => {
    const { status, body } = await call("PATCH", `/v1beta/webhooks/${existingId}`, { state: "DISABLED" });
    assert.equal(status, 400);
    assert.match(body.error?.message ?? "", /Invalid value at 'state' \("DISABLED"\)\. Did you mean "disabled"\?/);
  });
  test("state disabled_due_to_failed_deliveries may be set, as the SDKs' update type allows", async () => {
    const made = (await call("POST", "/v1beta/webhooks", VALID)).body.id as string;
    const { status, body } = await call("PATCH", `/v1beta/webhooks/${made}`, { state: "disabled_due_to_failed_deliveries" });
    assert.equal(status, 200);
    assert.equal(body.state, "disabled_due_to_failed_deliveries");
    assert.equal((await call("DELETE", `/v1beta/webhooks/${made}`)).status, 200);
  });
  test("unknown update_mask field", async () => {
    const { status, body } = await call("PATCH", `/v1beta/webhooks/${existingId}?update_mask=colour`, { name: "x" });
    assert.equal(status, 400);
    assert.match(body.error?.message ?? "", /Invalid value at 'update_mask': unknown field\(s\) colour/);
  });
  test("upper-case revocation_behavior suggests the lower-case value", async () => {
    const { status, body } = await call("POST", `/v1beta/webhooks/${existingId}:rotateSigningSecret`, {
      revocation_behavior: "REVOKE_PREVIOUS_SECRETS_AFTER_H24",
    });
    assert.equal(status, 400);
    assert.match(body.error?.message ?? "", /Did you mean "revoke_previous_secrets_after_h24"\?/);
  });
  test("camelCase rotate key", async () => {
    const { status, body } = await call("POST", `/v1beta/webhooks/${existingId}:rotateSigningSecret`, { revocationBehavior: "x" });
    assert.equal(status, 400);
    assert.match(body.error?.message ?? "", /Unknown name "revocationBehavior": Did you mean "revocation_behavior"\?/);
  });
  test("ping takes an empty body only", async () => {
    const { status, body } = await call("POST", `/v1beta/webhooks/${existingId}:ping`, { hello: 1 });
    assert.equal(status, 400);
    assert.match(body.error?.message ?? "", /Unknown name "hello"/);
  });
});

describe("field masks and JSON as Google's APIs behave", () => {
  test("update_mask paths may be camelCase (the proto3 JSON mapping of FieldMask), and updateMask is the same parameter", async () => {
    const made = (await call("POST", "/v1beta/webhooks", VALID)).body.id as string;
    const camel = await call("PATCH", `/v1beta/webhooks/${made}?update_mask=subscribedEvents`, { subscribed_events: ["video.generated"], name: "ignored" });
    assert.equal(camel.status, 200);
    assert.deepEqual(camel.body.subscribed_events, ["video.generated"]);
    assert.equal(camel.body.name, "n", "a field outside the mask is left alone");
    const param = await call("PATCH", `/v1beta/webhooks/${made}?updateMask=name`, { name: "renamed" });
    assert.equal(param.body.name, "renamed");
    await call("DELETE", `/v1beta/webhooks/${made}`);
  });
  test("a masked field the body leaves out is cleared (AIP-134); a required one cannot be", async () => {
    const made = (await call("POST", "/v1beta/webhooks", VALID)).body.id as string;
    const cleared = await call("PATCH", `/v1beta/webhooks/${made}?update_mask=name`, {});
    assert.equal(cleared.status, 200);
    assert.equal(cleared.body.name, undefined, "name is cleared (and omitted, as an unset field)");
    const required = await call("PATCH", `/v1beta/webhooks/${made}?update_mask=uri,name`, { name: "x" });
    assert.equal(required.status, 400);
    assert.match(required.body.error?.message ?? "", /update_mask': uri named but absent from the body/);
    await call("DELETE", `/v1beta/webhooks/${made}`);
  });
  test("an empty list is {} (empty repeated fields are omitted)", async () => {
    const { app: empty } = buildEmulatorApp({ inMemory: true, apiKey: KEY });
    try {
      const response = await inject(empty, { method: "GET", url: "/v1/webhooks", headers: { "x-goog-api-key": KEY } });
      assert.equal(response.statusCode, 200);
      assert.equal(response.body, "{}");
    } finally {
      await empty.close();
    }
  });
});

describe("ids, methods, paths and keys", () => {
  for (const [method, url] of [
    ["GET", "/v1beta/webhooks/nope"],
    ["PATCH", "/v1beta/webhooks/nope"],
    ["DELETE", "/v1beta/webhooks/nope"],
    ["POST", "/v1beta/webhooks/nope:ping"],
    ["POST", "/v1beta/webhooks/nope:rotateSigningSecret"],
  ] as const) test(`${method} ${url} is 404 NOT_FOUND`, async () => {
    const { status, body } = await call(method, url, method === "GET" || method === "DELETE" ? undefined : { name: "x" });
    assert.equal(status, 404);
    assert.equal(body.error?.status, "NOT_FOUND");
    assert.match(body.error?.message ?? "", /Webhook "nope" not found/);
  });
  test("unknown custom method is 404", async () => {
    const { status } = await call("POST", `/v1beta/webhooks/${existingId}:explode`, {});
    assert.equal(status, 404);
  });
  for (const [method, url] of [
    ["PUT", "/v1beta/webhooks/abc"],
    ["GET", "/v1beta/webhooks/abc:ping"],
    ["DELETE", "/v1beta/webhooks"],
  ] as const) test(`${method} ${url} is 405`, async () => {
    const { status, body } = await call(method, url);
    assert.equal(status, 405);
    assert.equal(body.error?.code, 405);
  });
  test("/v1 (the SDKs' default) and /v1beta serve the same handlers and the same store", async () => {
    const made = (await call("POST", "/v1/webhooks", { ...VALID, name: "via-v1" })).body.id as string;
    const viaBeta = await call("GET", `/v1beta/webhooks/${made}`);
    assert.equal(viaBeta.status, 200);
    assert.equal(viaBeta.body.name, "via-v1");
    assert.equal((await call("DELETE", `/v1/webhooks/${made}`)).status, 200);
    assert.equal((await call("GET", `/v1beta/webhooks/${made}`)).status, 404);
  });
  test("the guide's prose spellings get an error naming the SDKs' spelling", async () => {
    const rotate = await call("POST", `/v1/webhooks/${existingId}/rotate_secret`, { revocation_behavior: "revoke_previous_secrets_after_h24" });
    assert.equal(rotate.status, 404);
    assert.match(rotate.body.error?.message ?? "", new RegExp(`POST /v1/webhooks/${existingId}:rotateSigningSecret`));
    const colon = await call("POST", `/v1beta/webhooks/${existingId}:rotate_secret`, {});
    assert.equal(colon.status, 404);
    assert.match(colon.body.error?.message ?? "", /Did you mean ".*:rotateSigningSecret"\?/);
    const batch = await call("POST", "/v1/models/gemini-3-flash-preview:batchCreate", { batch: {} });
    assert.equal(batch.status, 404);
    assert.match(batch.body.error?.message ?? "", /models\/gemini-3-flash-preview:batchGenerateContent/);
  });
  test("a missing key is 403 PERMISSION_DENIED, before the body is read", async () => {
    const response = await inject(app, { method: "POST", url: "/v1beta/webhooks", payload: "{bad" , headers: { "content-type": "application/json" } });
    assert.equal(response.statusCode, 403);
    assert.equal(response.json().error.status, "PERMISSION_DENIED");
  });
  test("a wrong key is 400 API_KEY_INVALID", async () => {
    const { status, body } = await call("GET", "/v1beta/webhooks", undefined, { "x-goog-api-key": "wrong" });
    assert.equal(status, 400);
    assert.equal(body.error?.message, "API key not valid. Please pass a valid API key.");
    assert.equal(body.error?.details?.[0].reason, "API_KEY_INVALID");
  });
  for (const size of ["abc", "-1", "1.5"]) test(`page_size=${size} is a 400 naming page_size`, async () => {
    const { status, body } = await call("GET", `/v1beta/webhooks?page_size=${size}`);
    assert.equal(status, 400);
    assert.match(body.error?.message ?? "", /'page_size'/);
  });
  test("a forged page_token is a 400 naming page_token", async () => {
    const { status, body } = await call("GET", `/v1beta/webhooks?page_token=garbage`);
    assert.equal(status, 400);
    assert.match(body.error?.message ?? "", /'page_token'/);
  });
});
