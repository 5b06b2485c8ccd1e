/**
 * Security round 4, the receiver's findings that need no Redis, sent as the attacker sent them:
 * passwords quoted back in start-up errors, a FIFO in place of the secrets file, a SIGTERM that
 * never exits once nothing reads stdout, refusal logs one source can mask, and the metrics
 * listener's default address. Each fails on the code before its fix.
 */
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { request as httpRequest } from "node:http";
import { createHmac, randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { buildReceiver, loadConfig } from "gemini-webhooks-receiver";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { assertPortFree, freePort } from "../../scripts/free-port";
import { RECEIVER_CLI } from "../../scripts/paths";
import { waitFor } from "../../scripts/wait-for";

const dir = mkdtempSync(join(tmpdir(), "gemini-round4-inputs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const secret = "whsec_" + randomBytes(32).toString("base64");

describe("Redis entries quoted back in start-up errors never carry a password", () => {
  const password = "Hunter2-s3cr3t";
  const spellings = [
    `redis://:${password}@10.0.0.5:26379`,
    `redis://admin:${password}@10.0.0.5:26379`,
    `rediss://admin:${password}@redis.internal:6380`,
    `admin:${password}@10.0.0.5:26379`,
    `:${password}@10.0.0.5:26379`,
    `${password}@10.0.0.5:26379`,
    `redis://admin:${password}@[::1]:26379`,
    `admin:${password}@`,
    `redis://admin:${password}`,
    `${password}@@host:1`,
    `host:1?password=${password}`,
    `host:1#${password}`,
    `tcp://${password}:x@h:1`,
  ];
  for (const variable of ["REDIS_SENTINELS", "REDIS_CLUSTER_NODES"]) {
    for (const spelling of spellings) {
      test(`${variable}=${spelling.replace(password, "<password>")}`, () => {
        const env: Record<string, string> = { WEBHOOK_SIGNING_SECRETS: secret, [variable]: `good-host:26379,${spelling}` };
        if (variable === "REDIS_SENTINELS") env.REDIS_SENTINEL_NAME = "mymaster";
        assert.throws(() => loadConfig(env), (err: Error) => {
          assert.match(err.message, new RegExp(`^${variable}: entry #2 .* is not host:port \\(credentials go in`));
          for (let n = 4; n <= password.length; n++) assert.ok(!err.message.includes(password.slice(0, n)) && !err.message.includes(password.slice(-n)), `no part of the password in: ${err.message}`);
          return true;
        });
      });
    }
  }

  test("and through the CLI: exit 2, the entry named, the password nowhere in stderr or stdout", () => {
    const result = spawnSync(process.execPath, [RECEIVER_CLI], {
      env: { PATH: process.env.PATH, WEBHOOK_SIGNING_SECRETS: secret, REDIS_CLUSTER_NODES: `redis://default:${password}@10.1.2.3:7000` },
      encoding: "utf8",
    });
    assert.equal(result.status, 2, result.stderr);
    assert.match(result.stderr, /REDIS_CLUSTER_NODES: entry #1 \(not quoted/);
    assert.ok(!(result.stderr + result.stdout).includes(password));
  });

  test("a bare host:port mistake is still quoted, so the user sees it", () => {
    assert.throws(() => loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, REDIS_CLUSTER_NODES: "a:99999" }), /entry #1 "a:99999" is not host:port/);
  });
});

describe("WEBHOOK_SIGNING_SECRETS_FILE", () => {
  test("a FIFO in its place is refused at start-up at once, without waiting for a writer", () => {
    const fifo = join(dir, "fifo");
    assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
    const started = Date.now();
    const result = spawnSync(process.execPath, [RECEIVER_CLI], { env: { PATH: process.env.PATH, WEBHOOK_SIGNING_SECRETS_FILE: fifo }, encoding: "utf8", timeout: 20_000 });
    assert.equal(result.status, 2, `exit ${result.status} (${result.signal ?? ""}): ${result.stderr}`);
    assert.match(result.stderr, /WEBHOOK_SIGNING_SECRETS_FILE: cannot read .*fifo \(not a regular file\)/);
    assert.ok(Date.now() - started < 15_000);
    for (const special of ["/dev/zero", dir]) {
      assert.throws(() => loadConfig({ WEBHOOK_SIGNING_SECRETS_FILE: special }), /cannot read .*(not a regular file|EISDIR)/);
    }
  });

  test("a FIFO swapped in later is refused on reload, keeping the secrets in use; the event loop never blocks", async () => {
    const file = join(dir, "secrets-swap");
    writeFileSync(file, secret + "\n", { mode: 0o600 });
    let log = "";
    const logStream = new Writable({ write: (chunk, _e, done) => ((log += chunk.toString()), done()) });
    const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS_FILE: file, LOG_LEVEL: "info" }), { logStream, handler: async () => undefined });
    try {
      rmSync(file);
      assert.equal(spawnSync("mkfifo", [file]).status, 0);
      const started = Date.now();
      assert.equal(receiver.reloadSecrets(), false);
      assert.ok(Date.now() - started < 1_000, "reload did not wait for a writer");
      assert.match(log, /WEBHOOK_SIGNING_SECRETS_FILE could not be used; keeping the secrets in use/);
      assert.equal(receiver.app.log.level, "info");
    } finally {
      await receiver.close();
    }
  });

  test("a file group or others can read is said so at start (mode named), a 0600 one is not", async () => {
    for (const [mode, warned] of [[0o644, true], [0o640, true], [0o600, false], [0o400, false]] as const) {
      const file = join(dir, `secrets-${mode.toString(8)}`);
      writeFileSync(file, secret + "\n");
      chmodSync(file, mode);
      let log = "";
      const logStream = new Writable({ write: (chunk, _e, done) => ((log += chunk.toString()), done()) });
      const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS_FILE: file, LOG_LEVEL: "info" }), { logStream, handler: async () => undefined });
      await receiver.close();
      assert.equal(/readable by group or others: make it 0600/.test(log), warned, `mode 0${mode.toString(8)}: ${log}`);
      if (warned) assert.match(log, new RegExp(`"mode":"0${mode.toString(8)}"`));
      assert.ok(!log.includes(secret));
    }
  });
});

