/** Header access that treats repeated or array-valued webhook headers as malformed, never as a crash. */
import { WebhookVerificationError } from "./errors";

export type HeaderSource = Headers | Record<string, string | string[] | undefined>;

export function singleHeader(headers: HeaderSource, name: string): string {
  let value: string | string[] | null | undefined;
  if (typeof (headers as Headers).get === "function") {
    value = (headers as Headers).get(name);
  } else {
    const record = headers as Record<string, string | string[] | undefined>;
    value = record[name];
    if (value === undefined) {
      const key = Object.keys(record).find((k) => k.toLowerCase() === name);
      value = key === undefined ? undefined : record[key];
    }
  }
  // Node's `headersDistinct` gives one-element arrays; more than one element is a repeated header.
  if (Array.isArray(value)) {
    if (value.length > 1) throw new WebhookVerificationError("malformed", `${name} header given more than once`);
    value = value[0];
  }
  if (value === undefined || value === null || value === "") throw new WebhookVerificationError("malformed", `missing ${name} header`);
  if (typeof value !== "string") throw new WebhookVerificationError("malformed", `${name} header is not text`);
  return value;
}

const ID_PATTERN = /^[\x21-\x7e]{1,256}$/;

export function messageId(headers: HeaderSource): string {
  const id = singleHeader(headers, "webhook-id");
  if (!ID_PATTERN.test(id)) throw new WebhookVerificationError("malformed", "webhook-id is not 1-256 printable characters");
  return id;
}

/** Checks `webhook-timestamp` against now ± tolerance; returns it in seconds. */
export function checkedTimestamp(headers: HeaderSource, toleranceSeconds: number, nowSeconds: number): number {
  const raw = singleHeader(headers, "webhook-timestamp");
  if (!/^\d{1,12}$/.test(raw)) throw new WebhookVerificationError("malformed", "webhook-timestamp is not integer seconds");
  const timestamp = Number(raw);
  if (timestamp < nowSeconds - toleranceSeconds) throw new WebhookVerificationError("stale_timestamp", "timestamp too old");
  if (timestamp > nowSeconds + toleranceSeconds) throw new WebhookVerificationError("stale_timestamp", "timestamp in the future");
  return timestamp;
}
