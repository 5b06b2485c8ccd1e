/**
 * OpenTelemetry spans, through `@opentelemetry/api` only: no SDK or exporter is bundled. Until the
 * application registers a tracer provider (its own SDK), `getTracer` hands out a no-op tracer and
 * these calls cost next to nothing. With one registered, a delivery is a trace:
 *   gemini_webhook.receive (SERVER) ─┬─ gemini_webhook.verify
 *                                    ├─ gemini_webhook.accept
 *                                    └─ gemini_webhook.handle (CONSUMER; in durable mode possibly in
 *                                       another replica, joined through the traceparent kept in the stream)
 * each carrying `gemini_webhook.id`, `.kind`, `.type` and `.outcome`.
 *
 * Without an SDK only the root span is asked for: when it does not record, no child span, context or
 * promise chain is made (measured: the unguarded version cost about 15 µs of a delivery's CPU).
 */
import { context, INVALID_SPAN_CONTEXT, ProxyTracerProvider, ROOT_CONTEXT, Span, SpanContext, SpanKind, SpanStatusCode, trace, TraceFlags } from "@opentelemetry/api";

const NAME = "gemini-webhooks-receiver";
const tracer = trace.getTracer(NAME);
/** What every call answers while no SDK is registered: one span that records nothing, made once. */
const NOT_RECORDING = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

/** True once the application registered a tracer provider (its SDK); checked per call, so registering later works. */
function tracing(): boolean {
  const provider = trace.getTracerProvider();
  return !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer(NAME) !== undefined;
}

export type { Span } from "@opentelemetry/api";

export function startReceiveSpan(kind: "static" | "dynamic"): Span {
  if (!tracing()) return NOT_RECORDING;
  return tracer.startSpan("gemini_webhook.receive", { kind: SpanKind.SERVER, attributes: { "gemini_webhook.kind": kind } }, ROOT_CONTEXT);
}

/** A child step of `parent` (verify, accept); the parent itself when it does not record. */
export function startStep(parent: Span, name: "verify" | "accept"): Span {
  if (!parent.isRecording()) return parent;
  return tracer.startSpan(`gemini_webhook.${name}`, {}, trace.setSpan(ROOT_CONTEXT, parent));
}

/** Ends a span with its outcome; a failure outcome marks the span as an error. */
export function endSpan(span: Span, outcome: string, failed = false): void {
  if (!span.isRecording()) return span.end();
  span.setAttribute("gemini_webhook.outcome", outcome);
  if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: outcome });
  span.end();
}

/** The W3C traceparent of a recording span, kept with the event so its handle span joins the trace. */
export function traceparentOf(span: Span): string | undefined {
  if (!span.isRecording()) return undefined;
  const { traceId, spanId, traceFlags } = span.spanContext();
  return `00-${traceId}-${spanId}-${(traceFlags & 0xff).toString(16).padStart(2, "0")}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** Runs `work` inside a `gemini_webhook.handle` span, a child of the delivery's span when known. */
export function inHandleSpan<T>(attributes: () => Record<string, string | number>, traceparent: string | undefined, work: () => Promise<T>): Promise<T> {
  if (!tracing()) return work();
  return handleSpan(attributes(), traceparent, work);
}

async function handleSpan<T>(attributes: Record<string, string | number>, traceparent: string | undefined, work: () => Promise<T>): Promise<T> {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  const parent: SpanContext | undefined = match
    ? { traceId: match[1], spanId: match[2], traceFlags: parseInt(match[3], 16) as TraceFlags, isRemote: true }
    : undefined;
  const span = tracer.startSpan("gemini_webhook.handle", { kind: SpanKind.CONSUMER, attributes }, parent ? trace.setSpanContext(ROOT_CONTEXT, parent) : ROOT_CONTEXT);
  try {
    // The handler's own spans (its fetches, queries) become children of this one.
    const result = await context.with(trace.setSpan(context.active(), span), work);
    endSpan(span, "ok");
    return result;
  } catch (err) {
    endSpan(span, (err as { reason?: string })?.reason ?? "error", true);
    throw err;
  }
}

/** The @opentelemetry/api range the receiver is built on (its package.json; inlined by the image's bundle). */
const API_RANGE: string = (require("../../package.json") as { dependencies: Record<string, string> }).dependencies["@opentelemetry/api"];

/**
 * An OpenTelemetry SDK the receiver's spans cannot reach, said in a sentence, or undefined. An SDK
 * registers its tracer provider in a global keyed by the API's major version and stamped with its
 * own API version; an API sees a global stamped with its own minor version or a newer one, so an SDK
 * built on an older @opentelemetry/api (1.7 under the receiver's 1.9) records nothing from it — and
 * neither says so.
 */
export function tracingCompatibility(): string | undefined {
  const registered = (globalThis as Record<symbol, { version?: string; trace?: unknown } | undefined>)[Symbol.for("opentelemetry.js.api.1")];
  if (!registered?.trace || tracing()) return undefined;
  return `an OpenTelemetry SDK is registered with @opentelemetry/api ${registered.version ?? "(unknown version)"}, which the receiver's (${API_RANGE}) cannot see: its spans are not recorded. Build the SDK on @opentelemetry/api ${API_RANGE.replace(/^\^/, "")} or newer (1.x)`;
}
