/**
 * `gemini-webhooks-receiver dead-letters list|show|replay|drop`: the operator's view of the
 * dead-letter stream, with the server's environment (REDIS_URL, REDIS_KEY_PREFIX).
 */
import { hostname, userInfo } from "node:os";
import { parseArgs } from "node:util";
import { ConfigError, loadRedisConfig } from "./config";
import { DeadLetter, DeadLetterStore } from "../queue/dead-letters";
import { AUTH_HINT, createRedis, describeTopology, isAuthFailure } from "../queue/redis";

export const DEAD_LETTERS_HELP = `Usage: gemini-webhooks-receiver dead-letters <command>

  list [--limit N] [--json]       the newest N dead letters (20), newest first
  show <id>                       one dead letter: its event, last error, reason, attempts (JSON)
  replay <id> | --all [--by WHO]  back onto the event stream as new entries (attempts start again);
                                  who replayed and when are recorded in the new entry
  drop <id> | --all               delete

Uses the server's environment: REDIS_URL (or REDIS_SENTINELS, REDIS_CLUSTER_NODES and their
settings), REDIS_KEY_PREFIX, REDIS_STREAM_PARTITIONS.
`;

const OPTIONS = {
  list: { limit: { type: "string" }, json: { type: "boolean" } },
  show: { json: { type: "boolean" } },
  replay: { all: { type: "boolean" }, by: { type: "string" } },
  drop: { all: { type: "boolean" } },
} as const;
type Command = keyof typeof OPTIONS;

interface Args {
  positional: string[];
  flags: { limit?: string; json?: boolean; all?: boolean; by?: string };
}

/** The command's options (node:util's parser), a mistake named as a configuration error. */
function parse(command: Command, argv: string[]): Args {
  try {
    const { values, positionals } = parseArgs({ args: argv, options: OPTIONS[command], allowPositionals: true, strict: true });
    return { positional: positionals, flags: values as Args["flags"] };
  } catch (err) {
    throw new ConfigError(`dead-letters ${command}: ${(err as Error).message}`);
  }
}

/**
 * Characters a terminal acts on rather than prints: C0 and C1 controls (ESC, CSI 0x9b, BEL…), DEL,
 * and the Unicode line separators and bidirectional overrides that reorder what is shown.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const TERMINAL_CONTROLS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** Text from a delivery or a handler as the terminal will show it: every control character escaped (`\x1b`, `\u202e`). */
export function printable(text: string): string {
  return text.replace(TERMINAL_CONTROLS, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
}

/** JSON whose strings carry no character a terminal acts on (JSON.stringify leaves C1 controls and bidi overrides raw). */
function printableJson(value: unknown, indent?: number): string {
  // JSON.stringify escapes C0 controls inside strings itself; its own newlines are the indentation's.
  return JSON.stringify(value, null, indent).replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

export async function deadLettersCommand(argv: string[], out: (line: string) => void = (l) => process.stdout.write(l + "\n")): Promise<void> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h") return out(DEAD_LETTERS_HELP.trimEnd());
  if (!(command in OPTIONS)) throw new ConfigError(`unknown dead-letters command ${JSON.stringify(command)}; one of ${Object.keys(OPTIONS).join(", ")}`);
  const args = parse(command as Command, rest);

  const config = loadRedisConfig();
  const redis = createRedis(config, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null, connectTimeout: 5_000 });
  let lastError: unknown;
  redis.on("error", (err: unknown) => (lastError = err));
  try {
    await redis.connect();
  } catch (err) {
    // ioredis rejects with "Connection is closed." once it gives up; the error before it says why.
    if (isAuthFailure(err) || isAuthFailure(lastError)) throw new Error(`cannot use Redis at ${describeTopology(config.topology)}: ${AUTH_HINT}`);
    throw new Error(`cannot reach Redis at ${describeTopology(config.topology)} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    await run(new DeadLetterStore(redis, config.keyPrefix, config.partitions), command, args, out);
  } finally {
    redis.disconnect();
  }
}

function target(args: Args, command: string): string | "all" {
  if (args.flags.all) {
    if (args.positional.length) throw new ConfigError(`dead-letters ${command}: give an id or --all, not both`);
    return "all";
  }
  if (args.positional.length !== 1) throw new ConfigError(`dead-letters ${command}: give one dead-letter id (see \`dead-letters list\`) or --all`);
  return args.positional[0];
}

async function run(store: DeadLetterStore, command: string, args: Args, out: (line: string) => void): Promise<void> {
  const json = args.flags.json === true;
  if (command === "list") {
    const raw = args.flags.limit;
    const limit = raw === undefined ? 20 : Number(raw);
    if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ConfigError(`--limit must be an integer from 1 to 10000, got ${JSON.stringify(raw)}`);
    const [letters, { stored, trimmed }] = await Promise.all([store.list(limit), store.count()]);
    if (json) return out(printableJson(letters.map(({ event: _event, ...rest }) => rest)));
    out(`${stored} dead letter${stored === 1 ? "" : "s"}${trimmed ? ` (${trimmed} older ones trimmed by DEAD_LETTER_MAX)` : ""}${stored > letters.length ? `; the newest ${letters.length}:` : ""}`);
    for (const l of letters) out(row(l));
    return;
  }
  const id = target(args, command);
  if (command === "show") {
    if (id === "all") throw new ConfigError("dead-letters show takes one id");
    const letter = await store.show(id);
    if (!letter) throw new ConfigError(`no dead letter ${printable(id)}`);
    return out(printableJson(letter, 2));
  }
  if (command === "replay") {
    const by = String(args.flags.by ?? `${safeUser()}@${hostname()}`).slice(0, 200);
    if (new RegExp(TERMINAL_CONTROLS.source).test(by)) throw new ConfigError("--by must be printable text (it holds a control character)");
    if (id === "all") return out(`replayed ${await store.replayAll(by)} dead letters`);
    const entry = await store.replay(id, by);
    if (!entry) throw new ConfigError(`no dead letter ${printable(id)}`);
    return out(`replayed ${printable(id)} as event ${entry}`);
  }
  if (id === "all") return out(`dropped ${await store.dropAll()} dead letters`);
  if (!(await store.drop(id))) throw new ConfigError(`no dead letter ${printable(id)}`);
  out(`dropped ${printable(id)}`);
}

function safeUser(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? "unknown";
  }
}

function row(l: DeadLetter): string {
  const error = printable(l.error.replace(/[ \t\r\n]+/g, " ")).slice(0, 80);
  return [l.id, l.failedAt ?? "-", l.reason, `attempts=${l.attempts}`, l.type ?? "-", l.webhookId ?? "-"].map((f) => printable(String(f))).concat(error).join("  ");
}
