/**
 * Typed errors of the WebhookService client. Messages are built from the server's error JSON and
 * the request's method and path only, so an API key can never reach a message or a property.
 */

export type GeminiApiErrorCode =
  | "ERR_GEMINI_HTTP" // the server answered with an error status
  | "ERR_GEMINI_NETWORK" // no answer: connection refused/reset, timeout
  | "ERR_GEMINI_RESPONSE" // the server answered 2xx with a body that is not the documented shape
  | "ERR_GEMINI_AUTH"; // missing or invalid API key

export interface GeminiApiErrorInit {
  code: GeminiApiErrorCode;
  message: string;
  httpStatus?: number;
  status?: string;
  reason?: string;
  retryable: boolean;
  /** True when the request may have reached the server and been acted on. */
  outcomeUnknown?: boolean;
  method: string;
  path: string;
  cause?: unknown;
}

export class GeminiApiError extends Error {
  override readonly name = "GeminiApiError";
  readonly code: GeminiApiErrorCode;
  /** HTTP status of the answer, when there was one. */
  readonly httpStatus?: number;
  /** Google's canonical status, e.g. `NOT_FOUND`, `INVALID_ARGUMENT`. */
  readonly status?: string;
  /** Google's `ErrorInfo.reason`, e.g. `API_KEY_INVALID`. */
  readonly reason?: string;
  readonly retryable: boolean;
  readonly outcomeUnknown: boolean;
  readonly method: string;
  readonly path: string;

  constructor(init: GeminiApiErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: sanitizeCause(init.cause) });
    this.code = init.code;
    this.httpStatus = init.httpStatus;
    this.status = init.status;
    this.reason = init.reason;
    this.retryable = init.retryable;
    this.outcomeUnknown = init.outcomeUnknown ?? false;
    this.method = init.method;
    this.path = init.path;
  }

  get isNotFound(): boolean {
    return this.httpStatus === 404;
  }
}

/** Keeps only the name, code and message of a low-level cause (undici errors can hold request options). */
function sanitizeCause(cause: unknown): unknown {
  if (cause instanceof Error) {
    const plain = new Error(cause.message);
    plain.name = cause.name;
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string") (plain as Error & { code?: string }).code = code;
    return plain;
  }
  return undefined;
}

export const API_KEY_HELP =
  "Set it with `pulumi config set --secret gemini:apiKey <key>` (or the GEMINI_API_KEY environment variable).";

export class GeminiConfigError extends Error {
  override readonly name = "GeminiConfigError";
  readonly code = "ERR_GEMINI_CONFIG";
}
