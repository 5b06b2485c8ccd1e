/** The docker-receiver example's wiring, under Pulumi mocks. */
import assert from "node:assert/strict";
import { test } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { MOCK_CREATE_SECRET, MOCK_ROTATED_SECRET, settled, useMocks } from "./support/mocks";

test("the container gets every valid secret, the webhook points at the container, the image builds from receiver/Dockerfile", async () => {
  const registered = await useMocks("gemini-docker-receiver", { rotationKey: "2026-12", port: "9123", baseImage: "local/node:20" });
  const program = require("../examples/docker-receiver/index") as Record<string, pulumi.Output<unknown>>;
  assert.equal(await settled(program.secretsInContainer), 2);
  await settled(program.containerName);

  const byType = (t: string) => registered.filter((r) => r.type === t);
  const [image] = byType("docker:index/image:Image");
  assert.equal(image.inputs.skipPush, true);
  const build = image.inputs.build as { dockerfile: string; args: Record<string, string> };
  assert.match(build.dockerfile, /receiver\/Dockerfile$/);
  assert.equal(build.args.BASE_IMAGE, "local/node:20");

  const [webhook] = byType("pulumi-nodejs:dynamic/gemini:Webhook");
  assert.equal(webhook.inputs.uri, "http://127.0.0.1:9123/webhooks/gemini");
  assert.equal(typeof webhook.inputs.__provider, "string");

  const [rotation] = byType("pulumi-nodejs:dynamic/gemini:SecretRotation");
  assert.equal(rotation.inputs.webhookId, "receiver-webhook-id");
  assert.equal(rotation.inputs.rotationKey, "2026-12");

  const [container] = byType("docker:index/container:Container");
  assert.equal(container.inputs.image, "sha256:" + "ab".repeat(32));
  // The env holds secrets, so the whole list travels as a secret (encrypted in state).
  const wrapped = container.inputs.envs as { "4dabf18193072939515e22adb298388d": string; value: string[] };
  assert.equal(wrapped["4dabf18193072939515e22adb298388d"], "1b47061264138c4ac30d75fd1eb44270");
  const envs = wrapped.value;
  assert.ok(envs.includes(`WEBHOOK_SIGNING_SECRETS=${MOCK_ROTATED_SECRET} ${MOCK_CREATE_SECRET}`), "both secrets during the grace");
  assert.deepEqual(container.inputs.ports, [{ internal: 8080, external: 9123, ip: "127.0.0.1" }]);
});
