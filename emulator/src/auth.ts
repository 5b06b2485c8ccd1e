/** API-key checks that answer as Google's APIs do. */
import { invalidArgument, permissionDenied } from "./google-error";

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
  if (expected !== undefined && presented !== expected) {
    throw invalidArgument("API key not valid. Please pass a valid API key.", "API_KEY_INVALID");
  }
}
