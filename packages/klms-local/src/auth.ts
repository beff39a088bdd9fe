/**
 * Credentials of the local KLMS: the task signature (the platform's formula), the server secret
 * behind it, and the dev bearer token that stands in for a Keycloak JWT.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApiError } from "./envelope.js";

/** How long a dev token lives. The platform's realm gives 3 h; a dev session lasts longer. */
export const DEV_TOKEN_TTL_SECONDS = 12 * 60 * 60;

/** The platform's task signature: `sha256(task_id + secret_key).hexdigest()`. */
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
 * saved there (mode 0600), so that signatures and dev tokens survive a restart.
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
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** Claims of a dev token; shaped like the Keycloak access tokens the platform verifies. */
export interface DevTokenClaims {
  sub: string;
  preferred_username: string;
  iss: string;
  iat: number;
  exp: number;
}

/** Issues a JWT (HS256 with the server secret) for the dev user, valid for `ttlSeconds`. */
export function issueDevToken(secret: string, ttlSeconds = DEV_TOKEN_TTL_SECONDS, now = Date.now()): string {
  const iat = Math.floor(now / 1000);
  const claims: DevTokenClaims = {
    sub: "dev",
    preferred_username: "dev",
    iss: "klms-local",
    iat,
    exp: iat + ttlSeconds,
  };
  const head = base64url({ alg: "HS256", typ: "JWT" });
  const body = base64url(claims);
  return `${head}.${body}.${hmac(`${head}.${body}`, secret)}`;
}

/**
 * Checks an `Authorization` header like the platform's `token_active`: it must split on " " into
 * exactly two parts, the first `Bearer`, the second a JWT this server signed and that has not
 * expired. Throws the platform's 401 otherwise.
 */
export function verifyAuthorization(header: string | undefined, secret: string, now = Date.now()): DevTokenClaims {
  if (header === undefined || header === "") throw new ApiError(401, "Bearer Token is missing");
  const parts = header.split(" ");
  if (parts.length !== 2 || parts[0] !== "Bearer") {
    throw new ApiError(401, "Authorization headers are missing or malformed");
  }
  const jwt = (parts[1] as string).split(".");
  const [head, body, mac] = jwt;
  if (jwt.length !== 3 || !head || !body || !mac) throw new ApiError(401, "Bearer Token could not be verified");
  const expected = Buffer.from(hmac(`${head}.${body}`, secret));
  const given = Buffer.from(mac);
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApiError(401, "Bearer Token could not be verified");
  }
  let claims: DevTokenClaims;
  try {
    claims = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as DevTokenClaims;
  } catch {
    throw new ApiError(401, "Bearer Token could not be verified");
  }
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= now) {
    throw new ApiError(401, "Token is invalid or expired");
  }
  return claims;
}

function base64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString("base64url");
}

function hmac(data: string, secret: string): string {
  return createHmac("sha256", secret).update(data).digest("base64url");
}

/**
 * Checks a bare user JWT (no "Bearer " prefix) of this server: the user and expiry (seconds), or
 * undefined when the signature is wrong or the token expired. The store's STS uses it for
 * AssumeRoleWithWebIdentity's WebIdentityToken (interface agreed with the accounts code).
 */
export function verifyToken(
  jwt: string,
  secret: string,
  now = Date.now(),
): { username: string; exp: number } | undefined {
  try {
    const claims = verifyAuthorization(`Bearer ${jwt}`, secret, now);
    return { username: claims.preferred_username, exp: claims.exp };
  } catch {
    return undefined;
  }
}
