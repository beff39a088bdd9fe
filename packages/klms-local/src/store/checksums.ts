/**
 * S3's additional checksums on uploads: an `x-amz-checksum-crc32`, `-crc32c`, `-sha1` or
 * `-sha256` header carries the base64 of the body's checksum; S3 and MinIO compute it while the
 * body arrives and refuse the upload (nothing stored) when it differs: 400 BadDigest. A value
 * that is not base64 of the algorithm's length is 400 InvalidArgument (MinIO: "Invalid checksum
 * provided."); an algorithm the store does not compute (`crc64nvme`) is 501 before the body is
 * read, never silently accepted.
 */
import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { crc32 } from "node:zlib";
import { s3Errors } from "./errors.js";

/** The body checksum a request asks to be checked. */
export interface ChecksumCheck {
  algorithm: "crc32" | "crc32c" | "sha1" | "sha256";
  /** The expected digest's bytes. */
  expected: Buffer;
  update(chunk: Buffer): void;
  /** The computed digest's bytes, once the body is read. */
  digest(): Buffer;
}

const LENGTHS = { crc32: 4, crc32c: 4, sha1: 20, sha256: 32 } as const;

/** The checks named by the request's `x-amz-checksum-*` headers; throws 400 InvalidArgument or 501. */
export function checksumChecks(req: IncomingMessage): ChecksumCheck[] {
  const checks: ChecksumCheck[] = [];
  for (const [name, value] of Object.entries(req.headers)) {
    if (!name.startsWith("x-amz-checksum-") || name === "x-amz-checksum-type") continue;
    const algorithm = name.slice("x-amz-checksum-".length);
    if (!Object.hasOwn(LENGTHS, algorithm)) throw s3Errors.notImplementedHere(`The checksum header ${name}`);
    const a = algorithm as keyof typeof LENGTHS;
    const text = String(value).trim();
    const expected = Buffer.from(text, "base64");
    if (expected.length !== LENGTHS[a] || expected.toString("base64") !== text) {
      throw s3Errors.invalidArgument(`Invalid checksum provided: ${name} must be the base64 of the ${a} of the body.`);
    }
    checks.push({ algorithm: a, expected, ...hasher(a) });
  }
  return checks;
}

/**
 * The checks an aws-chunked body's trailer will carry (`x-amz-trailer: x-amz-checksum-crc32`,
 * as the AWS SDKs send by default): computed while the body arrives, compared once the trailer
 * is read ({@link verifyTrailerChecksums}). Throws 501 for an algorithm the store does not compute.
 */
export function trailerChecks(req: IncomingMessage): ChecksumCheck[] {
  const names = String(req.headers["x-amz-trailer"] ?? "")
    .split(",")
    .map((n) => n.trim().toLowerCase())
    .filter((n) => n.startsWith("x-amz-checksum-"));
  return names.map((name) => {
    const algorithm = name.slice("x-amz-checksum-".length);
    if (!Object.hasOwn(LENGTHS, algorithm)) throw s3Errors.notImplementedHere(`The trailing checksum ${name}`);
    const a = algorithm as keyof typeof LENGTHS;
    return { algorithm: a, expected: Buffer.alloc(0), ...hasher(a) };
  });
}

/** Checks the trailer's `x-amz-checksum-<algorithm>:<base64>` lines against the computed checksums; 400 when one is missing, malformed or wrong. */
export function verifyTrailerChecksums(checks: ChecksumCheck[], trailerText: string): void {
  const values = new Map<string, string>();
  for (const line of trailerText.split(/\r?\n/)) {
    const colon = line.indexOf(":");
    if (colon > 0) values.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
  }
  for (const c of checks) {
    const name = `x-amz-checksum-${c.algorithm}`;
    const text = values.get(name) ?? "";
    const expected = Buffer.from(text, "base64");
    if (expected.length !== LENGTHS[c.algorithm] || expected.toString("base64") !== text) {
      throw s3Errors.invalidArgument(`Invalid checksum provided: the trailer ${name} is missing or not base64.`);
    }
    if (!expected.equals(c.digest())) throw s3Errors.badChecksum(c.algorithm);
  }
}

/** Throws BadDigest when a computed checksum differs from the one sent. */
export function verifyChecksums(checks: ChecksumCheck[]): void {
  for (const c of checks) if (!c.expected.equals(c.digest())) throw s3Errors.badChecksum(c.algorithm);
}

function hasher(algorithm: keyof typeof LENGTHS): Pick<ChecksumCheck, "update" | "digest"> {
  if (algorithm === "sha1" || algorithm === "sha256") {
    const h = createHash(algorithm);
    return { update: (c) => h.update(c), digest: () => h.digest() };
  }
  let crc = 0;
  const step = algorithm === "crc32" ? crc32 : crc32c;
  return {
    update: (c) => {
      crc = step(c, crc);
    },
    digest: () => {
      const out = Buffer.alloc(4);
      out.writeUInt32BE(crc >>> 0);
      return out;
    },
  };
}

/** CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as S3's x-amz-checksum-crc32c; Node has only CRC-32. */
const CRC32C_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** Continues a CRC-32C over `data` from `previous` (0 to start), as zlib.crc32 does for CRC-32. */
export function crc32c(data: Buffer, previous = 0): number {
  let crc = ~previous >>> 0;
  for (const byte of data) crc = (CRC32C_TABLE[(crc ^ byte) & 0xff] as number) ^ (crc >>> 8);
  return ~crc >>> 0;
}
