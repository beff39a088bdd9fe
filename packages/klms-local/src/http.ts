/**
 * What every route group shares: the Hono environment, the reply writer (Flask's sorted compact
 * JSON), the `help` URL as the request arrived (with the `/stelar` prefix when it had one), and
 * authentication declared once per group of routes as middleware.
 */
import type { IncomingMessage } from "node:http";
import type { HttpBindings } from "@hono/node-server";
import type { Context, Handler, Hono, MiddlewareHandler } from "hono";
import { isObject } from "klms-tool/internal";
import { type TokenClaims, verifyAuthorization } from "./auth.js";
import { HIDDEN_HELP, successBody } from "./envelope.js";
import { parseJsonBody } from "./output-body.js";

/** The Hono environment: node's request, the caller once a token was checked, and whether `help` is hidden. */
export type Env = {
  Bindings: HttpBindings;
  Variables: { user: TokenClaims; hideHelp: boolean; input: unknown };
};

/** The public deployment's prefix in front of every route (`sc:client.py:310-311`); also served locally. */
export const PUBLIC_PREFIX = "/stelar";

/** The URL each request arrived with (path as sent, prefix included), for `help`. */
export const originalUrls = new WeakMap<IncomingMessage, string>();

/** The request URL as the client sent it, like Flask's `request.url` behind the ingress' ProxyFix. */
export function requestUrl(c: Context<Env>): string {
  const incoming = c.env?.incoming;
  const original = incoming ? originalUrls.get(incoming) : undefined;
  return original === undefined ? c.req.url : new URL(c.req.url).origin + original;
}

/** The API root as the client sees it, with a trailing slash (Flask's `request.root_url`). */
export function rootUrl(c: Context<Env>): string {
  const incoming = c.env?.incoming;
  const original = (incoming ? originalUrls.get(incoming) : undefined) ?? "";
  const prefixed = /^\/+stelar(\/|$|\?)/.test(original);
  return `${new URL(c.req.url).origin}${prefixed ? PUBLIC_PREFIX : ""}/`;
}

/** Replies with JSON, keys sorted at every level like Flask's JSON provider (`data_api.py:142-156`). */
export function reply(c: Context<Env>, status: number, body: unknown): Response {
  return c.body(JSON.stringify(sortKeys(body)), status as 200, { "content-type": "application/json" });
}

/** A 200 with the success envelope around `result` (`help` hidden on the routes of {@link hideHelp}). */
export function ok(c: Context<Env>, result: unknown): Response {
  return reply(c, 200, successBody(c.get("hideHelp") ? HIDDEN_HELP : requestUrl(c), result));
}

/**
 * Middleware: the routes a tool calls with its signature write "Hidden for security reasons" as
 * `help` on success, so the signed URL is not echoed (`workflows.py:288`, `:308`); their error
 * replies still carry the URL, as on the platform.
 */
export const hideHelp: MiddlewareHandler<Env> = async (c, next) => {
  c.set("hideHelp", true);
  await next();
};

/** The request's JSON body as webargs reads it (non-JSON content type or empty body: `{}`; bad JSON or UTF-8: 400). */
export async function jsonBody(c: Context<Env>): Promise<unknown> {
  return parseJsonBody(c.req.header("content-type"), new Uint8Array(await c.req.arrayBuffer()));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}

/**
 * Middleware: the platform's `token_active`. Sets `c.var.user` to the caller's claims, or
 * answers the platform's 401. It runs after a route's {@link RouteOptions.input} check, as
 * APIFlask's `@input` runs before `@token_active` (`generic.py:178-193`).
 */
export function requireToken(secret: string): MiddlewareHandler<Env> {
  return async (c, next) => {
    c.set("user", verifyAuthorization(c.req.header("authorization"), secret));
    await next();
  };
}

/** Per-route options of a {@link RouteGroup}. */
export interface RouteOptions {
  /**
   * Reads and checks the request's body or query (throwing the platform's 422/400) before the
   * group's middleware runs; its result is `c.var.input` for the handler.
   */
  input?: (c: Context<Env>) => unknown;
}

/** A set of routes that share middleware (e.g. authentication), declared once for the group. */
export interface RouteGroup {
  get(path: string, handler: Handler<Env>, options?: RouteOptions): void;
  post(path: string, handler: Handler<Env>, options?: RouteOptions): void;
  put(path: string, handler: Handler<Env>, options?: RouteOptions): void;
  patch(path: string, handler: Handler<Env>, options?: RouteOptions): void;
  delete(path: string, handler: Handler<Env>, options?: RouteOptions): void;
}

/** Routes of `app` that all run `middleware` first, in order (after a route's own input check). */
export function routeGroup(app: Hono<Env>, ...middleware: MiddlewareHandler<Env>[]): RouteGroup {
  const add =
    (method: string) =>
    (path: string, handler: Handler<Env>, options: RouteOptions = {}) => {
      const read = options.input;
      const input: MiddlewareHandler<Env>[] = read
        ? [
            async (c, next) => {
              c.set("input", await read(c));
              await next();
            },
          ]
        : [];
      // Hono's overloads type each handler position; the chain is built at run time here.
      app.on(method, path, ...([...input, ...middleware, handler] as [Handler<Env>]));
    };
  return { get: add("GET"), post: add("POST"), put: add("PUT"), patch: add("PATCH"), delete: add("DELETE") };
}

/** A path parameter of the matched route ("" when absent). */
export function param(c: Context<Env>, name: string): string {
  return (c.req.param() as Record<string, string | undefined>)[name] ?? "";
}
