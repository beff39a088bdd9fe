/**
 * S3's object operations on a {@link DiskStore}: PutObject (CopyObject and UploadPartCopy live in copy.ts), GetObject with
 * ranges, HeadObject, DeleteObject, and the multipart upload calls.
 */
import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import type { Caller } from "./auth.js";
import { receiveBody } from "./body.js";
import { checkReadConditions, writeConditions } from "./conditions.js";
import { copyObject, uploadPartCopy } from "./copy.js";
import type { DiskStore, ObjectMeta } from "./disk.js";
import { s3Errors } from "./errors.js";
import { checkWriteHeaders } from "./meaning-headers.js";
import { tagCountHeader, tagsOfHeader } from "./tagging.js";
import { el, textsOf, unescapeXml, xmlDocument } from "./xml.js";

/** One S3 request after authentication. */
export interface S3Call {
  req: IncomingMessage;
  res: ServerResponse;
  disk: DiskStore;
  caller: Caller;
  bucket: string;
  key: string;
  query: Map<string, string>;
  /** Reads a small request body (XML), checked like an object body. */
  smallBody(): Promise<string>;
}

/** The headers S3 keeps with an object and sends back on GET and HEAD. */
const KEPT_HEADERS = ["cache-control", "content-disposition", "content-language", "expires"];

/** Sends a reply: XML documents with their type, nothing for HEAD. */
export function send(res: ServerResponse, status: number, body = "", headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...(body ? { "Content-Type": "application/xml" } : {}),
    "Content-Length": Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

/** The content type and the headers S3 keeps of a write request (x-amz-meta-*, KEPT_HEADERS, a non-standard storage class). */
export function storedHeaders(req: IncomingMessage): { contentType: string; headers: Record<string, string> } {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === "string" && (name.startsWith("x-amz-meta-") || KEPT_HEADERS.includes(name)))
      headers[name] = value;
  }
  // As MinIO: HEAD and GET name the storage class only when it is not STANDARD.
  if (req.headers["x-amz-storage-class"] === "REDUCED_REDUNDANCY")
    headers["x-amz-storage-class"] = "REDUCED_REDUNDANCY";
  const encoding = String(req.headers["content-encoding"] ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter((e) => e !== "" && e !== "aws-chunked");
  if (encoding.length > 0) headers["content-encoding"] = encoding.join(",");
  return { contentType: String(req.headers["content-type"] ?? "application/octet-stream"), headers };
}

function objectHeaders(meta: ObjectMeta): Record<string, string> {
  return {
    ...meta.headers,
    "Content-Type": meta.contentType,
    ETag: meta.etag,
    "Last-Modified": new Date(meta.lastModified).toUTCString(),
    "Accept-Ranges": "bytes",
    ...tagCountHeader(meta),
  };
}

/** PUT /bucket/key: PutObject, CopyObject (x-amz-copy-source) or UploadPart[Copy] (?partNumber&uploadId). */
export async function putObject(call: S3Call): Promise<void> {
  const { disk, bucket, key, req, res, query } = call;
  disk.objects(bucket);
  if (query.has("uploadId")) return uploadPart(call);
  checkWriteHeaders(req);
  const source = req.headers["x-amz-copy-source"];
  if (typeof source === "string") return copyObject(call, source);
  const tags = tagsOfHeader(req.headers["x-amz-tagging"]);
  const check = writeConditions(req);
  const body = await receiveBody(req, disk.tmpPath(), call.caller);
  try {
    const meta = await disk.commit(
      bucket,
      key,
      body.path,
      { size: body.size, etag: `"${body.md5}"`, ...storedHeaders(req), ...(tags ? { tags } : {}) },
      check,
    );
    send(res, 200, "", { ETag: meta.etag });
  } catch (error) {
    await rm(body.path, { force: true });
    throw error;
  }
}

