/**
 * S3's rules for bucket names and object keys, and the split of a request path into both.
 * Keys are at most 1024 bytes of UTF-8 (S3's limit); like MinIO, a key with a `.` or `..`
 * segment (whatever its encoding on the wire, whitespace around it trimmed), a leading `/`, a
 * `//` or a NUL is refused with 400 — the store never
 * maps keys to paths anyway (disk.ts), so this is about answering as MinIO does.
 */
import { s3Errors } from "./errors.js";

/** S3's longest key, bytes. */
export const MAX_KEY_BYTES = 1024;

/** The bucket and key a path-style request names; `key` is "" for a bucket request. */
export interface Target {
  bucket: string;
  key: string;
}

/** Splits `/bucket/key…` (raw, percent-encoded) into a checked bucket name and key; throws S3's 400s. */
export function targetOf(rawPath: string): Target {
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw s3Errors.invalidUri();
  }
  if (!path.startsWith("/")) throw s3Errors.invalidUri();
  const slash = path.indexOf("/", 1);
  const bucket = slash < 0 ? path.slice(1) : path.slice(1, slash);
  const key = slash < 0 ? "" : path.slice(slash + 1);
  if (bucket !== "") checkBucketName(bucket);
  if (key !== "") checkKey(key);
  return { bucket, key };
}

/** S3's bucket naming rules (3-63 of a-z 0-9 . -, starting and ending with a letter or digit). */
export function checkBucketName(name: string): void {
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) || name.includes("..")) throw s3Errors.invalidBucketName();
}

/**
 * Throws KeyTooLongError or XMinioInvalidObjectName for a key S3 or MinIO would refuse, with
 * MinIO's rules (cmd/object-api-utils.go IsValidObjectName, checkObjectNameForLengthAndSlash):
 * no leading `/`, no `//`, no NUL, and no segment that is `.` or `..` once its surrounding
 * whitespace is trimmed (` .. `, `..\t`: MinIO trims before its bad-path-component check).
 */
export function checkKey(key: string): void {
  if (Buffer.byteLength(key, "utf8") > MAX_KEY_BYTES) throw s3Errors.keyTooLong();
  if (key.startsWith("/")) throw s3Errors.invalidObjectName("Object name contains a leading slash.");
  if (key.includes("//")) throw s3Errors.invalidObjectName('Object name contains "//": remove the empty segment.');
  if (key.includes("\0")) throw s3Errors.invalidObjectName("Object name contains a NUL character.");
  if (key.split("/").some((segment) => [".", ".."].includes(segment.trim()))) {
    throw s3Errors.invalidObjectName(
      "Object name contains unsupported characters: a '.' or '..' segment (in any encoding, with or without surrounding spaces).",
    );
  }
}
