/**
 * Dynamic (per-job) webhooks: deploys the verifying receiver configured to check RS256 JWTs
 * against the Gemini JWKS. Jobs are not infrastructure: submit-batch.js creates a batch whose
 * `webhook_config` routes its events to this receiver.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import { jwksAddress } from "./jwks-address";

const config = new pulumi.Config();
/** The receiver image, by this release's tag (set `receiverImage` for a mirror, or pin a digest). */
const receiverImageName = config.get("receiverImage") ?? "ghcr.io/gemini-webhooks/gemini-webhooks-receiver:0.4.0";
const port = config.getNumber("port") ?? 8081;
const publicUrl = config.get("publicUrl") ?? `http://127.0.0.1:${port}`;
/** Google's service origin, the tokens' issuer; the emulator's URL for local work. */
const geminiOrigin = config.get("geminiOrigin") ?? "https://generativelanguage.googleapis.com";
/** Where the container fetches the keys: computed from geminiOrigin unless set (see jwks-address.ts). */
const jwks = jwksAddress(geminiOrigin, config.get("jwksUri"));
const image = new docker.RemoteImage("dynamic-receiver-image", { name: receiverImageName, keepLocally: true });

/** The URI jobs name in `webhook_config.uris`; also the JWT audience the receiver requires. */
export const dynamicWebhookUrl = `${publicUrl}/webhooks/gemini/dynamic`;

const container = new docker.Container("dynamic-receiver", {
  name: pulumi.interpolate`gemini-dynamic-receiver-${pulumi.getStack()}`,
  image: image.imageId,
  envs: [`JWKS_URI=${jwks.jwksUri}`, `JWT_ISSUER=${geminiOrigin}`, `JWT_AUDIENCE=${dynamicWebhookUrl}`, ...jwks.env, "PORT=8080"],
  hosts: jwks.hosts,
  ports: [{ internal: 8080, external: port, ip: "127.0.0.1" }],
  restart: "unless-stopped",
  wait: true,
  waitTimeout: 60,
}, { deleteBeforeReplace: true });

export const containerName = container.name;
export const jwksUri = jwks.jwksUri;
