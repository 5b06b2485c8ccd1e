/**
 * Refused deliveries in the log, at `warn`, with what an on-call engineer needs — reason, webhook-id,
 * kind, source address — and rate-limited per reason *and source*: the first refusal of a reason
 * from a source (an IPv4 address, an IPv6 /64) in a window is logged at once, the rest of that
 * window become one line with their count and a few of their webhook-ids. One noisy source (a
 * flood of forgeries) is then a few lines, and cannot keep another source's refusals (a real
 * sender with a stale secret after a rotation) out of the log. Bounded: past `maxSources` open
 * windows, new sources share one overflow window per reason (counted, sampled, said so).
 */
import { isIPv6 } from "node:net";
import type { FastifyBaseLogger } from "fastify";

export interface Refusal {
  reason: string;
  kind: "static" | "dynamic";
  status: number;
  webhookId?: string;
  remote?: string;
  detail?: string;
}

interface Window {
  reason: string;
  count: number;
  sample: string[];
  remotes: Set<string>;
  timer: NodeJS.Timeout;
}

/** The source a refusal is rate-limited under: the address, or an IPv6 address's /64 (one host's share). */
export function sourceOf(remote: string | undefined): string {
  if (!remote) return "unknown";
  const address = remote.startsWith("::ffff:") && !remote.slice(7).includes(":") ? remote.slice(7) : remote;
  if (!isIPv6(address)) return address;
  const groups = expandIPv6(address);
  return groups ? `${groups.slice(0, 4).join(":")}::/64` : address;
}

function expandIPv6(address: string): string[] | undefined {
  const [head, tail = ""] = address.split("::");
  const left = head ? head.split(":") : [];
  const right = address.includes("::") && tail ? tail.split(":") : [];
  if (right.some((g) => g.includes(".")) || left.some((g) => g.includes("."))) return undefined; // an embedded IPv4 form: kept whole
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (!address.includes("::") && missing !== 0)) return undefined;
  return [...left, ...Array(missing).fill("0"), ...right].map((g) => g.toLowerCase().replace(/^0+(?=.)/, ""));
}

export class RefusalLog {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly windowMs = 10_000,
    /** Open windows (reason × source) at most; beyond, new sources share one window per reason. */
    private readonly maxSources = 1_000,
  ) {}

  refused(refusal: Refusal): void {
    let key = `${refusal.reason}|${sourceOf(refusal.remote)}`;
    if (!this.#windows.has(key) && this.#windows.size >= this.maxSources) key = `${refusal.reason}|*`;
    const open = this.#windows.get(key);
    if (open) {
      open.count++;
      if (refusal.webhookId && open.sample.length < 5) open.sample.push(refusal.webhookId);
      if (refusal.remote && open.remotes.size < 5) open.remotes.add(refusal.remote);
      return;
    }
    const overflow = key.endsWith("|*");
    this.log.warn(
      { reason: refusal.reason, kind: refusal.kind, status: refusal.status, webhook_id: refusal.webhookId, remote: refusal.remote, detail: refusal.detail, ...(overflow ? { sources_over_limit: true } : {}) },
      overflow ? `delivery refused (over ${this.maxSources} sources refused in this window: further sources are counted together)` : "delivery refused",
    );
    const timer = setTimeout(() => this.#flush(key), this.windowMs);
    timer.unref();
    this.#windows.set(key, { reason: refusal.reason, count: 0, sample: [], remotes: new Set(), timer });
  }

  #flush(key: string): void {
    const window = this.#windows.get(key);
    this.#windows.delete(key);
    if (!window || window.count === 0) return;
    const { reason } = window;
    this.log.warn(
      { reason, count: window.count, webhook_ids: window.sample, remotes: [...window.remotes], window_seconds: this.windowMs / 1000 },
      `${window.count} more deliveries refused (${reason}) in the last ${this.windowMs / 1000} s`,
    );
  }

  /** Logs what the open windows hold (at shutdown). */
  close(): void {
    for (const [key, window] of [...this.#windows]) {
      clearTimeout(window.timer);
      this.#flush(key);
    }
  }
}
