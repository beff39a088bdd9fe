/**
 * S3's conditional requests: `If-Match`, `If-None-Match`, `If-Modified-Since` and
 * `If-Unmodified-Since` on GetObject / HeadObject, and their `x-amz-copy-source-if-*` forms on
 * CopyObject and UploadPartCopy, with S3's precedence (AWS "Conditional requests", RFC 7232 §6;
 * MinIO cmd/object-handlers-common.go checkPreconditions / checkCopyObjectPreconditions):
 *
 * 1. If-Match present and false → 412; when it is true, If-Unmodified-Since is not looked at.
 * 2. Otherwise If-Unmodified-Since and the object changed since → 412.
 * 3. If-None-Match present and it matches → 304 on GET/HEAD (412 on a copy source); when it
 *    does not match, If-Modified-Since is not looked at.
 * 4. Otherwise If-Modified-Since and the object did not change since → 304 (412 on a copy source).
 *
 * Dates are HTTP dates (`Date.parse`); one that does not parse is ignored, as S3 and MinIO do.
 * ETag lists are comma-separated, quoted or not; `*` matches any existing object.
 */
import type { IncomingMessage } from "node:http";
import type { ObjectMeta } from "./disk.js";
import { s3Errors } from "./errors.js";

/** What a failed condition answers: 304 Not Modified (GET/HEAD only) or 412 PreconditionFailed. */
export type ConditionOutcome = "ok" | "not-modified";

/** The four conditions, read from headers named with `prefix` ("if-" or "x-amz-copy-source-if-"). */
interface Conditions {
  match?: string;
  noneMatch?: string;
  modifiedSince?: number;
  unmodifiedSince?: number;
}

function conditionsOf(req: IncomingMessage, prefix: string): Conditions {
  const header = (name: string) => {
    const v = req.headers[`${prefix}${name}`];
    return typeof v === "string" ? v : undefined;
  };
  const date = (name: string) => {
    const t = Date.parse(header(name) ?? "");
    return Number.isNaN(t) ? undefined : t;
  };
  return {
    match: header("match"),
    noneMatch: header("none-match"),
    modifiedSince: date("modified-since"),
    unmodifiedSince: date("unmodified-since"),
  };
}

/** Whether `list` (an If-Match / If-None-Match value) names the object's ETag, or is `*`. */
export function etagListMatches(list: string, etag: string): boolean {
  const bare = etag.replace(/"/g, "");
  return list.split(",").some((item) => {
    const t = item.trim().replace(/^W\//, "").replace(/"/g, "");
    return t === "*" || t === bare;
  });
}

/** Seconds precision: HTTP dates carry no milliseconds, so an object modified within the second is "not since". */
function modifiedAfter(meta: ObjectMeta, when: number): boolean {
  return Math.floor(Date.parse(meta.lastModified) / 1000) > Math.floor(when / 1000);
}

function evaluate(c: Conditions, meta: ObjectMeta): "ok" | "failed" | "not-modified" {
  if (c.match !== undefined) {
    if (!etagListMatches(c.match, meta.etag)) return "failed";
  } else if (c.unmodifiedSince !== undefined && modifiedAfter(meta, c.unmodifiedSince)) {
    return "failed";
  }
  if (c.noneMatch !== undefined) {
    if (etagListMatches(c.noneMatch, meta.etag)) return "not-modified";
  } else if (c.modifiedSince !== undefined && !modifiedAfter(meta, c.modifiedSince)) {
    return "not-modified";
  }
  return "ok";
}

/**
 * The GET/HEAD conditions of `req` against the object: "ok", or "not-modified" (the caller
 * answers 304 with the object's ETag and Last-Modified and no body); throws 412
 * PreconditionFailed.
 */
export function checkReadConditions(req: IncomingMessage, meta: ObjectMeta): ConditionOutcome {
  const outcome = evaluate(conditionsOf(req, "if-"), meta);
  if (outcome === "failed") throw s3Errors.preconditionFailed();
  return outcome;
}

/** The `x-amz-copy-source-if-*` conditions against the copy source; any failure is 412 PreconditionFailed. */
export function checkCopySourceConditions(req: IncomingMessage, source: ObjectMeta): void {
  if (evaluate(conditionsOf(req, "x-amz-copy-source-if-"), source) !== "ok") throw s3Errors.preconditionFailed();
}

/**
 * PutObject / CompleteMultipartUpload's conditional writes (S3 and MinIO): `If-None-Match: *`
 * refuses to overwrite an existing object, `If-Match: <etag>` refuses unless the current object
 * has that ETag (or exists, for `*`); both 412. Returns the check to run, under the key's lock,
 * against the object being replaced (undefined when there is none); undefined when the request
 * has no such header.
 */
export function writeConditions(req: IncomingMessage): ((old: ObjectMeta | undefined) => void) | undefined {
  const match = req.headers["if-match"];
  const noneMatch = req.headers["if-none-match"];
  if (typeof match !== "string" && typeof noneMatch !== "string") return undefined;
  if (typeof noneMatch === "string" && noneMatch.trim() !== "*") {
    throw s3Errors.notImplementedHere("If-None-Match with an ETag on a write (S3 takes only `*`)");
  }
  return (old) => {
    if (typeof match === "string" && (old === undefined || !etagListMatches(match, old.etag))) {
      throw s3Errors.preconditionFailed();
    }
    if (typeof noneMatch === "string" && old !== undefined) throw s3Errors.preconditionFailed();
  };
}
