import { StorageError } from "./errors.js";

/** An object's location. */
export interface ObjectPath {
  bucket: string;
  /** The key; "" for a bucket or the root of a listing. */
  key: string;
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/**
 * Reads `s3://bucket/key` or `bucket/key` (the template's MinioClient accepted both). With
 * `requireKey`, a path without a key is refused. Errors say what a good path looks like.
 */
export function parsePath(path: string, options: { requireKey?: boolean } = {}): ObjectPath {
  if (typeof path !== "string" || path.trim() === "") {
    throw new StorageError(
      "BadPath",
      `an object path is required, like s3://bucket/folder/file.csv; got ${JSON.stringify(path)}`,
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(path);
  if (scheme && scheme[1]?.toLowerCase() !== "s3") {
    throw new StorageError(
      "BadPath",
      `${JSON.stringify(path)} is not an object store path: use s3://bucket/key (got the scheme "${scheme[1]}")`,
    );
  }
  const rest = scheme ? path.slice(scheme[0].length) : path.replace(/^\/+/, "");
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  const key = slash < 0 ? "" : rest.slice(slash + 1);
  if (!BUCKET.test(bucket) || bucket.includes("..")) {
    throw new StorageError(
      "BadPath",
      `${JSON.stringify(path)} has no valid bucket name: a bucket is 3 to 63 of a-z, 0-9, "." and "-", as in s3://klms-bucket/data.csv`,
    );
  }
  if (options.requireKey && key === "") {
    throw new StorageError(
      "BadPath",
      `${JSON.stringify(path)} names a bucket but no object: add the key, as in s3://${bucket}/data.csv`,
    );
  }
  return { bucket, key };
}

/** Either a path string or a bucket and a key. */
export type PathLike = string | ObjectPath;

/** Normalises a {@link PathLike}. */
export function toObjectPath(path: PathLike, options: { requireKey?: boolean } = {}): ObjectPath {
  if (typeof path === "string") return parsePath(path, options);
  return parsePath(`s3://${path.bucket}/${path.key}`, options);
}

/** `s3://bucket/key` */
export function formatPath(path: ObjectPath): string {
  return `s3://${path.bucket}/${path.key}`;
}

/**
 * The local file name for a key: its last segment, or undefined when that is not a safe file
 * name (empty as in a folder key `a/b/`, `.`, `..`): such keys must never pick a place outside
 * the download folder, nor stand for a folder.
 */
export function safeBaseName(key: string): string | undefined {
  const last = key.split("/").pop();
  if (!last || last === "." || last === ".." || last.includes("\\") || last.includes("\0")) return undefined;
  return last;
}

/**
 * The relative local path for a key under a prefix (folder downloads), or undefined when any
 * segment is unsafe (`..`, `.`, empty, a backslash), so that no key can escape the folder.
 */
export function safeRelativePath(key: string, prefix: string): string | undefined {
  const rest = key.startsWith(prefix) ? key.slice(prefix.length) : key;
  const segments = rest.split("/");
  if (
    segments.length === 0 ||
    segments.some((s) => s === "" || s === "." || s === ".." || s.includes("\\") || s.includes("\0"))
  ) {
    return undefined;
  }
  return segments.join("/");
}
