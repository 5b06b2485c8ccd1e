/**
 * The plugin over its own gRPC, as the engine meets it: `pulumi-resource-gemini` started as a process,
 * its port read from its first line, a real gRPC client — no engine, milliseconds per call. Secrets
 * arrive wrapped as the engine wraps them; outputs and errors are checked for what they repeat.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as structproto from "google-protobuf/google/protobuf/struct_pb";
import * as provproto from "@pulumi/pulumi/proto/provider_pb";
import * as provrpc from "@pulumi/pulumi/proto/provider_grpc_pb";
import { startEmulator, RunningEmulator } from "gemini-webhooks-emulator";
import { REPO_ROOT } from "../../scripts/paths";
import { TEST_API_KEY } from "../support/emulator";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const secret = (value: unknown) => ({ [SIG_KEY]: SECRET_SIG, value });
const struct = (props: Record<string, unknown>) => structproto.Struct.fromJavaScript(props as Record<string, structproto.JavaScriptValue>);
const WEBHOOK = "gemini:index:Webhook";

let plugin: ChildProcess;
let client: provrpc.ResourceProviderClient;
let emulator: RunningEmulator;

function call<Req, Res>(method: (req: Req, cb: (err: grpc.ServiceError | null, res: Res) => void) => unknown, req: Req): Promise<Res> {
  return new Promise((resolve, reject) => method.call(client, req, (err, res) => (err ? reject(err) : resolve(res))));
}

beforeAll(async () => {
  emulator = await startEmulator({ inMemory: true, apiKey: TEST_API_KEY });
  plugin = spawn(process.execPath, [join(REPO_ROOT, "provider", "dist", "plugin", "main.js")], { stdio: ["ignore", "pipe", "inherit"] });
  const [line] = (await once(plugin.stdout!, "data")) as [Buffer];
  client = new provrpc.ResourceProviderClient(`127.0.0.1:${line.toString().trim()}`, grpc.credentials.createInsecure());
  const configure = new provproto.ConfigureRequest();
  configure.setArgs(struct({ apiKey: secret(TEST_API_KEY), baseUrl: emulator.url }));
  configure.setAcceptsecrets(true);
  const configured = await call(client.configure, configure);
  assert.equal((configured as provproto.ConfigureResponse).getAcceptsecrets(), true);
});

afterAll(async () => {
  client?.close();
  plugin?.kill();
  await emulator?.close();
});

function checkRequest(news: Record<string, unknown>): provproto.CheckRequest {
  const req = new provproto.CheckRequest();
  req.setUrn(`urn:pulumi:test::project::${WEBHOOK}::hook`);
  req.setType(WEBHOOK);
  req.setOlds(struct({}));
  req.setNews(struct(news));
  return req;
}

test("Check failures never repeat a value that arrived as a secret; plain values are still named", async () => {
  const hidden = "batch.succeeded-internal-codename-7f3a";
  const res = (await call(client.check, checkRequest({ uri: "http://127.0.0.1:9/hook", subscribedEvents: secret(["batch.succeeded", hidden]) }))) as provproto.CheckResponse;
  const reasons = res.getFailuresList().map((f) => f.getReason());
  assert.equal(reasons.length, 1);
  assert.ok(!reasons[0].includes(hidden), reasons[0]);
  assert.match(reasons[0], /unknown event "\[secret\]"; valid events: /);

  const plain = (await call(client.check, checkRequest({ uri: "http://127.0.0.1:9/hook", subscribedEvents: ["batch.succeded"] }))) as provproto.CheckResponse;
  assert.match(plain.getFailuresList()[0].getReason(), /unknown event "batch.succeded"/);
});

test("an API error that quotes a secret input (Google's \"Invalid value at 'uri' (…)\") is scrubbed before the engine sees it", async () => {
  const hidden = "private-path-91c2";
  const uri = `http://127.0.0.1:9/${"p".repeat(2_100)}/${hidden}`; // over the API's 2,048 characters
  const req = new provproto.CreateRequest();
  req.setUrn(`urn:pulumi:test::project::${WEBHOOK}::hook`);
  req.setType(WEBHOOK);
  req.setProperties(struct({ uri: secret(uri), subscribedEvents: ["batch.succeeded"] }));
  const err = (await call(client.create, req).then(
    () => assert.fail("created"),
    (e: grpc.ServiceError) => e,
  )) as grpc.ServiceError;
  assert.ok(!err.details.includes(hidden), err.details.slice(0, 300));
  assert.match(err.details, /\[secret\]/);
});

test("Create answers the signing secret wrapped as a secret, and a secret input stays wrapped", async () => {
  const req = new provproto.CreateRequest();
  req.setUrn(`urn:pulumi:test::project::${WEBHOOK}::hook`);
  req.setType(WEBHOOK);
  req.setProperties(struct({ uri: secret("http://127.0.0.1:9/private-path"), subscribedEvents: ["batch.succeeded"] }));
  const res = (await call(client.create, req)) as provproto.CreateResponse;
  const props = res.getProperties()!.toJavaScript() as Record<string, { [SIG_KEY]?: string; value?: string }>;
  assert.match(res.getId(), /\S/);
  assert.equal(props.signingSecret[SIG_KEY], SECRET_SIG);
  assert.match(String(props.signingSecret.value), /^whsec_/);
  assert.equal(props.uri[SIG_KEY], SECRET_SIG);
});

describe("every method over gRPC, secrets wrapped and unwrapped", () => {
  const ROTATION = "gemini:index:SecretRotation";
  const urn = (type: string, name: string) => `urn:pulumi:test::project::${type}::${name}`;
  const js = (s: structproto.Struct | undefined) => (s?.toJavaScript() ?? {}) as Record<string, { [SIG_KEY]?: string; value?: unknown } & Record<string, unknown>>;

  test("GetPluginInfo and GetSchema answer the package's version and its schema", async () => {
    const version = require(join(REPO_ROOT, "provider", "package.json")).version as string;
    const { Empty } = require("google-protobuf/google/protobuf/empty_pb") as { Empty: new () => unknown };
    const info = (await call(client.getPluginInfo, new Empty() as never)) as { getVersion(): string };
    assert.equal(info.getVersion(), version);
    const req = new provproto.GetSchemaRequest();
    const schema = JSON.parse(((await call(client.getSchema, req)) as provproto.GetSchemaResponse).getSchema()) as { version: string; resources: Record<string, unknown> };
    assert.equal(schema.version, version);
    assert.deepEqual(Object.keys(schema.resources).sort(), [ROTATION, WEBHOOK]);
  });

  test("CheckConfig names a misspelt key; DiffConfig updates in place, never replaces", async () => {
    const check = new provproto.CheckRequest();
    check.setUrn("urn:pulumi:test::project::pulumi:providers:gemini::default");
    check.setOlds(struct({}));
    check.setNews(struct({ apikey: "x", apiVersion: "v2" }));
    const failures = ((await call(client.checkConfig, check)) as provproto.CheckResponse).getFailuresList().map((f) => `${f.getProperty()}: ${f.getReason()}`);
    assert.ok(failures.some((f) => /apikey/.test(f)), failures.join("; "));
    assert.ok(failures.some((f) => /apiVersion: .*v2/.test(f)), failures.join("; "));
    const diff = new provproto.DiffRequest();
    diff.setUrn("urn:pulumi:test::project::pulumi:providers:gemini::default");
    diff.setOlds(struct({ baseUrl: "http://127.0.0.1:1" }));
    diff.setNews(struct({ baseUrl: "http://127.0.0.1:2" }));
    const res = (await call(client.diffConfig, diff)) as provproto.DiffResponse;
    assert.equal(res.getChanges(), provproto.DiffResponse.DiffChanges.DIFF_SOME);
    assert.deepEqual(res.getReplacesList(), []);
    assert.deepEqual(res.getDiffsList(), ["baseUrl"]);
  });

  test("Create, Read, Diff, Update and Delete a webhook; a rotation replaces on a new key; Invoke returns secrets", async () => {
    const create = new provproto.CreateRequest();
    create.setUrn(urn(WEBHOOK, "lifecycle"));
    create.setType(WEBHOOK);
    create.setProperties(struct({ uri: "http://127.0.0.1:9/a", subscribedEvents: ["batch.succeeded"], name: "lifecycle" }));
    const created = (await call(client.create, create)) as provproto.CreateResponse;
    const id = created.getId();
    const outs = js(created.getProperties());
    assert.equal(outs.signingSecret[SIG_KEY], SECRET_SIG);
    const signing = outs.signingSecret.value as string;

    const read = new provproto.ReadRequest();
    read.setId(id);
    read.setUrn(urn(WEBHOOK, "lifecycle"));
    read.setType(WEBHOOK);
    read.setProperties(created.getProperties());
    const readBack = js(((await call(client.read, read)) as provproto.ReadResponse).getProperties());
    assert.equal(readBack.uri as unknown, "http://127.0.0.1:9/a");
    assert.equal(readBack.signingSecret.value, signing, "the stored secret survives a read, still wrapped");

    const plainOlds = Object.fromEntries(Object.entries(outs).map(([k, v]) => [k, v && typeof v === "object" && SIG_KEY in v ? v.value : v]));
    const diff = new provproto.DiffRequest();
    diff.setId(id);
    diff.setUrn(urn(WEBHOOK, "lifecycle"));
    diff.setType(WEBHOOK);
    diff.setOlds(struct(plainOlds));
    diff.setNews(struct({ uri: "http://127.0.0.1:9/b", subscribedEvents: ["batch.succeeded"], name: "lifecycle" }));
    const diffed = (await call(client.diff, diff)) as provproto.DiffResponse;
    assert.equal(diffed.getChanges(), provproto.DiffResponse.DiffChanges.DIFF_SOME);
    assert.deepEqual(diffed.getReplacesList(), [], "a webhook never replaces");

    const update = new provproto.UpdateRequest();
    update.setId(id);
    update.setUrn(urn(WEBHOOK, "lifecycle"));
    update.setType(WEBHOOK);
    update.setOlds(struct(plainOlds));
    update.setNews(struct({ uri: "http://127.0.0.1:9/b", subscribedEvents: ["batch.succeeded"], name: "lifecycle" }));
    const updated = js(((await call(client.update, update)) as provproto.UpdateResponse).getProperties());
    assert.equal(updated.uri as unknown, "http://127.0.0.1:9/b");
    assert.equal(updated.signingSecret[SIG_KEY], SECRET_SIG);

    const rotationDiff = new provproto.DiffRequest();
    rotationDiff.setId("r1");
    rotationDiff.setUrn(urn(ROTATION, "r"));
    rotationDiff.setType(ROTATION);
    rotationDiff.setOlds(struct({ webhookId: id, rotationKey: "2026-12", revocationBehavior: "revoke_previous_secrets_after_h24", secret: "whsec_x" }));
    rotationDiff.setNews(struct({ webhookId: id, rotationKey: "2027-01", revocationBehavior: "revoke_previous_secrets_after_h24" }));
    assert.deepEqual(((await call(client.diff, rotationDiff)) as provproto.DiffResponse).getReplacesList(), ["rotationKey"]);

    const invoke = new provproto.InvokeRequest();
    invoke.setTok("gemini:index:getCurrentSigningSecrets");
    invoke.setArgs(struct({ signingSecret: secret(signing) }));
    const returned = js(((await call(client.invoke, invoke)) as provproto.InvokeResponse).getReturn());
    assert.equal(returned.env[SIG_KEY], SECRET_SIG);
    assert.equal(returned.env.value, signing);

    const del = new provproto.DeleteRequest();
    del.setId(id);
    del.setUrn(urn(WEBHOOK, "lifecycle"));
    del.setType(WEBHOOK);
    del.setProperties(created.getProperties());
    await call(client.delete, del);
    const gone = (await call(client.read, read)) as provproto.ReadResponse;
    assert.equal(gone.getId(), "", "read after delete: gone");
  });
});

describe("security round 4: lookups and the plugin's memory", () => {
  const js = (s: structproto.Struct | undefined) => (s?.toJavaScript() ?? {}) as Record<string, unknown>;
  const isSecret = (v: unknown) => typeof v === "object" && v !== null && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;
  const invoke = async (tok: string, args: Record<string, unknown>) => {
    const req = new provproto.InvokeRequest();
    req.setTok(tok);
    req.setArgs(struct(args));
    const res = (await call(client.invoke, req)) as provproto.InvokeResponse;
    return js(res.getReturn());
  };
  /** Exactly the fields a lookup returns, and which of them are secret: a field added (a signing secret) or unwrapped fails here. */
  const INFO_FIELDS = ["createTime", "id", "name", "signingSecrets", "state", "subscribedEvents", "updateTime", "uri"];

  test("getWebhook / getWebhooks: the uri always a secret value, every result secret when an argument was, exactly WebhookInfo's fields", async () => {
    const token = `tok_${Date.now()}`;
    const uri = `http://127.0.0.1:9/hook?token=${token}`;
    const created = await fetch(`${emulator.apiUrl}/webhooks`, { method: "POST", headers: { "content-type": "application/json", "x-goog-api-key": TEST_API_KEY }, body: JSON.stringify({ name: "secret-uri", uri, subscribed_events: ["batch.succeeded"] }) });
    const { id } = (await created.json()) as { id: string };

    const byId = await invoke("gemini:index:getWebhook", { id });
    assert.deepEqual(Object.keys(byId).sort(), INFO_FIELDS);
    assert.ok(isSecret(byId.uri), "the uri is a secret value");
    assert.equal((byId.uri as { value: string }).value, uri);
    for (const field of INFO_FIELDS.filter((f) => f !== "uri")) assert.ok(!isSecret(byId[field]), `${field} plain when the id was plain`);
    assert.deepEqual(Object.keys((byId.signingSecrets as Record<string, unknown>[])[0]).sort(), ["expireTime", "truncatedSecret"]);

    const bySecretId = await invoke("gemini:index:getWebhook", { id: secret(id) });
    for (const field of INFO_FIELDS) if (bySecretId[field] !== null && bySecretId[field] !== undefined) assert.ok(isSecret(bySecretId[field]), `${field} secret when the id was secret`);

    for (const args of [{ uri: secret(uri) }, { name: secret("secret-uri") }]) {
      const found = await invoke("gemini:index:getWebhooks", args);
      assert.deepEqual(Object.keys(found), ["webhooks"]);
      assert.ok(isSecret(found.webhooks), `the list is secret when ${Object.keys(args)[0]} was`);
      const list = (found.webhooks as { value: Record<string, unknown>[] }).value;
      assert.equal(list.length, 1);
      assert.deepEqual(Object.keys(list[0]).sort(), INFO_FIELDS);
    }
    const all = await invoke("gemini:index:getWebhooks", {});
    const mine = (all.webhooks as Record<string, unknown>[]).find((w) => w.id === id)!;
    assert.ok(isSecret(mine.uri), "listed without a filter: the uri still a secret value");
    assert.ok(!JSON.stringify(all).replace(JSON.stringify(secret(uri)), "").includes(token), "the token appears only inside the secret value");
  });

  test("a 64 MiB Check is refused before it is decoded (RESOURCE_EXHAUSTED); the plugin keeps serving within its memory", async () => {
    const rss = () => Number(/VmRSS:\s+(\d+)/.exec(require("node:fs").readFileSync(`/proc/${plugin.pid}/status`, "utf8"))![1]) * 1024;
    const before = rss();
    const huge = checkRequest({ uri: secret("https://x.example/" + "a".repeat(64 * 1024 * 1024)), subscribedEvents: ["batch.succeeded"] });
    await assert.rejects(call(client.check, huge), (err: grpc.ServiceError) => err.code === grpc.status.RESOURCE_EXHAUSTED);
    const after = rss();
    console.log(`plugin RSS around a refused 64 MiB Check: ${Math.round(before / 2 ** 20)} → ${Math.round(after / 2 ** 20)} MiB`);
    assert.ok(after - before < 32 * 2 ** 20, `${Math.round((after - before) / 2 ** 20)} MiB more`);
    // A large-but-allowed request with a secret echoed in a failure costs a bounded amount too.
    const big = checkRequest({ uri: secret("not a url " + "b".repeat(3 * 1024 * 1024)), subscribedEvents: ["batch.succeeded"] });
    const answered = (await call(client.check, big)) as provproto.CheckResponse;
    assert.ok(answered.getFailuresList().length > 0);
    assert.ok(answered.getFailuresList().every((f) => !f.getReason().includes("bbbbbbbb")), "the secret is not repeated");
    assert.ok(rss() - before < 200 * 2 ** 20, `${Math.round((rss() - before) / 2 ** 20)} MiB more after a 3 MiB Check`);
    const ok = (await call(client.check, checkRequest({ uri: "https://example.com/hook", subscribedEvents: ["batch.succeeded"] }))) as provproto.CheckResponse;
    assert.equal(ok.getFailuresList().length, 0);
  });
});
