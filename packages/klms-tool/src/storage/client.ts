import type { S3Client } from "@aws-sdk/client-s3";
import type { MinioSettings } from "../contract/minio.js";

/** Options of the S3 client. */
export interface ClientOptions {
  /** Attempts per request, with the SDK's backoff on throttling, 5xx and network errors (default 5). */
  maxAttempts?: number;
  /** S3 region; MinIO and radosgw accept any, the SDK needs one (default us-east-1). */
  region?: string;
  /**
   * PEM certificate of the CA that signed an https endpoint's certificate, trusted instead of
   * Node's roots: the local KLMS store's `ca` under `--tls`. Default: Node's roots.
   */
  ca?: string;
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
 * An S3 client configured for MinIO and other S3-compatible stores: path-style URLs, the session
 * token, and checksums only when required, since streamed uploads with the SDK's default
 * checksums are refused (radosgw: 411) or stored corrupted (s3rver) by servers that predate them.
 */
export async function createS3Client(settings: MinioSettings, options: ClientOptions = {}): Promise<S3Client> {
  const { S3Client } = await loadSdk();
  return new S3Client({
    endpoint: settings.endpoint,
    region: options.region ?? "us-east-1",
    forcePathStyle: true,
    credentials: {
      accessKeyId: settings.accessKeyId,
      secretAccessKey: settings.secretAccessKey,
      ...(settings.sessionToken ? { sessionToken: settings.sessionToken } : {}),
    },
    maxAttempts: options.maxAttempts ?? 5,
    ...(options.ca ? { requestHandler: { httpsAgent: { ca: options.ca } } } : {}),
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}