/** GET or HEAD /bucket/key, with a single `Range: bytes=…`, the conditions (conditions.ts) and response-* overrides. */
export async function getObject(call: S3Call, head: boolean): Promise<void> {
  const { disk, bucket, key, req, res, query } = call;
  if (query.has("uploadId")) return listParts(call);
  const meta = disk.head(bucket, key);
  const headers = objectHeaders(meta);
  if (checkReadConditions(req, meta) === "not-modified") {
    // RFC 7232 §4.1: a 304 carries the validators, no body.
    res.writeHead(304, { ETag: headers.ETag, "Last-Modified": headers["Last-Modified"] });
    return void res.end();
  }
  for (const [name, value] of Object.entries(responseOverrides(query))) {
    delete headers[name.toLowerCase()]; // the stored header of that name (kept lower-case)
    headers[name] = value;
  }
  const range = rangeOf(String(req.headers.range ?? ""), meta.size);
  if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${meta.size}`;
  const length = range ? range.end - range.start + 1 : meta.size;
  res.writeHead(range ? 206 : 200, { ...headers, "Content-Length": length });
  if (head || length === 0) return void res.end();
  await pipeline(createReadStream(disk.dataPath(bucket, meta), range ?? {}), res);
}

/** S3's GetObject query overrides of reply headers (honoured on signed requests; this store takes no other). */
const RESPONSE_OVERRIDES: Record<string, string> = {
  "response-content-type": "Content-Type",
  "response-content-language": "Content-Language",
  "response-expires": "Expires",
  "response-cache-control": "Cache-Control",
  "response-content-disposition": "Content-Disposition",
  "response-content-encoding": "Content-Encoding",
};

/** The reply headers the query's `response-*` parameters set; they replace the stored ones. */
function responseOverrides(query: Map<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [param, header] of Object.entries(RESPONSE_OVERRIDES)) {
    const value = query.get(param);
    if (value !== undefined) out[header] = value;
  }
  return out;
}

/** The byte range of `bytes=a-b`, `bytes=a-` or `bytes=-n`; undefined for none; InvalidRange when unsatisfiable. */
function rangeOf(header: string, size: number): { start: number; end: number } | undefined {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw s3Errors.invalidRange();
  return { start, end };
}

/** DELETE /bucket/key (or AbortMultipartUpload with ?uploadId). */
export async function deleteObject(call: S3Call): Promise<void> {
  const { disk, bucket, key, res, query } = call;
  const uploadId = query.get("uploadId");
  // S3's conditional DeleteObject (If-Match, x-amz-if-match-*) is not implemented: refused, never an unconditional delete.
  const conditional = Object.keys(call.req.headers).find((h) => h === "if-match" || h.startsWith("x-amz-if-match-"));
  if (conditional !== undefined) throw s3Errors.notImplementedHere(`A conditional delete (${conditional})`);
  if (uploadId !== undefined) await disk.abortUpload(await disk.upload(bucket, key, uploadId));
  else await disk.delete(bucket, key);
  send(res, 204);
}

/** POST /bucket/key: CreateMultipartUpload (?uploads) or CompleteMultipartUpload (?uploadId). */
export async function postObject(call: S3Call): Promise<void> {
  const { disk, bucket, key, req, res, query } = call;
  const uploadId = query.get("uploadId");
  if (query.has("uploads")) {
    checkWriteHeaders(req);
    const { contentType, headers } = storedHeaders(req);
    const id = await disk.createUpload(bucket, key, contentType, headers);
    send(
      res,
      200,
      xmlDocument("InitiateMultipartUploadResult", [el("Bucket", bucket), el("Key", key), el("UploadId", id)]),
    );
  } else if (uploadId !== undefined) {
    const check = writeConditions(req);
    const upload = await disk.upload(bucket, key, uploadId);
    const xml = await call.smallBody();
    const parts = textsOf(xml, "Part").map((p) => ({
      number: Number(textsOf(p, "PartNumber")[0]),
      etag: unescapeXml(textsOf(p, "ETag")[0] ?? ""),
    }));
    if (parts.some((p) => !Number.isInteger(p.number))) throw s3Errors.malformedXml();
    const meta = await disk.completeUpload(upload, parts, check);
    const result = [el("Location", `/${bucket}/${key}`), el("Bucket", bucket), el("Key", key), el("ETag", meta.etag)];
    send(res, 200, xmlDocument("CompleteMultipartUploadResult", result));
  } else {
    throw s3Errors.methodNotAllowed();
  }
}

async function uploadPart(call: S3Call): Promise<void> {
  const { disk, bucket, key, req, res, query } = call;
  const number = Number(query.get("partNumber"));
  if (!Number.isInteger(number) || number < 1 || number > 10000) {
    throw s3Errors.invalidArgument("Part number must be an integer between 1 and 10000, inclusive");
  }
  const uploadId = query.get("uploadId") as string;
  const source = req.headers["x-amz-copy-source"];
  if (typeof source === "string") return uploadPartCopy(call, source, number, uploadId);
  const upload = await disk.upload(bucket, key, uploadId);
  const body = await receiveBody(req, disk.tmpPath(), call.caller);
  try {
    const part = await disk.putPart(upload, number, body.path, body.md5, body.size);
    send(res, 200, "", { ETag: part.etag });
  } catch (error) {
    await rm(body.path, { force: true });
    throw error;
  }
}

/** ListParts, paged by `part-number-marker` and `max-parts` (1000 by default), as S3. */
async function listParts(call: S3Call): Promise<void> {
  const { disk, bucket, key, res, query } = call;
  const upload = await disk.upload(bucket, key, query.get("uploadId") as string);
  const marker = Number(query.get("part-number-marker") || 0);
  const max = query.has("max-parts") ? Number(query.get("max-parts")) : 1000;
  if (!Number.isInteger(marker) || marker < 0 || !Number.isInteger(max) || max < 0) {
    throw s3Errors.invalidArgument("part-number-marker and max-parts must be non-negative integers");
  }
  const after = (await disk.listParts(upload)).filter((p) => p.number > marker);
  const shown = after.slice(0, Math.min(max, 1000));
  const truncated = shown.length < after.length;
  const parts = shown.map((p) =>
    el("Part", [
      el("PartNumber", p.number),
      el("LastModified", p.lastModified),
      el("ETag", p.etag),
      el("Size", p.size),
    ]),
  );
  const head = [el("Bucket", bucket), el("Key", key), el("UploadId", upload.id)];
  head.push(el("PartNumberMarker", marker), el("MaxParts", max), el("IsTruncated", truncated));
  if (truncated) head.push(el("NextPartNumberMarker", shown[shown.length - 1]?.number ?? marker));
  send(res, 200, xmlDocument("ListPartsResult", [...head, ...parts]));
}
