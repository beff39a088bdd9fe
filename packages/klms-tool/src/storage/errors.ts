/**
 * Storage errors in words a tool author understands: what failed, on which object, and what to
 * check. They never include a credential.
 */
import { KlmsError } from "../errors.js";

export class StorageError extends KlmsError<StorageErrorCode> {
  override name = "StorageError";
}

/**
 * A {@link StorageError}'s short machine-readable reason: an S3 code (`NoSuchKey`, `AccessDenied`,
 * `ExpiredToken`, …), a network code (`ECONNREFUSED`, `TimeoutError`, …) or the kit's own.
 */
export type StorageErrorCode =
  | "NoSuchKey"
  | "NoSuchBucket"
  | "AccessDenied"
  | "ExpiredToken"
  | "BadPath"
  | "BadOption"
  | "NoTarget"
  | "SourceError"
  | "SourceChanged"
  | "IncompleteBody"
  | "BadListing"
  | "TimeoutError"
  | (string & {});

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
  BadRequest:
    "the object store refused the request as malformed (HTTP 400 without an error code, as answers to HEAD requests are); when every request fails so, check the session token (minio.skey)",
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

/**
 * Network failures: no S3 answer arrived. Node's error codes (`error.code`, or the code of its
 * `cause`), and the SDK's `TimeoutError` (an idle socket, see `S3ClientOptions.idleTimeoutMs`).
 */
const NETWORK: Record<string, string> = {
  ECONNREFUSED: HINTS.ECONNREFUSED as string,
  ENOTFOUND: HINTS.ENOTFOUND as string,
  EAI_AGAIN: "the endpoint's host name could not be resolved now (DNS): check the network, then run the task again",
  ETIMEDOUT: HINTS.ETIMEDOUT as string,
  TimeoutError:
    "the object store did not answer in time: no connection within connectTimeoutMs, or no byte moved within idleTimeoutMs (a stalled server or connection, or an opened stream left unread); run the task again, or raise the timeout",
  ECONNRESET:
    "the connection to the object store was closed in the middle of the request (ECONNRESET); run the task again",
  EPIPE: "the object store closed the connection while data was being sent (EPIPE); run the task again",
  ECONNABORTED: "the connection to the object store was aborted (ECONNABORTED); run the task again",
  EHOSTUNREACH: "the endpoint's host cannot be reached (EHOSTUNREACH): check the network and the endpoint",
  ENETUNREACH: "the network of the endpoint cannot be reached (ENETUNREACH): check the network and the endpoint",
  ERR_SSL_WRONG_VERSION_NUMBER: "the endpoint does not speak TLS: use http:// for it, or the store's TLS port",
  DEPTH_ZERO_SELF_SIGNED_CERT: "the endpoint's TLS certificate is self-signed and not trusted",
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the endpoint's TLS certificate cannot be verified (unknown certificate authority)",
};

/** The SDK's error shape, as far as {@link explain} reads it. */
interface SdkError {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $fault?: string;
  cause?: { code?: string };
}

/**
 * Turns an SDK or network error into a {@link StorageError} that says what to do, classified
 * from its real cause: an S3 answer (it has an HTTP status) is explained from its error code,
 * a network failure from its errno, a cancellation as such; anything else is named as it is
 * and never presented as something "the object store answered". Local file errors go through
 * {@link explainLocal}.
 */
