/**
 * The platform's registry routes (`routes/workflows.py:74-200`, `qutils.py`, `backend/registry.py`)
 * over the local registry instead of Quay:
 * - `GET /api/v2/registry/credentials`: `{<uuid>: {title, created, expiration, last_accessed}}`;
 * - `GET /api/v2/registry/credentials/<id>`: the token, `uuid` kept, with its `token_code`;
 * - `POST /api/v2/registry/credentials` `{title}`: the new token, `uuid` renamed `id`, with `token_code`;
 * - `DELETE /api/v2/registry/credentials/<id>`: `{id}`;
 * - `GET /api/v2/tool/<id>/manifests`: `{<tag>: <manifest digest>}`.
 * A token's `token_code` is the password of the registry's one account: Quay's tokens all log in
 * as the user `$app`, and an htpasswd file holds one password per user. Without a registry
 * the routes fail as the platform does when Quay cannot be reached, with a hint.
 */
import type { Hono } from "hono";
import type { Catalog } from "../catalog/catalog.js";
import { repositoryOf } from "../catalog/catalog.js";
import { ApiError } from "../envelope.js";
import { type Env, jsonBody, ok, param, type RouteGroup } from "../http.js";
import type { AppTokens } from "../registry/app-tokens.js";
import type { RegistryImages } from "../registry/images.js";
import type { OciRegistry } from "../registry/oci.js";
import { loadBody } from "../schema.js";

/** What the registry routes need. */
export interface RegistryContext {
  /** The local registry; undefined when the local KLMS was started without one. */
  registry?: OciRegistry;
  /** Its tags, refreshed before the routes that show tools. */
  images?: RegistryImages;
  tokens: AppTokens;
  catalog: Catalog;
}

/** The paths whose replies show a tool's images or choose one: the registry is read before them. */
const SHOWS_IMAGES = /^\/(api\/v2\/(tools?(\/|\.fetch|$)|task$)|console(\/|$)|$)/;

/**
 * Middleware, registered before the routes it serves: refreshes the registry's tags before a
 * request that shows a tool (its `images`) or creates a task (its image is chosen among them).
 */
export function refreshImagesFirst(app: Hono<Env>, images: RegistryImages | undefined): void {
  if (!images) return;
  app.use(async (c, next) => {
    if (SHOWS_IMAGES.test(c.req.path)) await images.refresh();
    await next();
  });
}

/** Registers the registry routes on the token-guarded group. */
export function registryRoutes(authed: RouteGroup, ctx: RegistryContext): void {
  const user = (c: { var: { user: { preferred_username: string } } }) => c.var.user.preferred_username;

  authed.get("/api/v2/registry/credentials", (c) => {
    registryOf(ctx);
    const out: Record<string, unknown> = {};
    for (const { uuid, ...rest } of ctx.tokens.list(user(c))) out[uuid] = rest;
    return ok(c, out);
  });

  authed.get("/api/v2/registry/credentials/:id", (c) => {
    const registry = registryOf(ctx);
    const token = ctx.tokens.get(user(c), param(c, "id"));
    if (!token) throw quayNotFound();
    return ok(c, { ...token, token_code: tokenCode(registry, token.uuid) });
  });

  authed.post(
    "/api/v2/registry/credentials",
    (c) => {
      const registry = registryOf(ctx);
      const { uuid, ...rest } = ctx.tokens.create(user(c), (c.var.input as { title: string }).title);
      return ok(c, { id: uuid, ...rest, token_code: tokenCode(registry, uuid) });
    },
    {
      // `schema.py:379-380`: only `title`, required; anything else is a 422.
      input: async (c) => loadBody(await jsonBody(c), { title: { type: "string", required: true } }),
    },
  );

  authed.delete("/api/v2/registry/credentials/:id", (c) => {
    registryOf(ctx);
    const id = param(c, "id");
    if (!ctx.tokens.revoke(user(c), id)) throw quayNotFound();
    return ok(c, { id });
  });

  authed.get("/api/v2/tool/:id/manifests", (c) => {
    registryOf(ctx);
    const tool = ctx.catalog.get("tool", param(c, "id"));
    const tags = ctx.images?.tags(repositoryOf(tool));
    // Quay answers 404 for a repository it does not have (`qutils.py:65-77`, `registry.py:107-119`).
    if (!tags) throw quayNotFound();
    return ok(c, Object.fromEntries(tags.map((t) => [t.name, t.manifest_digest])));
  });
}

/**
 * The registry, or the platform's failure when its registry cannot be reached: `BackendError(500,
 * "quay", …)` fails its own service check (`backend/registry.py:94-100`, `exceptions.py:137-162`),
 * so the client sees a 500 `InternalException`.
 */
function registryOf(ctx: RegistryContext): OciRegistry {
  if (ctx.registry) return ctx.registry;
  throw new ApiError(
    500,
    "ValueError('Internal Error: bad backend', 500)",
    {
      hint: "this local KLMS has no image registry: start one (scripts/registry.sh start) and the local KLMS with --registry http://127.0.0.1:5000",
    },
    "InternalException",
  );
}

/**
 * Quay's 404 as the platform relays it: `NotFoundError("Resource not found", detail=<Quay's
 * JSON>)` has the text as its entity, so the message is empty and `detail` is Quay's body.
 */
function quayNotFound(): ApiError {
  return new ApiError(404, "", {
    detail: "Not Found",
    error_message: "Not Found",
    error_type: "not_found",
    status: 404,
    title: "not_found",
  });
}

/**
 * The password a token logs in with: the registry account's; for a registry without a login any
 * password is accepted, so the token's own id stands in.
 */
function tokenCode(registry: OciRegistry, uuid: string): string {
  return registry.tokenCode() ?? uuid.replaceAll("-", "");
}
