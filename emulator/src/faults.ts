/**
 * Fault injection, off by default and set per route: a share of requests answered 429 (with
 * Retry-After) or 503 before anything happens, dropped after the request was processed (the
 * ambiguous-outcome case), or slowed down.
 */
import { z } from "zod";

export const ROUTE_NAMES = ["create", "get", "list", "update", "delete", "ping", "rotateSigningSecret"] as const;
export type RouteName = (typeof ROUTE_NAMES)[number];

const rate = z.number().min(0).max(1);
export const FaultRuleSchema = z.strictObject({
  rate429: rate.default(0),
  rate503: rate.default(0),
  /** Share of requests whose connection is closed after the emulator acted, before any answer. */
  rateDropAfter: rate.default(0),
  latencyMs: z.number().int().min(0).max(60_000).default(0),
  /** Seconds sent in `Retry-After` with a 429/503. */
  retryAfterSeconds: z.number().int().min(0).max(3600).default(1),
});
export type FaultRule = z.infer<typeof FaultRuleSchema>;

/** `{ "*": rule }` applies to every route without its own rule. */
export const FaultConfigSchema = z.partialRecord(z.enum([...ROUTE_NAMES, "*"]), FaultRuleSchema);
export type FaultConfig = z.infer<typeof FaultConfigSchema>;
export type FaultConfigInput = z.input<typeof FaultConfigSchema>;

export type FaultDecision = { kind: "none" } | { kind: "status"; status: 429 | 503; retryAfterSeconds: number } | { kind: "drop" };

export class FaultInjector {
  #config: FaultConfig = {};
  /** Counts of injected faults, for tests and reports. */
  readonly injected = { status429: 0, status503: 0, dropped: 0 };

  constructor(config?: FaultConfigInput, readonly random: () => number = Math.random) {
    if (config) this.configure(config);
  }

  configure(config: FaultConfigInput): void {
    this.#config = FaultConfigSchema.parse(config);
  }

  ruleFor(route: RouteName): FaultRule | undefined {
    return this.#config[route] ?? this.#config["*"];
  }

  decide(route: RouteName): FaultDecision {
    const rule = this.ruleFor(route);
    if (!rule) return { kind: "none" };
    const roll = this.random();
    if (roll < rule.rate429) {
      this.injected.status429++;
      return { kind: "status", status: 429, retryAfterSeconds: rule.retryAfterSeconds };
    }
    if (roll < rule.rate429 + rule.rate503) {
      this.injected.status503++;
      return { kind: "status", status: 503, retryAfterSeconds: rule.retryAfterSeconds };
    }
    if (roll < rule.rate429 + rule.rate503 + rule.rateDropAfter) {
      this.injected.dropped++;
      return { kind: "drop" };
    }
    return { kind: "none" };
  }
}
