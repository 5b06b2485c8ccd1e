/** Why a delivery was refused: typed errors with a stable reason code, never holding a secret. */

export type VerificationReason =
  | "malformed" // missing, repeated or unparsable headers; not JSON
  | "stale_timestamp" // webhook-timestamp outside the tolerance, either way
  | "invalid_signature" // no signature matches any configured secret
  | "unauthorized_jwt" // dynamic token: bad signature, alg, kid, iss, aud, iat, exp or body hash
  | "jwks_unavailable" // the JWKS could not be fetched: answered 503, so the sender retries
  | "too_large"; // the body is over the cap (the portable entry reads it capped)

export class WebhookVerificationError extends Error {
  override readonly name = "WebhookVerificationError";
  readonly code = "ERR_WEBHOOK_VERIFICATION";

  constructor(
    readonly reason: VerificationReason,
    /** A short, safe detail for logs and the 401 body (never a secret, token or body). */
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}
