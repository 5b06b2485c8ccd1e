/**
 * Where the receiver container fetches the JWKS from. Tokens name Gemini's origin as their issuer;
 * the container must fetch the keys from an address that reaches that service *from inside the
 * container*. Google's origin is reachable as it is; an emulator on the Docker host's loopback
 * (http://127.0.0.1:8089) is not — the container's loopback is its own — so it is reached through
 * the Docker host gateway under the name `host.docker.internal`.
 */
export interface JwksAddress {
  /** JWKS_URI for the container. */
  jwksUri: string;
  /** Extra /etc/hosts entries the container needs (Docker's `host-gateway` alias). */
  hosts: { host: string; ip: string }[];
  /** Environment the receiver needs for this address (an http: JWKS off loopback needs an opt-in). */
  env: string[];
}

const LOOPBACK = /^(localhost|127(?:\.\d+){3}|\[::1\])$/;
export const DOCKER_HOST_ALIAS = "host.docker.internal";

export function jwksAddress(geminiOrigin: string, override?: string): JwksAddress {
  const origin = new URL(geminiOrigin);
  let jwks = new URL(override ?? `${origin.origin}/.well-known/jwks.json`);
  const hosts: JwksAddress["hosts"] = [];
  if (LOOPBACK.test(jwks.hostname)) {
    jwks = new URL(jwks.href.replace(jwks.hostname, DOCKER_HOST_ALIAS));
    hosts.push({ host: DOCKER_HOST_ALIAS, ip: "host-gateway" });
  }
  return { jwksUri: jwks.href, hosts, env: jwks.protocol === "http:" ? ["JWKS_ALLOW_HTTP=true"] : [] };
}
