/**
 * Credentials in request URLs (`?key=`, `?api_key=`, `?access_token=`, `?token=`, any spelling of
 * `x-goog-api-key`, percent-encoded or not) replaced before a URL reaches a log line, an error or a
 * metric label: Google's API takes the key as `?key=`, so clients do send it that way.
 */
const CREDENTIAL_NAMES = new Set(["key", "apikey", "accesstoken", "token", "xgoogapikey", "idtoken", "refreshtoken"]);

function isCredential(rawName: string): boolean {
  let name = rawName;
  try {
    name = decodeURIComponent(rawName.replace(/\+/g, " "));
  } catch {
    // a malformed escape: compare the raw text
  }
  return CREDENTIAL_NAMES.has(name.toLowerCase().replace(/[^a-z]/g, ""));
}

export function redactUrl(url: string): string {
  const q = url.indexOf("?");
  if (q < 0) return url;
  const query = url.slice(q + 1).replace(/(^|[&;])([^=&;]*)=([^&;]*)/g, (whole, sep: string, name: string) => (isCredential(name) ? `${sep}${name}=[redacted]` : whole));
  return url.slice(0, q + 1) + query;
}
