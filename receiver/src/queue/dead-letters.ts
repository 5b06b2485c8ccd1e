/**
 * The dead-letter stream as an operator sees it (`gemini-webhooks-receiver dead-letters …`):
 * list, show, replay (back onto the event stream as a new entry, so its attempts start again, with
 * who replayed it and when recorded in the entry) and drop. Each replay is one atomic script: an
 * entry is never both replayed and still dead, nor replayed twice.
 */
import { decodeEvent, ReceivedEvent } from "../handle/event";
import { PartitionKeys, partitionKeys } from "./partitions";
import type { RedisClient } from "./redis";
import { field } from "./stream-queue";

export interface DeadLetter {
  /** The dead letter's id (what `show`, `replay` and `drop` take): the entry id, `p<partition>/` before it with several partitions. */
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

const ID = /^(?:p(\d{1,3})\/)?(\d{1,20}-\d{1,20})$/;

type Replaying = RedisClient & { geminiReplay(dlq: string, events: string, id: string, by: string): Promise<string | null> };

export class DeadLetterStore {
  readonly partitions: readonly PartitionKeys[];

  constructor(
    private readonly redis: RedisClient,
    prefix = "gemini-webhooks:",
    partitions = 1,
  ) {
    this.partitions = partitionKeys(prefix, partitions);
    if (!(redis as { geminiReplay?: unknown }).geminiReplay) redis.defineCommand("geminiReplay", { numberOfKeys: 2, lua: REPLAY });
  }

  /** The id an operator sees for an entry of a partition's dead-letter stream. */
  #idOf(partition: PartitionKeys, entry: string): string {
    return this.partitions.length === 1 ? entry : `p${partition.index}/${entry}`;
  }

  /** Reads an id given on the command line: its partition and entry, named when it is not one. */
  locate(id: string): { partition: PartitionKeys; entry: string } {
    const match = ID.exec(id);
    const several = this.partitions.length > 1;
    const partition = match && (several ? (match[1] === undefined ? undefined : this.partitions[Number(match[1])]) : match[1] === undefined ? this.partitions[0] : undefined);
    if (!match || !partition) {
      const shape = several ? "p0/1764430000000-0" : "1764430000000-0";
      throw new TypeError(`${JSON.stringify(id.slice(0, 40))} is not a dead-letter id (they look like ${shape}; see \`dead-letters list\`)`);
    }
    return { partition, entry: match[2] };
  }

  async count(): Promise<{ stored: number; trimmed: number }> {
    const counts = await Promise.all(this.partitions.map(async (p) => [await this.redis.xlen(p.deadLetter), Number((await this.redis.get(p.trimmed)) ?? 0)]));
    return counts.reduce((sum, [stored, trimmed]) => ({ stored: sum.stored + stored, trimmed: sum.trimmed + trimmed }), { stored: 0, trimmed: 0 });
  }

  /** The newest `limit` dead letters over every partition, newest first. */
  async list(limit = 20): Promise<DeadLetter[]> {
    const perPartition = await Promise.all(
      this.partitions.map(async (p) => {
        const rows = (await this.redis.xrevrange(p.deadLetter, "+", "-", "COUNT", limit)) as [string, string[]][];
        return rows.map(([entry, fields]) => ({ at: entryTime(entry), letter: parse(this.#idOf(p, entry), fields) }));
      }),
    );
    return perPartition.flat().sort((a, b) => b.at - a.at).slice(0, limit).map((row) => row.letter);
  }

  async show(id: string): Promise<DeadLetter | undefined> {
    const { partition, entry } = this.locate(id);
    const rows = (await this.redis.xrange(partition.deadLetter, entry, entry)) as [string, string[]][];
    return rows[0] ? parse(id, rows[0][1]) : undefined;
  }

  /** Puts one dead letter back on its partition's event stream; the new entry's id, or undefined when there is no such dead letter. */
  async replay(id: string, by: string): Promise<string | undefined> {
    const { partition, entry } = this.locate(id);
    const replayed = await (this.redis as Replaying).geminiReplay(partition.deadLetter, partition.events, entry, by);
    return replayed ?? undefined;
  }

  /**
   * Replays every dead letter there is now, oldest first in each partition; how many. Entries that
   * arrive meanwhile (a replayed event failing again) are left for the next replay: no loop.
   */
  async replayAll(by: string): Promise<number> {
    let count = 0;
    for (const partition of this.partitions) {
      const [newest] = (await this.redis.xrevrange(partition.deadLetter, "+", "-", "COUNT", 1)) as [string, string[]][];
      if (!newest) continue;
      for (;;) {
        const rows = (await this.redis.xrange(partition.deadLetter, "-", newest[0], "COUNT", 100)) as [string, string[]][];
        if (rows.length === 0) break;
        for (const [entry] of rows) if (await this.replay(this.#idOf(partition, entry), by)) count++;
      }
    }
    return count;
  }

  /** Deletes one dead letter; false when there was none with that id. */
  async drop(id: string): Promise<boolean> {
    const { partition, entry } = this.locate(id);
    return (await this.redis.xdel(partition.deadLetter, entry)) === 1;
  }

  /** Deletes every dead letter; how many. */
  async dropAll(): Promise<number> {
    let stored = 0;
    for (const partition of this.partitions) {
      stored += await this.redis.xlen(partition.deadLetter);
      await this.redis.del(partition.deadLetter);
    }
    return stored;
  }
}

/** The milliseconds part of a stream entry id. */
function entryTime(entry: string): number {
  return Number(entry.split("-")[0]);
}

function parse(id: string, fields: string[]): DeadLetter {
  const get = (name: string) => field(fields, name);
  let event: ReceivedEvent | undefined;
  try {
    event = decodeEvent(get("event") ?? "");
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
