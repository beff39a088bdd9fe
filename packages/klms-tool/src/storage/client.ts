import type { S3Client } from "@aws-sdk/client-s3";
import { OPTIONS } from "../config/options.js";
import type { MinioSettings } from "../contract/minio.js";

/** Options of the S3 client. */
export interface S3ClientOptions {
  /** Attempts per request, with the SDK's backoff on throttling, 5xx and network errors (default 5, `KLMS_S3_MAX_ATTEMPTS` for `task.storage`). */
  maxAttempts?: number;
  /** S3 region; MinIO and radosgw accept any, the SDK needs one (default us-east-1). */
  region?: string;
  /**
   * PEM certificate of the CA that signed an https endpoint's certificate, trusted instead of
   * Node's roots: the local KLMS store's `ca` under `--tls`. Default: Node's roots.
   */
  ca?: string;
  /**
   * Idle timeout in milliseconds (default 60 000): a request whose connection moves no byte for
   * this long, either way, fails with `TimeoutError` (then retried as the SDK retries). It covers
   * a server that never answers, a request body that stalls, and an opened object stream left
   * unread that long (its connection is then released). Not a limit on a whole transfer. The
   * `KLMS_S3_IDLE_TIMEOUT` environment variable (seconds) sets it for the task's own `task.storage`,
   * where no option can be passed.
   */
  idleTimeoutMs?: number;
  /**
   * Milliseconds to get a connection, waiting for a free one of the pool (50) included (default
   * twice the idle timeout: longer than it, so that connections held by streams left unread are
   * released before a request waiting for one gives up).
   */
  connectTimeoutMs?: number;
}

/** The AWS SDK modules, loaded on first use. */
export type Sdk = typeof import("@aws-sdk/client-s3") & Pick<typeof import("@aws-sdk/lib-storage"), "Upload">;

let sdk: Promise<Sdk> | undefined;

/**
 * Loads the AWS SDK on first use: it takes a few hundred milliseconds to import, which a tool
 * that touches no object (and the entrypoint) should not pay at start-up.
 */
export function loadSdk(): Promise<Sdk> {
  // The SDK warns on Node 20 that its releases after January 2027 will need Node 22. The kit pins
  // its SDK version (the lockfile) and supports Node >= 20.19, so the warning only adds noise to
  // every task's log; set the variable to "false" to see it.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  sdk ??= Promise.all([import("@aws-sdk/client-s3"), import("@aws-sdk/lib-storage")]).then(([s3, storage]) => ({
    ...s3,
    Upload: storage.Upload,
  }));
  return sdk;
}

/**
 * The SDK's logger: its warnings reach stderr (the task's log), except the one it prints for
 * every failed streaming upload (with no logger it writes that one to the console). Failed
 * commands, which the SDK logs as errors with their whole input, are not logged: the caller
 * gets each as a StorageError that says what to check.
 */
const SDK_LOGGER = {
  debug: () => {},
  info: () => {},
  warn: (message: unknown, ...rest: unknown[]) => {
    if (message !== "An error was encountered in a non-retryable streaming request.") console.warn(message, ...rest);
  },
  error: () => {},
};

/**
 * An S3 client configured for MinIO and other S3-compatible stores: path-style URLs, the session
 * token, and checksums only when required, since streamed uploads with the SDK's default
 * checksums are refused (radosgw: 411) or stored corrupted (s3rver) by servers that predate them.
 */
export async function createS3Client(settings: MinioSettings, options: S3ClientOptions = {}): Promise<S3Client> {
  const { S3Client } = await loadSdk();
  const idle = options.idleTimeoutMs ?? OPTIONS.idleTimeout.default * 1000;
  const client = new S3Client({
    endpoint: settings.endpoint,
    region: options.region ?? "us-east-1",
    forcePathStyle: true,
    credentials: {
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
    },
    maxAttempts: options.maxAttempts ?? OPTIONS.maxAttempts.default,
    // Without the timeouts the SDK waits forever: for an answer, for a stalled body, for a free socket.
    requestHandler: {
      socketTimeout: idle,
      connectionTimeout: options.connectTimeoutMs ?? 2 * idle,
      ...(options.ca ? { httpsAgent: { ca: options.ca } } : {}),
    },
    logger: SDK_LOGGER,
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    // No `Expect: 100-continue` on bodies of 2 MiB or more (the SDK's default): with it the SDK
    // sends each such request on a new connection of its own, closed afterwards, and waits a
    // round trip before the body; a multipart upload then paid a TCP handshake, a cold window and
    // an extra round trip per part (measured: 67 against 86 MB/s to radosgw, 256 MiB in parts).
    // What it saves, a body not sent to a store that refuses it, is one part's worth at most.
    expectContinueHeader: false,
  });
  // The SDK's middleware types are generic over every command's input and output; this one only
  // touches the request's headers.
  client.middlewareStack.add(unsignedPayload as never, { step: "build", name: "klmsUnsignedPayload" });
  return client;
}

/**
 * Signs requests without hashing their body (`x-amz-content-sha256: UNSIGNED-PAYLOAD`). Why: over
 * http the SDK hashes every in-memory body with SHA-256 for SigV4 (streams it cannot hash, so
 * they already went unsigned), which was the largest CPU cost of a multipart upload (`perf`:
 * 17 % of its samples). Over https the SDK sends S3 unsigned payloads already; TCP and, where
 * the store checks them, the parts' ETags cover the bytes as for a streamed upload.
 */
const unsignedPayload =
  (next: (args: { request: unknown }) => Promise<unknown>) =>
  async (args: { request: unknown }): Promise<unknown> => {
    const request = args.request as { headers?: Record<string, string>; body?: unknown };
    if (request.headers && request.body !== undefined) request.headers["x-amz-content-sha256"] ??= "UNSIGNED-PAYLOAD";
    return next(args);
  };
