/**
 * `rotateAfter`: when a rotation is due. Pure functions of the last rotation's time, the period and
 * now — the provider decides at each preview/up whether this one rotates, so nothing drifts and a
 * no-op `up` before the due time changes nothing.
 */
const UNIT_MS = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** "90d" → ms; the declaration has already checked the spelling. */
export function durationMs(text: string): number {
  return Number(text.slice(0, -1)) * UNIT_MS[text.slice(-1) as keyof typeof UNIT_MS];
}

/** When the next rotation is due, or null without a period. */
export function dueAt(rotatedAt: string, rotateAfter: string | undefined): string | null {
  if (!rotateAfter) return null;
  return new Date(Date.parse(rotatedAt) + durationMs(rotateAfter)).toISOString();
}

/** Within 7 days of the due time, or within 10 % of the period, whichever is shorter: time to warn. */
export function dueSoon(due: string, rotateAfter: string, now = Date.now()): boolean {
  const left = Date.parse(due) - now;
  return left > 0 && left <= Math.min(7 * UNIT_MS.d, durationMs(rotateAfter) / 10);
}

/** "3d 4h", "12m", "40s": how far away a time is. */
export function humanDelay(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}
