/**
 * Access control as one `onRequest` hook over the route the router matched — never over the raw
 * request target, which can be percent-encoded (`/%761beta/…`) or absolute-form
 * (`http://host/v1beta/…`) and still reach the same route.
 *
 * Each route declares its access in `config.access`; a route that declares nothing needs the API key
 * (default deny). Google's routes answer as Google's front end does: a missing key is 403
 * PERMISSION_DENIED, a wrong one 400 API_KEY_INVALID. The admin API needs the key whenever one is
 * configured, and refuses browser requests (an `Origin` header, a non-JSON body), so a web page the
 * developer opens cannot trigger deliveries or faults.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { invalidArgument, permissionDenied } from "./google-error";
import type { HostPolicy } from "./host-policy";

export type Access = "public" | "api-key" | "admin";

declare module "fastify" {
  interface FastifyContextConfig {
    /** Who may call the route (default "api-key"). */
    access?: Access;
  }
}

/** Compares in constant time: both sides are hashed first, so lengths leak nothing either. */
export function sameKey(presented: string, expected: string): boolean {
  const a = createHash("sha256").update(presented).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * A missing key is 403 PERMISSION_DENIED (unregistered caller); a wrong key is 400 API_KEY_INVALID.
 * With no key configured, any non-empty key is accepted.
 */
export function checkApiKey(header: string | string[] | undefined, expected: string | undefined): void {
  const presented = Array.isArray(header) ? header[0] : header;
  if (presented === undefined || presented === "") {
    throw permissionDenied(
      "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API.",
    );
  }
  if (expected !== undefined && !sameKey(presented, expected)) {
    throw invalidArgument("API key not valid. Please pass a valid API key.", "API_KEY_INVALID");
  }
}

function checkAdmin(request: FastifyRequest, apiKey: string | undefined): void {
  if (request.headers.origin !== undefined || String(request.headers["sec-fetch-site"] ?? "").trim().toLowerCase() === "cross-site") {
    throw permissionDenied("The emulator's admin API does not accept browser requests (an Origin header was sent).");
  }
  const type = String(request.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
  const hasBody = Number(request.headers["content-length"] ?? 0) > 0 || request.headers["transfer-encoding"] !== undefined;
  if (hasBody && type !== "application/json") {
    throw invalidArgument(`The emulator's admin API takes application/json bodies, got ${JSON.stringify(type || "no content-type")}.`);
  }
  if (apiKey !== undefined) checkApiKey(request.headers["x-goog-api-key"], apiKey);
}

function hostHeaders(raw: string[]): number {
  let count = 0;
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === "host") count++;
  return count;
}

/** Installs the hook; call before registering routes. */
export function registerAccessControl(app: FastifyInstance, apiKey: string | undefined, hosts: HostPolicy): void {
  // Checked before the body is even read, as Google's front end does.
  app.addHook("onRequest", async (request) => {
    // DNS rebinding: every route, known or not, answers only the names it serves, and no other site's page.
    const host = request.headers.host;
    // Node keeps the first of several Host headers and drops the rest: a request with two is refused, not guessed at.
    if (hostHeaders(request.raw.rawHeaders) > 1) throw permissionDenied("The emulator refuses a request with more than one Host header.");
    if (!hosts.serves(host)) {
      throw permissionDenied(`The emulator does not serve the host ${JSON.stringify(String(host).slice(0, 80))} (DNS rebinding protection); add it with --allow-host.`);
    }
    const origin = request.headers.origin;
    const refused = hosts.crossSite(typeof origin === "string" ? origin : undefined, request.headers["sec-fetch-site"] as string | undefined);
    if (refused) throw permissionDenied(`The emulator refuses ${refused}.`);
    if (request.is404) return; // an unknown path is a 404 whatever the key
    const access = request.routeOptions.config.access ?? "api-key";
    if (access === "public") return;
    if (access === "admin") return checkAdmin(request, apiKey);
    checkApiKey(request.headers["x-goog-api-key"], apiKey);
  });
}
