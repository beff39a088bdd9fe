/**
 * The store's HTTP(S) front: one origin for S3 (path-style) and STS, as MinIO's. Every request
 * goes: path split and checked (names.ts) → STS, or SigV4 + session token (auth.ts) → the
 * operation (buckets.ts, objects.ts). Failures answer S3's error document; an unexpected one is
 * a 500 InternalError, logged without the request's secrets, and never stops the server.
 */
import { randomBytes } from "node:crypto";
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { objectAcl } from "./acl.js";
import { authenticate } from "./auth.js";
import { bucketCall, listBuckets } from "./buckets.js";
import type { CredentialIssuer } from "./credentials.js";
import type { DiskStore } from "./disk.js";
import { errorDocument, S3Error, s3Errors } from "./errors.js";
import { checkEncryptionHeaders } from "./meaning-headers.js";
import { targetOf } from "./names.js";
import { deleteObject, getObject, postObject, putObject, type S3Call, send } from "./objects.js";
import { queryPairs, sha256Hex, signedBodySha256 } from "./sigv4.js";
import { answerSts, type WebIdentityVerifier } from "./sts.js";
import { objectSubresource } from "./subresources.js";
import { objectTagging } from "./tagging.js";

/** What the front needs. */
export interface S3ServerOptions {
  disk: DiskStore;
  issuer: CredentialIssuer;
  /** Checks STS web identity tokens; without it every AssumeRoleWithWebIdentity is refused. */
  verifyWebIdentity?: WebIdentityVerifier;
  /** PEM key and certificate: serve https. */
  tls?: { key: string; cert: string };
  /** Where failures of the store are reported (one line each). */
  log?: (line: string) => void;
}

/** Largest XML request body read into memory (CompleteMultipartUpload of 10,000 parts fits). */
const MAX_SMALL_BODY = 2 * 1024 * 1024;

/** An http or https server answering S3 and STS; not yet listening. */
export function createS3Server(options: S3ServerOptions): Server {
  const handler = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, options).catch((error: unknown) => {
      options.log?.(`object store: could not answer ${req.method} request: ${(error as Error).message}`);
      res.destroy();
    });
  };
  // No limit on a whole request (Node's default is 300 s): a big upload on a slow disk may take longer.
  const limits = { requestTimeout: 0 };
  const server = options.tls
    ? createHttpsServer({ ...options.tls, ...limits }, handler)
    : createHttpServer(limits, handler);
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    // A client that goes away mid-request (reset, or EOF inside a body) is not a failure of the store.
    if (/alert (unknown ca|bad certificate)/.test(error.message)) {
      options.log?.(
        "object store: a client refused the store's certificate: make it trust the local CA (the export lines dev prints)",
      );
    } else if (!["ECONNRESET", "HPE_INVALID_EOF_STATE"].includes(error.code ?? "")) {
      options.log?.(`object store: bad request from a client: ${error.message} (${error.code})`);
    }
    socket.destroy();
  });
  return server;
}

async function handle(req: IncomingMessage, res: ServerResponse, options: S3ServerOptions): Promise<void> {
  const url = req.url ?? "/";
  const q = url.indexOf("?");
  const rawPath = q < 0 ? url : url.slice(0, q);
  const rawQuery = q < 0 ? "" : url.slice(q + 1);
  const requestId = randomBytes(8).toString("hex").toUpperCase();
  res.setHeader("x-amz-request-id", requestId);
  res.setHeader("Server", "klms-local");
  try {
    const pairs = queryPairs(rawQuery);
    const { bucket, key } = targetOf(rawPath);
    if (bucket === "" && req.method === "POST") return await sts(req, res, pairs, options);
    const caller = authenticate(req, rawPath, decodeURIComponent(rawPath), pairs, options.issuer);
    const call: S3Call = {
      req,
      res,
      disk: options.disk,
      caller,
      bucket,
      key,
      query: new Map(pairs),
      smallBody: () => smallBody(req, caller.signed.payloadHash),
    };
    await route(call);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? "";
    // The client went away mid-transfer: nothing to answer, and not a failure of the store.
    if (["ERR_STREAM_PREMATURE_CLOSE", "ECONNRESET", "EPIPE"].includes(code)) return void res.destroy();
    if (!(error instanceof S3Error)) {
      options.log?.(`object store: ${req.method} failed: ${(error as Error).message}`);
    }
    const s3 = error instanceof S3Error ? error : s3Errors.internal();
    if (res.headersSent) return void res.destroy();
    // A refused upload's body is not read: close the connection rather than read it all.
    if (!req.complete) res.setHeader("Connection", "close");
    send(res, s3.status, req.method === "HEAD" ? "" : errorDocument(s3, rawPath, requestId));
  }
}

async function route(call: S3Call): Promise<void> {
  const { req, bucket, key } = call;
  if (bucket === "") {
    if (req.method === "GET") return listBuckets(call.disk, call);
    throw s3Errors.methodNotAllowed();
  }
  if (key === "") return bucketCall(call);
  call.disk.objects(bucket);
  // Sub-resources first: `PUT ?tagging` must never write the object (subresources.ts).
  const sub = objectSubresource(call.query);
  if (sub === undefined) throw s3Errors.notImplemented();
  // Encryption headers change what a read or a write means: refused before anything is touched.
  checkEncryptionHeaders(req);
  if (sub === "tagging") return objectTagging(call);
  if (sub === "acl") return objectAcl(call);
  switch (req.method) {
    case "PUT":
      return putObject(call);
    case "GET":
    case "HEAD":
      return getObject(call, req.method === "HEAD");
    case "DELETE":
      return deleteObject(call);
    case "POST":
      return postObject(call);
    default:
      throw s3Errors.methodNotAllowed();
  }
}

async function sts(req: IncomingMessage, res: ServerResponse, pairs: [string, string][], options: S3ServerOptions) {
  const params = new Map(pairs);
  if (String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) {
    for (const [k, v] of queryPairs(await smallBody(req, "UNSIGNED-PAYLOAD"))) params.set(k, v);
  } else {
    req.resume();
  }
  const reply = answerSts(params, options.issuer, options.verifyWebIdentity);
  send(res, reply.status, reply.body, { "Content-Type": "text/xml" });
}

/** A small body (XML, form) as text; its SHA-256 checked when signed. */
async function smallBody(req: IncomingMessage, payloadHash: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_SMALL_BODY) throw s3Errors.invalidArgument("The request body is too large.");
    chunks.push(chunk);
  }
  const body = Buffer.concat(chunks);
  const signedSha = signedBodySha256(payloadHash);
  if (signedSha !== undefined && signedSha !== sha256Hex(body)) throw s3Errors.contentSha256Mismatch();
  return body.toString("utf8");
}
