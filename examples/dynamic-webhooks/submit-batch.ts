/**
 * Creates a batch whose events go to `uris` instead of the project's webhooks, with `user_metadata`
 * echoed in every delivery: the SDKs send it as `batch.webhookConfig`.
 *
 *   GEMINI_API_KEY=... node submit-batch.js http://127.0.0.1:8081/webhooks/gemini/dynamic
 */
export interface SubmitBatchOptions {
  /** API root, e.g. https://generativelanguage.googleapis.com/v1beta or the emulator's. */
  apiUrl: string;
  apiKey: string;
  model?: string;
  uris: string[];
  userMetadata?: Record<string, unknown>;
}

export async function submitBatch(options: SubmitBatchOptions): Promise<string> {
  const response = await fetch(`${options.apiUrl}/models/${options.model ?? "gemini-3-flash-preview"}:batchGenerateContent`, {
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
  const body = (await response.json()) as { name?: string; error?: { message: string } };
  if (!response.ok || !body.name) throw new Error(`batch creation failed (${response.status}): ${body.error?.message ?? "no name returned"}`);
  return body.name;
}

if (require.main === module) {
  const [uri] = process.argv.slice(2);
  const apiKey = process.env.GEMINI_API_KEY;
  if (!uri || !apiKey) {
    console.error("usage: GEMINI_API_KEY=... [GEMINI_BASE_URL=...] node submit-batch.js <webhook-uri>");
    process.exit(2);
  }
  submitBatch({ apiUrl: process.env.GEMINI_BASE_URL ?? "https://generativelanguage.googleapis.com/v1beta", apiKey, uris: [uri], userMetadata: { job_group: "nightly-eval" } }).then(
    (name) => console.log(name),
    (err: Error) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
