/**
 * S3's service and bucket operations: ListBuckets, Create/Head/DeleteBucket, GetBucketLocation,
 * GetBucketVersioning, ListObjects (v1 and v2, with prefix, delimiter, paging and
 * encoding-type=url), ListMultipartUploads and DeleteObjects.
 */
import type { DiskStore, ObjectMeta } from "./disk.js";
import { s3Errors } from "./errors.js";
import { checkKey } from "./names.js";
import { type S3Call, send } from "./objects.js";
import { uriEncode } from "./sigv4.js";
import { el, textsOf, unescapeXml, xmlDocument } from "./xml.js";

const OWNER = el("Owner", [el("ID", "klms-local"), el("DisplayName", "klms-local")]);

/** GET / */
export async function listBuckets(disk: DiskStore, call: Pick<S3Call, "res">): Promise<void> {
  const buckets = (await disk.listBuckets()).map((b) =>
    el("Bucket", [el("Name", b.name), el("CreationDate", b.created.toISOString())]),
  );
  send(call.res, 200, xmlDocument("ListAllMyBucketsResult", [OWNER, el("Buckets", buckets)]));
}

/** Requests on `/bucket` (no key). */
export async function bucketCall(call: S3Call): Promise<void> {
  const { disk, bucket, res, query } = call;
  const method = call.req.method;
  if (method === "PUT" && query.size === 0) {
    // A bucket with object lock would promise retention the store cannot keep: refused, not ignored.
    if (String(call.req.headers["x-amz-bucket-object-lock-enabled"] ?? "").toLowerCase() === "true") {
      throw s3Errors.notImplementedHere("Object lock (x-amz-bucket-object-lock-enabled)");
    }
    await disk.createBucket(bucket);
    return send(res, 200, "", { Location: `/${bucket}` });
  }
  disk.objects(bucket);
  if (method === "HEAD") return send(res, 200);
  if (method === "DELETE" && query.size === 0) {
    await disk.deleteBucket(bucket);
    return send(res, 204);
  }
  if (method === "POST" && query.has("delete")) return deleteObjects(call);
  if (method !== "GET") throw s3Errors.notImplemented();
  if (query.has("location")) {
    return send(res, 200, xmlDocument("LocationConstraint", []));
  }
  if (query.has("versioning")) return send(res, 200, xmlDocument("VersioningConfiguration", []));
  // No bucket has a policy (every bucket is private, as KLMS's): GetBucketPolicy answers as S3 with none.
  if (query.has("policy")) throw s3Errors.noSuchBucketPolicy();
  if (query.has("uploads")) return listUploads(call);
  const unsupported = [...query.keys()].find((k) => !LIST_PARAMS.has(k));
  if (unsupported !== undefined) throw s3Errors.notImplemented();
  return listObjects(call);
}

const LIST_PARAMS = new Set([
  "list-type",
  "prefix",
  "delimiter",
  "marker",
  "max-keys",
  "start-after",
  "continuation-token",
  "encoding-type",
  "fetch-owner",
  "x-id",
]);

/** One page of keys and common prefixes after `after`, as S3 pages them. */
export function page(
  objects: Map<string, ObjectMeta>,
  prefix: string,
  delimiter: string,
  after: string,
  max: number,
): { contents: ObjectMeta[]; prefixes: string[]; truncated: boolean; last: string } {
  const contents: ObjectMeta[] = [];
  const prefixes: string[] = [];
  let last = "";
  let truncated = false;
  // max-keys=0 asks for no key: an empty page that is not truncated (radosgw, MinIO), so a
  // client's paging loop ends instead of following a token that names nothing.
  if (max === 0) return { contents, prefixes, truncated, last };
  for (const key of [...objects.keys()].sort()) {
    if (!key.startsWith(prefix) || key <= after) continue;
    const cut = delimiter === "" ? -1 : key.indexOf(delimiter, prefix.length);
    const entry = cut < 0 ? key : key.slice(0, cut + delimiter.length);
    if (cut >= 0 && (entry <= after || entry === prefixes[prefixes.length - 1])) continue;
    if (contents.length + prefixes.length >= max) {
      truncated = true;
      break;
    }
    if (cut < 0) contents.push(objects.get(key) as ObjectMeta);
    else prefixes.push(entry);
    last = entry;
  }
  return { contents, prefixes, truncated, last };
}

