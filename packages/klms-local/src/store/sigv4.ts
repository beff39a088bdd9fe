/**
 * AWS Signature Version 4 as an S3 server checks it: the Authorization header form and the
 * presigned query form (X-Amz-*), canonical request, string to sign, signing key, and the
 * per-chunk signatures of `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` bodies.
 * Reference: AWS "Authenticating Requests (AWS Signature Version 4)"; MinIO cmd/signature-v4*.go.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { s3Errors } from "./errors.js";

/** The parsed parts of a signed request that the checks need. */
export interface SignedRequest {
  accessKeyId: string;
  /** `YYYYMMDD/region/service/aws4_request` */
  scope: string;
  /** `YYYYMMDDTHHMMSSZ` */
  amzDate: string;
  signedHeaders: string[];
  signature: string;
  /** The session token sent (header `x-amz-security-token` or query `X-Amz-Security-Token`). */
  sessionToken?: string;
  /** `x-amz-content-sha256`, or `UNSIGNED-PAYLOAD` for a presigned URL without it. */
  payloadHash: string;
  presigned: boolean;
  /** Presigned only: seconds the URL is valid from amzDate. */
  expiresSeconds?: number;
}

/** Requests signed more than this far from the server's clock are refused (S3: 15 min). */
export const MAX_SKEW_MS = 15 * 60 * 1000;

const ALGORITHM = "AWS4-HMAC-SHA256";

/** S3's URI encoding: every byte but A-Z a-z 0-9 - . _ ~ as %XX (and `/` too unless kept). */
export function uriEncode(text: string, keepSlash: boolean): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    if (/[A-Za-z0-9\-._~]/.test(c) || (keepSlash && c === "/")) out += c;
    else out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The query's pairs, decoded (`+` is a space, as Go's url.ParseQuery reads it). Throws InvalidURI. */
export function queryPairs(rawQuery: string): [string, string][] {
  if (rawQuery === "") return [];
  return rawQuery.split("&").map((part) => {
    const eq = part.indexOf("=");
    const [k, v] = eq < 0 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
    try {
      return [decodeURIComponent(k.replace(/\+/g, " ")), decodeURIComponent(v.replace(/\+/g, " "))];
    } catch {
      throw s3Errors.invalidUri();
    }
  });
}

/** Reads what a request says about its signature; undefined for an anonymous request. */
export function parseSignedRequest(req: IncomingMessage, query: [string, string][]): SignedRequest | undefined {
  const q = new Map(query);
  const header = req.headers.authorization;
  if (header !== undefined) return parseAuthorizationHeader(header, req);
  if (q.has("X-Amz-Algorithm") || q.has("X-Amz-Signature")) return parsePresigned(q);
  if (q.has("Signature") || q.has("AWSAccessKeyId")) {
    throw s3Errors.accessDenied("Signature Version 2 is not supported by this store: sign with SigV4.");
  }
  return undefined;
}

