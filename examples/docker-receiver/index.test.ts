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

/** The stack, loaded once with mocks that answer like the real resources do. */
async function program(): Promise<Record<string, pulumi.Output<unknown>>> {
  process.env.PULUMI_CONFIG = JSON.stringify({
    "gemini-docker-receiver:rotationKey": "2026-12",
    "gemini-docker-receiver:port": "9123",
  });
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
        if (args.type === "docker:index/remoteImage:RemoteImage") state.imageId = "sha256:" + "ab".repeat(32);
        return { id: `${args.name}-id`, state };
      },
      call: (args) => args.inputs,
    },
    "gemini-docker-receiver",
    "test",
    false,
  );
  return require("./index");
}

const byType = (type: string) => registered.filter((r) => r.type === type);

test("the webhook points at the container, which gets every valid secret", async () => {
  const outputs = await program();
  expect(await settled(outputs.secretsInContainer)).toBe(2);
  await settled(outputs.containerName);

  const [webhook] = byType("pulumi-nodejs:dynamic/gemini:Webhook");
  expect(webhook.inputs.uri).toBe("http://127.0.0.1:9123/webhooks/gemini");

  const [rotation] = byType("pulumi-nodejs:dynamic/gemini:SecretRotation");
  expect(rotation.inputs).toMatchObject({ webhookId: "receiver-webhook-id", rotationKey: "2026-12" });

  const [container] = byType("docker:index/container:Container");
  expect(container.inputs.image).toBe("sha256:" + "ab".repeat(32));
  expect(container.inputs.ports).toEqual([{ internal: 8080, external: 9123, ip: "127.0.0.1" }]);
  // The env holds secrets, so the whole list is a secret (encrypted in state): unwrap it.
  const envs = container.inputs.envs as { value: string[] };
  expect(envs.value).toContain(`WEBHOOK_SIGNING_SECRETS=${ROTATED_SECRET} ${CREATE_SECRET}`);
});

test("the image is the release's, pulled by its tag and kept", async () => {
  const [image] = byType("docker:index/remoteImage:RemoteImage");
  expect(image.inputs.name).toBe("ghcr.io/gemini-webhooks/gemini-webhooks-receiver:0.4.0");
  expect(image.inputs.keepLocally).toBe(true);
});
