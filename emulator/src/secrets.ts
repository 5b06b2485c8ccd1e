/** Signing secrets in Standard Webhooks form: `whsec_` + base64 of 32 random bytes. */
import { randomBytes } from "node:crypto";

export function newSigningSecret(): string {
  return "whsec_" + randomBytes(32).toString("base64");
}
