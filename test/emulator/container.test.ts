/**
 * lane: full (Docker)
 * The emulator image as other languages' tests and CI run it: `docker run` with its port published,
 * Google's SDKs (Python and JavaScript, at their defaults: GEMINI_API_KEY and GOOGLE_GEMINI_BASE_URL
 * only) from the host; signed deliveries over one Docker network to the receiver image (a static and
 * a dynamic webhook, the JWKS fetched from the emulator by its network name) and to a Python
 * receiver verifying with `standardwebhooks`; state kept across a restart on its volume; `docker
 * stop` exits 0 at once.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { closeAllPools, WebhooksClient } from "gemini-webhooks-client";
import { freePort } from "../../scripts/free-port";
import { execOk } from "../../scripts/exec";
import { pythonVenv } from "../../scripts/python-venv";
import { REPO_ROOT } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";
import { admin } from "../support/admin";
import { buildEmulatorImage, buildPythonImage, buildReceiverImage, docker, requireDocker } from "../support/docker";

const run = randomBytes(4).toString("hex");
const network = `gemini-emu-net-${run}`;
const volume = `gemini-emu-data-${run}`;
const names = { emulator: `gemini-emu-${run}`, receiver: `gemini-emu-receiver-${run}`, python: `gemini-emu-pyreceiver-${run}` };
const KEY = "container-key-0123456789";
const STANDARDWEBHOOKS = "standardwebhooks==1.3.0";
let hostPort = 0;
let base = "";
let client: WebhooksClient;

const health = (name: string) => docker(["inspect", "--format", "{{.State.Health.Status}}", name]);

function runEmulator(image: string): void {
  docker([
    "run", "-d", "--name", names.emulator, "--network", network, "--network-alias", "emulator",
    "-p", `127.0.0.1:${hostPort}:8089`, "-v", `${volume}:/var/lib/gemini-emulator`,
    "-e", `GEMINI_EMULATOR_API_KEY=${KEY}`,
    // The origin the SDKs on the host use: the issuer of its tokens, and a host it answers.
    "-e", `GEMINI_EMULATOR_PUBLIC_URL=${base}`,
    // Other containers reach it as `emulator`; it delivers to the receivers by their names.
    "-e", "GEMINI_EMULATOR_ALLOW_HOSTS=emulator",
    "-e", "GEMINI_EMULATOR_ALLOW_DELIVERY_HOSTS=receiver,pyreceiver",
    image,
  ]);
}

beforeAll(async () => {
  requireDocker();
  hostPort = await freePort();
  base = `http://127.0.0.1:${hostPort}`;
  const image = buildEmulatorImage();
  docker(["network", "create", network]);
  docker(["volume", "create", volume]);
  runEmulator(image);
  await waitFor("the emulator container healthy (its own HEALTHCHECK)", () => health(names.emulator) === "healthy", 60_000, 200);
  client = new WebhooksClient({ baseUrl: `${base}/v1beta`, apiKey: KEY });
}, 300_000);

afterAll(async () => {
  spawnSync("docker", ["rm", "-f", ...Object.values(names)]);
  spawnSync("docker", ["network", "rm", network]);
  spawnSync("docker", ["volume", "rm", volume]);
  await closeAllPools();
});

test("Google's Python and JavaScript SDKs, at their defaults on the host, drive the container", async () => {
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", GEMINI_API_KEY: KEY, GOOGLE_GEMINI_BASE_URL: base };
  const python = await pythonVenv(["google-genai==3.6.1"]);
  const checks = new Map<string, Record<string, unknown>>();
  const stdout = await execOk(python, [join(__dirname, "programs", "python_sdk_oracle.py")], { env });
  for (const line of stdout.split("\n").filter((l) => l.startsWith("{"))) {
    const { check, ...observed } = JSON.parse(line) as { check: string } & Record<string, unknown>;
    checks.set(check, observed);
  }
  assert.equal(checks.get("create")?.secret_prefix, "whsec_");
  assert.deepEqual(checks.get("list")?.ids, checks.get("list")?.expected);
  assert.equal(checks.get("rotate_after_h24")?.expiring, 1);
  assert.equal(checks.get("v1beta")?.id, checks.get("create")?.id);
  console.log(`python SDK against the container: ${checks.size} checks reported (${[...checks.keys()].join(", ")})`);

  const js = JSON.parse((await execOk(process.execPath, [join(__dirname, "programs", "js_sdk_smoke.mjs"), "https://example.com/js"], { env, cwd: REPO_ROOT })).trim()) as { id: string; secretPrefix: string; listed: string[]; rotatedPrefix: string; secrets: number };
  assert.equal(js.secretPrefix, "whsec_");
  assert.ok(js.listed.includes(js.id));
  assert.equal(js.rotatedPrefix, "whsec_");
  assert.equal(js.secrets, 2, "the old secret stays during the grace window");
}, 300_000);

test("deliveries over one Docker network: the receiver image verifies a static and a dynamic webhook (JWKS from the emulator by name), a Python standardwebhooks receiver verifies its own", async () => {
  const receiverImage = buildReceiverImage();
  const pythonImage = buildPythonImage();
  const sitePackages = spawnSync(await pythonVenv([STANDARDWEBHOOKS]), ["-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], { encoding: "utf8" }).stdout.trim();

  const receiverUri = "http://receiver:8080/webhooks/gemini";
  const dynamicUri = `${receiverUri}/dynamic`;
  const forReceiver = await client.create({ uri: receiverUri, subscribed_events: ["batch.succeeded"] });
  const forPython = await client.create({ uri: "http://pyreceiver:8000/hook", subscribed_events: ["batch.succeeded"] });

  const receiverPort = await freePort();
  docker([
    "run", "-d", "--name", names.receiver, "--network", network, "--network-alias", "receiver", "-p", `127.0.0.1:${receiverPort}:8080`,
    "-e", `WEBHOOK_SIGNING_SECRETS=${forReceiver.new_signing_secret}`,
    "-e", "JWKS_URI=http://emulator:8089/.well-known/jwks.json", "-e", "JWKS_ALLOW_HTTP=true",
    "-e", `JWT_ISSUER=${base}`, "-e", `JWT_AUDIENCE=${dynamicUri}`,
    receiverImage,
  ]);
  const pythonPort = await freePort();
  docker([
    "run", "-d", "--name", names.python, "--network", network, "--network-alias", "pyreceiver", "-p", `127.0.0.1:${pythonPort}:8000`,
    "-v", `${sitePackages}:/opt/site:ro`, "-v", `${join(__dirname, "programs")}:/app:ro`,
    "-e", "PYTHONPATH=/opt/site", "-e", `WEBHOOK_SECRET=${forPython.new_signing_secret}`,
    pythonImage, "python3", "/app/standardwebhooks_receiver.py",
  ]);
  await waitFor("both receivers answering", async () => {
    const up = await Promise.all([`http://127.0.0.1:${receiverPort}/readyz`, `http://127.0.0.1:${pythonPort}/received`].map((u) => fetch(u).then((r) => r.ok, () => false)));
    return up.every(Boolean);
  }, 60_000, 200);

  const emulator = { url: base, apiKey: KEY };
  const stat = (await (await admin(emulator, "POST", "/events", { type: "batch.succeeded" })).json()) as { event_id: string };
  const dynamic = (await (await admin(emulator, "POST", "/events", { type: "batch.succeeded", webhook_config: { uris: [dynamicUri] } })).json()) as { event_id: string };
  type Delivery = { event_id: string; target: string; kind: string; status: string; attempts: { http_status: number | null; error: string | null }[] };
  let deliveries: Delivery[] = [];
  await waitFor("three deliveries settled", async () => {
    deliveries = ((await (await admin(emulator, "GET", "/deliveries")).json()) as { deliveries: Delivery[] }).deliveries.filter((d) => (d.event_id === stat.event_id || d.event_id === dynamic.event_id) && /^http:\/\/(py)?receiver:/.test(d.target));
    return deliveries.length === 3 && deliveries.every((d) => d.status !== "pending");
  }, 60_000, 200).catch((err: Error) => assert.fail(`${err.message}: ${JSON.stringify(deliveries)}\nreceiver log:\n${docker(["logs", names.receiver])}`));
  assert.deepEqual(deliveries.map((d) => [d.kind, d.target.replace(/\/[^/]*$/, ""), d.status]).sort(), [
    ["dynamic", "http://receiver:8080/webhooks/gemini", "succeeded"],
    ["static", "http://pyreceiver:8000", "succeeded"],
    ["static", "http://receiver:8080/webhooks", "succeeded"],
  ], JSON.stringify(deliveries));
  const metrics = await (await fetch(`http://127.0.0.1:${receiverPort}/metrics`)).text();
  assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="verified",kind="static"\} 1/);
  assert.match(metrics, /gemini_webhook_deliveries_total\{outcome="verified",kind="dynamic"\} 1/);
  const received = (await (await fetch(`http://127.0.0.1:${pythonPort}/received`)).json()) as { id: string; type: string }[];
  assert.deepEqual(received.map((r) => r.type), ["batch.succeeded"]);
  // A Python receiver holding another secret refuses it: the verification is real.
  assert.equal((await fetch(`http://127.0.0.1:${pythonPort}/hook`, { method: "POST", headers: { "webhook-id": "msg_x", "webhook-timestamp": String(Math.floor(Date.now() / 1000)), "webhook-signature": "v1,AAAA" }, body: "{}" })).status, 401);
}, 300_000);

test("docker stop exits 0 at once; started again, the state on its volume is still there", async () => {
  const before = ((await client.list()).webhooks ?? []).map((w) => w.id).sort();
  assert.ok(before.length > 0);
  const at = Date.now();
  docker(["stop", names.emulator]);
  const ms = Date.now() - at;
  assert.equal(docker(["inspect", "--format", "{{.State.ExitCode}}", names.emulator]), "0");
  console.log(`emulator container: docker stop → exit 0 in ${ms} ms`);
  assert.ok(ms < 2_000, `docker stop took ${ms} ms`);
  docker(["rm", names.emulator]);
  runEmulator(buildEmulatorImage()); // a new container on the same volume
  await waitFor("the new container healthy", () => health(names.emulator) === "healthy", 60_000, 200);
  assert.deepEqual(((await client.list()).webhooks ?? []).map((w) => w.id).sort(), before);
}, 120_000);
