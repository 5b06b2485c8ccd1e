/**
 * WEBHOOK_SIGNING_SECRETS_FILE, as a mounted Docker or Kubernetes secret behaves: replaced by a
 * rename, re-read without a restart; a malformed replacement keeps the secrets in use and says why.
 */
import assert from "node:assert/strict";
import { ChildProcess, spawn } from "node:child_process";
import { createHmac, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { buildReceiver, loadConfig } from "gemini-webhooks-receiver";
import { freePort } from "../../scripts/free-port";
import { RECEIVER_CLI } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";

const dir = mkdtempSync(join(tmpdir(), "gemini-secrets-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const newSecret = () => "whsec_" + randomBytes(32).toString("base64");

/** Replaces the file the way a secret mount does: write aside, then rename over it. */
function replace(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

async function deliver(port: number, secret: string): Promise<number> {
  const id = "msg_" + randomBytes(6).toString("hex");
  const ts = Math.floor(Date.now() / 1000);
  const body = JSON.stringify({ type: "batch.succeeded", data: { id: "batches/1" } });
  const signature = "v1," + createHmac("sha256", Buffer.from(secret.slice(6), "base64")).update(`${id}.${ts}.${body}`).digest("base64");
  const response = await fetch(`http://127.0.0.1:${port}/webhooks/gemini`, {
    method: "POST",
    headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature },
    body,
  });
  return response.status;
}

test("a rotation written to the file is picked up without a restart; a malformed file keeps the old secrets and says why", async () => {
  const file = join(dir, "secrets");
  const [a, b] = [newSecret(), newSecret()];
  writeFileSync(file, a + "\n");
  let log = "";
  const logStream = new Writable({ write: (chunk, _e, done) => ((log += chunk.toString()), done()) });
  const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS_FILE: file, LOG_LEVEL: "info" }), { logStream, handler: async () => undefined });
  const port = await freePort();
  await receiver.app.listen({ port, host: "127.0.0.1" });
  try {
    assert.equal(await deliver(port, a), 200);
    assert.equal(await deliver(port, b), 401);

    replace(file, `${b} ${a}\n`); // the rotation's grace: both
    await waitFor("the new secret to be accepted", async () => (await deliver(port, b)) === 200);
    assert.equal(await deliver(port, a), 200);
    assert.match(log, /signing secrets reloaded from WEBHOOK_SIGNING_SECRETS_FILE/);

    replace(file, `"${b}"\n`); // quoted by mistake
    await waitFor("the malformed file to be reported", () => /could not be used; keeping the secrets in use/.test(log));
    assert.equal(await deliver(port, b), 200, "the secrets in use were kept");
    assert.equal(await deliver(port, a), 200);
    assert.ok(!log.includes(b.slice(6, 30)) && !log.includes(a.slice(6, 30)), "a secret reached the log");
  } finally {
    await receiver.close();
  }
});

test("the server re-reads the file on SIGHUP, and refuses to start on an unreadable or malformed one", async () => {
  const file = join(dir, "hup-secrets");
  const [a, b] = [newSecret(), newSecret()];
  writeFileSync(file, a);
  const port = await freePort();
  const child: ChildProcess = spawn(process.execPath, [RECEIVER_CLI], { env: { PATH: process.env.PATH, PORT: String(port), HOST: "127.0.0.1", WEBHOOK_SIGNING_SECRETS_FILE: file, LOG_LEVEL: "info" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (c: Buffer) => (out += c.toString()));
  try {
    await waitFor("the server", async () => fetch(`http://127.0.0.1:${port}/livez`).then((r) => r.ok, () => false));
    writeFileSync(file, b); // in place
    child.kill("SIGHUP");
    await waitFor("the reload", async () => (await deliver(port, b)) === 200);
    assert.equal(await deliver(port, a), 401);
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
  }

  for (const [content, reason] of [[undefined, /WEBHOOK_SIGNING_SECRETS_FILE: cannot read .* \(ENOENT\)/], ["whsec_not base64!", /WEBHOOK_SIGNING_SECRETS_FILE: entry #1 of 2 is not a secret/]] as const) {
    const path = join(dir, `bad-${Math.random()}`);
    if (content !== undefined) writeFileSync(path, content);
    const bad = spawn(process.execPath, [RECEIVER_CLI], { env: { PATH: process.env.PATH, PORT: "0", WEBHOOK_SIGNING_SECRETS_FILE: path }, stdio: ["ignore", "pipe", "pipe"] });
    let err = "";
    bad.stderr!.on("data", (c: Buffer) => (err += c.toString()));
    const [code] = await once(bad, "exit");
    assert.equal(code, 2);
    assert.match(err, reason);
  }
});
