/**
 * The HTTP face of the local KLMS: the platform's task routes (v2, their plural aliases and the
 * seed-era v1 pair) with the platform's envelopes, status codes and order of checks, plus the
 * test-only `/__klms/faults` routes. Listens on 127.0.0.1 only.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener, type HttpBindings } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { isObject } from "klms-tool/contract";
import { signatureOf, verifyAuthorization, verifySignature } from "./auth.js";
import { ApiError, errorBody, HIDDEN_HELP, successBody } from "./envelope.js";
import type { Fault, FaultList } from "./faults.js";
import type { PodView } from "./jobs.js";
import { checkOutputBody, isJsonContentType, parseJsonBody } from "./output-body.js";
import { parseTaskSpec, validationError } from "./task-spec.js";
import {
  applyOutput,
  type MinioInput,
  markInputRead,
  type StoredTask,
  type TaskStore,
  taskInputOf,
  taskRecordOf,
  terminate,
} from "./tasks.js";

/** What the routes need from the rest of the local KLMS. */
export interface ServerContext {
  store: TaskStore;
  secret: string;
  faults: FaultList;
  /** The `minio` block for a task input. */
  minio(): MinioInput;
  /** The task's logs so far. */
  logsOf(task: StoredTask): string;
  /** The runs of the task's Job, as the cluster's pods; [] for an external task or one with no run yet. */
  podsOf(task: StoredTask): PodView[];
  /** Called after a task is created (starts its run when a runner is configured). */
  onCreated(task: StoredTask): void;
  /** Called after a task is terminated (stops its run). */
  onTerminated(task: StoredTask): void;
  /** Request log sink; none when quiet. */
  log?: (line: string) => void;
}

type Env = { Bindings: HttpBindings };

/** The URL each request arrived with, before leading slashes were collapsed (for `help`). */
const originalUrls = new WeakMap<IncomingMessage, string>();

/** Faults to apply once the request has been served (`after: true`). */
const lateFaults = new WeakMap<IncomingMessage, Fault>();

/** Builds the route table. */
export function createApp(ctx: ServerContext): Hono<Env> {
  const app = new Hono<Env>();
  const auth = (c: Context<Env>) => verifyAuthorization(c.req.header("authorization"), ctx.secret);
  const help = (c: Context<Env>) => requestUrl(c);

  app.use(async (c, next) => {
    await next();
    const fault = c.env?.incoming ? lateFaults.get(c.env.incoming) : undefined;
    if (!fault) return;
    if (fault.drop) c.env.incoming.socket.destroy();
    else if (fault.status !== undefined)
      c.res = reply(c, fault.status, errorBody(help(c), injectedError(fault.status)));
  });

  app.post("/api/v2/task", async (c) => {
    auth(c);
    if (!isJsonContentType(c.req.header("content-type"))) {
      throw validationError({ _schema: ["A JSON body is required (Content-Type: application/json)."] });
    }
    const spec = parseTaskSpec(parseJsonBody(c.req.header("content-type"), await c.req.text()));
    const task = ctx.store.create(spec);
    ctx.onCreated(task);
    return reply(c, 200, successBody(help(c), creationResult(task, ctx.secret)));
  });

  app.get("/api/v2/task/:id", (c) => {
    auth(c);
    return reply(c, 200, successBody(help(c), taskRecordOf(ctx.store.get(c.req.param("id")))));
  });

  app.get("/api/v2/task/:id/signature", (c) => {
    auth(c);
    const task = ctx.store.get(c.req.param("id"));
    return reply(c, 200, successBody(help(c), { signature: signatureOf(task.id, ctx.secret) }));
  });

  const input = (c: Context<Env>, signature: string | undefined) => {
    auth(c);
    const task = ctx.store.get(c.req.param("id") as string);
    if (markInputRead(task)) ctx.store.save(task);
    // A wrong signature is not an error here: the secrets are just left out.
    const verified = signature !== undefined && verifySignature(task.id, signature, ctx.secret);
    return reply(c, 200, successBody(HIDDEN_HELP, taskInputOf(task, ctx.minio(), verified)));
  };
  app.get("/api/v2/task/:id/input", (c) => input(c, undefined));
  for (const base of ["/api/v2/task", "/api/v2/tasks"]) {
    app.get(`${base}/:id/:signature/input`, (c) => input(c, c.req.param("signature")));
    app.post(`${base}/:id/:signature/output`, async (c) => {
      // APIFlask validates the body before the handler runs: 400/422 come before 404/403/409.
      const body = checkOutputBody(parseJsonBody(c.req.header("content-type"), await c.req.text()));
      const task = ctx.store.get(c.req.param("id"));
      if (!verifySignature(task.id, c.req.param("signature"), ctx.secret)) {
        throw new ApiError(403, "Invalid Task Signature. Access Denied.");
      }
      applyOutput(task, body);
      ctx.store.save(task);
      return reply(c, 200, successBody(HIDDEN_HELP, null));
    });
  }

  app.get("/api/v2/task/:id/logs", (c) => {
    auth(c);
    return reply(c, 200, successBody(help(c), ctx.logsOf(ctx.store.get(c.req.param("id")))));
  });

  app.post("/api/v2/task/:id/terminate", (c) => {
    auth(c);
    const task = ctx.store.get(c.req.param("id"));
    terminate(task);
    ctx.store.save(task);
    ctx.onTerminated(task);
    return reply(c, 200, successBody(help(c), null));
  });

  // The seed template's routes: never served by the platform, kept so seed-era tools can be run.
  app.get("/api/v1/task/:id/input", (c) => input(c, undefined));
  app.post("/api/v1/task/:id/output", async (c) => {
    auth(c);
    const wrapper = parseJsonBody(c.req.header("content-type"), await c.req.text());
    const task = ctx.store.get(c.req.param("id"));
    if (!isObject(wrapper) || !("output_json" in wrapper)) {
      throw new ApiError(422, "Validation error", { json: { output_json: ["Missing data for required field."] } });
    }
    if (wrapper.task_exec_id !== undefined && wrapper.task_exec_id !== task.id) {
      throw new ApiError(422, "Validation error", { json: { task_exec_id: ["Does not match the task in the URL."] } });
    }
    applyOutput(task, checkOutputBody(wrapper.output_json));
    ctx.store.save(task);
    return reply(c, 200, successBody(HIDDEN_HELP, null));
  });

  app.get("/__klms/faults", (c) => reply(c, 200, successBody(help(c), ctx.faults.list())));
  app.post("/__klms/faults", async (c) => {
    const body = parseJsonBody(c.req.header("content-type") ?? "application/json", await c.req.text());
    for (const fault of Array.isArray(body) ? body : [body]) ctx.faults.add(fault as Fault);
    return reply(c, 200, successBody(help(c), ctx.faults.list()));
  });
  app.delete("/__klms/faults", (c) => {
    ctx.faults.clear();
    return reply(c, 200, successBody(help(c), null));
  });

  app.notFound((c) =>
    reply(
      c,
      404,
      errorBody(help(c), new ApiError(404, "The requested URL was not found on the server.", {}, "NotFound")),
    ),
  );
  app.onError((error, c) => {
    const api =
      error instanceof ApiError
        ? error
        : new ApiError(500, `Internal server error: ${error.message}`, {}, "InternalException");
    return reply(c, api.status, errorBody(help(c), api));
  });
  return app;
}