function parseAuthorizationHeader(header: string, req: IncomingMessage): SignedRequest {
  if (!header.startsWith(`${ALGORITHM} `)) {
    throw s3Errors.accessDenied("Only AWS4-HMAC-SHA256 (Signature Version 4) is supported by this store.");
  }
  const fields = new Map<string, string>();
  for (const part of header.slice(ALGORITHM.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const credential = fields.get("Credential");
  const signed = fields.get("SignedHeaders");
  const signature = fields.get("Signature");
  if (!credential || !signed || !signature) {
    throw s3Errors.malformedAuth(
      "The authorization header is malformed; it needs Credential, SignedHeaders and Signature.",
    );
  }
  const amzDate = String(req.headers["x-amz-date"] ?? "");
  const token = req.headers["x-amz-security-token"];
  return {
    ...splitCredential(credential),
    amzDate,
    signedHeaders: signed.split(";"),
    signature,
    ...(typeof token === "string" ? { sessionToken: token } : {}),
    payloadHash: String(req.headers["x-amz-content-sha256"] ?? ""),
    presigned: false,
  };
}

function parsePresigned(q: Map<string, string>): SignedRequest {
  if (q.get("X-Amz-Algorithm") !== ALGORITHM) {
    throw s3Errors.accessDenied("Only AWS4-HMAC-SHA256 presigned URLs are supported by this store.");
  }
  const credential = q.get("X-Amz-Credential");
  const expires = presignedExpires(q.get("X-Amz-Expires"));
  const signature = q.get("X-Amz-Signature");
  const signed = q.get("X-Amz-SignedHeaders");
  if (!credential || !signature || !signed) {
    throw s3Errors.malformedAuth("The presigned URL is missing X-Amz-Credential, -SignedHeaders or -Signature.");
  }
  const token = q.get("X-Amz-Security-Token");
  return {
    ...splitCredential(credential),
    amzDate: q.get("X-Amz-Date") ?? "",
    signedHeaders: signed.split(";"),
    signature,
    ...(token !== undefined ? { sessionToken: token } : {}),
    payloadHash: q.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD",
    presigned: true,
    expiresSeconds: expires,
  };
}

/** S3's longest presigned URL life, seconds (7 days). */
const MAX_PRESIGNED_SECONDS = 604800;

/** X-Amz-Expires, seconds: an integer 1…604800, else 400 AuthorizationQueryParametersError (MinIO's wording). */
function presignedExpires(raw: string | undefined): number {
  const expires = Number(raw);
  if (raw === undefined || raw === "" || !Number.isInteger(expires)) {
    throw s3Errors.authQueryParameters("X-Amz-Expires should be a number of seconds.");
  }
  if (expires < 1) throw s3Errors.authQueryParameters("X-Amz-Expires must be positive (at least 1 second).");
  if (expires > MAX_PRESIGNED_SECONDS) {
    throw s3Errors.authQueryParameters(
      `X-Amz-Expires must be less than a week (in seconds) that is, the given X-Amz-Expires must be less than ${MAX_PRESIGNED_SECONDS} seconds.`,
    );
  }
  return expires;
}

function splitCredential(credential: string): { accessKeyId: string; scope: string } {
  const parts = credential.split("/");
  if (parts.length !== 5 || parts[4] !== "aws4_request" || !/^\d{8}$/.test(parts[1] ?? "")) {
    throw s3Errors.malformedAuth(
      'The Credential is malformed; expecting "<key id>/YYYYMMDD/<region>/<service>/aws4_request".',
    );
  }
  return { accessKeyId: parts[0] as string, scope: parts.slice(1).join("/") };
}

/**
 * The payload forms S3 defines for `x-amz-content-sha256` besides a hex SHA-256 (AWS's SigV4
 * reference; MinIO cmd/signature-v4-utils.go). The ECDSA (SigV4a) forms are not supported here.
 */
const PAYLOAD_FORMS = new Set([
  "UNSIGNED-PAYLOAD",
  "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
]);

/**
 * Checks `x-amz-content-sha256`: one of S3's payload forms or a hex SHA-256; anything else is
 * 400 InvalidArgument (a typo must not make a body silently unsigned).
 */
export function checkPayloadHash(payloadHash: string): void {
  if (PAYLOAD_FORMS.has(payloadHash) || /^[0-9a-fA-F]{64}$/.test(payloadHash)) return;
  throw s3Errors.invalidArgument(
    "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER) or the hex SHA-256 of the body.",
  );
}

/** The body's signed SHA-256 (lower-case hex), or undefined for an unsigned or streaming payload. */
export function signedBodySha256(payloadHash: string): string | undefined {
  return /^[0-9a-fA-F]{64}$/.test(payloadHash) ? payloadHash.toLowerCase() : undefined;
}

/** Milliseconds since the epoch of `YYYYMMDDTHHMMSSZ`, or NaN. */
export function parseAmzDate(amzDate: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
}

/**
 * Checks the request's time: present, in the scope's day, within {@link MAX_SKEW_MS} of now
 * (header form) or not past its X-Amz-Expires (presigned).
 */
export function checkTime(signed: SignedRequest, now: number): void {
  const at = parseAmzDate(signed.amzDate);
  if (Number.isNaN(at)) throw s3Errors.accessDenied("AWS authentication requires a valid Date or x-amz-date header");
  if (signed.amzDate.slice(0, 8) !== signed.scope.slice(0, 8)) {
    throw s3Errors.malformedAuth("The Credential's date does not match the request's x-amz-date.");
  }
  if (signed.presigned) {
    if (at - now > MAX_SKEW_MS) throw s3Errors.accessDenied("Request is not valid yet");
    if (now > at + (signed.expiresSeconds ?? 0) * 1000) throw s3Errors.accessDenied("Request has expired");
  } else if (Math.abs(now - at) > MAX_SKEW_MS) {
    throw s3Errors.timeSkewed();
  }
}

/** The canonical request of AWS SigV4 for this server-side request; `canonicalUri` is the path, URI-encoded. */
export function canonicalRequest(
  req: IncomingMessage,
  canonicalUri: string,
  query: [string, string][],
  signed: SignedRequest,
): string {
  const pairs = query
    .filter(([k]) => !(signed.presigned && k === "X-Amz-Signature"))
    .map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)] as const)
    .sort(([ak, av], [bk, bv]) => (ak < bk ? -1 : ak > bk ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const headers = headerValues(req);
  const canonicalHeaders = signed.signedHeaders.map((name) => {
    const value = headers.get(name);
    if (value === undefined) throw s3Errors.accessDenied(`The signed header ${name} is missing from the request.`);
    return `${name}:${value}\n`;
  });
  return [
    req.method ?? "GET",
    canonicalUri,
    pairs.map(([k, v]) => `${k}=${v}`).join("&"),
    canonicalHeaders.join(""),
    signed.signedHeaders.join(";"),
    signed.payloadHash,
  ].join("\n");
}

/** The request's headers by lower-case name, values trimmed and inner runs of spaces made one, repeats joined by ",". */
function headerValues(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const value = (raw[i + 1] as string).trim().replace(/ +/g, " ");
    const before = out.get(name);
    out.set(name, before === undefined ? value : `${before},${value}`);
  }
  return out;
}

