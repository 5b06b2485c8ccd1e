/**
 * The Redis key layout: events spread over REDIS_STREAM_PARTITIONS streams, every key of one
 * partition (its stream, its dedup keys, its dead letters) under one hash tag, so each script runs on
 * one Cluster slot. Partition i's tag is chosen so its slot lies in the i-th of N equal slot ranges: a
 * cluster whose slots are split evenly over N masters (as `redis-cli --cluster create` splits them)
 * gets one partition per master. A delivery's partition follows its first dedup key (its webhook id,
 * or a dynamic token's signature when the token does not bind the webhook id), so a retry, or a
 * replayed token under fresh headers, meets the dedup key of its first delivery.
 *
 * Dedup keys: on one server or Sentinel (no slots to share), `<prefix>seen:<key>` whatever the
 * partition count — the layout of 0.3 — so changing REDIS_STREAM_PARTITIONS, a fleet of mixed
 * counts during a rolling change, or the upgrade from 0.3 forgets no dedup key. On a Cluster a
 * script's keys must share a slot, so they live under their partition's tag; the counts in use are
 * registered (`<prefix>{layout}:partition-counts`) and an accept also looks under every other count
 * registered within the dedup horizon (stream-queue.ts).
 */

const SLOTS = 16384;

/** CRC16-CCITT (XMODEM), the hash Redis Cluster maps keys to slots with. */
function crc16(text: string): number {
  let crc = 0;
  for (const byte of Buffer.from(text)) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The Cluster slot of a key, hash tags included (`CLUSTER KEYSLOT`). */
export function keySlot(key: string): number {
  const open = key.indexOf("{");
  if (open !== -1) {
    const close = key.indexOf("}", open + 1);
    if (close > open + 1) return crc16(key.slice(open + 1, close)) % SLOTS;
  }
  return crc16(key) % SLOTS;
}

/** Partition `index` of `count`'s hash tag: `p<index>`, or `p<index>.<k>` for the first k whose slot is in its range. */
export function partitionTag(index: number, count: number): string {
  const low = Math.floor((index * SLOTS) / count);
  const high = Math.floor(((index + 1) * SLOTS) / count);
  for (let k = 0; ; k++) {
    const tag = k === 0 ? `p${index}` : `p${index}.${k}`;
    const slot = crc16(tag) % SLOTS;
    if (slot >= low && slot < high) return tag;
  }
}

/** The keys of one partition: the one place they are named. */
export interface PartitionKeys {
  index: number;
  events: string;
  deadLetter: string;
  /** How many dead letters the bound trimmed, over every replica. */
  trimmed: string;
  seen: (dedupKey: string) => string;
}

/**
 * The keys of `count` partitions under `prefix`. `cluster`: the dedup keys under the partition's tag
 * (a Cluster's scripts need one slot); otherwise one dedup key space for every partition count.
 */
export function partitionKeys(prefix: string, count: number, cluster = false): PartitionKeys[] {
  const shared = (id: string) => `${prefix}seen:${id}`;
  return Array.from({ length: count }, (_, index) => {
    const base = `${prefix}{${partitionTag(index, count)}}:`;
    const seen = cluster ? (id: string) => `${base}seen:${id}` : shared;
    return { index, events: `${base}events`, deadLetter: `${base}dead-letter`, trimmed: `${base}dead-letter:trimmed`, seen };
  });
}

/** Where a Cluster's receivers register the partition counts in use (field: count, value: last seen, ms). */
export function layoutKey(prefix: string): string {
  return `${prefix}{layout}:partition-counts`;
}

/** The partition a delivery goes to, from its first dedup key (the same for every retry of it). */
export function partitionOf(anchor: string, count: number): number {
  return count === 1 ? 0 : crc16(anchor) % count;
}

/**
 * The keys of releases up to 0.3 (one stream, no hash tag) under `prefix`: a replica finishes what
 * they hold (partition index -1) but never appends to them.
 */
export function legacyKeys(prefix: string): PartitionKeys {
  return { index: -1, events: `${prefix}events`, deadLetter: `${prefix}dead-letter`, trimmed: `${prefix}dead-letter:trimmed`, seen: (id: string) => `${prefix}seen:${id}` };
}