function creationResult(task: StoredTask, secret: string) {
  return { id: task.id, job_id: task.job_id, signature: signatureOf(task.id, secret) };
}

function requestUrl(c: Context<Env>): string {
  const incoming = c.env?.incoming;
  const original = incoming ? originalUrls.get(incoming) : undefined;
  return original === undefined ? c.req.url : new URL(c.req.url).origin + original;
}

/** Replies with JSON, keys sorted at every level like Flask's JSON provider. */
function reply(c: Context<Env>, status: number, body: unknown): Response {
  return c.body(JSON.stringify(sortKeys(body)), status as 200, { "content-type": "application/json" });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sortKeys(value[key]);
  return out;
}

/** A listening server. */
export interface RunningServer {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/**
 * Listens on 127.0.0.1. Before the routes see a request: leading slashes of the path are
 * collapsed (Werkzeug does the same, and the cluster's API URL ends with a slash), then the
 * faults are applied, since a dropped connection must happen below HTTP.
 */
export async function listen(
  app: Hono<Env>,
  faults: FaultList,
  port: number,
  log?: (line: string) => void,
): Promise<RunningServer> {
  // Leave the process's global Request/Response alone: a tool may run in this process too.
  const handle = getRequestListener(app.fetch, { overrideGlobalObjects: false });
  const server = createServer(async (req, res) => {
    const original = req.url ?? "/";
    originalUrls.set(req, original);
    req.url = `/${original.replace(/^\/+/, "")}`;
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
      const url = `http://${req.headers.host ?? "127.0.0.1"}${original}`;
      const body = errorBody(url, injectedError(fault.status));
      res.writeHead(fault.status, { "content-type": "application/json" }).end(JSON.stringify(body));
      return;
    }
    await handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function injectedError(status: number): ApiError {
  return new ApiError(status, `Injected fault: HTTP ${status}.`);
}

/** Masks signatures (64 hex characters) in a logged path: they are credentials. */
export function redactPath(path: string): string {
  return path.replace(/[0-9a-f]{64}/g, "<signature>");
}
