/**
 * Dev accounts: who may log in to the local KLMS (username and password, as Keycloak's password
 * grant checks them), and the two views of a user the platform serves: the token-introspection
 * object (`GET /api/v1/users/me`, `kutils.py:279-305`) and the user record
 * (`GET /api/v1/users/<id>`, `kutils.py:870-913`).
 */
import { timingSafeEqual } from "node:crypto";
import { DEV_USERNAME, type TokenClaims, userIdOf } from "./auth.js";
import { ApiError } from "./envelope.js";
import { isoNow } from "./timestamps.js";

/** A dev user as given in options or in the seed file. */
export interface UserSpec {
  username: string;
  password: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  /** Admins see every task (`GET /tasks`), any task's signature and any user record. Default false. */
  is_admin?: boolean;
}

/** The default dev user's password, printed in `klms-tool dev`'s banner. */
export const DEV_PASSWORD = "dev";

/** The default account: `dev` / `dev`, an admin (the only user of a laptop; see the README). */
export const DEV_USER: UserSpec = { username: DEV_USERNAME, password: DEV_PASSWORD, is_admin: true };

/** The platform's username rule is Keycloak's; here: what a URL path segment can hold safely. */
const USERNAME = /^[A-Za-z0-9._@-]{1,50}$/;

/** The accounts of one local KLMS. */
export class Accounts {
  readonly #users = new Map<string, UserSpec & { joined: string }>();

  /** Starts with the default dev user, then adds `users` (a later entry with the same name replaces it). */
  constructor(users: UserSpec[] = []) {
    for (const user of [DEV_USER, ...users]) this.add(user);
  }

  /** Adds or replaces a user; throws an Error naming the bad field. */
  add(user: UserSpec): void {
    if (typeof user?.username !== "string" || !USERNAME.test(user.username)) {
      throw new Error(
        `user ${JSON.stringify(user?.username)}: a username is 1-50 characters among letters, digits and . _ @ -`,
      );
    }
    if (typeof user.password !== "string" || user.password === "" || user.password.length > 50) {
      throw new Error(`user ${user.username}: the password must be a non-empty string of at most 50 characters`);
    }
    this.#users.set(user.username, { ...user, joined: this.#users.get(user.username)?.joined ?? isoNow() });
  }

  /** The user with this name and password, or the platform's 401 (`kutils.py:91-95`). */
  login(username: string, password: string): UserSpec {
    const user = this.#users.get(username);
    const given = Buffer.from(password);
    const expected = Buffer.from(user?.password ?? "");
    if (!user || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new ApiError(401, "Authorization using the provided credentials failed", {
        message: "Invalid user credentials",
      });
    }
    return user;
  }

  /** The user named in a token, if it still exists. */
  byName(username: string): UserSpec | undefined {
    return this.#users.get(username);
  }

  /** True when the user is an admin. */
  isAdmin(username: string): boolean {
    return this.#users.get(username)?.is_admin === true;
  }

  /** `GET /api/v1/users/<id-or-username>`: the record, or 404. */
  record(idOrName: string): Record<string, unknown> {
    const user = [...this.#users.values()].find((u) => u.username === idOrName || userIdOf(u.username) === idOrName);
    if (!user) throw new ApiError(404, "", { entity: "user" });
    return {
      active: true,
      email: user.email ?? `${user.username}@klms.local`,
      email_verified: true,
      first_name: user.first_name ?? user.username,
      fullname: `${user.first_name ?? user.username} ${user.last_name ?? ""}`.trim(),
      id: userIdOf(user.username),
      is_admin: user.is_admin === true,
      joined_date: user.joined,
      last_name: user.last_name ?? "",
      roles: user.is_admin ? ["admin"] : [],
      username: user.username,
    };
  }

  /** `GET /api/v1/users/me`: Keycloak's introspection of the caller's token. */
  introspection(claims: TokenClaims): Record<string, unknown> {
    const user = this.#users.get(claims.preferred_username);
    const record = user ? this.record(user.username) : undefined;
    return {
      active: true,
      aud: "account",
      azp: "stelar-api",
      client_id: "stelar-api",
      email: record?.email ?? null,
      email_verified: true,
      exp: claims.exp,
      family_name: record?.last_name ?? "",
      given_name: record?.first_name ?? claims.preferred_username,
      iat: claims.iat,
      is_admin: user?.is_admin === true,
      iss: claims.iss,
      jti: claims.jti,
      name: record?.fullname ?? claims.preferred_username,
      preferred_username: claims.preferred_username,
      realm_access: { roles: user?.is_admin ? ["admin"] : [] },
      scope: "openid email profile",
      sub: claims.sub,
      token_type: "Bearer",
      typ: "Bearer",
      username: claims.username,
    };
  }
}