test("METRICS_HOST follows HOST unless set", () => {
  const base = { WEBHOOK_SIGNING_SECRETS: secret, METRICS_PORT: "9464" };
  assert.equal(loadConfig({ ...base, HOST: "127.0.0.1" }).metrics?.host, "127.0.0.1");
  assert.equal(loadConfig({ ...base, HOST: "::1" }).metrics?.host, "::1");
  assert.equal(loadConfig(base).metrics?.host, "0.0.0.0");
  assert.equal(loadConfig({ ...base, HOST: "127.0.0.1", METRICS_HOST: "0.0.0.0" }).metrics?.host, "0.0.0.0");
});

describe("SIGTERM exits within the backstop whatever stdout does", () => {
  for (const handlerKind of ["default", "spinning"] as const) {
    test(`stdout a pipe nobody reads (full), ${handlerKind === "default" ? "the default handler logging every event" : "a handler that blocks the event loop once told to stop"}: exit within SHUTDOWN_TIMEOUT_MS + 2 s`, async () => {
      const port = await freePort();
      const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, WEBHOOK_SIGNING_SECRETS: secret, PORT: String(port), HOST: "127.0.0.1", SHUTDOWN_TIMEOUT_MS: "1000", LOG_LEVEL: "info" };
      if (handlerKind === "spinning") {
        const handler = join(dir, "spin.js");
        // Told to stop at the shutdown deadline, it blocks the event loop instead: only a timer on another thread can end it.
        writeFileSync(handler, "exports.handle = (event, meta) => new Promise((resolve) => meta.signal.addEventListener('abort', () => { for (;;); }));\n");
        env.HANDLER_MODULE = handler;
      }
      const child = spawn(process.execPath, [RECEIVER_CLI], { env, stdio: ["ignore", "pipe", "pipe"] });
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) => child.on("exit", (code, signal) => resolve({ code, signal, at: Date.now() })));
      try {
        // Read until it listens, then stop reading: the pipe fills and stays full.
        await new Promise<void>((resolve, reject) => {
          let text = "";
          const onData = (chunk: Buffer) => {
            text += chunk.toString();
            if (text.includes("receiver listening")) {
              child.stdout!.off("data", onData);
              child.stdout!.pause();
              resolve();
            }
          };
          child.stdout!.on("data", onData);
          child.on("exit", () => reject(new Error(`exited early: ${text}`)));
        });
        const key = Buffer.from(secret.slice(6), "base64");
        // Enough log lines to fill the pipe (~64 KiB kernel buffer + the paused stream's 16 KiB) many times over.
        const send = async (n: number) => {
          const id = `msg_fill_${n}_${"x".repeat(200)}`;
          const ts = Math.floor(Date.now() / 1000);
          const body = JSON.stringify({ type: "batch.succeeded", data: { id: `batches/${"y".repeat(300)}${n}` } });
          await fetch(`http://127.0.0.1:${port}/webhooks/gemini`, {
            method: "POST",
            headers: { "content-type": "application/json", "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": "v1," + createHmac("sha256", key).update(`${id}.${ts}.${body}`).digest("base64") },
            body,
          }).catch(() => undefined);
        };
        const count = handlerKind === "default" ? 2000 : 1;
        for (let n = 0; n < count; n += 50) await Promise.all(Array.from({ length: 50 }, (_, i) => send(n + i)));
        const sent = Date.now();
        child.kill("SIGTERM");
        const { code, signal, at } = await Promise.race([exited, new Promise<never>((_, reject) => setTimeout(() => reject(new Error("still running 6 s after SIGTERM")), 6_000))]);
        console.log(`SIGTERM with stdout full (${handlerKind} handler): exited ${code ?? signal} after ${at - sent} ms`);
        assert.ok(at - sent <= 3_000, `${at - sent} ms`);
        if (handlerKind === "default") assert.equal(code, 0);
        else assert.equal(signal, "SIGKILL", "the watchdog thread's kill");
      } finally {
        child.kill("SIGKILL");
      }
    }, 60_000);
  }
});

