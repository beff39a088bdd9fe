/**
 * S3's error answers, with the codes, statuses and messages MinIO gives (minio cmd/api-errors.go),
 * and the XML document they travel in.
 */
import { escapeXml } from "./xml.js";

/** An S3 error: `code` is S3's `<Code>`, `status` the HTTP status. */
export class S3Error extends Error {
  constructor(
    readonly code: string,
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = "S3Error";
  }
}

/** The errors the store answers, by name; each call makes a fresh error. */
export const s3Errors = {
  accessDenied: (why = "Access Denied.") => new S3Error("AccessDenied", 403, why),
  invalidAccessKeyId: () =>
    new S3Error("InvalidAccessKeyId", 403, "The Access Key Id you provided does not exist in our records."),
  signatureDoesNotMatch: () =>
    new S3Error(
      "SignatureDoesNotMatch",
      403,
      "The request signature we calculated does not match the signature you provided. Check your key and signing method.",
    ),
  invalidToken: () => new S3Error("InvalidTokenId", 403, "The security token included in the request is invalid"),
  expiredToken: () => new S3Error("ExpiredToken", 400, "The provided token has expired."),
  malformedAuth: (why: string) => new S3Error("AuthorizationHeaderMalformed", 400, why),
  /** A presigned URL's bad X-Amz-* parameter (MinIO: ErrMalformedExpires, ErrMaximumExpires, …). */
  authQueryParameters: (why: string) => new S3Error("AuthorizationQueryParametersError", 400, why),
  timeSkewed: () =>
    new S3Error(
      "RequestTimeTooSkewed",
      403,
      "The difference between the request time and the server's time is too large.",
    ),
  contentSha256Mismatch: () =>
    new S3Error(
      "XAmzContentSHA256Mismatch",
      400,
      "The provided 'x-amz-content-sha256' header does not match what was computed.",
    ),
  invalidDigest: () =>
    new S3Error(
      "InvalidDigest",
      400,
      "The Content-Md5 you specified is not valid: send the base64 of the body's 16-byte MD5.",
    ),
  badDigest: () => new S3Error("BadDigest", 400, "The Content-Md5 you specified did not match what we received."),
  incompleteBody: () =>
    new S3Error(
      "IncompleteBody",
      400,
      "You did not provide the number of bytes specified by the Content-Length HTTP header.",
    ),
  missingContentLength: () =>
    new S3Error("MissingContentLength", 411, "You must provide the Content-Length HTTP header."),
  keyTooLong: () => new S3Error("KeyTooLongError", 400, "Your key is too long (S3 allows 1024 bytes)."),
  /** MinIO's code for every key it refuses (ErrInvalidObjectName, ErrInvalidObjectNamePrefixSlash); `why` says which rule. */
  invalidObjectName: (why: string) => new S3Error("XMinioInvalidObjectName", 400, why),
  invalidBucketName: () => new S3Error("InvalidBucketName", 400, "The specified bucket is not valid."),
  invalidUri: () => new S3Error("InvalidURI", 400, "Couldn't parse the specified URI."),
  noSuchBucket: () => new S3Error("NoSuchBucket", 404, "The specified bucket does not exist"),
  noSuchKey: () => new S3Error("NoSuchKey", 404, "The specified key does not exist."),
  noSuchUpload: () =>
    new S3Error(
      "NoSuchUpload",
      404,
      "The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.",
    ),
  invalidPart: () =>
    new S3Error(
      "InvalidPart",
      400,
      "One or more of the specified parts could not be found. The part may not have been uploaded, or the specified entity tag may not match the part's entity tag.",
    ),
  invalidPartOrder: () =>
    new S3Error(
      "InvalidPartOrder",
      400,
      "The list of parts was not in ascending order. The parts list must be specified in order by part number.",
    ),
  entityTooSmall: () =>
    new S3Error("EntityTooSmall", 400, "Your proposed upload is smaller than the minimum allowed object size."),
  invalidRange: () => new S3Error("InvalidRange", 416, "The requested range is not satisfiable"),
  bucketNotEmpty: () => new S3Error("BucketNotEmpty", 409, "The bucket you tried to delete is not empty"),
  bucketAlreadyOwnedByYou: () =>
    new S3Error(
      "BucketAlreadyOwnedByYou",
      409,
      "Your previous request to create the named bucket succeeded and you already own it.",
    ),
  malformedXml: () =>
    new S3Error(
      "MalformedXML",
      400,
      "The XML you provided was not well-formed or did not validate against our published schema.",
    ),
  invalidArgument: (why: string) => new S3Error("InvalidArgument", 400, why),
  notImplemented: () =>
    new S3Error("NotImplemented", 501, "A header you provided implies functionality that is not implemented"),
  methodNotAllowed: () =>
    new S3Error("MethodNotAllowed", 405, "The specified method is not allowed against this resource."),
  /** A conditional request whose If-Match / If-Unmodified-Since (or x-amz-copy-source-if-*) failed. */
  preconditionFailed: () =>
    new S3Error("PreconditionFailed", 412, "At least one of the pre-conditions you specified did not hold"),
  /** S3's 400 InvalidRequest (copy onto itself unchanged, SSE-C over http, …); `why` is S3's or MinIO's message. */
  invalidRequest: (why: string) => new S3Error("InvalidRequest", 400, why),
  /** A wrong x-amz-checksum-* value (S3: BadDigest naming the algorithm). */
  badChecksum: (algorithm: string) =>
    new S3Error(
      "BadDigest",
      400,
      `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
    ),
  invalidStorageClass: () =>
    new S3Error(
      "InvalidStorageClass",
      400,
      "Invalid storage class: this store (as MinIO) knows STANDARD and REDUCED_REDUNDANCY.",
    ),
  noSuchBucketPolicy: () => new S3Error("NoSuchBucketPolicy", 404, "The bucket policy does not exist"),
  /** A feature named by a header or parameter that the store does not implement: 501, nothing read or written. */
  notImplementedHere: (what: string) =>
    new S3Error("NotImplemented", 501, `${what} is not implemented by this store (klms-local's object store).`),
  internal: () => new S3Error("InternalError", 500, "We encountered an internal error, please try again."),
};

/** S3's error document: `<Error><Code>…</Code><Message>…</Message>…</Error>`. */
export function errorDocument(
  error: S3Error,
  resource: string,
  requestId: string,
  extra: Record<string, string> = {},
): string {
  const fields = Object.entries({
    Code: error.code,
    Message: error.message,
    ...extra,
    Resource: resource,
    RequestId: requestId,
  })
    .map(([name, value]) => `<${name}>${escapeXml(value)}</${name}>`)
    .join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Error>${fields}</Error>`;
}
