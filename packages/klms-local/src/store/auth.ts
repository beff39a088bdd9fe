/**
 * Who sent a request: the SigV4 signature checked against the key's secret, then the session
 * token (MinIO's order: signature, then claims). Anonymous requests are refused: every bucket of
 * the store is private, as KLMS's are.
 */
import type { IncomingMessage } from "node:http";
import type { CredentialIssuer } from "./credentials.js";
import { s3Errors } from "./errors.js";
import {
  canonicalRequest,
  checkPayloadHash,
  checkTime,
  parseSignedRequest,
  type SignedRequest,
  sameSignature,
  sha256Hex,
  signatureOf,
  signingKey,
  uriEncode,
} from "./sigv4.js";

/** A request whose signature and session token were verified. */
export interface Caller {
  user: string;
  signed: SignedRequest;
  signingKey: Buffer;
}

/** Verifies the request; throws S3's 400/403 errors (AccessDenied for an anonymous request). */
export function authenticate(
  req: IncomingMessage,
  rawPath: string,
  decodedPath: string,
  query: [string, string][],
  issuer: CredentialIssuer,
  now = Date.now(),
): Caller {
  const signed = parseSignedRequest(req, query);
  if (!signed) throw s3Errors.accessDenied();
  if (!signed.signedHeaders.includes("host")) throw s3Errors.accessDenied("The host header must be signed.");
  if (signed.payloadHash === "") {
    if (!["GET", "HEAD", "DELETE"].includes(req.method ?? "")) {
      throw s3Errors.invalidArgument("Missing required header for this request: x-amz-content-sha256");
    }
    signed.payloadHash = sha256Hex("");
  }
  checkPayloadHash(signed.payloadHash);
  checkService(signed.scope, "s3");
  const owner = issuer.ownerOf(signed.accessKeyId);
  checkTime(signed, now);
  const key = signingKey(owner.secretAccessKey, signed.scope);
  // Clients encode the path their own way (curl keeps what it was given, SDKs use S3's encoding):
  // accept the signature of the path as sent or as S3 encodes it, as S3 does.
  const matches = [uriEncode(decodedPath, true), rawPath].some((uri) =>
    sameSignature(signed.signature, signatureOf(key, signed, canonicalRequest(req, uri, query, signed))),
  );
  if (!matches) throw s3Errors.signatureDoesNotMatch();
  const user = issuer.checkSessionToken(signed.accessKeyId, owner, signed.sessionToken, now);
  return { user, signed, signingKey: key };
}

/**
 * The credential scope (`YYYYMMDD/region/service/aws4_request`) must name this endpoint's
 * service: "s3" for S3 requests (MinIO: "incorrect service", cmd/signature-v4-parser.go).
 */
function checkService(scope: string, service: "s3" | "sts"): void {
  const given = scope.split("/")[2];
  if (given !== service) {
    throw s3Errors.malformedAuth(
      `The Credential has an incorrect service "${given}": this endpoint belongs to "${service}"; sign with service "${service}".`,
    );
  }
}
