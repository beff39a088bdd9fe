/**
 * S3's server-side copies: CopyObject (`PUT /b/k` with `x-amz-copy-source`) and UploadPartCopy
 * (`PUT /b/k?partNumber=N&uploadId=U` with `x-amz-copy-source` and an optional
 * `x-amz-copy-source-range: bytes=first-last`), with the `x-amz-copy-source-if-*` conditions
 * (conditions.ts). Errors as MinIO words them (cmd/api-errors.go): a missing source 404
 * NoSuchKey / NoSuchBucket; a malformed range or one outside the source 400 InvalidArgument; a
 * copy onto itself that changes nothing 400 InvalidRequest (S3's message); a source `versionId`
 * other than `null` 501 (the store keeps no versions).
 */
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rm } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { checkCopySourceConditions } from "./conditions.js";
import type { ObjectMeta } from "./disk.js";
import { s3Errors } from "./errors.js";
import { targetOf } from "./names.js";
import { type S3Call, send, storedHeaders } from "./objects.js";
import { queryPairs } from "./sigv4.js";
import { tagsOfHeader } from "./tagging.js";
import { el, xmlDocument } from "./xml.js";

/** The source an `x-amz-copy-source` header names (`[/]bucket/key[?versionId=…]`, URL-encoded), and its metadata. */
function sourceOf(call: S3Call, header: string): { bucket: string; key: string; meta: ObjectMeta } {
  const q = header.indexOf("?");
  const path = q < 0 ? header : header.slice(0, q);
  const version = new Map(queryPairs(q < 0 ? "" : header.slice(q + 1))).get("versionId");
  if (version !== undefined && version !== "null") {
    throw s3Errors.notImplementedHere("Copying a version (x-amz-copy-source with versionId; the store keeps none)");
  }
  const from = targetOf(path.startsWith("/") ? path : `/${path}`);
  if (from.key === "") throw s3Errors.invalidArgument("x-amz-copy-source must name bucket/key.");
  const meta = call.disk.head(from.bucket, from.key);
  checkCopySourceConditions(call.req, meta);
  return { ...from, meta };
}

/** `COPY` (the default) or `REPLACE`; anything else 400 InvalidArgument, as S3. */
function directive(call: S3Call, header: string): "COPY" | "REPLACE" {
  const value = call.req.headers[header];
  if (value === undefined || value === "COPY" || value === "REPLACE") return (value as "COPY" | "REPLACE") ?? "COPY";
  throw s3Errors.invalidArgument(`Unknown ${header}: ${String(value)} (COPY or REPLACE).`);
}

/** Copies `length` bytes of the source from `start` into a temporary file; its MD5 (hex). */
async function copyBytes(call: S3Call, bucket: string, meta: ObjectMeta, start: number, length: number) {
  const tmp = call.disk.tmpPath();
  const md5 = createHash("md5");
  try {
    const range = length > 0 ? { start, end: start + length - 1 } : {};
    const input = createReadStream(call.disk.dataPath(bucket, meta), range);
    await pipeline(
      input,
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          md5.update(chunk);
          yield chunk;
        }
      },
      createWriteStream(tmp, { flags: "wx", mode: 0o600 }),
    );
  } catch (error) {
    await rm(tmp, { force: true });
    // The source was replaced or deleted between its lookup and the read.
    if ((error as NodeJS.ErrnoException).code === "ENOENT") throw s3Errors.noSuchKey();
    throw error;
  }
  return { tmp, md5: md5.digest("hex") };
}

/** CopyObject: the source's bytes (and metadata, unless REPLACE; tags, unless x-amz-tagging-directive REPLACE). */
export async function copyObject(call: S3Call, header: string): Promise<void> {
  const { disk, bucket, key, req, res } = call;
  const metadata = directive(call, "x-amz-metadata-directive");
  const tagging = directive(call, "x-amz-tagging-directive");
  const from = sourceOf(call, header);
  const changesSomething =
    metadata === "REPLACE" || tagging === "REPLACE" || req.headers["x-amz-storage-class"] !== undefined;
  if (from.bucket === bucket && from.key === key && !changesSomething) {
    throw s3Errors.invalidRequest(
      "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.",
    );
  }
  const { meta } = from;
  const kept = metadata === "REPLACE" ? storedHeaders(req) : { contentType: meta.contentType, headers: meta.headers };
  const tags = tagging === "REPLACE" ? (tagsOfHeader(req.headers["x-amz-tagging"]) ?? {}) : (meta.tags ?? {});
  const { tmp } = await copyBytes(call, from.bucket, meta, 0, meta.size);
  try {
    const copy = await disk.commit(bucket, key, tmp, { size: meta.size, etag: meta.etag, ...kept, tags });
    send(res, 200, xmlDocument("CopyObjectResult", [el("LastModified", copy.lastModified), el("ETag", copy.etag)]));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

/**
 * The bytes `x-amz-copy-source-range` names in a source of `size` bytes: the whole source
 * without the header; `bytes=first-last` only (no suffix or open range, as S3), inside the source.
 */
export function copyRangeOf(header: string | undefined, size: number): { start: number; length: number } {
  if (header === undefined) return { start: 0, length: size };
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  // As MinIO (parseCopyPartRangeSpec): first > last is a malformed range, not one outside the source.
  if (!m || Number(m[1]) > Number(m[2])) {
    throw s3Errors.invalidArgument(
      "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy",
    );
  }
  const start = Number(m[1]);
  const last = Number(m[2]);
  if (last >= size) {
    throw s3Errors.invalidArgument(`Range specified is not valid for source object of size: ${size}`);
  }
  return { start, length: last - start + 1 };
}

/** UploadPartCopy: part `number` of the upload is the source's bytes (or the range's). */
export async function uploadPartCopy(call: S3Call, header: string, number: number, uploadId: string): Promise<void> {
  const { disk, bucket, key, req, res } = call;
  const upload = await disk.upload(bucket, key, uploadId);
  const from = sourceOf(call, header);
  const range = copyRangeOf(req.headers["x-amz-copy-source-range"] as string | undefined, from.meta.size);
  const { tmp, md5 } = await copyBytes(call, from.bucket, from.meta, range.start, range.length);
  try {
    const part = await disk.putPart(upload, number, tmp, md5, range.length);
    send(res, 200, xmlDocument("CopyPartResult", [el("LastModified", part.lastModified), el("ETag", part.etag)]));
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}
