/** The `truncated_secret` format, shared by the emulator (which makes it) and the provider (which matches it). */

/**
 * The `whsec_` prefix and 4 characters (24 bits): enough to tell secrets apart, far too little
 * to verify or forge with.
 */
export function truncateSecret(secret: string): string {
  return secret.slice(0, "whsec_".length + 4) + "...";
}

/** True when `truncated` (as the API returns it) identifies `secret`. */
export function truncatedMatches(truncated: string, secret: string): boolean {
  const prefix = truncated.replace(/(\.\.\.|\u2026|\*+)$/, "");
  return prefix.length > 0 && secret.startsWith(prefix);
}
