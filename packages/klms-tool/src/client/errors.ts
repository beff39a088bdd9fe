/**
 * The one error class of the KLMS Data API client. The platform answers every failure with one
 * envelope (data-api `data_api.py:64-79`, platform-api §1.3):
 * `{"success": false, "help": <url>, "error": {"__type", "message", "status_code", "detail"}}`;
 * a {@link KlmsApiError} carries its parts, typed.
 */
import { KlmsError } from "../errors.js";

/**
 * What failed: the platform's `__type` (e.g. `NotFoundError`, `_ValidationError`,
 * `AuthenticationError`, `ConflictError`, `HTTPError`), or one of the client's own:
 * `NetworkError` (no reply), `BadReply` (a reply that is not the platform's envelope),
 * `SessionExpired` (no token and no way to get one).
 */
export type KlmsApiErrorCode =
  | "AuthenticationError"
  | "AuthorizationError"
  | "APIException"
  | "NotFoundError"
  | "NotAllowedError"
  | "ConflictError"
  | "DataError"
  | "InvalidError"
  | "InternalException"
  | "_ValidationError"
  | "HTTPError"
  | "NetworkError"
  | "BadReply"
  | "SessionExpired"
  | (string & {});

/** A failed Data API call: the HTTP status (0 without a reply), the platform's error type, message and detail. */
export class KlmsApiError extends KlmsError<KlmsApiErrorCode> {
  override name = "KlmsApiError";
  /** The HTTP status; 0 when no reply came. */
  readonly status: number;
  /** The platform's `error.detail` (e.g. `{"json": {"name": ["Missing data for required field."]}}` for a 422). */
  readonly detail: unknown;
  /** The method and path called (no query: a query may carry a signature). */
  readonly request: string;

  constructor(init: {
    status: number;
    code: KlmsApiErrorCode;
    message: string;
    detail?: unknown;
    request: string;
    cause?: unknown;
  }) {
    super(init.code, `${init.request}: ${init.status ? `${init.status} ` : ""}${init.code}: ${init.message}`, {
      cause: init.cause,
    });
    this.status = init.status;
    this.detail = init.detail ?? {};
    this.request = init.request;
  }

  /**
   * The platform's message with what `detail` adds, for people: a 422's field errors as
   * `field: message` lines, or the detail as JSON.
   */
  explain(): string {
    const lines = [this.message];
    const detail = this.detail as Record<string, unknown> | undefined;
    const fields = detail && typeof detail === "object" ? (detail.json ?? detail.query) : undefined;
    if (fields && typeof fields === "object") {
      for (const [field, problem] of Object.entries(fields as Record<string, unknown>)) {
        lines.push(`  ${field}: ${typeof problem === "string" ? problem : JSON.stringify(problem)}`);
      }
    } else if (detail && typeof detail === "object" && Object.keys(detail).length > 0 && !("format_exc" in detail)) {
      lines.push(`  detail: ${JSON.stringify(detail)}`);
    }
    return lines.join("\n");
  }
}
