/**
 * `gemini-webhooks-emulator/testcontainers`: the emulator image as a Testcontainers module, for tests
 * in any Node project (no clone, no build; Docker and the `testcontainers` package are all it needs).
 *
 *   const emulator = await new GeminiEmulatorContainer().withDeliveriesToHost().start();
 *   const ai = new GoogleGenAI({ apiKey: emulator.apiKey, httpOptions: { baseUrl: emulator.baseUrl } });
 *   await emulator.trigger("batch.succeeded");
 *
 * Every option is one of the image's GEMINI_EMULATOR_* variables; the container is healthy (its own
 * HEALTHCHECK) before `start()` resolves.
 */
import { randomBytes } from "node:crypto";
import { AbstractStartedContainer, GenericContainer, getContainerRuntimeClient, StartedTestContainer, Wait } from "testcontainers";

const PORT = 8089;
const VERSION = (require("../package.json") as { version: string }).version;

/** The image `release.yml` publishes for this package's version. */
export const EMULATOR_IMAGE = `ghcr.io/gemini-webhooks/gemini-webhooks-emulator:${VERSION}`;

/** What `trigger` answers: the event's id and how many deliveries it scheduled. */
export interface TriggeredEvent {
  event_id: string;
  deliveries: number;
}

/** One delivery and its attempts, as the admin API lists them. */
export interface EmulatorDelivery {
  webhook_id_header: string;
  event_id: string;
  webhook_id: string | null;
  target: string;
  kind: "static" | "dynamic";
  status: "pending" | "succeeded" | "failed";
  attempts: { attempt: number; time: string; http_status: number | null; latency_ms: number | null; error: string | null }[];
}

export class GeminiEmulatorContainer extends GenericContainer {
  #apiKey = "emulator-" + randomBytes(12).toString("hex");
  #issuer = `http://127.0.0.1:${PORT}`;
  readonly #deliveryHosts: string[] = [];
  readonly #allowedHosts: string[] = [];

  constructor(image: string = EMULATOR_IMAGE) {
    super(image);
    this.withExposedPorts(PORT).withWaitStrategy(Wait.forHealthCheck()).withStartupTimeout(60_000);
  }

  /** The key every API call must carry (default: a random one, read back from `apiKey`). */
  withApiKey(apiKey: string): this {
    if (apiKey.trim() === "") throw new TypeError("withApiKey: the key must not be empty");
    this.#apiKey = apiKey;
    return this;
  }

  /** Emulated time runs `scale` times faster (3600: the 24 h rotation grace window in 24 s). */
  withTimeScale(scale: number): this {
    if (!(scale > 0) || !Number.isFinite(scale)) throw new TypeError(`withTimeScale: a positive number, got ${scale}`);
    return this.withEnvironment({ GEMINI_EMULATOR_TIME_SCALE: String(scale) });
  }

  /** Emulated ms before a job completes by itself; 0: only `completeJob` completes it. */
  withJobCompletionDelayMs(ms: number): this {
    if (!Number.isInteger(ms) || ms < 0) throw new TypeError(`withJobCompletionDelayMs: an integer >= 0, got ${ms}`);
    return this.withEnvironment({ GEMINI_EMULATOR_JOB_COMPLETION_DELAY_MS: String(ms) });
  }

  /** Hosts the emulator may deliver to besides loopback: your receivers' container names. */
  withAllowedDeliveryHosts(...hosts: string[]): this {
    this.#deliveryHosts.push(...hosts);
    return this;
  }

  /** Host names the emulator answers besides loopback: the name other containers reach it by. */
  withAllowedHosts(...hosts: string[]): this {
    this.#allowedHosts.push(...hosts);
    return this;
  }

  /** Deliveries to receivers on the Docker host, as `http://host.docker.internal:<port>/...`. */
  withDeliveriesToHost(): this {
    this.withExtraHosts([{ host: "host.docker.internal", ipAddress: "host-gateway" }]);
    return this.withAllowedDeliveryHosts("host.docker.internal");
  }

