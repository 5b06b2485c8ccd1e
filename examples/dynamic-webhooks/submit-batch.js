#!/usr/bin/env node
/**
 * Creates a batch whose events go to `uris` instead of the project's webhooks, with `user_metadata`
 * echoed in every delivery: the SDKs send it as `batch.webhookConfig`. Plain JavaScript, so it runs
 * as it is:
 *
 *   GEMINI_API_KEY=... [GOOGLE_GEMINI_BASE_URL=http://127.0.0.1:8089] node submit-batch.js <webhook-uri>
 */
"use strict";

const GOOGLE_ORIGIN = "https://generativelanguage.googleapis.com";

/** An origin gets `/v1beta`; a URL that already ends in a version is used as it is (as the SDKs do). */
function apiRoot(baseUrl) {
  const trimmed = baseUrl.replace(/\/+$/, "");
  return /\/v\d+(?:(?:alpha|beta)\d*)?$/.test(new URL(trimmed).pathname) ? trimmed : `${trimmed}/v1beta`;
}

/**
 * @param {{ baseUrl?: string, apiKey: string, model?: string, uris: string[], userMetadata?: Record<string, unknown> }} options
 * @returns {Promise<string>} the batch's name, `batches/…`
 */
async function submitBatch(options) {
  const model = options.model ?? "gemini-3-flash-preview";
  const response = await fetch(`${apiRoot(options.baseUrl ?? GOOGLE_ORIGIN)}/models/${model}:batchGenerateContent`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-goog-api-key": options.apiKey },
    body: JSON.stringify({
      batch: {
        displayName: "dynamic-webhooks-example",
        inputConfig: { fileName: "files/uploaded_file_id" },
        webhookConfig: { uris: options.uris, user_metadata: options.userMetadata ?? {} },
      },
    }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || !body.name) throw new Error(`batch creation failed (${response.status}): ${body.error?.message ?? "no name returned"}`);
  return body.name;
}

module.exports = { submitBatch };

if (require.main === module) {
  const [uri] = process.argv.slice(2);
  const apiKey = process.env.GEMINI_API_KEY ?? process.env.GOOGLE_API_KEY;
  if (!uri || !apiKey) {
    console.error("usage: GEMINI_API_KEY=... [GOOGLE_GEMINI_BASE_URL=...] node submit-batch.js <webhook-uri>");
    process.exit(2);
  }
  submitBatch({ baseUrl: process.env.GOOGLE_GEMINI_BASE_URL, apiKey, uris: [uri], userMetadata: { job_group: "nightly-eval" } }).then(
    (name) => console.log(name),
    (err) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