/** HMAC-SHA256 key for the scope `YYYYMMDD/region/service/aws4_request`. */
export function signingKey(secretAccessKey: string, scope: string): Buffer {
  let key: Buffer = Buffer.from(`AWS4${secretAccessKey}`, "utf8");
  for (const part of scope.split("/")) key = createHmac("sha256", key).update(part).digest();
  return key;
}

/** The signature of a canonical request. */
export function signatureOf(key: Buffer, signed: Pick<SignedRequest, "amzDate" | "scope">, canonical: string): string {
  const toSign = [ALGORITHM, signed.amzDate, signed.scope, sha256Hex(canonical)].join("\n");
  return createHmac("sha256", key).update(toSign).digest("hex");
}

/** The signature of one chunk of a `STREAMING-AWS4-HMAC-SHA256-PAYLOAD` body. */
export function chunkSignatureOf(
  key: Buffer,
  signed: Pick<SignedRequest, "amzDate" | "scope">,
  previous: string,
  chunkSha256Hex: string,
): string {
  const toSign = [`${ALGORITHM}-PAYLOAD`, signed.amzDate, signed.scope, previous, sha256Hex(""), chunkSha256Hex].join(
    "\n",
  );
  return createHmac("sha256", key).update(toSign).digest("hex");
}

/** Compares two hex signatures in constant time. */
export function sameSignature(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Hex SHA-256. */
export function sha256Hex(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}
