/**
 * Where the emulator may deliver. By default only loopback: a local emulator must not become a
 * way to make requests to other hosts (SSRF), and these machines reach nothing else anyway.
 */
import { isIP } from "node:net";

export function isLoopbackHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost")) return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  if (isIP(host) === 6) return host === "::1";
  return false;
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
