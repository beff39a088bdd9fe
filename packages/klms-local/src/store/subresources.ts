/**
 * S3's sub-resources: query parameters that turn a request on an object into another operation
 * (`PUT /b/k?tagging` sets tags, it does not write the object). The object router dispatches on
 * them before anything else, so a sub-resource this store does not implement answers 501
 * NotImplemented and never reads, replaces or deletes the object (as MinIO's router, which
 * matches on these queries first). The names are S3's (AWS SigV2's sub-resource list and the
 * S3 API reference), for objects and buckets alike.
 */

/** Every S3 sub-resource query parameter, bucket or object level. */
const SUBRESOURCES = new Set([
  "accelerate",
  "acl",
  "analytics",
  "attributes",
  "cors",
  "delete",
  "encryption",
  "intelligent-tiering",
  "inventory",
  "legal-hold",
  "lifecycle",
  "location",
  "logging",
  "metrics",
  "notification",
  "object-lock",
  "ownershipControls",
  "partNumber",
  "policy",
  "policyStatus",
  "publicAccessBlock",
  "renameObject",
  "replication",
  "requestPayment",
  "restore",
  "retention",
  "select",
  "select-type",
  "tagging",
  "torrent",
  "uploadId",
  "uploads",
  "versioning",
  "versions",
  "website",
]);

/** The object sub-resources this store answers: multipart (uploads, uploadId, partNumber), tagging and acl. */
const IMPLEMENTED_ON_OBJECTS = new Set(["uploads", "uploadId", "partNumber", "tagging", "acl"]);

/**
 * The object sub-resource a request names: "" for a plain object request, the name of an
 * implemented one (`tagging`, `acl`; multipart ones give ""), or undefined when it names one
 * the store does not implement (the caller answers 501): also `partNumber` without `uploadId`
 * (GetObject of one part) and a `versionId` other than `null`.
 */
export function objectSubresource(query: Map<string, string>): "" | "tagging" | "acl" | undefined {
  const named = [...query.keys()].filter((k) => SUBRESOURCES.has(k));
  if (named.some((k) => !IMPLEMENTED_ON_OBJECTS.has(k))) return undefined;
  // GetObject ?partNumber=N (one part of a multipart object): the store keeps no part boundaries.
  if (query.has("partNumber") && !query.has("uploadId")) return undefined;
  // The store keeps no versions: a versionId other than "null" would name one it does not have
  // (and DELETE ?versionId=X must not delete the current object).
  const version = query.get("versionId");
  if (version !== undefined && version !== "null") return undefined;
  if (named.includes("tagging")) return named.length === 1 ? "tagging" : undefined;
  if (named.includes("acl")) return named.length === 1 ? "acl" : undefined;
  return "";
}
