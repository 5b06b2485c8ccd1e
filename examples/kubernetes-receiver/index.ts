/**
 * The verifying receiver on Kubernetes, as on-call would want it: a Deployment whose liveness probe
 * asks /livez (the process answers — a Redis outage never restarts the fleet) and whose readiness
 * probe asks /readyz (Redis answers, enough replicas, not draining — a not-ready pod leaves the
 * Service); a termination grace period above SHUTDOWN_TIMEOUT_MS, so the receiver drains and exits
 * 0 before the kubelet's SIGKILL; a PodDisruptionBudget, so a node drain never takes every replica at
 * once; and the signing secrets in a Secret that a rotation rewrites — mounted as a file the receiver
 * re-reads when the kubelet updates it, so a rotation restarts nothing.
 *
 * Redis is yours (a managed one, or a Sentinel/Cluster you run): set `redisUrl` as a secret.
 */
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { SecretRotation, signingSecretsEnv, Webhook } from "pulumi-gemini-webhooks";

const config = new pulumi.Config();
const namespace = config.get("namespace") ?? "gemini-webhooks";
const image = config.get("image") ?? "ghcr.io/gemini-webhooks/gemini-webhooks-receiver:0.4.0";
const replicas = config.getNumber("replicas") ?? 3;
/** Where Gemini delivers: your Ingress or load balancer in front of the Service. */
const publicUrl = config.require("publicUrl");
const redisUrl = config.requireSecret("redisUrl");
const rotationKey = config.get("rotationKey");
const shutdownTimeoutMs = config.getNumber("shutdownTimeoutMs") ?? 8_000;
const labels = { app: "gemini-webhooks-receiver" };

const webhook = new Webhook("receivers", {
  name: `k8s-receivers-${pulumi.getStack()}`,
  uri: `${publicUrl}/webhooks/gemini`,
  subscribedEvents: ["batch.succeeded", "batch.failed", "batch.expired", "video.generated"],
});
const rotation = rotationKey ? new SecretRotation("receivers-rotation", { webhookId: webhook.id, rotationKey }) : undefined;

const ns = new k8s.core.v1.Namespace("receivers", { metadata: { name: namespace } });

/** Every secret valid now (both during a rotation's grace window); a rotation rewrites it in place. */
export const SECRETS_KEY = "signing-secrets";
const secrets = new k8s.core.v1.Secret("signing-secrets", {
  metadata: { namespace: ns.metadata.name, name: "gemini-signing-secrets" },
  stringData: { [SECRETS_KEY]: signingSecretsEnv({ webhook, rotation }) },
});
const redis = new k8s.core.v1.Secret("redis", {
  metadata: { namespace: ns.metadata.name, name: "gemini-receiver-redis" },
  stringData: { url: redisUrl },
});

const probe = (path: string, failureThreshold: number) => ({ httpGet: { path, port: "http" }, periodSeconds: 5, timeoutSeconds: 2, failureThreshold });

export const deployment = new k8s.apps.v1.Deployment("receivers", {
  metadata: { namespace: ns.metadata.name, name: "gemini-webhooks-receiver", labels },
  spec: {
    replicas,
    selector: { matchLabels: labels },
    strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
    template: {
      metadata: { labels, annotations: { "prometheus.io/scrape": "true", "prometheus.io/port": "9464", "prometheus.io/path": "/metrics" } },
      spec: {
        // Above SHUTDOWN_TIMEOUT_MS (+ the receiver's 0.6 s backstop and a margin): it exits 0 before SIGKILL.
        terminationGracePeriodSeconds: Math.ceil(shutdownTimeoutMs / 1000) + 5,
        securityContext: { runAsNonRoot: true, runAsUser: 10001, runAsGroup: 10001, fsGroup: 10001 },
        containers: [
          {
            name: "receiver",
            image,
            ports: [
              { name: "http", containerPort: 8080 },
              { name: "metrics", containerPort: 9464 },
            ],
            env: [
              { name: "PORT", value: "8080" },
              { name: "REDIS_URL", valueFrom: { secretKeyRef: { name: redis.metadata.name, key: "url" } } },
              { name: "WEBHOOK_SIGNING_SECRETS_FILE", value: `/run/gemini/${SECRETS_KEY}` },
              { name: "SHUTDOWN_TIMEOUT_MS", value: String(shutdownTimeoutMs) },
              { name: "METRICS_PORT", value: "9464" },
              { name: "METRICS_HOST", value: "0.0.0.0" },
            ],
            livenessProbe: probe("/livez", 3),
            readinessProbe: probe("/readyz", 1),
            volumeMounts: [{ name: "signing-secrets", mountPath: "/run/gemini", readOnly: true }],
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } },
            resources: { requests: { cpu: "100m", memory: "128Mi" }, limits: { memory: "512Mi" } },
          },
        ],
        // 0400: readable by the receiver's user alone (the receiver warns about a group- or world-readable file).
        volumes: [{ name: "signing-secrets", secret: { secretName: secrets.metadata.name, defaultMode: 0o400 } }],
      },
    },
  },
});

export const disruptionBudget = new k8s.policy.v1.PodDisruptionBudget("receivers", {
  metadata: { namespace: ns.metadata.name, name: "gemini-webhooks-receiver" },
  spec: { maxUnavailable: 1, selector: { matchLabels: labels } },
});

export const service = new k8s.core.v1.Service("receivers", {
  metadata: { namespace: ns.metadata.name, name: "gemini-webhooks-receiver", labels },
  spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
});

export const webhookId = webhook.id;
export const secretName = secrets.metadata.name;
