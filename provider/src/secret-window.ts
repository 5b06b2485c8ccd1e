/**
 * Which secrets a receiver must accept at a moment: the newest, plus the one it replaced while the
 * rotation's grace window lasts. Shared by `currentSigningSecrets` (programs) and the plugin's
 * `getCurrentSigningSecrets` function.
 */
export interface SecretWindow {
  /** The webhook's creation secret (absent after `pulumi import`). */
  original?: string | null;
  /** The current rotation's secret, if there is one. */
  newest?: string | null;
  /** End of that rotation's grace window; null with immediate revocation. */
  previousSecretsExpireAt?: string | null;
  now: number;
}

export function secretsToAccept({ original, newest, previousSecretsExpireAt, now }: SecretWindow): string[] {
  if (!newest) return original ? [original] : [];
  const inGrace = typeof previousSecretsExpireAt === "string" && Date.parse(previousSecretsExpireAt) > now;
  return inGrace && original && original !== newest ? [newest, original] : [newest];
}
