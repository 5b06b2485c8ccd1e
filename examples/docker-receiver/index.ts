/**
 * Deploys the verifying receiver as a Docker container and registers a Gemini webhook pointing at
 * it. The container's environment holds every secret valid right now (currentSigningSecrets), so
 * changing `rotationKey` rotates the secret with zero rejected deliveries.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SecretRotation, signingSecretsEnv, Webhook } from "pulumi-gemini-webhooks";

const config = new pulumi.Config();
/** The receiver image, by this release's tag (set `receiverImage` for a mirror, or pin a digest). */
const receiverImageName = config.get("receiverImage") ?? "ghcr.io/gemini-webhooks/gemini-webhooks-receiver:0.4.0";
/** Host port the receiver is published on. */
const port = config.getNumber("port") ?? 8080;
/** The URL Gemini reaches the container at (a tunnel or load balancer in production). */
const publicUrl = config.get("publicUrl") ?? `http://127.0.0.1:${port}`;
const rotationKey = config.get("rotationKey");

const image = new docker.RemoteImage("receiver-image", { name: receiverImageName, keepLocally: true });

export const webhookUrl = `${publicUrl}/webhooks/gemini`;

const webhook = new Webhook("receiver-webhook", {
  name: pulumi.interpolate`docker-receiver-${pulumi.getStack()}`,
  uri: webhookUrl,
  subscribedEvents: ["batch.succeeded", "batch.failed", "batch.expired", "video.generated"],
});

const rotation = rotationKey
  ? new SecretRotation("receiver-rotation", { webhookId: webhook.id, rotationKey })
  : undefined;

const container = new docker.Container(
  "receiver",
  {
    name: pulumi.interpolate`gemini-receiver-${pulumi.getStack()}`,
    image: image.imageId,
    envs: [pulumi.interpolate`WEBHOOK_SIGNING_SECRETS=${signingSecretsEnv({ webhook, rotation })}`, "PORT=8080", "LOG_LEVEL=info"],
    ports: [{ internal: 8080, external: port, ip: "127.0.0.1" }],
    restart: "unless-stopped",
    wait: true,
    waitTimeout: 60,
  },
  {
    // A new secret set means a new container; its fixed name and port free up first.
    deleteBeforeReplace: true,
    additionalSecretOutputs: ["envs"],
  },
);

export const webhookId = webhook.id;
export const containerName = container.name;
export const secretsInContainer = signingSecretsEnv({ webhook, rotation }).apply((s) => s.split(" ").length);
