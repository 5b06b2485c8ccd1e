/**
 * Typed client of the Gemini WebhookService REST API, on undici (one keep-alive pool per origin).
 *
 * Retries 408/429/5xx and connection errors with full-jitter backoff, honouring `Retry-After`.
 * A create whose outcome is unknown is never blindly retried: the client first looks for the
 * webhook it may have created, so a retry never leaves a duplicate.
 */
import { Pool } from "undici";
import type { z } from "zod";
import { API_KEY_HELP, GeminiApiError } from "./errors";
import { backoffDelayMs, DEFAULT_RETRY_POLICY, parseRetryAfterMs, RetryPolicy, sleep } from "./retry";
import {
  API_REVISION,
  CreateWebhookRequest,
  apiRoot,
  DEFAULT_API_VERSION,
  DEFAULT_BASE_URL,
  EmptyResponseSchema,
  GoogleErrorBodySchema,
  ListWebhooksResponse,
  ListWebhooksResponseSchema,
  RevocationBehavior,
  RotateSigningSecretResponse,
  RotateSigningSecretResponseSchema,
  UPDATABLE_FIELDS,
  UpdateWebhookRequest,
  Webhook,
  WebhookSchema,
} from "./schema";

export interface WebhooksClientOptions {
  /**
   * The service's origin, as the SDKs take it (default `https://generativelanguage.googleapis.com`);
   * a URL that already ends in a version (`…/v1beta`) is used as the API root.
   */
  baseUrl?: string;
  /** Appended to an origin `baseUrl` (default `v1beta`, as the API reference documents). */
  apiVersion?: string;
  /**
   * Called when the service rejects the key (`API_KEY_INVALID`): a different key returned here is
   * used from then on and the call is retried once. For keys rotated since they were configured.
   */
  replacementApiKey?: () => string | undefined;
  apiKey?: string;
  connectTimeoutMs?: number;
  headersTimeoutMs?: number;
  bodyTimeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Called once per HTTP attempt (for metrics and tests); never receives the key. */
  onAttempt?: (info: { method: string; path: string; attempt: number }) => void;
}

interface RequestSpec {
  method: "GET" | "POST" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
}

interface RawResponse {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

const pools = new Map<string, Pool>();

/** One keep-alive pool per origin and process, shared by every client. */
function poolFor(origin: string, connectTimeoutMs: number): Pool {
  let pool = pools.get(origin);
  if (!pool) {
    pool = new Pool(origin, { connections: 16, connect: { timeout: connectTimeoutMs }, keepAliveTimeout: 10_000 });
    pools.set(origin, pool);
  }
  return pool;
}

/** Closes every pool (tests and CLIs call this before exit). */
export async function closeAllPools(): Promise<void> {
  const all = [...pools.values()];
  pools.clear();
  await Promise.all(all.map((p) => p.close().catch(() => undefined)));
}

export class WebhooksClient {
  readonly baseUrl: string;
  #apiKey: string | undefined;
  readonly #replacementApiKey?: () => string | undefined;
  readonly #origin: string;
  readonly #basePath: string;
  readonly #retry: RetryPolicy;
  readonly #connectTimeoutMs: number;
  readonly #headersTimeoutMs: number;
  readonly #bodyTimeoutMs: number;
  readonly #onAttempt?: WebhooksClientOptions["onAttempt"];

  constructor(options: WebhooksClientOptions = {}) {
    const url = new URL((options.baseUrl ?? DEFAULT_BASE_URL).trim());
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new TypeError(`baseUrl must be an http(s) URL, got protocol ${url.protocol}`);
    }
    this.baseUrl = apiRoot(url.href, options.apiVersion ?? DEFAULT_API_VERSION);
    this.#origin = url.origin;
    this.#basePath = new URL(this.baseUrl).pathname.replace(/\/+$/, "");
    this.#apiKey = options.apiKey;
    this.#replacementApiKey = options.replacementApiKey;
    this.#retry = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.#connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    this.#headersTimeoutMs = options.headersTimeoutMs ?? 30_000;
    this.#bodyTimeoutMs = options.bodyTimeoutMs ?? 30_000;
    this.#onAttempt = options.onAttempt;
  }