  /** The origin its dynamic-webhook tokens name as their issuer (JWT_ISSUER of a receiver). */
  withIssuer(origin: string): this {
    if (!/^https?:\/\/[^/?#]+$/.test(origin)) throw new TypeError(`withIssuer: an http(s) origin such as http://emulator:8089, got ${JSON.stringify(origin)}`);
    this.#issuer = origin;
    return this;
  }

  override async start(): Promise<StartedGeminiEmulatorContainer> {
    // The host this process reaches the container's port by (`getHost()`: localhost, or the Docker
    // gateway when the tests themselves run in a container) is a host the emulator must answer.
    const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
    const hosts = host === "localhost" || host === "127.0.0.1" ? this.#allowedHosts : [...this.#allowedHosts, host];
    this.withEnvironment({
      GEMINI_EMULATOR_API_KEY: this.#apiKey,
      GEMINI_EMULATOR_PUBLIC_URL: this.#issuer,
      ...(this.#deliveryHosts.length ? { GEMINI_EMULATOR_ALLOW_DELIVERY_HOSTS: this.#deliveryHosts.join(",") } : {}),
      ...(hosts.length ? { GEMINI_EMULATOR_ALLOW_HOSTS: hosts.join(",") } : {}),
    });
    return new StartedGeminiEmulatorContainer(await super.start(), this.#apiKey, this.#issuer);
  }
}

export class StartedGeminiEmulatorContainer extends AbstractStartedContainer {
  constructor(
    started: StartedTestContainer,
    /** The key every API call carries (`x-goog-api-key`; an SDK's `apiKey` / GEMINI_API_KEY). */
    readonly apiKey: string,
    /** The issuer of its dynamic-webhook tokens (JWT_ISSUER). */
    readonly issuer: string,
  ) {
    super(started);
  }

  /** The origin for SDKs on this host: `httpOptions.baseUrl` / GOOGLE_GEMINI_BASE_URL. */
  get baseUrl(): string {
    return `http://${this.getHost()}:${this.getMappedPort(PORT)}`;
  }

  /** The API root for `gemini-webhooks-client` and `gemini:baseUrl`. */
  get apiUrl(): string {
    return `${this.baseUrl}/v1beta`;
  }

  /** The key set dynamic-webhook receivers on this host verify with (JWKS_URI). */
  get jwksUrl(): string {
    return `${this.baseUrl}/.well-known/jwks.json`;
  }

  /** Emits an event of `type` (optionally with `data`, or to `webhookConfig.uris` as a dynamic webhook). */
  async trigger(type: string, data?: Record<string, unknown>, webhookConfig?: { uris: string[]; user_metadata?: Record<string, unknown> }): Promise<TriggeredEvent> {
    return this.#admin<TriggeredEvent>("POST", "/events", { type, ...(data ? { data } : {}), ...(webhookConfig ? { webhook_config: webhookConfig } : {}) });
  }

  /** Puts a webhook into `disabled_due_to_failed_deliveries`, as a day of failed deliveries would. */
  async failDeliveries(webhookId: string): Promise<{ id: string; state: string }> {
    return this.#admin("POST", `/webhooks/${encodeURIComponent(webhookId)}:failDeliveries`);
  }

  /** Every delivery (of one event or one webhook) with its attempts. */
  async deliveries(filter: { eventId?: string; webhookId?: string } = {}): Promise<EmulatorDelivery[]> {
    const query = new URLSearchParams({ ...(filter.eventId ? { event_id: filter.eventId } : {}), ...(filter.webhookId ? { webhook_id: filter.webhookId } : {}) });
    return (await this.#admin<{ deliveries: EmulatorDelivery[] }>("GET", `/deliveries?${query}`)).deliveries;
  }

  /** Finishes a job (`batches/…`, `models/…:…`) with an outcome, which emits its event. */
  async completeJob(name: string, outcome: "succeeded" | "failed" | "expired" | "cancelled"): Promise<{ name: string; state: string; event_id: string }> {
    return this.#admin("POST", "/jobs::complete", { name, outcome });
  }

  async #admin<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<T> {
    const response = await fetch(`${this.baseUrl}/emulator/v1${path}`, {
      method,
      headers: { "x-goog-api-key": this.apiKey, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const answer = (await response.json()) as T & { error?: { message?: string } };
    if (!response.ok) throw new Error(`emulator ${method} ${path.split("?")[0]}: ${response.status} ${answer.error?.message ?? ""}`.trim());
    return answer;
  }
}
