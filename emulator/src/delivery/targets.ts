/**
 * Where the emulator may deliver. By default only loopback: a local emulator must not become a
 * way to make requests to other hosts (SSRF), and these machines reach nothing else anyway.
 *
 * Two checks: the URL before an attempt (a literal address or an allowed host name), and the
 * address actually connected to (`guardedLookup`, given to the HTTP agent), so a name such as
 * `x.localhost` that a hosts file or resolver points elsewhere is refused at connect time.
 */
import { lookup as dnsLookup, LookupAddress, LookupOptions } from "node:dns";
import { isIP } from "node:net";

export function isLoopbackAddress(address: string): boolean {
  const host = address.replace(/^\[|\]$/g, "").toLowerCase();
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1" || /^::ffff:127\./.test(host);
  return false;
}

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  return isLoopbackAddress(host);
}

export function isAllowedTarget(target: string, allowedHosts: string[]): boolean {
  try {
    const url = new URL(target);
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    return isLoopbackHost(url.hostname) || allowedHosts.includes(url.hostname.toLowerCase());
  } catch {
    return false;
  }
}

export type Resolver = (hostname: string, options: LookupOptions & { all: true }, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for net.connect that resolves as usual and then refuses every non-loopback address,
 * unless the name is one of `allowedHosts`. (Literal IP targets never reach a lookup; the URL check
 * already admitted only loopback literals.)
 */
export function guardedLookup(allowedHosts: string[], resolve: Resolver = dnsLookup as unknown as Resolver) {
  return (hostname: string, options: LookupOptions, callback: LookupCallback): void => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const allowed = allowedHosts.includes(hostname.toLowerCase());
      const refused = allowed ? undefined : addresses.find((a) => !isLoopbackAddress(a.address));
      if (refused || addresses.length === 0) {
        const error: NodeJS.ErrnoException = new Error(
          `target not allowed: ${hostname} resolves to ${refused?.address ?? "no address"}, not a loopback address (--allow-delivery-host admits other hosts)`,
        );
        error.code = "ERR_EMULATOR_TARGET_NOT_ALLOWED";
        return callback(error, []);
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
