/** Errors the emulator answers with, in Google's error JSON: `{"error":{"code","message","status","details"?}}`. */

export class GoogleApiError extends Error {
  constructor(
    readonly httpStatus: number,
    readonly status: string,
    message: string,
    readonly reason?: string,
  ) {
    super(message);
  }

  toBody(): { error: { code: number; message: string; status: string; details?: unknown[] } } {
    const error: { code: number; message: string; status: string; details?: unknown[] } = {
      code: this.httpStatus,
      message: this.message,
      status: this.status,
    };
    if (this.reason) {
      error.details = [
        { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason: this.reason, domain: "googleapis.com" },
      ];
    }
    return { error };
  }
}

export const invalidArgument = (message: string, reason?: string) =>
  new GoogleApiError(400, "INVALID_ARGUMENT", message, reason);
export const notFound = (message: string) => new GoogleApiError(404, "NOT_FOUND", message);
export const permissionDenied = (message: string, reason?: string) =>
  new GoogleApiError(403, "PERMISSION_DENIED", message, reason);
export const methodNotAllowed = (method: string, path: string) =>
  new GoogleApiError(405, "METHOD_NOT_ALLOWED", `Method ${method} is not allowed on ${path}.`);
