/**
 * The one base of every error the kit throws at a tool author or a caller of its libraries: a
 * {@link KlmsError} has a `name` (its class), a machine-readable `code` and, when it was caused
 * by another error (a socket's, the file system's), that error as `cause`. Catch `KlmsError` for
 * any of them, then switch on `code` or test the subclass.
 */

/**
 * Every code a {@link KlmsError} may carry, by class:
 * - `StorageError`: an S3 error code (`NoSuchKey`, `AccessDenied`, `ExpiredToken`, …), a network
 *   code (`ECONNREFUSED`, `TimeoutError`, …) or the kit's own (`BadPath`, `BadOption`, `NoTarget`,
 *   `SourceChanged`, `IncompleteBody`, `BadListing`, …; see storage/errors.ts);
 * - `PlatformError`: why a Data API call of the entrypoint failed ({@link PlatformErrorCode});
 * - `KlmsApiError`: the platform's `__type` or the client's own (see client/errors.ts);
 * - one code each for the others: `BadTaskInput`, `BadParameters`, `BadTask`, `SecretsUnavailable`,
 *   `BadMetrics`, `ReadLimit`, `BadOption`, `ToolLoad`, `Cancelled` (`TaskCancelledError`, the
 *   reason of an aborted `task.signal`, named "AbortError").
 */
export type KlmsErrorCode =
  | PlatformErrorCode
  | "BadTaskInput"
  | "BadParameters"
  | "BadTask"
  | "SecretsUnavailable"
  | "BadMetrics"
  | "BadOption"
  | "ToolLoad"
  | "Cancelled"
  | (string & {});

/** Why a call to the Data API failed (a {@link PlatformError}'s `code`). */
export type PlatformErrorCode =
  /** 401/403: the token (input) or the signature (output) was refused. */
  | "auth"
  /** 404: no such task, or no such route on this server. */
  | "not-found"
  /** Another 4xx (400, 422, …): the server refused the request itself; retrying cannot help. */
  | "rejected"
  /** Network errors, timeouts, 429 or 5xx, still failing after every retry. */
  | "unavailable"
  /** A 2xx reply that is not the `{success: true, result}` envelope. */
  | "invalid-reply"
  /** The caller gave up (cancellation); the outcome of a request in flight is unknown. */
  | "aborted";

/** The base class: `name` is the subclass's name, `code` says what failed, `cause` is kept. */
export class KlmsError<C extends string = KlmsErrorCode> extends Error {
  /** What failed, for programs (the message is for people). */
  readonly code: C;

  constructor(code: C, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    // Subclasses also set `name` as a field, so that a bundler that renames classes keeps it.
    this.name = new.target.name;
  }
}
