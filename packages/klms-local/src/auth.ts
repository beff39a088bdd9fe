/**
 * Credentials of the local KLMS: the task signature (the platform's formula), the server secret
 * behind it, and the bearer tokens that stand in for Keycloak's JWTs (HS256 with the server
 * secret, so they survive a restart on the same data dir).
 */
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ApiError } from "./envelope.js";
import { writeFileDurably } from "./records.js";

/** How long an access token lives, in seconds. The platform's realm gives 3 h; a dev session lasts longer. */
export const DEV_TOKEN_TTL_SECONDS = 12 * 60 * 60;

/** How long a refresh token lives, in seconds (Keycloak's default SSO session max is 10 h; here 7 days). */
export const REFRESH_TOKEN_TTL_SECONDS = 7 * 24 * 60 * 60;

/** The user the default dev token belongs to. */
export const DEV_USERNAME = "dev";

/** The platform's task signature: `sha256(task_id + secret_key).hexdigest()` (`tasks.py:336-352`). */
export function signatureOf(taskId: string, secret: string): string {
  return createHash("sha256")
    .update(taskId + secret)
    .digest("hex");
}

/** Compares a presented signature with the task's, in constant time. */
export function verifySignature(taskId: string, signature: string, secret: string): boolean {
  const expected = Buffer.from(signatureOf(taskId, secret));
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The server secret: the given one, else the one kept in the data dir, else a new random one
 * saved there (mode 0600), so that signatures and tokens survive a restart.
 */
export function loadServerSecret(dataDir: string, given?: string): string {
  if (given !== undefined && given !== "") return given;
  const file = join(dataDir, "secret");
  try {
    const stored = readFileSync(file, "utf8").trim();
    if (stored !== "") return stored;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
  }
  const secret = randomBytes(32).toString("hex");
  writeFileDurably(file, `${secret}\n`);
  return secret;
}

/** What a token says, shaped like the claims of a Keycloak token (`typ` "Bearer" or "Refresh"). */
export interface TokenClaims {
  sub: string;
  preferred_username: string;
  username: string;
  typ: "Bearer" | "Refresh";
  iss: string;
  jti: string;
  /** Seconds since the epoch. */
  iat: number;
  /** Seconds since the epoch. */
  exp: number;
}

/** Kept for callers of the first version: the claims of an access token. */
export type DevTokenClaims = TokenClaims;

/**
 * Issues a JWT (HS256 with the server secret) for `username`, valid for `ttlSeconds` from `now`
 * (ms). `typ` tells an access token ("Bearer") from a refresh token ("Refresh"): each is refused
 * where the other is expected.
 */
export function issueToken(
  secret: string,
  username: string,
  options: { typ?: TokenClaims["typ"]; ttlSeconds?: number; now?: number } = {},
): string {
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const typ = options.typ ?? "Bearer";
  const ttl = options.ttlSeconds ?? (typ === "Bearer" ? DEV_TOKEN_TTL_SECONDS : REFRESH_TOKEN_TTL_SECONDS);
  const claims: TokenClaims = {
    sub: userIdOf(username),
    preferred_username: username,
    username,
    typ,
    iss: "klms-local",
    jti: randomUUID(),
    iat,
    exp: iat + ttl,
  };
  // A `kid`, as Keycloak's tokens have: the platform reads it before checking the signature.
  const head = base64url({ alg: "HS256", kid: "klms-local", typ: "JWT" });
  const body = base64url(claims);
  return `${head}.${body}.${hmac(`${head}.${body}`, secret)}`;
}

/** An access token for the default dev user (or `username`), valid for `ttlSeconds`. */
export function issueDevToken(
  secret: string,
  ttlSeconds = DEV_TOKEN_TTL_SECONDS,
  now = Date.now(),
  username = DEV_USERNAME,
): string {
  return issueToken(secret, username, { ttlSeconds, now });
}

/**
 * Checks a raw JWT (no "Bearer " prefix): signed with `secret`, an access token, not expired.
 * Returns its user and expiry (seconds since the epoch), or undefined when it is not valid.
 * The object store's STS uses it to mint credentials for the token's user.
 */
export function verifyToken(
  jwt: string,
  secret: string,
  now = Date.now(),
): { username: string; exp: number } | undefined {
  const claims = decodeToken(jwt, secret);
  if (!claims || claims.typ === "Refresh" || claims.exp * 1000 <= now) return undefined;
  return { username: claims.preferred_username, exp: claims.exp };
}

/** The claims of a token this server signed (any `typ`, even expired), or undefined. */
export function decodeToken(jwt: string, secret: string): TokenClaims | undefined {
  const parts = jwt.split(".");
  const [head, body, mac] = parts;
  if (parts.length !== 3 || !head || !body || !mac) return undefined;
  const expected = Buffer.from(hmac(`${head}.${body}`, secret));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return undefined;
  try {
    const claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as TokenClaims;
    if (typeof claims.exp !== "number" || typeof claims.preferred_username !== "string") return undefined;
    return claims;
  } catch {
    return undefined;
  }
}

/**
 * Checks an `Authorization` header like the platform's `token_active` (`auth.py:131-160`): it
 * must split on " " into exactly two parts (the platform does not look at the first one), the
 * second an access token this server signed that has not expired. Throws the platform's 401
 * with its message otherwise, per failure kind as `api_verify_token` (`auth.py:35-98`) words it:
 * - the JWT's header cannot be read (python-jose's `get_unverified_header` raises `JWTError`):
 *   "Error decoding token headers";
 * - a readable header without `kid` (`unverified_header["kid"]` raises `KeyError` outside the
 *   route's error capture): Werkzeug's 500 `HTTPError` "Internal Server Error";
 * - a bad signature, a refresh token, an expired token (`ExpiredSignatureError` is a `JWTError`
 *   caught in the audience loop): "Bearer Token could not be verified".
 * The platform's "Token is invalid or expired" (Keycloak introspection of a revoked session,
 * `kutils.py:217-228`) has no local counterpart: tokens are not revoked here.
 */
export function verifyAuthorization(header: string | undefined, secret: string, now = Date.now()): TokenClaims {
  if (header === undefined || header === "") throw new ApiError(401, "Bearer Token is missing", {}, "APIException");
  const parts = header.split(" ");
  if (parts.length !== 2) {
    throw new ApiError(401, "Authorization headers are missing or malformed", {}, "APIException");
  }
  const token = (parts[1] as string).trim();
  const head = unverifiedHeader(token);
  if (!head) throw new ApiError(401, "Error decoding token headers");
  const claims = decodeToken(token, secret);
  if (claims && claims.typ !== "Refresh" && claims.exp * 1000 > now) return claims;
  if (!("kid" in head)) throw new ApiError(500, "Internal Server Error", {}, "HTTPError");
  throw new ApiError(401, "Bearer Token could not be verified");
}

/**
 * The JWT's header as python-jose's `get_unverified_header` reads it (`jws._load`): at least
 * three dot-separated segments, each base64url (padding added, characters outside the alphabet
 * skipped, as Python's non-strict decoder does), the header a JSON object. Undefined when any
 * of that fails (jose's `JWTError`).
 */
function unverifiedHeader(token: string): Record<string, unknown> | undefined {
  const last = token.lastIndexOf(".");
  const first = token.indexOf(".");
  if (first < 0 || first === last) return undefined;
  const segments = [token.slice(0, first), token.slice(first + 1, last), token.slice(last + 1)];
  const decoded = segments.map(pythonBase64url);
  if (decoded.some((bytes) => bytes === undefined)) return undefined;
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(decoded[0]);
    const head: unknown = JSON.parse(text);
    return head !== null && typeof head === "object" && !Array.isArray(head)
      ? (head as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Python's `urlsafe_b64decode` after jose pads the input: undefined where it raises `binascii.Error`. */
function pythonBase64url(segment: string): Buffer | undefined {
  const data = segment.replace(/[^A-Za-z0-9_-]/g, "");
  return data.length % 4 === 1 ? undefined : Buffer.from(data, "base64url");
}

/**
 * The stable id of a user: a name-based UUID (version 5 layout over SHA-1), so that a user's id
 * (`sub`, `creator_user_id`) is the same on every start without storing it.
 */
export function userIdOf(username: string): string {
  return nameUuid(`user:${username}`);
}

/** A name-based UUID (RFC 4122 version 5 layout over SHA-1 of "klms-local:" + name), lowercase canonical form. */
export function nameUuid(name: string): string {
  const hash = createHash("sha1").update(`klms-local:${name}`).digest();
  hash[6] = ((hash[6] as number) & 0x0f) | 0x50;
  hash[8] = ((hash[8] as number) & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function hmac(data: string, secret: string): string {
  return createHmac("sha256", secret).update(data).digest("base64url");
}
