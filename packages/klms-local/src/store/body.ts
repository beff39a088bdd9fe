/**
 * Receiving an object's bytes: into a temporary file, checked before anything is kept. The
 * length must match what the request declared, the SHA-256 what it signed, the MD5 its
 * Content-MD5; `aws-chunked` bodies are decoded and each chunk signature checked. Any failure
 * (including the client going away) removes the file, so a cut or short upload leaves nothing.
 */
import { createHash, type Hash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { pipeline } from "node:stream/promises";
import { type S3Error, s3Errors } from "./errors.js";
import { chunkSignatureOf, type SignedRequest, sameSignature, signedBodySha256 } from "./sigv4.js";

/** A body kept in a temporary file. */
export interface ReceivedBody {
  path: string;
  size: number;
  /** Hex MD5 of the bytes (S3's ETag of a single-part object). */
  md5: string;
}

/** How to check the body, from the request's headers and signature. */
export interface BodyChecks {
  /** The signed request: chunk signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` are checked with its key. */
  signed: SignedRequest;
  signingKey: Buffer;
}

/** Reads the request body into `path`; throws S3's error (and removes the file) when it is not what was declared. */
export async function receiveBody(req: IncomingMessage, path: string, checks: BodyChecks): Promise<ReceivedBody> {
  const declared = declaredLength(req);
  const expectedMd5 = contentMd5Of(req);
  const md5 = createHash("md5");
  const sha = createHash("sha256");
  let size = 0;
  const streaming = checks.signed.payloadHash.startsWith("STREAMING-");
  const source = streaming ? decodeAwsChunked(req, checks) : req;
  try {
    await pipeline(
      source,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          size += chunk.length;
          if (size > declared) throw s3Errors.incompleteBody();
          md5.update(chunk);
          sha.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(path, { flags: "wx", mode: 0o600 }),
    );
    if (size !== declared) throw s3Errors.incompleteBody();
    const signedSha = signedBodySha256(checks.signed.payloadHash);
    if (signedSha !== undefined && signedSha !== sha.digest("hex")) throw s3Errors.contentSha256Mismatch();
    const digest = md5.digest();
    if (expectedMd5 !== undefined && !expectedMd5.equals(digest)) throw s3Errors.badDigest();
    return { path, size, md5: digest.toString("hex") };
  } catch (error) {
    await rm(path, { force: true });
    throw isS3Error(error) ? error : s3Errors.incompleteBody();
  }
}

/** The Content-MD5 header's 16 bytes; undefined without one; InvalidDigest when it is not base64 of 16 bytes. */
function contentMd5Of(req: IncomingMessage): Buffer | undefined {
  const header = req.headers["content-md5"];
  if (header === undefined) return undefined;
  const text = String(header).trim();
  const bytes = Buffer.from(text, "base64");
  if (!/^[A-Za-z0-9+/]{22}==$/.test(text) || bytes.length !== 16) throw s3Errors.invalidDigest();
  return bytes;
}

function isS3Error(error: unknown): error is S3Error {
  return error instanceof Error && error.name === "S3Error";
}

/** The object's length: x-amz-decoded-content-length for aws-chunked bodies, else Content-Length (required, as S3 does). */
function declaredLength(req: IncomingMessage): number {
  const raw = req.headers["x-amz-decoded-content-length"] ?? req.headers["content-length"];
  const n = raw === undefined ? Number.NaN : Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw s3Errors.missingContentLength();
  return n;
}

/**
 * A chunk header at the start of `pending` (`<hex size>[;chunk-signature=<sig>]\r\n`): the size,
 * the signature ("" when absent) and the header's length with its CRLF; undefined while the CRLF
 * has not arrived. Throws InvalidArgument for a size that is not hex or a header over 4 KiB.
 */
function chunkHeader(pending: Buffer): { size: number; signature: string; length: number } | undefined {
  const end = pending.indexOf("\r\n");
  if (end < 0) {
    if (pending.length > 4096)
      throw s3Errors.invalidArgument("Malformed aws-chunked body: a chunk header is too long.");
    return undefined;
  }
  const [sizeText, ...ext] = pending.subarray(0, end).toString("latin1").split(";");
  const size = Number.parseInt(sizeText ?? "", 16);
  if (!Number.isSafeInteger(size) || size < 0)
    throw s3Errors.invalidArgument("Malformed aws-chunked body: bad chunk size.");
  const signature = ext.find((e) => e.startsWith("chunk-signature="))?.slice("chunk-signature=".length) ?? "";
  return { size, signature, length: end + 2 };
}

/**
 * Decodes an `aws-chunked` body (`<hex size>[;chunk-signature=<sig>]\r\n<bytes>\r\n` … `0…\r\n`
 * then optional trailers). Chunk signatures are checked when the payload is signed; trailers
 * (checksums) are read and ignored.
 */
async function* decodeAwsChunked(source: AsyncIterable<Buffer>, checks: BodyChecks): AsyncGenerator<Buffer> {
  const signedChunks = checks.signed.payloadHash.startsWith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  let previous = checks.signed.signature;
  let pending: Buffer = Buffer.alloc(0);
  let mode: "header" | "data" | "crlf" | "done" = "header";
  let need = 0;
  let expected = "";
  let hash: Hash = createHash("sha256");
  for await (const piece of source) {
    pending = pending.length === 0 ? piece : Buffer.concat([pending, piece]);
    for (;;) {
      if (mode === "done") {
        pending = Buffer.alloc(0);
        break;
      }
      if (mode === "header") {
        const header = chunkHeader(pending);
        if (!header) break;
        ({ size: need, signature: expected } = header);
        hash = createHash("sha256");
        pending = pending.subarray(header.length);
        if (need === 0) verifyChunk(hash, expected);
        mode = need === 0 ? "done" : "data";
        continue;
      }
      if (mode === "data") {
        if (pending.length === 0) break;
        const take = pending.subarray(0, need);
        hash.update(take);
        need -= take.length;
        pending = pending.subarray(take.length);
        yield take;
        if (need === 0) mode = "crlf";
        continue;
      }
      if (pending.length < 2) break;
      if (pending[0] !== 13 || pending[1] !== 10)
        throw s3Errors.invalidArgument("Malformed aws-chunked body: a chunk does not end with CRLF.");
      pending = pending.subarray(2);
      verifyChunk(hash, expected);
      mode = "header";
    }
  }
  if (mode !== "done") throw s3Errors.incompleteBody();

  function verifyChunk(chunkHash: Hash, given: string): void {
    if (!signedChunks) return;
    const computed = chunkSignatureOf(checks.signingKey, checks.signed, previous, chunkHash.digest("hex"));
    if (!sameSignature(given, computed)) throw s3Errors.signatureDoesNotMatch();
    previous = computed;
  }
}
