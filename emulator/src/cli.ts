#!/usr/bin/env node
/**
 * `gemini-webhooks-emulator`: serve the emulator, or trigger an event on a running one.
 * Every flag has an environment-variable equivalent; bad values stop with a message naming them.
 */
import { parseArgs } from "node:util";
import { EmulatorOptions, startEmulator } from "./app";
import { hostName } from "./host-policy";

const SERVE_HELP = `Usage: gemini-webhooks-emulator serve [options]

Runs a local Gemini WebhookService (/v1/webhooks and /v1beta/webhooks) with signed deliveries.

Options (environment variable in brackets):
  --port N          port to listen on, 0 for any (default 8089) [GEMINI_EMULATOR_PORT]
  --host H          interface to bind (default 127.0.0.1; 0.0.0.0 lets containers reach it) [GEMINI_EMULATOR_HOST]
  --public-url URL  the origin tokens name as their issuer and clients use (default: where it listens;
                    http://127.0.0.1:PORT when bound to all interfaces) [GEMINI_EMULATOR_PUBLIC_URL]
  --data-dir DIR    keep state in DIR/emulator.sqlite [GEMINI_EMULATOR_DATA_DIR]
  --in-memory       keep state in memory only (the default without --data-dir)
  --api-key KEY     accept only this x-goog-api-key (default: any non-empty key) [GEMINI_EMULATOR_API_KEY]
  --time-scale N    emulated time runs N times faster, e.g. 3600: 24 h in 24 s (default 1) [GEMINI_EMULATOR_TIME_SCALE]
  --delivery-timeout-ms N   real ms a receiver has to answer 2xx (default 10000) [GEMINI_EMULATOR_DELIVERY_TIMEOUT_MS]
  --job-completion-delay-ms N   emulated ms before a job completes by itself, 0 = admin call only (default 2000) [GEMINI_EMULATOR_JOB_COMPLETION_DELAY_MS]
  --allow-delivery-host H   also deliver to host H (repeatable; default: loopback only) [GEMINI_EMULATOR_ALLOW_DELIVERY_HOSTS, comma-separated]
  --allow-host H    also answer requests for host name H (repeatable; default: loopback, the bound address,
                    the --public-url host; bound to 0.0.0.0 also this machine's addresses and
                    host.docker.internal): DNS rebinding protection [GEMINI_EMULATOR_ALLOW_HOSTS, comma-separated]
  --log             log requests (never bodies or keys)
  -h, --help        show this help
`;

const TRIGGER_HELP = `Usage: gemini-webhooks-emulator trigger <event-type> [options]

Emits one event on a running emulator and prints its event id.

Options:
  --data JSON       the event's data object (default: generated fields)
  --url URL         the emulator's base URL (default http://127.0.0.1:8089) [GEMINI_EMULATOR_URL]
  --api-key KEY     the emulator's --api-key, when it has one [GEMINI_EMULATOR_API_KEY]
  -h, --help        show this help
`;

const MAIN_HELP = `Usage: gemini-webhooks-emulator <command> [options]

Commands:
  serve             run the emulator
  trigger <type>    emit an event on a running emulator

Run 'gemini-webhooks-emulator <command> --help' for a command's options.
`;

class UsageError extends Error {}

