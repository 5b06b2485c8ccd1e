#!/usr/bin/env node
/**
 * `gemini-webhooks-receiver`: the verifying receiver as a server (no command), configured by
 * environment variables; `gemini-webhooks-receiver dead-letters …` operates its dead letters.
 * Invalid configuration stops with exit code 2 and a message naming the variable.
 */
import { ConfigError, variablesHelp } from "./ops/config";
import { deadLettersCommand, DEAD_LETTERS_HELP } from "./ops/dead-letters-cli";
import { serve } from "./serve";

const HELP = `Usage: gemini-webhooks-receiver                 run the server
       gemini-webhooks-receiver dead-letters …   list, show, replay or drop dead letters (--help)

Receives Gemini webhook deliveries, verifies them, deduplicates them, hands them off and runs
your handler on them.
  POST /webhooks/gemini          static webhooks (Standard Webhooks HMAC)
  POST /webhooks/gemini/dynamic  dynamic webhooks (RS256 JWT, JWKS)
  GET  /livez                    liveness: the process answers (HEALTHCHECK, Kubernetes liveness)
  GET  /readyz (/healthz)        readiness: store reachable, secrets loaded, not draining
  GET  /metrics                  Prometheus (on METRICS_PORT instead, when set)

Environment (defaults in parentheses):
${variablesHelp()}

Signals: SIGTERM/SIGINT drain within SHUTDOWN_TIMEOUT_MS and exit 0; SIGHUP re-reads the secrets file.
`;

async function main(argv: string[]): Promise<void> {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(argv[0] === "dead-letters" ? DEAD_LETTERS_HELP : HELP);
    return;
  }
  if (argv[0] === "dead-letters") return deadLettersCommand(argv.slice(1));
  if (argv.length > 0) throw new ConfigError(`unexpected argument ${JSON.stringify(argv[0])}; the server is configured by environment, the one command is dead-letters (see --help)`);
  await serve();
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`gemini-webhooks-receiver: ${message}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
