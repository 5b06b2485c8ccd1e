/**
 * When failed deliveries are tried again (Google says only "24 hours, exponential backoff"; this
 * schedule is the emulator's documented choice).
 *
 * Retry n (1-based) waits 5 s x 3^(n-1), capped at 4 h, each delay jittered to 80-120 %:
 * 5 s, 15 s, 45 s, 2m15s, 6m45s, 20m15s, ~1 h, ~3 h, then every ~4 h, until 24 h after the first
 * attempt. A `Retry-After` on 429/503 moves the next attempt later, never earlier. About 12 attempts
 * fit the window; then the delivery fails for good.
 */
export const RETRY_WINDOW_MS = 24 * 60 * 60 * 1000;
const FIRST_DELAY_MS = 5_000;
const FACTOR = 3;
const MAX_DELAY_MS = 4 * 60 * 60 * 1000;
export const JITTER = 0.2;

/** The delay before retry `n` (1-based), without jitter. */
export function baseRetryDelayMs(n: number): number {
  return Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * FACTOR ** (n - 1));
}

export function retryDelayMs(n: number, random: () => number = Math.random): number {
  return Math.round(baseRetryDelayMs(n) * (1 - JITTER + 2 * JITTER * random()));
}

/**
 * Emulated time of the next attempt after `failedAttempts` failures, or null when it would fall
 * outside the 24 h window that opened at `firstAttemptAt`.
 */
export function nextAttemptAt(
  firstAttemptAt: number,
  lastAttemptAt: number,
  failedAttempts: number,
  retryAfterMs?: number,
  random?: () => number,
): number | null {
  const next = lastAttemptAt + Math.max(retryDelayMs(failedAttempts, random), retryAfterMs ?? 0);
  return next > firstAttemptAt + RETRY_WINDOW_MS ? null : next;
}
