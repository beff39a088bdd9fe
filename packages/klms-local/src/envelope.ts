/**
 * The Data API's reply envelopes. Success: `{help, success: true, result}`. Failure:
 * `{help: <request url>, success: false, error: {__type, status_code, message, detail}}` with the
 * HTTP status equal to `status_code` (`data_api.py` error processor, `routes/generic.py`).
 */

/** What the platform writes as `help` on the signed input and output routes, so the URL is not echoed. */
export const HIDDEN_HELP = "Hidden for security reasons";

import { KlmsError } from "klms-tool";
import { pyStr } from "./python-repr.js";

/**
 * The message of a platform exception raised with positional arguments and no `message=`, e.g.
 * `DataError("The entity is not a process", process)`: `" ".join(map(str, args))`
 * (`exceptions.py:31`), each argument printed as Python's `str()` prints it.
 */
export function pyMessage(...args: unknown[]): string {
  return args.map((arg) => pyStr(arg)).join(" ");
}

/**
 * A failure the API reports in the platform's error envelope. A {@link KlmsError} whose `code` is
 * the platform's `__type` (also as `type`, the envelope's word), with `name` "ApiError".
 */
export class ApiError extends KlmsError<string> {
  override name = "ApiError";
  constructor(
    readonly status: number,
    message: string,
    readonly detail: Record<string, unknown> = {},
    readonly type: string = errorTypeOf(status),
  ) {
    super(type, message);
  }
}

/** The platform's exception class names by status code (`data-api:src/exceptions.py`). */
export function errorTypeOf(status: number): string {
  const types: Record<number, string> = {
    400: "DataError",
    401: "AuthenticationError",
    403: "AuthorizationError",
    404: "NotFoundError",
    405: "NotAllowedError",
    409: "ConflictError",
    422: "_ValidationError",
    500: "InternalException",
    502: "BackendError",
  };
  return types[status] ?? (status >= 500 ? "InternalException" : "DataError");
}

/** The success envelope. */
export function successBody(help: string, result: unknown): Record<string, unknown> {
  return { help, result: result ?? null, success: true };
}

/** The error envelope; `help` is the full request URL, as on the platform. */
export function errorBody(help: string, error: ApiError): Record<string, unknown> {
  return {
    error: { __type: error.type, detail: error.detail, message: error.message, status_code: error.status },
    help,
    success: false,
  };
}
