/**
 * A durable receiver deployment: Redis with an append-only file fsynced on every write, and three
 * receiver replicas sharing it (one consumer group: each event handled by one replica, taken over
 * if that replica dies), behind an HAProxy load balancer that sends deliveries only to ready
 * replicas and retries on another one what a stopping replica refused. Each replica runs your
 * handler module (handler/handler.js, mounted), reads the signing secrets from a mounted file that a
 * rotation rewrites without restarting anything, and serves its metrics on a port of their own.
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
const redisImage = config.get("redisImage") ?? "redis:7-bookworm";
/** The load balancer's image (HAProxy 2.6 or newer); without a registry use `scripts/build-haproxy-image.sh`'s output. */
const lbImage = config.get("lbImage") ?? "haproxy:2.6";
/** Where the load balancer publishes its port on the Docker host (127.0.0.1). */
const lbPort = config.getNumber("lbPort") ?? 8080;
const replicas = config.getNumber("replicas") ?? 3;
/** Replica i publishes its webhook port on basePort + i and its metrics on metricsBasePort + i (127.0.0.1). */
const basePort = config.getNumber("basePort") ?? 8081;
const metricsBasePort = config.getNumber("metricsBasePort") ?? 9464;
/** What Gemini delivers to: the public address of the load balancer (default: its port on this host). */
const publicUrl = config.get("publicUrl") ?? `http://127.0.0.1:${lbPort}`;
/** Where the secrets file lives on the Docker host (mounted read-only into every replica). */
const secretsDir = path.resolve(config.get("secretsDir") ?? path.join(".secrets", stack));
const forwardUrl = config.get("forwardUrl");
const handlerTimeoutMs = config.getNumber("handlerTimeoutMs") ?? 10_000;
const visibilityTimeoutMs = config.getNumber("visibilityTimeoutMs") ?? Math.max(60_000, 2 * handlerTimeoutMs);
const maxAttempts = config.getNumber("maxAttempts") ?? 5;
const rotationKey = config.get("rotationKey");

export const webhookUrl = `${publicUrl}/webhooks/gemini`;
const webhook = new Webhook("receivers", {
  name: `durable-receivers-${stack}`,
  uri: webhookUrl,
  subscribedEvents: ["batch.succeeded", "batch.failed", "batch.expired", "video.generated"],
});
const rotation = rotationKey ? new SecretRotation("receivers-rotation", { webhookId: webhook.id, rotationKey }) : undefined;

// Every secret valid right now (both during a rotation's 24 h grace window), in a file the replicas watch.
const secretsFile = new SecretsFile("signing-secrets", { dir: secretsDir, secrets: signingSecretsEnv({ webhook, rotation }) });

const network = new docker.Network("receivers", { name: `gemini-receivers-${stack}` });

const redisData = new docker.Volume("redis-data", { name: `gemini-receivers-redis-${stack}` });
const redisImageRef = new docker.RemoteImage("redis", { name: redisImage, keepLocally: true });
const redis = new docker.Container("redis", {
  name: `gemini-receivers-redis-${stack}`,
  image: redisImageRef.imageId,
  // Every accept is on disk before the receiver answers 200; no eviction, or queue keys could vanish.
  // Reachable only on this stack's network (no published port), so protected mode (loopback only,
  // which Debian's redis-server keeps on) is off; add --requirepass and a rediss:// URL beyond one host.
  command: ["redis-server", "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--maxmemory-policy", "noeviction", "--dir", "/data", "--protected-mode", "no"],
  volumes: [{ volumeName: redisData.name, containerPath: "/data" }],
  networksAdvanced: [{ name: network.name, aliases: ["redis"] }],
  restart: "unless-stopped",
});

const image = new docker.RemoteImage("receiver-image", { name: receiverImageName, keepLocally: true });

const owner = secretsOwner();
const forwardsToHost = forwardUrl !== undefined && new URL(forwardUrl).hostname === "host.docker.internal";
const receivers = Array.from({ length: replicas }, (_, i) =>
  new docker.Container(
    `receiver-${i}`,
    {
      name: `gemini-receiver-${stack}-${i}`,
      image: image.imageId,
      // The image's user, unless the secrets file belongs to the deploying user (see secrets-file.ts).
      ...(owner.uid === RECEIVER_IMAGE_USER.uid ? {} : { user: `${owner.uid}:${owner.gid}` }),
      envs: [
        "PORT=8080",
        "REDIS_URL=redis://redis:6379",
        `REDIS_KEY_PREFIX=gemini-webhooks:${stack}:`,
        `WEBHOOK_SIGNING_SECRETS_FILE=/run/gemini/${SECRETS_FILE_NAME}`,
        "HANDLER_MODULE=/app/handler/handler.js",
        `HANDLER_TIMEOUT_MS=${handlerTimeoutMs}`,
        `HANDLER_VISIBILITY_TIMEOUT_MS=${visibilityTimeoutMs}`,
        `HANDLER_MAX_ATTEMPTS=${maxAttempts}`,
        // Inside docker stop's 10 s: the process exits 0 before Docker would SIGKILL it.
        "SHUTDOWN_TIMEOUT_MS=8000",
        "METRICS_PORT=9464",
        "LOG_LEVEL=info",
        ...(forwardUrl ? [`FORWARD_URL=${forwardUrl}`] : []),
      ],
      volumes: [
        { hostPath: secretsDir, containerPath: "/run/gemini", readOnly: true },
        { hostPath: path.join(__dirname, "handler"), containerPath: "/app/handler", readOnly: true },
      ],
      ...(forwardsToHost ? { hosts: [{ host: "host.docker.internal", ip: "host-gateway" }] } : {}),
      // The load balancer finds every replica under this one name (Docker's DNS answers with all of them).
      networksAdvanced: [{ name: network.name, aliases: ["receivers"] }],
      ports: [
        { internal: 8080, external: basePort + i, ip: "127.0.0.1" },
        { internal: 9464, external: metricsBasePort + i, ip: "127.0.0.1" },
      ],
      restart: "unless-stopped",
      destroyGraceSeconds: 10,
      wait: true,
      waitTimeout: 60,
    },
    { dependsOn: [redis, secretsFile] },
  ),
);

// Deliveries go to ready replicas only; what a replica refused while stopping is retried on another.
const lbImageRef = new docker.RemoteImage("load-balancer", { name: lbImage, keepLocally: true });
const loadBalancer = new docker.Container(
  "load-balancer",
  {
    name: `gemini-receivers-lb-${stack}`,
    image: lbImageRef.imageId,
    command: ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"],
    volumes: [{ hostPath: path.join(__dirname, "haproxy.cfg"), containerPath: "/usr/local/etc/haproxy/haproxy.cfg", readOnly: true }],
    networksAdvanced: [{ name: network.name }],
    ports: [{ internal: 8080, external: lbPort, ip: "127.0.0.1" }],
    restart: "unless-stopped",
  },
  { dependsOn: receivers },
);

export const webhookId = webhook.id;
export const secretsFilePath = path.join(secretsDir, SECRETS_FILE_NAME);
export const receiverNames = receivers.map((r) => r.name);
export const receiverUrls = receivers.map((_, i) => `http://127.0.0.1:${basePort + i}/webhooks/gemini`);
export const metricsUrls = receivers.map((_, i) => `http://127.0.0.1:${metricsBasePort + i}/metrics`);
export const redisName = redis.name;
export const loadBalancerName = loadBalancer.name;