async function listObjects(call: S3Call): Promise<void> {
  const { disk, bucket, res, query } = call;
  const v2 = query.get("list-type") === "2";
  const prefix = query.get("prefix") ?? "";
  const delimiter = query.get("delimiter") ?? "";
  const max = query.has("max-keys") ? Number(query.get("max-keys")) : 1000;
  if (!Number.isInteger(max) || max < 0) throw s3Errors.invalidArgument("max-keys must be a non-negative integer");
  const token = query.get("continuation-token");
  const after = v2
    ? token !== undefined
      ? keyOfToken(token)
      : (query.get("start-after") ?? "")
    : (query.get("marker") ?? "");
  const withOwner = !v2 || query.get("fetch-owner") === "true";
  const url = query.get("encoding-type") === "url";
  const enc = (text: string) => (url ? uriEncode(text, true) : text);
  const found = page(disk.objects(bucket), prefix, delimiter, after, Math.min(max, 1000));
  const contents = found.contents.map((m) =>
    el("Contents", [
      el("Key", enc(m.key)),
      el("LastModified", m.lastModified),
      el("ETag", m.etag),
      el("Size", m.size),
      el("StorageClass", "STANDARD"),
      ...(withOwner ? [OWNER] : []),
    ]),
  );
  const prefixes = found.prefixes.map((p) => el("CommonPrefixes", [el("Prefix", enc(p))]));
  const head = [el("Name", bucket), el("Prefix", enc(prefix)), el("MaxKeys", max), el("IsTruncated", found.truncated)];
  if (delimiter) head.push(el("Delimiter", enc(delimiter)));
  if (url) head.push(el("EncodingType", "url"));
  if (v2) {
    head.push(el("KeyCount", found.contents.length + found.prefixes.length));
    if (token !== undefined) head.push(el("ContinuationToken", token));
    if (query.has("start-after")) head.push(el("StartAfter", enc(query.get("start-after") as string)));
    if (found.truncated) head.push(el("NextContinuationToken", tokenOf(found.last)));
  } else {
    head.push(el("Marker", enc(after)));
    if (found.truncated && delimiter) head.push(el("NextMarker", enc(found.last)));
  }
  send(res, 200, xmlDocument("ListBucketResult", [...head, ...contents, ...prefixes]));
}

/** What a ListObjectsV2 continuation token starts with: it tells the store's tokens from others. */
const TOKEN_TAG = "klms1:";

/** The opaque NextContinuationToken for a page that ended at `last`. */
function tokenOf(last: string): string {
  return Buffer.from(TOKEN_TAG + last, "utf8").toString("base64url");
}

/** The key a continuation token continues after; 400 InvalidArgument for a token the store did not issue (MinIO's message). */
function keyOfToken(token: string): string {
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith(TOKEN_TAG) || tokenOf(text.slice(TOKEN_TAG.length)) !== token) {
    throw s3Errors.invalidArgument("The continuation token provided is incorrect");
  }
  return text.slice(TOKEN_TAG.length);
}

async function listUploads(call: S3Call): Promise<void> {
  const { disk, bucket, res, query } = call;
  const prefix = query.get("prefix") ?? "";
  // Grouping by delimiter and paging inside one key are not implemented: refused, never ignored.
  for (const param of ["delimiter", "upload-id-marker"]) {
    if (query.get(param)) throw s3Errors.notImplementedHere(`ListMultipartUploads with ${param}`);
  }
  const keyMarker = query.get("key-marker") ?? "";
  const uploads = (await disk.listUploads(bucket))
    .filter((u) => u.key.startsWith(prefix) && u.key > keyMarker)
    .map((u) =>
      el("Upload", [
        el("Key", u.key),
        el("UploadId", u.id),
        el("Initiator", [el("ID", "klms-local"), el("DisplayName", "klms-local")]),
        OWNER,
        el("StorageClass", "STANDARD"),
        el("Initiated", u.initiated),
      ]),
    );
  const head = [el("Bucket", bucket), el("Prefix", prefix), el("MaxUploads", 1000), el("IsTruncated", false)];
  send(res, 200, xmlDocument("ListMultipartUploadsResult", [...head, ...uploads]));
}

async function deleteObjects(call: S3Call): Promise<void> {
  const { disk, bucket, res } = call;
  const xml = await call.smallBody();
  const quiet = textsOf(xml, "Quiet")[0] === "true";
  const results: string[] = [];
  for (const object of textsOf(xml, "Object")) {
    const key = unescapeXml(textsOf(object, "Key")[0] ?? "");
    const version = textsOf(object, "VersionId")[0];
    try {
      // The store keeps no versions: deleting "a version" must not delete the current object.
      if (version !== undefined && version !== "null") throw s3Errors.notImplementedHere("Deleting a version");
      checkKey(key);
      await disk.delete(bucket, key);
      if (!quiet) results.push(el("Deleted", [el("Key", key)]));
    } catch (error) {
      const e = error as { code?: string; message: string };
      results.push(el("Error", [el("Key", key), el("Code", e.code ?? "InternalError"), el("Message", e.message)]));
    }
  }
  send(res, 200, xmlDocument("DeleteResult", results));
}