export function explain(error: unknown, op: Operation): StorageError {
  if (error instanceof StorageError) return error;
  const e = (error ?? {}) as SdkError;
  const where = op.key !== undefined ? `s3://${op.bucket}/${op.key}` : `s3://${op.bucket}`;
  const fail = (code: string, hint: string) =>
    new StorageError(code, `${op.action} ${where} at ${op.endpoint} failed: ${hint}`, { cause: error });
  if (e.name === "AbortError") return fail("AbortError", HINTS.AbortError as string);
  const errno = typeof e.code === "string" ? e.code : e.cause?.code;
  const network = [errno, e.name].find((c): c is string => c !== undefined && NETWORK[c] !== undefined);
  const status = e.$metadata?.httpStatusCode;
  // An S3 error code (the SDK names its errors after them) or an HTTP status means the store answered.
  const answered = status !== undefined || e.$fault !== undefined || HINTS[e.Code ?? e.name ?? ""] !== undefined;
  if (network && !answered) return fail(network, NETWORK[network] as string);
  // A file system error (it names its system call) is this machine's, whoever passed it here.
  if (!answered && errno && LOCAL[errno] && (error as { syscall?: unknown }).syscall !== undefined) {
    return explainLocal(error, op);
  }
  if (!answered) {
    // Neither an answer nor a known network failure: say what it is, without guessing.
    const name = errno ?? e.name ?? "Error";
    return fail(name, `${name}${e.message && e.message !== name ? ` (${e.message})` : ""}`);
  }
  let code = e.Code ?? e.name ?? "Error";
  // Answers without a body (to HEAD requests) carry no error code, only the HTTP status.
  if (["Error", "Unknown", "UnknownError", "NotFound", "Forbidden", "BadRequest"].includes(code)) {
    if (status === 404) code = op.key ? "NoSuchKey" : "NoSuchBucket";
    else if (status === 403) code = "AccessDenied";
    else if (status === 400) code = "BadRequest";
  }
  const said = e.message && e.message !== code ? ` (${e.message})` : "";
  // InvalidArgument names any refused argument, the session token among others: show which.
  const hint =
    code === "InvalidArgument"
      ? `the object store refused an argument of the request${said}; if it names the token, the session token (minio.skey) is invalid`
      : (HINTS[code] ?? `the object store answered${status ? ` HTTP ${status}` : ""}: ${code}${said}`);
  return fail(code, hint);
}

/** Local file system errors, by Node's error code. */
const LOCAL: Record<string, string> = {
  ENOSPC: "the local disk is full (ENOSPC): free space there, or use a folder on a bigger disk",
  EDQUOT: "the local disk quota is used up (EDQUOT): free space there, or use another folder",
  EACCES: "no permission for the local file (EACCES): check the folder's owner and mode",
  EPERM: "the operation on the local file is not permitted (EPERM): check the folder's owner and mode",
  EROFS: "the local file system is read-only (EROFS): use a writable folder (the task's workdir)",
  ENOENT: "the local file or folder does not exist (ENOENT): check the path",
  EISDIR: "the local path is a folder, not a file (EISDIR)",
  ENOTDIR: "a part of the local path is a file, not a folder (ENOTDIR)",
  EEXIST: "the local path already exists as something else (EEXIST)",
  EMFILE: "the process has too many open files (EMFILE): close files or streams you no longer use",
  ENFILE: "the system has too many open files (ENFILE)",
  EIO: "the local disk reported an input/output error (EIO)",
  EFBIG: "the local file would be larger than the file system allows (EFBIG)",
};

/**
 * A local file or stream error of a transfer (the disk, a missing file, a failing source
 * stream) in words that put the fault where it is, on this machine, never on the object store.
 * `file` is the local file concerned; `source` marks an error of the data being uploaded.
 */
export function explainLocal(error: unknown, op: Operation & { file?: string; source?: boolean }): StorageError {
  if (error instanceof StorageError) return error;
  const e = (error ?? {}) as { code?: unknown; message?: string; path?: unknown };
  const where = `s3://${op.bucket}/${op.key ?? ""}`;
  const file = op.file ?? (typeof e.path === "string" ? e.path : undefined);
  const errno = typeof e.code === "string" ? e.code : undefined;
  const what = op.source ? "reading the data to upload failed" : "the local file failed";
  const hint =
    errno && LOCAL[errno]
      ? LOCAL[errno]
      : `${errno ?? (error as Error)?.name ?? "Error"}${e.message ? ` (${e.message})` : ""}`;
  const local = file ? ` (local file ${file})` : "";
  return new StorageError(
    errno ?? (op.source ? "SourceError" : "LocalError"),
    `${op.action} ${where} failed${local}: ${what}: ${hint}`,
    {
      cause: error,
    },
  );
}
