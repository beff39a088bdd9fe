/**
 * Request headers that change what an object request means (encryption, storage class, object
 * lock, website redirect, grants). A store that ignored them would answer 200 and do something
 * else than asked, so each is either honoured or refused before any byte is read or written, as
 * MinIO refuses them (cmd/api-errors.go):
 *
 * - SSE-C (`x-amz-server-side-encryption-customer-*`, and the `x-amz-copy-source-…` form) over
 *   plain http: 400 InvalidRequest (MinIO's ErrInsecureSSECustomerRequest); over https: 501.
 * - `x-amz-server-side-encryption` (SSE-S3, SSE-KMS): 501 (MinIO without a KMS: NotImplemented).
 * - `x-amz-storage-class` other than STANDARD or REDUCED_REDUNDANCY: 400 InvalidStorageClass.
 * - `x-amz-object-lock-*`, `x-amz-website-redirect-location`, `x-amz-grant-*`, an
 *   `x-amz-acl` other than `private`: 501 NotImplemented.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import { s3Errors } from "./errors.js";

/** MinIO's storage classes (internal/config/storageclass). */
export const STORAGE_CLASSES = ["STANDARD", "REDUCED_REDUNDANCY"];

/** Checks the headers of any object request (GET and HEAD read with SSE-C keys too). */
export function checkEncryptionHeaders(req: IncomingMessage): void {
  const names = Object.keys(req.headers);
  const ssec = names.find((n) => /^x-amz-(copy-source-)?server-side-encryption-customer-/.test(n));
  if (ssec !== undefined) {
    if (!(req.socket as TLSSocket).encrypted) {
      throw s3Errors.invalidRequest(
        "Requests specifying Server Side Encryption with Customer provided keys must be made over a secure connection.",
      );
    }
    throw s3Errors.notImplementedHere(`Server-side encryption with customer keys (${ssec})`);
  }
  if (names.includes("x-amz-server-side-encryption") || names.includes("x-amz-server-side-encryption-aws-kms-key-id")) {
    throw s3Errors.notImplementedHere("Server-side encryption (x-amz-server-side-encryption; no KMS is configured)");
  }
}

/** Checks the headers of a request that writes an object (PutObject, CopyObject, CreateMultipartUpload). */
export function checkWriteHeaders(req: IncomingMessage): void {
  const storageClass = req.headers["x-amz-storage-class"];
  if (storageClass !== undefined && !STORAGE_CLASSES.includes(String(storageClass))) {
    throw s3Errors.invalidStorageClass();
  }
  for (const name of Object.keys(req.headers)) {
    if (name.startsWith("x-amz-object-lock-")) throw s3Errors.notImplementedHere(`Object lock (${name})`);
    if (name.startsWith("x-amz-grant-")) throw s3Errors.notImplementedHere(`Access grants (${name})`);
  }
  if (req.headers["x-amz-website-redirect-location"] !== undefined) {
    throw s3Errors.notImplementedHere("x-amz-website-redirect-location");
  }
  const acl = req.headers["x-amz-acl"];
  if (acl !== undefined && acl !== "private") {
    throw s3Errors.notImplementedHere(`The canned ACL "${String(acl)}" (only private is)`);
  }
}
