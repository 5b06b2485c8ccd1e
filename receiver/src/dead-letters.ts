/**
 * The dead-letter stream as an operator sees it (`gemini-webhooks-receiver dead-letters …`):
 * list, show, replay (back onto the event stream as a new entry, so its attempts start again, with
 * who replayed it and when recorded in the entry) and drop. Each replay is one atomic script: an
 * entry is never both replayed and still dead, nor replayed twice.
 */
import type Redis from "ioredis";
import type { ReceivedEvent } from "./event";
import { field, streamKeys } from "./stream-queue";

export interface DeadLetter {
  /** The dead-letter entry's id (what `show`, `replay` and `drop` take). */
  id: string;
  webhookId?: string;
  type?: string;
  /** `timeout` (past HANDLER_TIMEOUT_MS) or `error` (the handler threw). */
  reason: string;
  /** The last error's name and message. */
  error: string;
  attempts: number;
  failedAt?: string;
  /** The replica that gave up on it. */
  consumer?: string;
  event?: ReceivedEvent;
}

// KEYS: dead-letter stream, event stream. ARGV: dead-letter id, replayed by. Returns the new entry id, or false.
const REPLAY = `
local found = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #found == 0 then return false end
local fields = found[1][2]
local event
for i = 1, #fields, 2 do if fields[i] == 'event' then event = fields[i + 1] end end
if not event then return false end
local now = redis.call('TIME')
local id = redis.call('XADD', KEYS[2], '*', 'event', event, 'replayed_by', ARGV[2],
  'replayed_at', now[1] * 1000 + math.floor(now[2] / 1000), 'replay_of', ARGV[1])
redis.call('XDEL', KEYS[1], ARGV[1])
return id`;

const ENTRY_ID = /^\d{1,20}-\d{1,20}$/;

export class DeadLetterStore {
  readonly stream: string;
  readonly events: string;
  readonly trimmedKey: string;

  constructor(
    private readonly redis: Redis,
    prefix = "gemini-webhooks:",
  ) {
    const keys = streamKeys(prefix);
    this.stream = keys.deadLetter;
    this.events = keys.events;
    this.trimmedKey = keys.trimmed;
    if (!(redis as Redis & { geminiReplay?: unknown }).geminiReplay) redis.defineCommand("geminiReplay", { numberOfKeys: 2, lua: REPLAY });
  }

  /** Validates an id given on the command line, naming it when it is not a stream entry id. */
  static checkId(id: string): string {
    if (!ENTRY_ID.test(id)) throw new TypeError(`${JSON.stringify(id.slice(0, 40))} is not a dead-letter id (they look like 1764430000000-0; see \`dead-letters list\`)`);
    return id;
  }

  async count(): Promise<{ stored: number; trimmed: number }> {
    const [stored, trimmed] = await Promise.all([this.redis.xlen(this.stream), this.redis.get(this.trimmedKey)]);
    return { stored, trimmed: Number(trimmed ?? 0) };
  }

  /** The newest `limit` dead letters, newest first. */
  async list(limit = 20): Promise<DeadLetter[]> {
    const rows = (await this.redis.xrevrange(this.stream, "+", "-", "COUNT", limit)) as [string, string[]][];
    return rows.map(([id, fields]) => parse(id, fields));
  }

  async show(id: string): Promise<DeadLetter | undefined> {
    const rows = (await this.redis.xrange(this.stream, DeadLetterStore.checkId(id), id)) as [string, string[]][];
    return rows[0] ? parse(rows[0][0], rows[0][1]) : undefined;
  }

  /** Puts one dead letter back on the event stream; the new entry's id, or undefined when there is no such dead letter. */
  async replay(id: string, by: string): Promise<string | undefined> {
    const replayed = await (this.redis as Redis & { geminiReplay(a: string, b: string, id: string, by: string): Promise<string | null> }).geminiReplay(
      this.stream, this.events, DeadLetterStore.checkId(id), by,
    );
    return replayed ?? undefined;
  }

  /** Replays every dead letter, oldest first; how many. */
  async replayAll(by: string): Promise<number> {
    let count = 0;
    for (;;) {
      const rows = (await this.redis.xrange(this.stream, "-", "+", "COUNT", 100)) as [string, string[]][];
      if (rows.length === 0) return count;
      for (const [id] of rows) if (await this.replay(id, by)) count++;
    }
  }

  /** Deletes one dead letter; false when there was none with that id. */
  async drop(id: string): Promise<boolean> {
    return (await this.redis.xdel(this.stream, DeadLetterStore.checkId(id))) === 1;
  }

  /** Deletes every dead letter; how many. */
  async dropAll(): Promise<number> {
    const stored = await this.redis.xlen(this.stream);
    await this.redis.del(this.stream);
    return stored;
  }
}

function parse(id: string, fields: string[]): DeadLetter {
  const get = (name: string) => field(fields, name);
  let event: ReceivedEvent | undefined;
  try {
    event = JSON.parse(get("event") ?? "") as ReceivedEvent;
  } catch {
    event = undefined;
  }
  const failedAt = Number(get("failed_at"));
  return {
    id,
    ...(event?.webhookId ? { webhookId: event.webhookId } : {}),
    ...(event?.type ? { type: event.type } : {}),
    reason: get("reason") ?? "error",
    error: get("error") ?? "",
    attempts: Number(get("attempts") ?? 0),
    ...(failedAt > 0 ? { failedAt: new Date(failedAt).toISOString() } : {}),
    ...(get("consumer") ? { consumer: get("consumer") } : {}),
    ...(event ? { event } : {}),
  };
}