/** A POST from a loopback address of our choosing (127.0.0.0/8 is all this machine's): the receiver sees it as that source. */
function postFrom(localAddress: string, port: number, headers: Record<string, string>, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: "127.0.0.1", port, method: "POST", path: "/webhooks/gemini", localAddress, headers: { ...headers, "content-length": String(Buffer.byteLength(body)) }, agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode!));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("refusal logs one source cannot mask", () => {
  test("a flood of forgeries from one address keeps neither a real sender's stale-secret refusal nor its detail out of the log; 1,001 sources stay bounded", async () => {
    const lines: Record<string, unknown>[] = [];
    const logStream = new Writable({ write: (chunk, _e, done) => (chunk.toString().split("\n").filter(Boolean).forEach((l: string) => lines.push(JSON.parse(l))), done()) });
    const receiver = buildReceiver(loadConfig({ WEBHOOK_SIGNING_SECRETS: secret, LOG_LEVEL: "warn" }), { logStream, handler: async () => undefined, refusalLogWindowMs: 60_000 });
    const port = await freePort();
    await receiver.app.listen({ port, host: "127.0.0.1" });
    try {
      const body = JSON.stringify({ type: "batch.succeeded", data: { id: "batches/1" } });
      const ts = String(Math.floor(Date.now() / 1000));
      const forged = (id: string) => ({ "content-type": "application/json", "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": "v1," + randomBytes(32).toString("base64") });
      for (let n = 0; n < 200; n += 20) await Promise.all(Array.from({ length: 20 }, (_, i) => postFrom("127.0.0.9", port, forged(`msg_flood_${n + i}`), body)));
      // A real sender still signing with the secret a rotation retired.
      const stale = "whsec_" + randomBytes(32).toString("base64");
      const signature = "v1," + createHmac("sha256", Buffer.from(stale.slice(6), "base64")).update(`msg_real_sender.${ts}.${body}`).digest("base64");
      assert.equal(await postFrom("127.0.0.7", port, { "content-type": "application/json", "webhook-id": "msg_real_sender", "webhook-timestamp": ts, "webhook-signature": signature }, body), 401);
      await waitFor("the real sender's refusal in the log", () => lines.some((l) => l.webhook_id === "msg_real_sender"), 5_000);
      const real = lines.find((l) => l.webhook_id === "msg_real_sender")!;
      assert.equal(real.remote, "127.0.0.7");
      assert.equal(real.reason, "invalid_signature");
      assert.ok(real.detail, "with its detail");
      assert.equal(lines.filter((l) => l.remote === "127.0.0.9").length, 1, "the flood is one line until its window ends");

      // 1,001 more sources: the first 998 open windows of their own, the rest share the overflow window.
      const before = lines.length;
      const sources = Array.from({ length: 1001 }, (_, i) => `127.0.${10 + Math.floor(i / 250)}.${1 + (i % 250)}`);
      for (let n = 0; n < sources.length; n += 50) await Promise.all(sources.slice(n, n + 50).map((source, i) => postFrom(source, port, forged(`msg_src_${n + i}`), body)));
      await waitFor("the refusal lines", () => lines.length >= before + 998, 5_000);
      const added = lines.slice(before);
      assert.equal(added.length, 999, "1,000 windows at most (2 were open), then one overflow line");
      assert.match(String(added[998].msg), /over 1000 sources refused in this window/);
    } finally {
      await receiver.close();
    }
    const summary = lines.find((l) => l.count === 199 && l.reason === "invalid_signature");
    assert.ok(summary, "at shutdown, the flood's window becomes one line with its count");
  }, 60_000);
});

