/**
 * A unit test of this stack's wiring with Pulumi's mocks: no cluster, no engine, no API calls. Copy it
 * next to your own stack (it needs jest, ts-jest and @types/jest) and run `npx jest`.
 */
import * as pulumi from "@pulumi/pulumi";

const CREATE_SECRET = "whsec_" + Buffer.alloc(32, 1).toString("base64");
const ROTATED_SECRET = "whsec_" + Buffer.alloc(32, 2).toString("base64");
const registered: { type: string; name: string; inputs: Record<string, any> }[] = []; // eslint-disable-line @typescript-eslint/no-explicit-any

function settled<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((resolve) => output.apply(resolve));
}

beforeAll(async () => {
  process.env.PULUMI_CONFIG = JSON.stringify({
    "gemini-kubernetes-receiver:publicUrl": "https://hooks.example.com",
    "gemini-kubernetes-receiver:redisUrl": "rediss://:pw@redis.internal:6380",
    "gemini-kubernetes-receiver:rotationKey": "2026-12",
  });
  process.env.PULUMI_CONFIG_SECRET_KEYS = JSON.stringify(["gemini-kubernetes-receiver:redisUrl"]);
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
    "gemini-kubernetes-receiver",
    "test",
    false,
  );
  const outputs = require("./index") as { deployment: { metadata: pulumi.Output<unknown> }; secretName: pulumi.Output<string> };
  await Promise.all([settled(outputs.deployment.metadata), settled(outputs.secretName)]);
});

const one = (type: string) => {
  const found = registered.filter((r) => r.type === type);
  expect(found).toHaveLength(1);
  return found[0].inputs;
};

test("liveness asks /livez and readiness /readyz, on the container's http port", () => {
  const container = one("kubernetes:apps/v1:Deployment").spec.template.spec.containers[0];
  expect(container.livenessProbe.httpGet).toEqual({ path: "/livez", port: "http" });
  expect(container.readinessProbe.httpGet).toEqual({ path: "/readyz", port: "http" });
  expect(container.ports).toContainEqual({ name: "http", containerPort: 8080 });
  // A Redis outage makes pods unready, never dead: liveness tolerates more than readiness.
  expect(container.livenessProbe.failureThreshold).toBeGreaterThan(container.readinessProbe.failureThreshold);
});

test("the grace period is above SHUTDOWN_TIMEOUT_MS, so the receiver exits 0 before the kubelet's SIGKILL", () => {
  const pod = one("kubernetes:apps/v1:Deployment").spec.template.spec;
  const env = Object.fromEntries(pod.containers[0].env.map((e: { name: string; value?: string }) => [e.name, e.value]));
  expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(Number(env.SHUTDOWN_TIMEOUT_MS) + 900);
});

test("a PodDisruptionBudget keeps all but one replica through a node drain; rolling updates never go below the count", () => {
  const deployment = one("kubernetes:apps/v1:Deployment");
  const pdb = one("kubernetes:policy/v1:PodDisruptionBudget");
  expect(pdb.spec.maxUnavailable).toBe(1);
  expect(pdb.spec.selector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
  expect(deployment.spec.replicas).toBeGreaterThanOrEqual(2);
  expect(deployment.spec.strategy.rollingUpdate.maxUnavailable).toBe(0);
});

test("the signing secrets: a Secret holding every secret valid now (the rotation's and, in its grace, the creation one), mounted 0400 where WEBHOOK_SIGNING_SECRETS_FILE points", () => {
  const secrets = registered.find((r) => r.type === "kubernetes:core/v1:Secret" && r.name === "signing-secrets")!.inputs;
  // The engine's secret marker: the value stays encrypted in state.
  const data = secrets.stringData["4dabf18193072939515e22adb298388d"] === "1b47061264138c4ac30d75fd1eb44270" ? secrets.stringData.value : secrets.stringData;
  const key = Object.keys(data)[0];
  expect(data[key]).toBe(`${ROTATED_SECRET} ${CREATE_SECRET}`);
  const pod = one("kubernetes:apps/v1:Deployment").spec.template.spec;
  const volume = pod.volumes.find((v: { secret?: { secretName: string } }) => v.secret?.secretName === secrets.metadata.name);
  expect(volume.secret.defaultMode).toBe(0o400);
  const mount = pod.containers[0].volumeMounts.find((m: { name: string }) => m.name === volume.name);
  const file = pod.containers[0].env.find((e: { name: string }) => e.name === "WEBHOOK_SIGNING_SECRETS_FILE").value;
  expect(file).toBe(`${mount.mountPath}/${key}`);
  expect(pod.securityContext.runAsUser).toBe(10001);
});

test("Redis's URL comes from a Secret, never a plain env value", () => {
  const container = one("kubernetes:apps/v1:Deployment").spec.template.spec.containers[0];
  const redis = container.env.find((e: { name: string }) => e.name === "REDIS_URL");
  expect(redis.value).toBeUndefined();
  expect(redis.valueFrom.secretKeyRef.key).toBe("url");
});
