/**
 * Accounts and the API's front door: `POST`/`PUT /api/v1/users/token` (`routes/users.py:113-202`),
 * `GET /api/v1/users/me` (`users.py:64-75`), `GET /api/v1/users/<id>` (admin only,
 * `users.py:292-304`) and `GET /help` (`data_api.py:171-211`).
 */
import type { Context, Hono } from "hono";
import type { Accounts } from "../accounts.js";
import { DEV_TOKEN_TTL_SECONDS, decodeToken, issueToken, REFRESH_TOKEN_TTL_SECONDS } from "../auth.js";
import { ApiError } from "../envelope.js";
import { type Env, jsonBody, ok, param, reply, rootUrl, routeGroup } from "../http.js";
import { loadBody } from "../schema.js";

/** What the account routes need. */
export interface AccountsContext {
  accounts: Accounts;
  secret: string;
  /** The object store's URL as clients reach it (`/help`'s `s3_api`), if there is one. */
  s3Url?: string;
  /** The image registry's URL (`/help`'s `image_registry`, a local addition), if there is one. */
  registryUrl?: string | undefined;
}

/** Registers the account routes and `/help` on `app`; `authed` runs the token check. */
export function accountRoutes(app: Hono<Env>, ctx: AccountsContext, authed: ReturnType<typeof routeGroup>): void {
  const open = routeGroup(app);

  open.post("/api/v1/users/token", async (c) => {
    const body = loadBody(await jsonBody(c), {
      username: { type: "string", required: true, maxLength: 50 },
      password: { type: "string", required: true, maxLength: 50 },
    });
    const user = ctx.accounts.login(body.username as string, body.password as string);
    return ok(c, tokenReply(ctx.secret, user.username));
  });

  open.put("/api/v1/users/token", async (c) => {
    const body = loadBody(await jsonBody(c), { refresh_token: { type: "string", required: true } });
    return ok(c, tokenReply(ctx.secret, refreshedUser(ctx, body.refresh_token as string)));
  });

  authed.get("/api/v1/users/me", (c) => ok(c, ctx.accounts.introspection(c.var.user)));

  authed.get("/api/v1/users/:id", (c) => {
    if (!ctx.accounts.isAdmin(c.var.user.preferred_username)) {
      throw new ApiError(403, "Bearer Token is not related to an admin user");
    }
    return ok(c, ctx.accounts.record(param(c, "id")));
  });

  open.get("/help", (c) => {
    // `help` is Flask's `request.base_url`: the URL without its query.
    return reply(c, 200, {
      help: `${rootUrl(c)}help`,
      result: helpResult(c, ctx.s3Url, ctx.registryUrl),
      success: true,
    });
  });
}

/** The user a refresh token names; Keycloak's 400, relayed by the API (`kutils.py:81-85`), when it is bad, expired or names no user. */
function refreshedUser(ctx: AccountsContext, refreshToken: string): string {
  const claims = decodeToken(refreshToken, ctx.secret);
  if (claims?.typ !== "Refresh" || claims.exp * 1000 <= Date.now()) throw keycloakRefused("Invalid refresh token");
  if (!ctx.accounts.byName(claims.preferred_username)) throw keycloakRefused("User not found");
  return claims.preferred_username;
}

/** The API's relay of Keycloak's `invalid_grant` 400. */
function keycloakRefused(description: string): ApiError {
  const keycloak = JSON.stringify({ error: "invalid_grant", error_description: description });
  return new ApiError(
    400,
    "Bad Request: Invalid data sent to Keycloak",
    { message: `400: b'${keycloak}'` },
    "InvalidError",
  );
}

/** `/help`'s result: the addresses of the deployment as the request reached it (`data_api.py:171-211`). */
function helpResult(
  c: Context<Env>,
  s3Url: string | undefined,
  registryUrl: string | undefined,
): Record<string, unknown> {
  const root = rootUrl(c);
  const origin = new URL(c.req.url).origin;
  const result: Record<string, unknown> = {
    Console: `${root}console/v1/`,
    "OpenAPI specifications": `${root}specs`,
    "Swagger UI": `${root}docs`,
    keycloak_issuer_url: `${origin}/realms/klms-local`,
    keycloak_url: origin,
    klms_dns_domain: new URL(c.req.url).hostname,
    klms_root_url: origin,
    message: "Data API for managing resources in STELAR Knowledge Lake Management System.",
  };
  if (s3Url) result.s3_api = s3Url;
  // Not on the platform, whose registry is `img.<klms_dns_domain>` (REGISTRY_SUBDOMAIN,
  // data_api.py:910): a local registry has no such name, so /help tells `klms-tool publish` where it is.
  if (registryUrl) result.image_registry = registryUrl;
  return result;
}

/** The platform's token reply: exactly these five keys (`users.py:144-150`). */
function tokenReply(secret: string, username: string): Record<string, unknown> {
  return {
    expires_in: DEV_TOKEN_TTL_SECONDS,
    refresh_expires_in: REFRESH_TOKEN_TTL_SECONDS,
    refresh_token: issueToken(secret, username, { typ: "Refresh" }),
    token: issueToken(secret, username),
    token_type: "Bearer",
  };
}
