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
