/**
 * A unit test of this stack's wiring with Pulumi's mocks: no engine, no Docker, no API calls.
 * Copy it next to your own stack (it needs jest, ts-jest and @types/jest) and run `npx jest`.
 */
import * as pulumi from "@pulumi/pulumi";

const CREATE_SECRET = "whsec_" + Buffer.alloc(32, 1).toString("base64");
const ROTATED_SECRET = "whsec_" + Buffer.alloc(32, 2).toString("base64");
const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];

function settled<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

beforeAll(async () => {
  process.env.PULUMI_CONFIG = JSON.stringify({ "gemini-durable-receiver:rotationKey": "2026-12", "gemini-durable-receiver:basePort": "9100" });
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.push({ type: args.type, name: args.name, inputs: args.inputs });
        const state: Record<string, unknown> = { ...args.inputs };
        if (args.type === "pulumi-nodejs:dynamic/gemini:Webhook") state.signingSecret = CREATE_SECRET;
        if (args.type === "pulumi-nodejs:dynamic/gemini:SecretRotation") {
          state.secret = ROTATED_SECRET;
          state.previousSecretsExpireAt = new Date(Date.now() + 24 * 3600e3).toISOString();
        }
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "gemini-durable-receiver",
    "test",
    false,
  );
  const outputs = require("./index") as { receiverNames: pulumi.Output<string>[] };
  await Promise.all(outputs.receiverNames.map(settled));
});

const byType = (type: string) => registered.filter((r) => r.type === type);

test("three replicas share one Redis, persisted with appendfsync always, on the stack's own network", () => {
  const containers = byType("docker:index/container:Container");
  const redis = containers.find((c) => c.name === "redis")!;
  expect(redis.inputs.command).toEqual(expect.arrayContaining(["--appendonly", "yes", "--appendfsync", "always", "--maxmemory-policy", "noeviction"]));
  expect(redis.inputs.ports).toBeUndefined();
  const receivers = containers.filter((c) => c.name.startsWith("receiver-"));
  expect(receivers).toHaveLength(3);
  receivers.forEach((r, i) => {
    expect(r.inputs.envs).toEqual(expect.arrayContaining(["REDIS_URL=redis://redis:6379", "METRICS_PORT=9464", "SHUTDOWN_TIMEOUT_MS=8000", "HANDLER_MODULE=/app/handler/handler.js"]));
    expect(r.inputs.ports).toEqual([
      { internal: 8080, external: 9100 + i, ip: "127.0.0.1" },
      { internal: 9464, external: 9464 + i, ip: "127.0.0.1" },
    ]);
  });
});

test("the secrets reach the replicas through a mounted file, never their environment, so a rotation restarts nothing", async () => {
  const [file] = byType("pulumi-nodejs:dynamic/durable-receiver:SecretsFile");
  // A secret input: encrypted in state. Both secrets during the rotation's grace window, newest first.
  expect(file.inputs.secrets).toMatchObject({ value: `${ROTATED_SECRET} ${CREATE_SECRET}` });
  for (const receiver of byType("docker:index/container:Container").filter((c) => c.name.startsWith("receiver-"))) {
    expect(JSON.stringify(receiver.inputs)).not.toContain("whsec_");
    expect(receiver.inputs.volumes).toEqual(expect.arrayContaining([expect.objectContaining({ containerPath: "/run/gemini", readOnly: true })]));
  }
});

test("Gemini delivers to the load balancer, which finds every replica under one network alias and checks /readyz", async () => {
  const containers = byType("docker:index/container:Container");
  const lb = containers.find((c) => c.name === "load-balancer")!;
  expect(lb.inputs.ports).toEqual([{ internal: 8080, external: 8080, ip: "127.0.0.1" }]);
  expect(lb.inputs.volumes).toEqual([expect.objectContaining({ containerPath: "/usr/local/etc/haproxy/haproxy.cfg", readOnly: true })]);
  for (const receiver of containers.filter((c) => c.name.startsWith("receiver-"))) {
    expect(receiver.inputs.networksAdvanced).toEqual([expect.objectContaining({ aliases: ["receivers"] })]);
  }
  const [webhook] = byType("pulumi-nodejs:dynamic/gemini:Webhook");
  expect(webhook.inputs.uri).toBe("http://127.0.0.1:8080/webhooks/gemini");
  const cfg = require("node:fs").readFileSync(require("node:path").join(__dirname, "haproxy.cfg"), "utf8") as string;
  expect(cfg).toMatch(/server-template receiver 1-10 receivers:8080/);
  expect(cfg).toMatch(/option httpchk GET \/readyz/);
});
