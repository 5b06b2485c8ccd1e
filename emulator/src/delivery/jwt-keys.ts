/**
 * RS256 keys that sign dynamic-webhook deliveries, kept in the emulator's SQLite database so a
 * restart keeps them. A rotation retires the active key; a retired key stays in the JWKS for a
 * grace period so tokens it signed still verify.
 */
import { createPrivateKey, generateKeyPairSync, JsonWebKey, KeyObject } from "node:crypto";
import { allRows, type Database } from "../database";
import { calculateJwkThumbprint, SignJWT } from "jose";
import type { Clock } from "../clock";

export const JWT_LIFETIME_SECONDS = 300;


interface KeyRow {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  create_time: number;
  retire_time: number | null;
}

export class JwtKeys {
  #active?: { kid: string; key: KeyObject };

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    /** How long a retired key stays published (emulated ms). */
    readonly graceMs = 24 * 60 * 60 * 1000,
  ) {
  }

  async #activeKey(): Promise<{ kid: string; key: KeyObject }> {
    if (this.#active) return this.#active;
    let row = this.db.prepare(`SELECT * FROM signing_keys WHERE retire_time IS NULL ORDER BY create_time DESC LIMIT 1`).get() as unknown as KeyRow | undefined;
    if (!row) row = await this.#generate();
    this.#active = { kid: row.kid, key: createPrivateKey({ key: JSON.parse(row.private_jwk) as JsonWebKey, format: "jwk" }) };
    return this.#active;
  }

  async #generate(): Promise<KeyRow> {
    const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const publicJwk = publicKey.export({ format: "jwk" });
    const kid = await calculateJwkThumbprint(publicJwk as Parameters<typeof calculateJwkThumbprint>[0]);
    const row: KeyRow = {
      kid,
      private_jwk: JSON.stringify(privateKey.export({ format: "jwk" })),
      public_jwk: JSON.stringify({ ...publicJwk, kid, alg: "RS256", use: "sig" }),
      create_time: this.clock.now(),
      retire_time: null,
    };
    this.db.prepare(`INSERT INTO signing_keys VALUES (@kid, @private_jwk, @public_jwk, @create_time, @retire_time)`).run({ ...row });
    return row;
  }

  /** Retires the active key and makes a new one; returns the new `kid`. */
  async rotate(): Promise<string> {
    await this.#activeKey();
    this.db.prepare(`UPDATE signing_keys SET retire_time = ? WHERE retire_time IS NULL`).run(this.clock.now());
    this.#active = undefined;
    return (await this.#activeKey()).kid;
  }

  /** The published key set: the active key and retired keys within their grace. */
  async jwks(): Promise<{ keys: Record<string, unknown>[] }> {
    await this.#activeKey();
    const rows = allRows<{ public_jwk: string }>(
      this.db.prepare(`SELECT public_jwk FROM signing_keys WHERE retire_time IS NULL OR retire_time > ? ORDER BY create_time DESC`),
      this.clock.now() - this.graceMs,
    );
    return { keys: rows.map((r) => JSON.parse(r.public_jwk) as Record<string, unknown>) };
  }

  /** A token binding one delivery attempt: audience, message id and body hash. */
  async sign(claims: { iss: string; aud: string; webhook_id: string; body_sha256: string }, nowSeconds: number): Promise<string> {
    const { kid, key } = await this.#activeKey();
    return new SignJWT({ webhook_id: claims.webhook_id, body_sha256: claims.body_sha256 })
      .setProtectedHeader({ alg: "RS256", kid, typ: "JWT" })
      .setIssuer(claims.iss)
      .setAudience(claims.aud)
      .setIssuedAt(nowSeconds)
      .setExpirationTime(nowSeconds + JWT_LIFETIME_SECONDS)
      .sign(key);
  }
}
