/**
 * Accounts and the API's front door: `POST`/`PUT /api/v1/users/token` (`routes/users.py:113-202`),
 * `GET /api/v1/users/me` (`users.py:64-75`), `GET /api/v1/users/<id>` (admin only,
 * `users.py:292-304`) and `GET /help` (`data_api.py:171-211`).
 */
import type { Hono } from "hono";
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
    const claims = decodeToken(body.refresh_token as string, ctx.secret);
    // Keycloak answers 400 to a bad refresh token; the API relays it as this (`kutils.py:81-85`).
    if (claims?.typ !== "Refresh" || claims.exp * 1000 <= Date.now()) {
      throw new ApiError(
        400,
        "Bad Request: Invalid data sent to Keycloak",
        {
          message: '400: b\'{"error":"invalid_grant","error_description":"Invalid refresh token"}\'',
        },
        "InvalidError",
      );
    }
    if (!ctx.accounts.byName(claims.preferred_username)) {
      throw new ApiError(
        400,
        "Bad Request: Invalid data sent to Keycloak",
        {
          message: '400: b\'{"error":"invalid_grant","error_description":"User not found"}\'',
        },
        "InvalidError",
      );
    }
    return ok(c, tokenReply(ctx.secret, claims.preferred_username));
  });

  authed.get("/api/v1/users/me", (c) => ok(c, ctx.accounts.introspection(c.var.user)));

  authed.get("/api/v1/users/:id", (c) => {
    if (!ctx.accounts.isAdmin(c.var.user.preferred_username)) {
      throw new ApiError(403, "Bearer Token is not related to an admin user");
    }
    return ok(c, ctx.accounts.record(param(c, "id")));
  });

  open.get("/help", (c) => {
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
    if (ctx.s3Url) result.s3_api = ctx.s3Url;
    // Not on the platform, whose registry is `img.<klms_dns_domain>` (REGISTRY_SUBDOMAIN,
    // data_api.py:910): a local registry has no such name, so /help tells `klms-tool publish` where it is.
    if (ctx.registryUrl) result.image_registry = ctx.registryUrl;
    // `help` is Flask's `request.base_url`: the URL without its query.
    return reply(c, 200, { help: `${root}help`, result, success: true });
  });
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
