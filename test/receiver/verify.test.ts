/**
 * The static verifier against the reference `standardwebhooks` library as an oracle: what it signs
 * we verify, and both refuse the same tampered inputs. Property-based with fast-check.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fc from "fast-check";
import { Webhook as StandardWebhook } from "standardwebhooks";
import { verifyStaticDelivery, WebhookVerificationError } from "gemini-webhooks-receiver";

const newSecret = () => "whsec_" + randomBytes(32).toString("base64");
const now = () => Math.floor(Date.now() / 1000);

function signed(secret: string, body: Buffer | string, id = "msg_" + randomBytes(6).toString("hex"), ts = now()) {
  const signature = new StandardWebhook(secret).sign(id, new Date(ts * 1000), body as string);
  return { body, headers: { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": signature } as Record<string, string> };
}

function oracleAccepts(secret: string, body: Buffer | string, headers: Record<string, string>): boolean {
  try {
    // Signature check only: our verifier judges bytes, the envelope is parsed afterwards.
    new StandardWebhook(secret).verify(body as string, headers, { jsonParse: false });
    return true;
  } catch {
    return false;
  }
}

function oursAccepts(secrets: string[], body: Buffer | string, headers: Record<string, string | string[]>): boolean {
  try {
    verifyStaticDelivery(body, headers, secrets);
    return true;
  } catch (err) {
    assert.ok(err instanceof WebhookVerificationError, `a non-verification error escaped: ${String(err)}`);
    return false;
  }
}

function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof WebhookVerificationError);
    return err.reason;
  }
  return "accepted";
}

describe("static verification", () => {
  test("what the reference library signs, we verify; the exact bytes, not re-serialised JSON", () => {
    const secret = newSecret();
    const body = '{"type":"batch.succeeded",  "data": {"id":"b"}}';
    const { headers } = signed(secret, body);
    assert.deepEqual(verifyStaticDelivery(body, headers, [secret]).webhookId, headers["webhook-id"]);
    assert.equal(oursAccepts([secret], JSON.stringify(JSON.parse(body)), headers), false, "re-serialised JSON must fail");
  });

  test("any of several secrets and any of several signatures (rotation overlap)", () => {
    const [oldSecret, newSecretValue, other] = [newSecret(), newSecret(), newSecret()];
    const body = Buffer.from('{"type":"video.generated"}');
    const a = signed(oldSecret, body);
    const b = new StandardWebhook(newSecretValue).sign(a.headers["webhook-id"], new Date(Number(a.headers["webhook-timestamp"]) * 1000), body.toString());
    const both = { ...a.headers, "webhook-signature": `${a.headers["webhook-signature"]} ${b}` };
    assert.ok(oursAccepts([newSecretValue], body, both));
    assert.ok(oursAccepts([oldSecret], body, both));
    assert.ok(oursAccepts([other, newSecretValue], body, both));
    assert.ok(!oursAccepts([other], body, both));
  });

  test("header names in any case; array-valued and repeated headers are malformed, not exceptions", () => {
    const secret = newSecret();
    const { body, headers } = signed(secret, "{}");
    const upper = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toUpperCase(), v]));
    assert.ok(oursAccepts([secret], body, upper));
    assert.ok(oursAccepts([secret], body, new Headers(headers) as unknown as Record<string, string>));
    assert.equal(reasonOf(() => verifyStaticDelivery(body, { ...headers, "webhook-id": [headers["webhook-id"], "x"] }, [secret])), "malformed");
    assert.equal(reasonOf(() => verifyStaticDelivery(body, { ...headers, "webhook-signature": [headers["webhook-signature"]] }, [secret])), "accepted");
    assert.equal(reasonOf(() => verifyStaticDelivery(body, { "webhook-id": headers["webhook-id"] }, [secret])), "malformed");
  });

  test("timestamps outside the tolerance either way are refused; the tolerance is configurable", () => {
    const secret = newSecret();
    const old = signed(secret, "{}", "msg_old", now() - 301);
    const future = signed(secret, "{}", "msg_future", now() + 301);
    assert.equal(reasonOf(() => verifyStaticDelivery(old.body, old.headers, [secret])), "stale_timestamp");
    assert.equal(reasonOf(() => verifyStaticDelivery(future.body, future.headers, [secret])), "stale_timestamp");
    assert.equal(reasonOf(() => verifyStaticDelivery(old.body, old.headers, [secret], { toleranceSeconds: 600 })), "accepted");
    assert.equal(reasonOf(() => verifyStaticDelivery(old.body, { ...old.headers, "webhook-timestamp": "12e3" }, [secret])), "malformed");
  });

  test("bodies with invalid UTF-8 verify byte for byte, like the reference", () => {
    const secret = newSecret();
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x22, 0xc3, 0x28, 0x7d]);
    const id = "msg_bin";
    const ts = now();
    const { createHmac } = require("node:crypto") as typeof import("node:crypto");
    const key = Buffer.from(secret.slice(6), "base64");
    const sig = "v1," + createHmac("sha256", key).update(`${id}.${ts}.`).update(body).digest("base64");
    const headers = { "webhook-id": id, "webhook-timestamp": String(ts), "webhook-signature": sig };
    assert.ok(oursAccepts([secret], body, headers));
    const flipped = Buffer.from(body);
    flipped[1] = 0xfd;
    assert.ok(!oursAccepts([secret], flipped, headers));
  });

  test("property: for random bodies, ids and tampering, we accept exactly when the reference accepts", () => {
    const secret = newSecret();
    fc.assert(
      fc.property(
        fc.string({ maxLength: 400 }),
        fc.stringMatching(/^[a-zA-Z0-9_]{1,40}$/),
        fc.constantFrom("none", "body", "id", "timestamp", "signature", "secret", "truncate", "extra-sig", "scheme"),
        fc.integer({ min: -200, max: 200 }),
        (body, id, tamper, skew) => {
          const base = signed(secret, body, id, now() + skew);
          let headers = { ...base.headers };
          let checkBody = body;
          let secrets = [secret];
          switch (tamper) {
            case "body":
              checkBody = body + " ";
              break;
            case "id":
              headers["webhook-id"] = id + "x";
              break;
            case "timestamp":
              headers["webhook-timestamp"] = String(Number(headers["webhook-timestamp"]) + 1);
              break;
            case "signature": {
              const raw = Buffer.from(headers["webhook-signature"].slice(3), "base64");
              raw[0] ^= 1;
              headers["webhook-signature"] = "v1," + raw.toString("base64");
              break;
            }
            case "secret":
              secrets = [newSecret()];
              break;
            case "truncate":
              headers["webhook-signature"] = headers["webhook-signature"].slice(0, -4);
              break;
            case "extra-sig":
              headers = { ...headers, "webhook-signature": `v1,${randomBytes(32).toString("base64")} ${headers["webhook-signature"]}` };
              break;
            case "scheme":
              headers["webhook-signature"] = headers["webhook-signature"].replace(/^v1,/, "v2,");
              break;
          }
          const oracle = secrets[0] === secret ? oracleAccepts(secret, checkBody, headers) : false;
          assert.equal(oursAccepts(secrets, checkBody, headers), oracle, `tamper=${tamper}`);
          assert.equal(oracle, tamper === "none" || tamper === "extra-sig");
        },
      ),
      { numRuns: 400 },
    );
  });

  test("property: arbitrary header values never throw anything but a verification error", () => {
    const secret = newSecret();
    fc.assert(
      fc.property(
        fc.dictionary(fc.constantFrom("webhook-id", "webhook-timestamp", "webhook-signature", "Webhook-Id"), fc.oneof(fc.string(), fc.array(fc.string(), { maxLength: 3 }))),
        fc.uint8Array({ maxLength: 200 }),
        (headers, body) => {
          assert.equal(oursAccepts([secret], Buffer.from(body), headers), false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
