/**
 * Which `Host` names the emulator answers to, and which browser origins it accepts: the defence
 * against DNS rebinding. A page on evil.example whose name is re-pointed at 127.0.0.1 reaches the
 * emulator with `Host: evil.example` and `Origin: http://evil.example` — refused on every route, so
 * it can neither list nor create webhooks, rotate a secret, nor read deliveries.
 *
 * Served names: loopback (`localhost`, `127.0.0.0/8`, `::1`), the bound address, the `--public-url`
 * host, and `--allow-host` additions; bound to every interface, also this machine's interface
 * addresses and `host.docker.internal` (how containers reach the Docker host).
 */
import { networkInterfaces } from "node:os";

export interface HostPolicyOptions {
  /** The interface the emulator binds (default 127.0.0.1). */
  host?: string;
  publicUrl?: string;
  allowedHosts?: string[];
}

/** A host name as compared: lower case, no port, no brackets, no trailing dot. */
export function hostName(value: string): string {
  let host = value.trim().toLowerCase();
  if (host.startsWith("[")) host = host.slice(1, host.indexOf("]") < 0 ? undefined : host.indexOf("]"));
  else if (host.split(":").length === 2) host = host.split(":")[0];
  return host.replace(/\.$/, "");
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|::1)$/;

export class HostPolicy {
  readonly #names = new Set<string>();

  constructor(options: HostPolicyOptions = {}) {
    const bound = hostName(options.host ?? "127.0.0.1");
    const everywhere = bound === "0.0.0.0" || bound === "::";
    if (!everywhere) this.#names.add(bound);
    else {
      for (const addresses of Object.values(networkInterfaces())) for (const a of addresses ?? []) this.#names.add(hostName(a.address));
      this.#names.add("host.docker.internal");
    }
    if (options.publicUrl) this.#names.add(hostName(new URL(options.publicUrl).host));
    for (const extra of options.allowedHosts ?? []) this.#names.add(hostName(extra));
  }

  /** True when the emulator serves this `Host` header (a request without one — not a browser — passes). */
  serves(host: string | undefined): boolean {
    if (host === undefined) return true;
    const name = hostName(host);
    return LOOPBACK.test(name) || this.#names.has(name);
  }

  /**
   * Why a browser request is refused, or undefined: a cross-site fetch (`Sec-Fetch-Site`), or an
   * `Origin` that is not one of the served names (`null` included).
   */
  crossSite(origin: string | undefined, fetchSite: string | undefined): string | undefined {
    if (fetchSite === "cross-site") return "a cross-site request (Sec-Fetch-Site: cross-site)";
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
