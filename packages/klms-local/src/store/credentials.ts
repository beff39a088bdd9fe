/**
 * Who may use the store: one root key pair (like MinIO's root user) and temporary credentials
 * minted by STS for a user. Temporary credentials are stateless: the access key id carries a MAC,
 * the secret key is derived from it, and the session token is a MAC-signed record of the access
 * key id, the user and the expiry — so they survive a restart of the store with the same secret,
 * and nothing is written to disk.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { s3Errors } from "./errors.js";

/** A key pair and, for temporary credentials, the session token and its expiry. */
export interface StoreCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** Expiry of temporary credentials. */
  expiration?: Date;
}

/** What a verified access key id stands for. */
export interface KeyOwner {
  secretAccessKey: string;
  /** The user the credentials were minted for; "root" for the root key. */
  user: string;
  temporary: boolean;
}

/** Shortest and longest lifetime of minted credentials, seconds (MinIO: 900 s to 365 days). */
export const MIN_DURATION_SECONDS = 900;
export const MAX_DURATION_SECONDS = 365 * 24 * 3600;

const TEMP_PREFIX = "KLT";

/** Mints and checks the store's credentials from one secret. */
export class CredentialIssuer {
  readonly root: StoreCredentials;
  readonly #key: Buffer;

  /** `secret`: the material every key is derived from (the local KLMS's server secret). */
  constructor(secret: string) {
    this.#key = createHmac("sha256", secret).update("klms-local object store").digest();
    this.root = {
      accessKeyId: `KLMSROOT${this.#mac("root-id", 6).toUpperCase()}`,
      secretAccessKey: this.#mac("root-secret", 30),
    };
  }

  /** Temporary credentials for `user`, valid `durationSeconds` from `now` (ms). */
  mint(user: string, durationSeconds: number, now = Date.now()): Required<StoreCredentials> {
    const random = randomBytes(6).toString("hex").toUpperCase();
    const accessKeyId = `${TEMP_PREFIX}${random}${this.#mac(`id:${random}`, 5).toUpperCase()}`;
    const expiration = new Date(Math.floor(now / 1000) * 1000 + durationSeconds * 1000);
    const payload = Buffer.from(
      JSON.stringify({ ak: accessKeyId, sub: user, exp: expiration.getTime() / 1000 }),
    ).toString("base64url");
    return {
      accessKeyId,
      secretAccessKey: this.#secretOf(accessKeyId),
      sessionToken: `${payload}.${this.#mac(`token:${payload}`, 32)}`,
      expiration,
    };
  }

  /**
   * The owner of `accessKeyId`, or S3's error: InvalidAccessKeyId for a key this store did not
   * issue. The session token is checked separately ({@link CredentialIssuer.checkSessionToken}),
   * after the signature, as MinIO does.
   */
  ownerOf(accessKeyId: string): KeyOwner {
    if (this.#same(accessKeyId, this.root.accessKeyId)) {
      return { secretAccessKey: this.root.secretAccessKey, user: "root", temporary: false };
    }
    const m = new RegExp(`^${TEMP_PREFIX}([0-9A-F]{12})([0-9A-F]{10})$`).exec(accessKeyId);
    if (!m || !this.#same(m[2] as string, this.#mac(`id:${m[1]}`, 5).toUpperCase()))
      throw s3Errors.invalidAccessKeyId();
    return { secretAccessKey: this.#secretOf(accessKeyId), user: "", temporary: true };
  }

  /**
   * MinIO's rules (cmd/auth-handler.go checkClaimsFromToken): temporary credentials need their
   * own session token (InvalidTokenId otherwise), root credentials take none; an expired one is
   * refused with ExpiredToken. Returns the user the token was minted for.
   */
  checkSessionToken(accessKeyId: string, owner: KeyOwner, token: string | undefined, now = Date.now()): string {
    if (!owner.temporary) {
      if (token !== undefined && token !== "") throw s3Errors.invalidToken();
      return owner.user;
    }
    if (token === undefined || token === "") throw s3Errors.invalidToken();
    const [payload, mac, extra] = token.split(".");
    if (!payload || !mac || extra !== undefined || !this.#same(mac, this.#mac(`token:${payload}`, 32))) {
      throw s3Errors.invalidToken();
    }
    const claims = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as {
      ak: string;
      sub: string;
      exp: number;
    };
    if (claims.ak !== accessKeyId) throw s3Errors.invalidToken();
    if (claims.exp * 1000 <= now) throw s3Errors.expiredToken();
    return claims.sub;
  }

  #secretOf(accessKeyId: string): string {
    return this.#mac(`secret:${accessKeyId}`, 30);
  }

  /** base64url HMAC of `data`, cut to `bytes` bytes (hex for ids: callers upper-case). */
  #mac(data: string, bytes: number): string {
    const digest = createHmac("sha256", this.#key).update(data).digest().subarray(0, bytes);
    return data.startsWith("id:") || data === "root-id" ? digest.toString("hex") : digest.toString("base64url");
  }

  #same(a: string, b: string): boolean {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  }
}