test("the suite's own check: a fixed port already held fails at once, naming the process that holds it", async () => {
  const holder = createServer();
  await new Promise<void>((resolve) => holder.listen(0, "127.0.0.1", resolve));
  const port = (holder.address() as AddressInfo).port;
  try {
    const started = Date.now();
    await assert.rejects(assertPortFree(port, "the README's emulator"), (err: Error) => {
      assert.match(err.message, new RegExp(`the README's emulator needs port ${port}, which pid ${process.pid} \\(.*node.*\\) already listens on`));
      return true;
    });
    assert.ok(Date.now() - started < 2_000);
  } finally {
    await new Promise((resolve) => holder.close(resolve));
  }
  await assertPortFree(port, "the same, once freed");
});

describe("an OpenTelemetry SDK the receiver's spans cannot reach is said at start-up", () => {
  /** Starts the CLI with a `--require`d file that registers what an SDK would, on an API of `version`; returns its log. */
  async function startWith(version: string): Promise<string> {
    const preload = join(dir, `otel-${version}.js`);
    // What @opentelemetry/api's registerGlobal leaves: one object per major version, stamped with the API's version.
    writeFileSync(preload, `globalThis[Symbol.for("opentelemetry.js.api.1")] = { version: ${JSON.stringify(version)}, trace: { getTracer: () => ({ startSpan: () => ({}) }) } };\n`);
    const port = await freePort();
    const child = spawn(process.execPath, ["--require", preload, RECEIVER_CLI], { env: { PATH: process.env.PATH, WEBHOOK_SIGNING_SECRETS: secret, PORT: String(port), HOST: "127.0.0.1" }, stdio: ["ignore", "pipe", "pipe"] });
    let log = "";
    child.stdout!.on("data", (c: Buffer) => (log += c.toString()));
    child.stderr!.on("data", (c: Buffer) => (log += c.toString()));
    try {
      await waitFor("the receiver listening", () => log.includes("receiver listening"), 15_000);
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      child.kill("SIGTERM");
      await new Promise((resolve) => child.on("exit", resolve));
    }
    return log;
  }

  test("an SDK on @opentelemetry/api 1.7: one warning naming both versions", async () => {
    const log = await startWith("1.7.0");
    assert.match(log, /an OpenTelemetry SDK is registered with @opentelemetry\/api 1\.7\.0, which the receiver's \(\^1\.\d+\.\d+\) cannot see: its spans are not recorded/);
  }, 30_000);

  test("an SDK on the receiver's API version or newer: no warning", async () => {
    const log = await startWith("1.99.0");
    assert.doesNotMatch(log, /cannot see/);
  }, 30_000);
});
