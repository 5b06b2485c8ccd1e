/**
 * Calls the emulator's admin API (`/emulator/v1/...`) as a script or the CLI would: JSON bodies and
 * the emulator's API key (admin routes need it whenever the emulator has one).
 */
export interface AdminTarget {
  url: string;
  /** The key the emulator requires (in-process emulators carry it in `ctx.apiKey`). */
  apiKey?: string;
  ctx?: { apiKey?: string };
}

export function admin(emulator: AdminTarget, method: "GET" | "POST" | "PUT", path: string, body?: unknown): Promise<Response> {
  const apiKey = emulator.apiKey ?? emulator.ctx?.apiKey;
  const headers: Record<string, string> = apiKey ? { "x-goog-api-key": apiKey } : {};
  if (body !== undefined) headers["content-type"] = "application/json";
  return fetch(`${emulator.url}/emulator/v1${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}
