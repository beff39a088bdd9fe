/**
 * The HTTP face of the local KLMS: the route groups (accounts and `/help`, the catalog, tasks,
 * test-only faults) on one Hono app, with the platform's envelopes and status codes, served on
 * 127.0.0.1 both at the root (as inside the cluster) and under `/stelar` (as the public
 * deployment serves it).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import { Hono } from "hono";
import { ApiError, errorBody } from "./envelope.js";
import type { Fault, FaultList } from "./faults.js";
import { type Env, originalUrls, PUBLIC_PREFIX, reply, requestUrl, requireToken, routeGroup } from "./http.js";
import { otherMethods } from "./method-not-allowed.js";
import { accountRoutes } from "./routes/accounts.js";
import { catalogRoutes } from "./routes/catalog.js";
import { consoleRoutes } from "./routes/console.js";
import { faultRoutes } from "./routes/faults.js";
import { type RegistryContext, refreshImagesFirst, registryRoutes } from "./routes/registry.js";
import { type TasksContext, taskRoutes } from "./routes/tasks.js";

export type { MinioInput, PodView } from "./routes/tasks.js";

/** What the routes need from the rest of the local KLMS. */
export interface ServerContext extends TasksContext, Omit<RegistryContext, "catalog"> {
  faults: FaultList;
  /** The object store's URL (`/help`'s `s3_api`). */
  s3Url?: string;
  /** The CA the object store's TLS certificate chains to (PEM), when it has one: the console reads outputs with it. */
  storeCa?: string;
  /** Request log sink; none when quiet. */
  log?: (line: string) => void;
}

/** Faults to apply once the request has been served (`after: true`). */
const lateFaults = new WeakMap<IncomingMessage, Fault>();

/** Builds the route table: each group declares its authentication once. */
export function createApp(ctx: ServerContext): Hono<Env> {
  const app = new Hono<Env>();

  app.use(async (c, next) => {
    await next();
    const fault = c.env?.incoming ? lateFaults.get(c.env.incoming) : undefined;
    if (!fault) return;
    if (fault.drop) c.env.incoming.socket.destroy();
    else if (fault.status !== undefined)
      c.res = reply(c, fault.status, errorBody(requestUrl(c), injectedError(fault.status)));
  });

  // Before the routes whose replies show tool images: the registry's tags are read first.
  refreshImagesFirst(app, ctx.images);
  const authed = routeGroup(app, requireToken(ctx.secret));
  const registryUrl = ctx.registry?.url;
  accountRoutes(app, { accounts: ctx.accounts, secret: ctx.secret, s3Url: ctx.s3Url, registryUrl }, authed);
  taskRoutes(app, ctx);
  registryRoutes(authed, ctx);
  catalogRoutes(authed, ctx.catalog);
  faultRoutes(authed, ctx.faults);
  consoleRoutes(app, ctx);

  const allowed = otherMethods(app);
  app.notFound((c) => {
    // Werkzeug: a path some route serves with another method is 405, any other path 404; Flask
    // answers OPTIONS itself on a served path (`make_default_options_response`): 200, empty, `Allow`.
    const others = allowed(c.req.method, c.req.path);
    if (c.req.method === "OPTIONS" && others.length > 0) {
      const methods = new Set([...others, ...(others.includes("GET") ? ["HEAD"] : []), "OPTIONS"]);
      return c.body(null, 200, { allow: [...methods].sort().join(", ") });
    }
    const status = others.length > 0 ? 405 : 404;
    const message = status === 405 ? "Method Not Allowed" : "Not Found";
    return reply(c, status, errorBody(requestUrl(c), new ApiError(status, message, {}, "HTTPError")));
  });
  app.onError((error, c) => {
    const api =
      error instanceof ApiError
        ? error
        : new ApiError(500, `${error.name}(${JSON.stringify(error.message)})`, {}, "InternalException");
    if (!(error instanceof ApiError)) ctx.log?.(`internal error: ${error.stack ?? error.message}`);
    return reply(c, api.status, errorBody(requestUrl(c), api));
  });
  return app;
}

/** A listening server. */
export interface RunningServer {
  server: Server;
  port: number;
  /** True when it serves https. */
  tls: boolean;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1. Before the routes see a request: leading slashes of the path are
 * collapsed (Werkzeug does the same, and the cluster's API URL ends with a slash), the public
 * `/stelar` prefix is taken off (the ingress does the same), then the faults are applied, since
 * a dropped connection must happen below HTTP.
 */
export async function listen(
  app: Hono<Env>,
  faults: FaultList,
  port: number,
  log?: (line: string) => void,
  /** PEM key and certificate: serve https instead of http. */
  tls?: { key: string; cert: string },
): Promise<RunningServer> {
  // Leave the process's global Request/Response alone: a tool may run in this process too.
  const handle = getRequestListener(app.fetch, { overrideGlobalObjects: false });
  const onRequest = async (req: IncomingMessage, res: ServerResponse) => {
    const original = req.url ?? "/";
    originalUrls.set(req, original);
    req.url = withoutPrefix(`/${original.replace(/^\/+/, "")}`);
    const path = req.url.split("?")[0] ?? "/";
    const method = req.method ?? "GET";
    if (log) res.once("finish", () => log(`${method} ${redactPath(path)} ${res.statusCode}`));
    const fault = path.startsWith("/__klms/") ? undefined : faults.take(method, path);
    if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault?.after) {
      lateFaults.set(req, fault);
    } else if (fault?.drop) {
      if (log) log(`${method} ${redactPath(path)} dropped (injected fault)`);
      req.socket.destroy();
      return;
    } else if (fault?.status !== undefined) {
      const url = `${tls ? "https" : "http"}://${req.headers.host ?? "127.0.0.1"}${original}`;
      const body = errorBody(url, injectedError(fault.status));
      res.writeHead(fault.status, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    await handle(req, res);
  };
  const server = tls ? createHttpsServer({ key: tls.key, cert: tls.cert }, onRequest) : createServer(onRequest);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    tls: tls !== undefined,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** `/stelar/api/…` → `/api/…`, `/stelar` → `/`. */
function withoutPrefix(url: string): string {
  if (url === PUBLIC_PREFIX || url.startsWith(`${PUBLIC_PREFIX}?`)) return `/${url.slice(PUBLIC_PREFIX.length)}`;
  return url.startsWith(`${PUBLIC_PREFIX}/`) ? url.slice(PUBLIC_PREFIX.length) : url;
}

function injectedError(status: number): ApiError {
  return new ApiError(status, `Injected fault: HTTP ${status}.`);
}

/** Masks signatures (64 hex characters) in a logged path: they are credentials. */
export function redactPath(path: string): string {
  return path.replace(/[0-9a-f]{64}/g, "<signature>");
}