function intFrom(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === "") return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`${name} must be an integer between ${min} and ${max}, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`${name} must be between ${min} and ${max}, got ${value}`);
  return value;
}

function positiveNumberFrom(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new UsageError(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return value;
}

const SERVE_FLAGS = {
  port: { type: "string" },
  host: { type: "string" },
  "public-url": { type: "string" },
  "data-dir": { type: "string" },
  "in-memory": { type: "boolean" },
  "api-key": { type: "string" },
  "time-scale": { type: "string" },
  "delivery-timeout-ms": { type: "string" },
  "job-completion-delay-ms": { type: "string" },
  "allow-delivery-host": { type: "string", multiple: true },
  "allow-host": { type: "string", multiple: true },
  log: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const parseServe = (argv: string[]) => parseArgs({ args: argv, strict: true, options: SERVE_FLAGS });
type ServeValues = ReturnType<typeof parseServe>["values"];

/** The serve options from the flags, each falling back to its environment variable; bad values are named. */
function serveOptions(values: ServeValues, env: NodeJS.ProcessEnv): EmulatorOptions & { port: number } {
  const port = intFrom(values.port ? "--port" : "GEMINI_EMULATOR_PORT", values.port ?? env.GEMINI_EMULATOR_PORT, 8089, 0, 65535);
  const timeScale = positiveNumberFrom(
    values["time-scale"] ? "--time-scale" : "GEMINI_EMULATOR_TIME_SCALE",
    values["time-scale"] ?? env.GEMINI_EMULATOR_TIME_SCALE,
    1,
  );
  const deliveryTimeoutMs = intFrom(
    values["delivery-timeout-ms"] ? "--delivery-timeout-ms" : "GEMINI_EMULATOR_DELIVERY_TIMEOUT_MS",
    values["delivery-timeout-ms"] ?? env.GEMINI_EMULATOR_DELIVERY_TIMEOUT_MS,
    10_000,
    1,
    600_000,
  );
  const jobCompletionDelayMs = intFrom(
    values["job-completion-delay-ms"] ? "--job-completion-delay-ms" : "GEMINI_EMULATOR_JOB_COMPLETION_DELAY_MS",
    values["job-completion-delay-ms"] ?? env.GEMINI_EMULATOR_JOB_COMPLETION_DELAY_MS,
    2000,
    0,
    7 * 24 * 3600 * 1000,
  );
  const allowedDeliveryHosts = values["allow-delivery-host"] ?? (env.GEMINI_EMULATOR_ALLOW_DELIVERY_HOSTS ?? "").split(",").map((h) => h.trim()).filter(Boolean);
  const allowedHosts = values["allow-host"] ?? (env.GEMINI_EMULATOR_ALLOW_HOSTS ?? "").split(",").map((h) => h.trim()).filter(Boolean);
  for (const host of allowedHosts) {
    if (!hostName(host)) throw new UsageError(`--allow-host / GEMINI_EMULATOR_ALLOW_HOSTS takes host names, got ${JSON.stringify(host.slice(0, 80))}`);
  }
  const dataDir = values["data-dir"] ?? env.GEMINI_EMULATOR_DATA_DIR;
  if (values["in-memory"] && values["data-dir"]) throw new UsageError("--in-memory and --data-dir exclude each other");
  const apiKey = values["api-key"] ?? env.GEMINI_EMULATOR_API_KEY;
  if (apiKey !== undefined && apiKey.trim() === "") throw new UsageError("--api-key / GEMINI_EMULATOR_API_KEY must not be empty");
  const publicUrl = values["public-url"] ?? env.GEMINI_EMULATOR_PUBLIC_URL;
  if (publicUrl !== undefined && !/^https?:\/\/[^/?#]+\/?$/.test(publicUrl.trim())) {
    throw new UsageError(`${values["public-url"] ? "--public-url" : "GEMINI_EMULATOR_PUBLIC_URL"} must be an http(s) origin such as http://127.0.0.1:8089, got ${JSON.stringify(publicUrl)}`);
  }
  return {
    port,
    publicUrl: publicUrl?.trim().replace(/\/$/, ""),
    host: values.host ?? env.GEMINI_EMULATOR_HOST ?? "127.0.0.1",
    dataDir: values["in-memory"] ? undefined : dataDir,
    inMemory: values["in-memory"] || !dataDir,
    apiKey,
    timeScale,
    deliveryTimeoutMs,
    jobCompletionDelayMs,
    allowedDeliveryHosts,
    allowedHosts,
    logger: values.log ?? false,
  };
}

async function serve(argv: string[]): Promise<void> {
  const { values } = parseServe(argv);
  if (values.help) {
    process.stdout.write(SERVE_HELP);
    return;
  }
  const emulator = await startEmulator(serveOptions(values, process.env));
  process.stdout.write(`Gemini webhooks emulator listening on ${emulator.url} (API root ${emulator.apiUrl})\n`);
  const stop = () => {
    emulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  // Started through a launcher that does not forward signals (`npx`, `npm exec`), the emulator
  // stops when its parent goes away, so it never lingers holding its port.
  const parent = process.ppid;
  if (parent > 1) {
    setInterval(() => {
      if (process.ppid !== parent) stop();
    }, 500).unref();
  }
}

async function trigger(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: true,
    options: { data: { type: "string" }, url: { type: "string" }, "api-key": { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    process.stdout.write(TRIGGER_HELP);
    return;
  }
  if (positionals.length !== 1) throw new UsageError("trigger takes exactly one event type, e.g. `trigger batch.succeeded`");
  let data: unknown;
  if (values.data !== undefined) {
    try {
      data = JSON.parse(values.data);
    } catch {
      throw new UsageError("--data must be a JSON object");
    }
  }
  const base = (values.url ?? process.env.GEMINI_EMULATOR_URL ?? "http://127.0.0.1:8089").replace(/\/+$/, "");
  const apiKey = values["api-key"] ?? process.env.GEMINI_EMULATOR_API_KEY;
  const response = await fetch(`${base}/emulator/v1/events`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(apiKey ? { "x-goog-api-key": apiKey } : {}) },
    body: JSON.stringify({ type: positionals[0], ...(data !== undefined ? { data } : {}) }),
  });
  const body = (await response.json()) as unknown as { event_id?: string; error?: { message?: string } };
  if (!response.ok) throw new UsageError(body.error?.message ?? `emulator answered ${response.status}`);
  process.stdout.write(`${body.event_id}\n`);
}

async function main(): Promise<void> {
  const [command, ...rest] = process.argv.slice(2);
  if (command === undefined || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(MAIN_HELP);
    return;
  }
  if (command === "serve") return serve(rest);
  if (command === "trigger") return trigger(rest);
  throw new UsageError(`unknown command ${JSON.stringify(command)}\n\n${MAIN_HELP}`);
}

main().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`gemini-webhooks-emulator: ${message}\n`);
  process.exit(2);
});
