#!/usr/bin/env node
/**
 * `gemini-webhooks-receiver`: the verifying receiver as a server, configured by environment
 * variables (see README). Invalid configuration stops start-up with a message naming the variable.
 */
import { ConfigError, loadConfig } from "./config";
import { loadHandlerModule } from "./handler-module";
import { buildReceiver } from "./server";

const HELP = `Usage: gemini-webhooks-receiver

Receives Gemini webhook deliveries, verifies them, deduplicates them, hands them off and runs
your handler on them.
  POST /webhooks/gemini          static webhooks (Standard Webhooks HMAC)
  POST /webhooks/gemini/dynamic  dynamic webhooks (RS256 JWT, JWKS)
  GET  /healthz (readiness), GET /livez, GET /metrics

Environment:
  PORT (8080), HOST (0.0.0.0)
  WEBHOOK_SIGNING_SECRETS               whsec_ secrets, whitespace- or comma-separated (both during a rotation)
  WEBHOOK_SIGNING_SECRETS_FILE          or a file holding them, re-read when it changes and on SIGHUP
  WEBHOOK_TIMESTAMP_TOLERANCE_SECONDS   accepted clock difference, both ways (300)
  JWKS_URI, JWT_ISSUER, JWT_AUDIENCE    dynamic webhooks (all three); JWKS_ALLOW_HTTP, JWT_REQUIRE_BODY_HASH,
                                        JWT_MAX_TOKEN_AGE_SECONDS (600), JWT_MAX_LIFETIME_SECONDS (3600)
  REDIS_URL                             durable mode: dedup and a Redis stream shared by every replica
                                        (without it: in memory, for development only)
  HANDLER_MODULE                        a module exporting async handle(event, meta) (default: log each event)
  HANDLER_CONCURRENCY (8), QUEUE_MAX_LENGTH (100000), HANDLER_VISIBILITY_TIMEOUT_MS (30000),
  HANDLER_MAX_ATTEMPTS (5)
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
  const handler = config.handlerModule ? await loadHandlerModule(config.handlerModule) : undefined;
  const receiver = buildReceiver(config, { handler });
  await receiver.start();
  await receiver.app.listen({ port: config.port, host: config.host });
  process.on("SIGHUP", () => receiver.reloadSecrets());
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
