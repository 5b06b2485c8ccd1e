/**
 * Which `Host` names the emulator answers to, and which browser origins it accepts: the defence
 * against DNS rebinding. A page on evil.example whose name is re-pointed at 127.0.0.1 reaches the
 * emulator with `Host: evil.example` and `Origin: http://evil.example` — refused on every route, so
 * it can neither list nor create webhooks, rotate a secret, nor read deliveries.
 *
 * Served names: loopback (`localhost`, `127.0.0.0/8`, `::1`), the bound address, the `--public-url`
 * host, and `--allow-host` additions; bound to every interface, also this machine's interface
 * addresses, its default gateways' addresses and `host.docker.internal` (in a container: how the
 * Docker host reaches it through a published port — Testcontainers' `getHost()` inside another
 * container). Addresses cannot be rebound: only names can.
 */
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { networkInterfaces } from "node:os";

export interface HostPolicyOptions {
  /** The interface the emulator binds (default 127.0.0.1). */
  host?: string;
  publicUrl?: string;
  allowedHosts?: string[];
}

/**
 * A `Host` value (or an authority) as compared — lower case, no port, no brackets, no trailing dot —
 * or undefined when it is not one: a DNS name of valid labels, an IPv4 address in dotted decimal
 * (each part 0-255), or a bracketed IPv6 literal, optionally followed by `:port` and nothing else.
 * `[::1]evil.example`, `127.999.999.999` and `a b` are not hosts.
 */
export function hostName(value: string): string | undefined {
  const text = value.trim().toLowerCase();
  let host: string;
  let rest: string;
  if (text.startsWith("[")) {
    const close = text.indexOf("]");
    if (close < 0) return undefined;
    host = text.slice(1, close);
    rest = text.slice(close + 1);
    if (isIP(host) !== 6) return undefined;
  } else {
    const colon = text.lastIndexOf(":");
    if (colon >= 0 && isIP(text) === 6) return text; // a bare IPv6 address (an interface's), not a Host header
    host = colon < 0 ? text : text.slice(0, colon);
    rest = colon < 0 ? "" : text.slice(colon);
    if (/^[\d.]+$/.test(host)) {
      if (isIP(host) !== 4) return undefined; // all digits and dots: an IPv4 address (no trailing dot), or nothing
    } else {
      host = host.replace(/\.$/, ""); // a fully qualified name's root dot
      if (!DNS_NAME.test(host)) return undefined;
    }
  }
  if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return undefined;
  return host;
}

/** Labels of letters, digits and inner hyphens (underscores too, as Docker's service names use them), 253 characters at most. */
const DNS_NAME = /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

function isLoopback(name: string): boolean {
  return name === "localhost" || name === "::1" || (isIP(name) === 4 && name.startsWith("127."));
}

/** The IPv4 default gateways of this machine (Linux's routing table; none elsewhere). */
export function defaultGateways(routes = readRoutes()): string[] {
  const gateways: string[] = [];
  for (const line of routes.split("\n").slice(1)) {
    const [, destination, gateway] = line.trim().split(/\s+/);
    if (destination !== "00000000" || !gateway || !/^[0-9A-F]{8}$/i.test(gateway) || gateway === "00000000") continue;
    // Little-endian hex: 0101A8C0 is 192.168.1.1.
    gateways.push([6, 4, 2, 0].map((i) => parseInt(gateway.slice(i, i + 2), 16)).join("."));
  }
  return gateways;
}

function readRoutes(): string {
  try {
    return readFileSync("/proc/net/route", "utf8");
  } catch {
    return "";
  }
}

export class HostPolicy {
  readonly #names = new Set<string>();

  constructor(options: HostPolicyOptions = {}) {
    const add = (value: string) => {
      const name = hostName(value);
      if (name) this.#names.add(name);
    };
    const bound = options.host ?? "127.0.0.1";
    const everywhere = ["0.0.0.0", "::", "[::]"].includes(bound);
    if (!everywhere) add(isIP(bound) === 6 ? `[${bound}]` : bound);
    else {
      for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) add(a.family === "IPv6" ? `[${a.address.split("%")[0]}]` : a.address);
      for (const gateway of defaultGateways()) add(gateway);
      this.#names.add("host.docker.internal");
    }
    if (options.publicUrl) add(new URL(options.publicUrl).host);
    for (const extra of options.allowedHosts ?? []) add(extra);
  }

  /** True when the emulator serves this `Host` header (a request without one — not a browser — passes). */
  serves(host: string | undefined): boolean {
    if (host === undefined) return true;
    const name = hostName(host);
    return name !== undefined && (isLoopback(name) || this.#names.has(name));
  }

  /**
   * Why a browser request is refused, or undefined: a cross-site fetch (`Sec-Fetch-Site`), or an
   * `Origin` that is not one of the served names (`null` included).
   */
  crossSite(origin: string | undefined, fetchSite: string | undefined): string | undefined {
    if (fetchSite !== undefined && fetchSite.trim().toLowerCase() === "cross-site") return "a cross-site request (Sec-Fetch-Site: cross-site)";
    if (origin === undefined) return undefined;
    let host: string;
    try {
      host = new URL(origin).host;
    } catch {
      return "a request from an opaque origin";
    }
    return this.serves(host) ? undefined : "a request from another site's page (Origin)";
  }
}
