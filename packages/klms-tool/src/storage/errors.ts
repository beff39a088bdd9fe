/**
 * Storage errors in words a tool author understands: what failed, on which object, and what to
 * check. They never include a credential.
 */
export class StorageError extends Error {
  override name = "StorageError";
  /** A short machine-readable reason: `NoSuchKey`, `AccessDenied`, `ExpiredToken`, `BadPath`, … */
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** What was being done when an error happened, for the message. */
export interface Operation {
  /** A verb phrase: "download", "upload", "list", … */
  action: string;
  bucket: string;
  key?: string;
  endpoint: string;
}

const HINTS: Record<string, string> = {
  NoSuchKey: "the object does not exist: check the path (keys are case-sensitive)",
  NotFound: "the object does not exist: check the path (keys are case-sensitive)",
  NoSuchBucket: "the bucket does not exist: check the bucket name in the path",
  ExpiredToken:
    "the temporary credentials have expired (the platform issues them for about 24 hours when the task starts); run the task again",
  InvalidAccessKeyId:
    "the access key is not known to the object store: check minio.id, and that the endpoint is the one that issued it (minio.endpoint_url or internal_url)",
  SignatureDoesNotMatch: "the request signature was refused: the secret key (minio.key) does not match the access key",
  AccessDenied:
    "access denied: the credentials do not allow this on this bucket, the session token (minio.skey) is missing or invalid, or the secret key (minio.key) does not match",
  InvalidArgument: "the object store refused the request's credentials: the session token (minio.skey) looks invalid",
  InvalidToken: "the session token (minio.skey) is invalid",
  SlowDown: "the object store is throttling requests; retried without success",
  ECONNREFUSED:
    "nothing answers at the endpoint: check minio.endpoint_url / internal_url (inside the cluster internal_url is preferred)",
  // The endpoint in the message says which URL was used; the hint must not guess (it once blamed
  // internal_url for an endpoint_url that did not resolve).
  ENOTFOUND:
    "the endpoint's host name does not resolve: check the host; outside the cluster minio.endpoint_url is used, inside it internal_url, and KLMS_S3_ENDPOINT overrides both",
  ETIMEDOUT: "the endpoint did not answer in time",
  AbortError: "the transfer was cancelled",
};

/** Turns an SDK or network error into a {@link StorageError} that says what to do. */
export function explain(error: unknown, op: Operation): StorageError {
  if (error instanceof StorageError) return error;
  const e = error as {
    name?: string;
    Code?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
    cause?: { code?: string };
  };
  let code = e.Code ?? e.name ?? "Error";
  const errno = e.code ?? e.cause?.code;
  if (errno && HINTS[errno]) code = errno;
  // Answers without a body (to HEAD requests) carry no error code, only the HTTP status.
  if (["Error", "Unknown", "UnknownError", "NotFound", "Forbidden", "BadRequest"].includes(code)) {
    const status = e.$metadata?.httpStatusCode;
    if (status === 404) code = op.key ? "NoSuchKey" : "NoSuchBucket";
    else if (status === 403) code = "AccessDenied";
    else if (status === 400) code = "InvalidArgument";
  }
  const where = op.key !== undefined ? `s3://${op.bucket}/${op.key}` : `s3://${op.bucket}`;
  const hint =
    HINTS[code] ?? `the object store answered: ${code}${e.message && e.message !== code ? ` (${e.message})` : ""}`;
  return new StorageError(code, `${op.action} ${where} at ${op.endpoint} failed: ${hint}`, { cause: error });
}
