#!/usr/bin/env node
/**
 * `gemini-webhooks-receiver`: the verifying receiver as a server, configured by environment
 * variables (see README). Invalid configuration stops start-up with a message naming the variable.
 */
import { ConfigError, loadConfig } from "./config";
import { buildReceiver } from "./server";

const HELP = `Usage: gemini-webhooks-receiver

Receives Gemini webhook deliveries, verifies them, deduplicates by webhook-id and processes them.
  POST /webhooks/gemini          static webhooks (Standard Webhooks HMAC)
  POST /webhooks/gemini/dynamic  dynamic webhooks (RS256 JWT, JWKS)
  GET  /healthz, GET /metrics

Environment:
  PORT (8080), HOST (0.0.0.0)
  WEBHOOK_SIGNING_SECRETS               whsec_ secrets, whitespace- or comma-separated (both during a rotation)
  WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS   accepted clock difference, both ways (300)
  JWKS_URI, JWT_ISSUER, JWT_AUDIENCE    dynamic webhooks (all three)
  REDIS_URL                             share deduplication across replicas
  MAX_BODY_BYTES                        (1048576)
  LOG_LEVEL                             (info)
`;

async function main(): Promise<void> {
  if (process.argv.includes("--help") || process.argv.includes("-h")) {
    process.stdout.write(HELP);
    return;
  }
  if (process.argv.length > 2) throw new ConfigError(`unexpected argument ${JSON.stringify(process.argv[2])}; configuration is by environment (see --help)`);
  const config = loadConfig();
  const receiver = buildReceiver(config);
  await receiver.app.listen({ port: config.port, host: config.host });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    receiver.app.log.info({ signal }, "draining before exit");
    receiver.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`gemini-webhooks-receiver: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
