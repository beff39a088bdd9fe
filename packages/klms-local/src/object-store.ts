/**
 * The embedded object store: an S3 endpoint on 127.0.0.1 that checks requests as the platform's
 * MinIO does (SigV4, session tokens, STS AssumeRoleWithWebIdentity on the same origin, S3's key
 * rules, whole objects or none), backed by a folder, optionally over https. It runs in the
 * process that starts it; the pieces live in ./store/ (see packages/klms-local/README.md for why
 * it is our own code and not an npm S3 server).
 */
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { CredentialIssuer, type StoreCredentials } from "./store/credentials.js";
import { DiskStore } from "./store/disk.js";
import { createS3Server } from "./store/server.js";
import type { WebIdentityVerifier } from "./store/sts.js";
import { ensureTls } from "./store/tls.js";

/** Temporary credentials minted by the store (STS). */
export type MintedCredentials = Required<StoreCredentials>;

/** A running embedded object store. */
export interface ObjectStore {
  /** `http://127.0.0.1:<port>` or `https://127.0.0.1:<port>` (S3 and STS). */
  url: string;
  /** The root key pair (like MinIO's root user): no session token, reaches every bucket. */
  accessKeyId: string;
  secretAccessKey: string;
  /** The folder that holds the buckets. */
  directory: string;
  /** With https: the CA certificate (PEM) clients must trust, and its file. */
  ca?: string;
  caFile?: string;
  /** Mints temporary credentials for `user`, as STS AssumeRoleWithWebIdentity does (default 1 h). */
  mint(user: string, durationSeconds?: number): MintedCredentials;
  /** Settles with the error if the store stops serving without stop() (it never resolves otherwise). */
  failed: Promise<Error>;
  stop(): Promise<void>;
}

/** Options of {@link startObjectStore}. */
export interface ObjectStoreOptions {
  directory: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Buckets to create at start (existing ones are kept). */
  buckets?: string[];
  /** What the root key and temporary credentials derive from; default a random one (valid until stop). */
  secret?: string;
  /** Checks the WebIdentityToken of STS calls; without it STS refuses every token. */
  verifyWebIdentity?: WebIdentityVerifier;
  /** Serve https with a CA kept in this folder (made at first start). */
  tlsDir?: string;
  /** Where the store reports its failures (one line each); default stderr. */
  log?: (line: string) => void;
}

/** Starts the embedded object store and resolves once it listens on 127.0.0.1. */
export async function startObjectStore(options: ObjectStoreOptions): Promise<ObjectStore> {
  await mkdir(options.directory, { recursive: true, mode: 0o700 });
  const issuer = new CredentialIssuer(options.secret ?? randomBytes(32).toString("hex"));
  const tls = options.tlsDir === undefined ? undefined : await ensureTls(options.tlsDir);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const disk = await DiskStore.open(options.directory, options.buckets ?? [], log);
  const server = createS3Server({
    disk,
    issuer,
    log,
    ...(options.verifyWebIdentity ? { verifyWebIdentity: options.verifyWebIdentity } : {}),
    ...(tls ? { tls: { key: tls.key, cert: tls.cert } } : {}),
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  let stopping = false;
  const failed = new Promise<Error>((resolve) => {
    server.on("error", (error) => {
      log(`object store: ${error.message}`);
      resolve(error);
    });
    server.on("close", () => {
      if (!stopping) resolve(new Error("the object store's server closed"));
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${port}`,
    accessKeyId: issuer.root.accessKeyId,
    secretAccessKey: issuer.root.secretAccessKey,
    directory: options.directory,
    ...(tls ? { ca: tls.ca, caFile: tls.caFile } : {}),
    mint: (user, durationSeconds = 3600) => issuer.mint(user, durationSeconds),
    failed,
    async stop() {
      if (stopping) return;
      stopping = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await disk.close();
    },
  };
}
