/**
 * A Python backend behind the receiver: Gemini delivers to the receiver (verify, dedupe, queue in
 * Redis, retry, dead-letter), which forwards each verified event to a Flask app — the guide's
 * callback — re-signed with a forwarding secret of its own that the app verifies with
 * `standardwebhooks`. Both secrets live in files the containers watch: rotating either restarts
 * nothing.
 */
import * as path from "node:path";
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { SecretRotation, signingSecretsEnv, Webhook } from "pulumi-gemini-webhooks";
import { SecretsFile, secretsOwner, RECEIVER_IMAGE_USER, SECRETS_FILE_NAME } from "./secrets-file";

const config = new pulumi.Config();
const stack = pulumi.getStack();
/** The receiver image, by this release's tag (set `receiverImage` for a mirror, or pin a digest). */
const receiverImageName = config.get("receiverImage") ?? "ghcr.io/gemini-webhooks/gemini-webhooks-receiver:0.4.0";
/** The backend image's base (it runs `pip install`). */
const backendBaseImage = config.get("backendBaseImage") ?? "python:3.12-slim";
const redisImage = config.get("redisImage") ?? "redis:7-bookworm";
/** Where the receiver publishes its port on the Docker host (127.0.0.1). */
const receiverPort = config.getNumber("receiverPort") ?? 8080;
/** What Gemini delivers to: your TLS front's public address (default: the receiver's port on this host). */
const publicUrl = config.get("publicUrl") ?? `http://127.0.0.1:${receiverPort}`;
/** The secrets files' directory on the Docker host. */
const secretsDir = path.resolve(config.get("secretsDir") ?? path.join(".secrets", stack));
/** `whsec_…` of your own for the forwards (two, newest first, while you rotate it): `pulumi config set --secret`. */
const forwardSigningSecrets = config.requireSecret("forwardSigningSecrets");
const rotationKey = config.get("rotationKey");

export const webhookUrl = `${publicUrl}/webhooks/gemini`;
const webhook = new Webhook("backend", {
  name: `python-backend-${stack}`,
  uri: webhookUrl,
  subscribedEvents: ["batch.succeeded", "batch.failed", "batch.expired", "video.generated"],
});
const rotation = rotationKey ? new SecretRotation("backend-rotation", { webhookId: webhook.id, rotationKey }) : undefined;

// Gemini's secrets for the receiver only; the forwarding secrets for the receiver and the backend.
const webhookSecrets = new SecretsFile("webhook-secrets", { dir: path.join(secretsDir, "webhook"), secrets: signingSecretsEnv({ webhook, rotation }) });
const forwardSecrets = new SecretsFile("forward-secrets", { dir: path.join(secretsDir, "forward"), secrets: forwardSigningSecrets });

const network = new docker.Network("backend", { name: `gemini-backend-${stack}` });
const redisData = new docker.Volume("redis-data", { name: `gemini-backend-redis-${stack}` });
const redisImageRef = new docker.RemoteImage("redis", { name: redisImage, keepLocally: true });
const redis = new docker.Container("redis", {
  name: `gemini-backend-redis-${stack}`,
  image: redisImageRef.imageId,
  command: ["redis-server", "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction", "--dir", "/data", "--protected-mode", "no"],
  volumes: [{ volumeName: redisData.name, containerPath: "/data" }],
  networksAdvanced: [{ name: network.name, aliases: ["redis"] }],
  restart: "unless-stopped",
});

const owner = secretsOwner();
const user = owner.uid === RECEIVER_IMAGE_USER.uid ? {} : { user: `${owner.uid}:${owner.gid}` };

const backendImage = new docker.Image("backend-image", {
  imageName: "gemini-python-backend:local",
  build: { context: path.join(__dirname, "backend"), args: { BASE_IMAGE: backendBaseImage } },
  skipPush: true,
});
const backend = new docker.Container(
  "backend",
  {
    name: `gemini-backend-app-${stack}`,
    image: backendImage.repoDigest,
    ...user,
    envs: [`FORWARD_SECRETS_FILE=/run/forward/${SECRETS_FILE_NAME}`],
    volumes: [{ hostPath: path.join(secretsDir, "forward"), containerPath: "/run/forward", readOnly: true }],
    // Not published: only the receiver reaches it, on this network.
    networksAdvanced: [{ name: network.name, aliases: ["backend"] }],
    restart: "unless-stopped",
    destroyGraceSeconds: 10,
  },
  { dependsOn: [forwardSecrets] },
);

const receiverImage = new docker.RemoteImage("receiver-image", { name: receiverImageName, keepLocally: true });
const receiver = new docker.Container(
  "receiver",
  {
    name: `gemini-backend-receiver-${stack}`,
    image: receiverImage.imageId,
    ...user,
    envs: [
      "PORT=8080",
      "REDIS_URL=redis://redis:6379",
      `REDIS_KEY_PREFIX=gemini-backend:${stack}:`,
      `WEBHOOK_SIGNING_SECRETS_FILE=/run/gemini/${SECRETS_FILE_NAME}`,
      // Forward each verified event to the Flask app: plain http on this private Docker network only.
      "HANDLER_URL=http://backend:8000/gemini-callback",
      "HANDLER_URL_ALLOW_HTTP=true",
      `FORWARD_SIGNING_SECRETS_FILE=/run/forward/${SECRETS_FILE_NAME}`,
      "HANDLER_TIMEOUT_MS=10000",
      "HANDLER_MAX_ATTEMPTS=8",
      "SHUTDOWN_TIMEOUT_MS=8000",
      "LOG_LEVEL=info",
    ],
    volumes: [
      { hostPath: path.join(secretsDir, "webhook"), containerPath: "/run/gemini", readOnly: true },
      { hostPath: path.join(secretsDir, "forward"), containerPath: "/run/forward", readOnly: true },
    ],
    networksAdvanced: [{ name: network.name }],
    ports: [{ internal: 8080, external: receiverPort, ip: "127.0.0.1" }],
    restart: "unless-stopped",
    destroyGraceSeconds: 10,
    wait: true,
    waitTimeout: 60,
  },
  { dependsOn: [redis, backend, webhookSecrets, forwardSecrets] },
);

export const webhookId = webhook.id;
export const receiverName = receiver.name;
export const backendName = backend.name;
export const redisName = redis.name;
