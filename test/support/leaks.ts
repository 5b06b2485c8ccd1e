/**
 * Collects everything a test run printed and fails when a known secret appears in plaintext.
 * Secrets are also looked for in base64 and JSON-escaped form, where a leak would hide.
 */
import assert from "node:assert/strict";

export class LeakScanner {
  readonly #secrets = new Set<string>();
  #text: string[] = [];

  constructor(initial: string[] = []) {
    initial.forEach((s) => this.addSecret(s));
  }

  addSecret(secret: string | undefined | null): void {
    if (!secret) return;
    this.#secrets.add(secret);
    // The key material of a whsec_ secret leaks just as well without its prefix.
    if (secret.startsWith("whsec_")) this.#secrets.add(secret.slice(6));
    this.#secrets.add(JSON.stringify(secret).slice(1, -1));
    this.#secrets.add(Buffer.from(secret).toString("base64"));
  }

  /** An `onOutput`-style sink. */
  readonly collect = (text: string): void => {
    this.#text.push(text);
  };

  collected(): string {
    return this.#text.join("");
  }

  /** Names every secret found (by a short fingerprint, never the secret). */
  findLeaks(haystack: string): string[] {
    return [...this.#secrets].filter((s) => s.length >= 12 && haystack.includes(s)).map((s) => `${s.slice(0, 8)}…(${s.length} chars)`);
  }

  assertClean(where: string, haystack: string): void {
    const found = this.findLeaks(haystack);
    assert.equal(found.length, 0, `${where} contains ${found.length} secret(s) in plaintext: ${found.join(", ")}`);
  }
}