  /** Creates a webhook; the response holds `new_signing_secret`, which the API never returns again. */
  async create(request: CreateWebhookRequest): Promise<Webhook> {
    const startedAt = Date.now();
    const spec: RequestSpec = { method: "POST", path: "/webhooks", body: request };
    return this.#call(spec, WebhookSchema, {
      // The first attempt may have created the webhook: find it before sending the create again.
      beforeRetry: async () => {
        const created = await this.findCreatedSince(request, startedAt);
        return created ? this.#recoverSecret(created) : undefined;
      },
    });
  }

  async get(id: string): Promise<Webhook> {
    return this.#call({ method: "GET", path: `/webhooks/${encodeId(id)}` }, WebhookSchema);
  }

  /** One page of webhooks. */
  async list(options: { pageSize?: number; pageToken?: string } = {}): Promise<ListWebhooksResponse> {
    return this.#call(
      { method: "GET", path: "/webhooks", query: { page_size: options.pageSize, page_token: options.pageToken } },
      ListWebhooksResponseSchema,
    );
  }

  /** Every webhook, following `next_page_token` until the last page. */
  async *listAll(options: { pageSize?: number } = {}): AsyncGenerator<Webhook> {
    let pageToken: string | undefined;
    do {
      const page = await this.list({ pageSize: options.pageSize ?? 1000, pageToken });
      for (const webhook of page.webhooks ?? []) yield webhook;
      pageToken = page.next_page_token || undefined;
    } while (pageToken);
  }

  /** PATCH with `update_mask` naming exactly the fields present in `update`. */
  async update(id: string, update: UpdateWebhookRequest): Promise<Webhook> {
    const mask = UPDATABLE_FIELDS.filter((field) => update[field] !== undefined);
    if (mask.length === 0) throw new TypeError("update() needs at least one of: " + UPDATABLE_FIELDS.join(", "));
    return this.#call(
      { method: "PATCH", path: `/webhooks/${encodeId(id)}`, query: { update_mask: mask.join(",") }, body: update },
      WebhookSchema,
    );
  }

  async delete(id: string): Promise<void> {
    await this.#call({ method: "DELETE", path: `/webhooks/${encodeId(id)}` }, EmptyResponseSchema);
  }

  async ping(id: string): Promise<void> {
    await this.#call({ method: "POST", path: `/webhooks/${encodeId(id)}:ping`, body: {} }, EmptyResponseSchema);
  }

  /**
   * A rotation whose answer was lost is retried: nobody holds the secret it minted, so rotating
   * again loses nothing (with the 24 h grace the lost one simply expires; immediately, it is revoked).
   */
  async rotateSigningSecret(id: string, revocationBehavior?: RevocationBehavior): Promise<RotateSigningSecretResponse> {
    const body = revocationBehavior ? { revocation_behavior: revocationBehavior } : {};
    return this.#call({ method: "POST", path: `/webhooks/${encodeId(id)}:rotateSigningSecret`, body }, RotateSigningSecretResponseSchema);
  }

  /**
   * A webhook with this create request's name and uri created at or after `since` (by `create_time`
   * when the server reports it), or undefined. Used to make creates idempotent.
   */
  async findCreatedSince(request: CreateWebhookRequest, since: number): Promise<Webhook | undefined> {
    const skewMs = 60_000;
    for await (const webhook of this.listAll()) {
      if (webhook.uri !== request.uri || (webhook.name ?? "") !== (request.name ?? "")) continue;
      const created = webhook.create_time ? Date.parse(webhook.create_time) : NaN;
      if (Number.isNaN(created) || created >= since - skewMs) return webhook;
    }
    return undefined;
  }

  /** A webhook we created whose create response was lost: nobody holds its secret, so mint one now. */
  async #recoverSecret(webhook: Webhook): Promise<Webhook> {
    const { secret } = await this.rotateSigningSecret(webhook.id, "revoke_previous_secrets_immediately");
    const fresh = await this.get(webhook.id);
    return { ...fresh, new_signing_secret: secret };
  }

  /** True when a replacement key different from the rejected one is now in use. */
  #swapKey(): boolean {
    const next = this.#replacementApiKey?.();
    if (!next || next === this.#apiKey) return false;
    this.#apiKey = next;
    return true;
  }

  async #call<S extends z.ZodType>(
    spec: RequestSpec,
    schema: S,
    options: { beforeRetry?: () => Promise<z.infer<S> | undefined> } = {},
  ): Promise<z.infer<S>> {
    const started = Date.now();
    let outcomeMaybeApplied = false;
    for (let attempt = 1; ; attempt++) {
      if (attempt > 1 && outcomeMaybeApplied && options.beforeRetry) {
        const found = await options.beforeRetry();
        if (found !== undefined) return found;
      }
      this.#onAttempt?.({ method: spec.method, path: spec.path, attempt });
      let error: GeminiApiError;
      let retryAfterMs: number | undefined;
      try {
        const response = await this.#send(spec);
        if (response.statusCode >= 200 && response.statusCode < 300) {
          return this.#parse(spec, response, schema);
        }
        error = this.#httpError(spec, response);
        retryAfterMs = parseRetryAfterMs(response.headers["retry-after"]);
        if (error.reason === "API_KEY_INVALID" && this.#swapKey()) continue; // the rejected key was never acted on
      } catch (cause) {
        if (cause instanceof GeminiApiError) throw cause;
        error = networkError(spec, cause);
      }
      if (error.outcomeUnknown) outcomeMaybeApplied = true;
      if (!error.retryable || attempt >= this.#retry.maxAttempts) throw error;
      const delay = Math.max(retryAfterMs ?? 0, backoffDelayMs(this.#retry, attempt - 1));
      if (Date.now() - started + delay > this.#retry.maxElapsedMs) throw error;
      await sleep(delay);
    }
  }

  async #send(spec: RequestSpec): Promise<RawResponse> {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) query.set(key, String(value));
    }
    const qs = query.toString();
    const headers: Record<string, string> = { accept: "application/json", "api-revision": API_REVISION };
    if (this.#apiKey) headers["x-goog-api-key"] = this.#apiKey;
    let body: string | undefined;
    if (spec.body !== undefined) {
      body = JSON.stringify(spec.body);
      headers["content-type"] = "application/json";
    }
    const pool = poolFor(this.#origin, this.#connectTimeoutMs);
    const response = await pool.request({
      method: spec.method,
      path: this.#basePath + spec.path + (qs ? `?${qs}` : ""),
      headers,
      body,
      headersTimeout: this.#headersTimeoutMs,
      bodyTimeout: this.#bodyTimeoutMs,
    });
    const text = await response.body.text();
    return { statusCode: response.statusCode, headers: response.headers, text };
  }

  #parse<S extends z.ZodType>(spec: RequestSpec, response: RawResponse, schema: S): z.infer<S> {
    let json: unknown = {};
    try {
      json = response.text === "" ? {} : JSON.parse(response.text);
    } catch {
      throw responseError(spec, response.statusCode, "the body is not JSON");
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw responseError(spec, response.statusCode, `${first?.path.join(".") || "body"}: ${first?.message}`);
    }
    return parsed.data;
  }

  #httpError(spec: RequestSpec, response: RawResponse): GeminiApiError {
    const status = response.statusCode;
    let message = `HTTP ${status}`;
    let googleStatus: string | undefined;
    let reason: string | undefined;
    try {
      const parsed = GoogleErrorBodySchema.safeParse(JSON.parse(response.text));
      if (parsed.success) {
        message = parsed.data.error.message;
        googleStatus = parsed.data.error.status;
        reason = findReason(parsed.data.error.details);
      }
    } catch {
      // not JSON: keep the status line
    }
    const auth =
      reason === "API_KEY_INVALID" ||
      (status === 403 && googleStatus === "PERMISSION_DENIED" && !this.#apiKey) ||
      (status === 401 && googleStatus === "UNAUTHENTICATED");
    if (auth) {
      const what = this.#apiKey ? "rejected the API key" : "needs an API key and none was configured";
      return new GeminiApiError({
        code: "ERR_GEMINI_AUTH",
        message: `Gemini API ${what} (${spec.method} ${spec.path}: ${message}). ${API_KEY_HELP}`,
        httpStatus: status,
        status: googleStatus,
        reason,
        retryable: false,
        method: spec.method,
        path: spec.path,
      });
    }
    const retryable = status === 408 || status === 429 || status >= 500;
    return new GeminiApiError({
      code: "ERR_GEMINI_HTTP",
      message: `Gemini API ${spec.method} ${spec.path} failed with ${status}${googleStatus ? " " + googleStatus : ""}: ${message}`,
      httpStatus: status,
      status: googleStatus,
      reason,
      retryable,
      // 429 and 503 mean "not processed"; other 5xx and 408 may come after the server acted.
      outcomeUnknown: status === 408 || (status >= 500 && status !== 503),
      method: spec.method,
      path: spec.path,
    });
  }
}

function encodeId(id: string): string {
  if (id === "" || /[/:?#]/.test(id)) throw new TypeError(`invalid webhook id ${JSON.stringify(id)}`);
  return encodeURIComponent(id);
}

function findReason(details: unknown[] | undefined): string | undefined {
  for (const detail of details ?? []) {
    const reason = (detail as { reason?: unknown })?.reason;
    if (typeof reason === "string") return reason;
  }
  return undefined;
}

const CONNECT_PHASE_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "UND_ERR_CONNECT_TIMEOUT"]);

function networkError(spec: RequestSpec, cause: unknown): GeminiApiError {
  const code = (cause as { code?: unknown })?.code;
  const codeText = typeof code === "string" ? code : "unknown";
  // Refused connections never reached the server; a reset or timeout after sending may have.
  const beforeSend = CONNECT_PHASE_CODES.has(codeText);
  return new GeminiApiError({
    code: "ERR_GEMINI_NETWORK",
    message: `Gemini API ${spec.method} ${spec.path} failed: ${codeText} ${(cause as Error)?.message ?? ""}`.trim(),
    retryable: true,
    outcomeUnknown: !beforeSend && spec.method !== "GET",
    method: spec.method,
    path: spec.path,
    cause,
  });
}

function responseError(spec: RequestSpec, status: number, detail: string): GeminiApiError {
  return new GeminiApiError({
    code: "ERR_GEMINI_RESPONSE",
    message: `Gemini API ${spec.method} ${spec.path} returned ${status} with an unexpected body: ${detail}`,
    httpStatus: status,
    retryable: false,
    method: spec.method,
    path: spec.path,
  });
}
