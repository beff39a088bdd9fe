/**
 * The task routes (`routes/workflows.py:51-415`): create, read, list, status per process, delete,
 * signature, input (three paths), output (two paths, signed, no token), terminate, logs and jobs
 * (from the Job's pods, {@link PodView}), plus the seed template's v1 input/output pair.
 */
import type { Context, Hono } from "hono";
import { isObject } from "klms-tool/internal";
import type { Accounts } from "../accounts.js";
import { signatureOf, verifySignature } from "../auth.js";
import type { Catalog } from "../catalog/catalog.js";
import { ApiError } from "../envelope.js";
import { type Env, hideHelp, jsonBody, ok, param, type RouteGroup, requireToken, routeGroup } from "../http.js";
import { checkOutputBody } from "../output-body.js";
import { checkFields, isCanonicalUuid, loadBody, validationError } from "../schema.js";
import { inputUrlsOf, newTask, registerOutputs, wildcardExpansions } from "../task-catalog.js";
import { type ParsedSpec, parseTaskSpec } from "../task-spec.js";
import {
  applyOutput,
  checkAcceptsOutput,
  type ExecState,
  markInputRead,
  parametersOf,
  type StoredTask,
  type TaskStore,
  taskRecordOf,
  terminate,
} from "../tasks.js";
import type { ObjectLister } from "../wildcards.js";

/** One run of a task's Job, as the cluster's pod (`execution/kubernetes.py:200-346`). */
export interface PodView {
  /** e.g. "task-<task id>-<5 chars>" (Kubernetes' Job pod naming: <job name>-<random suffix>). */
  name: string;
  /** Kubernetes pod phase. */
  phase: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  /** What container "main" printed (masked as the entrypoint masks it). */
  logs: string;
}

/** The `minio` block of a task input. */
export type MinioInput = Record<string, string>;

/** What the task routes need from the rest of the local KLMS. */
export interface TasksContext {
  store: TaskStore;
  catalog: Catalog;
  accounts: Accounts;
  secret: string;
  /** Lists the object store (wildcard inputs); absent without a store. */
  listObjects?: ObjectLister;
  /**
   * The `minio` block of a task input, minted (where the store can) for `username`: the caller of
   * the input GET, whose token the platform uses (`tasks.py:1214-1216`); for a Job that is the
   * task's creator, whose token the Job carries.
   */
  minio(username: string): MinioInput | Promise<MinioInput>;
  /** The runs of the task's Job; [] for an external task or one with no run yet. */
  podsOf(task: StoredTask): PodView[];
  /** Called after a task is created (starts its Job when it has one). */
  onCreated(task: StoredTask): void;
  /** Called after a task with a Job is terminated (stops its runs). */
  onTerminated(task: StoredTask): void;
}

/**
 * Registers the task routes on `app`: the user's routes need a token; a tool's input GETs need a
 * token and hide `help`; its output POSTs need only the signature and hide `help`.
 */
export function taskRoutes(app: Hono<Env>, ctx: TasksContext): void {
  const token = requireToken(ctx.secret);
  const authed = routeGroup(app, token);
  const toolAuthed = routeGroup(app, token, hideHelp);
  const toolSigned = routeGroup(app, hideHelp);
  recordRoutes(authed, ctx);
  const input = toolRoutes(toolAuthed, toolSigned, ctx);
  jobRoutes(authed, ctx);
  seedEraRoutes(toolAuthed, ctx, input);
}

/** Create, read, delete, list, status per process, signature. */
function recordRoutes(authed: RouteGroup, ctx: TasksContext): void {
  const record = (task: StoredTask) => taskRecordOf(task, (id) => ctx.catalog.find(id)?.url as string | undefined);

  authed.post(
    "/api/v2/task",
    async (c) => {
      const spec = c.var.input as ParsedSpec;
      const expansions = await wildcardExpansions(spec.inputs, ctx.listObjects);
      const task = newTask(spec, c.var.user.preferred_username, ctx.catalog, expansions);
      ctx.store.save(task);
      ctx.onCreated(task);
      return ok(c, { id: task.id, job_id: task.job_id, signature: signatureOf(task.id, ctx.secret) });
    },
    { input: async (c) => parseTaskSpec(await jsonBody(c)) },
  );

  authed.get("/api/v2/task/:id", (c) => ok(c, record(ctx.store.get(param(c, "id")))));

  authed.delete("/api/v2/task/:id", (c) => {
    const task = ctx.store.get(param(c, "id"));
    if (task.exec_state === "created" || task.exec_state === "running") {
      throw new ApiError(409, "Cannot delete a non terminated task.");
    }
    ctx.store.remove(task.id);
    return ok(c, { id: task.id });
  });

  authed.get("/api/v2/tasks", (c) => ok(c, listTasks(c, ctx)), { input: queryOf });

  authed.post("/api/v2/tasks/status", (c) => ok(c, statusOf(c.var.input as string[], ctx.store)), {
    input: async (c) => {
      const body = loadBody(await jsonBody(c), {
        identifiers: { type: "list", required: true, items: "string", minLength: 1 },
      });
      return body.identifiers;
    },
  });

  authed.get("/api/v2/task/:id/signature", (c) => {
    // `tasks.py:354-366`: an admin gets any id's signature, a creator their own, others 403.
    const id = param(c, "id");
    const user = c.var.user.preferred_username;
    const own = ctx.store.has(id) && ctx.store.get(id).creator === user;
    if (!ctx.accounts.isAdmin(user) && !own) {
      throw new ApiError(403, "You are not authorized to access the signature of this Task.");
    }
    return ok(c, { signature: signatureOf(id, ctx.secret) });
  });
}

/** What a tool calls: the input GETs (token) and the output POSTs (signature). Returns the input handler. */
function toolRoutes(
  authed: RouteGroup,
  open: RouteGroup,
  ctx: TasksContext,
): (c: Context<Env>, signature: string | undefined) => Promise<Response> {
  const input = async (c: Context<Env>, signature: string | undefined) => {
    const task = ctx.store.get(param(c, "id"));
    if (markInputRead(task)) ctx.store.save(task);
    // A wrong signature is not an error here: the secrets are just left out.
    const verified = signature !== undefined && verifySignature(task.id, signature, ctx.secret);
    return ok(c, await taskInputOf(task, verified, c.var.user.preferred_username, ctx));
  };
  authed.get("/api/v2/task/:id/input", (c) => input(c, undefined));
  for (const base of ["/api/v2/task", "/api/v2/tasks"]) {
    authed.get(`${base}/:id/:signature/input`, (c) => input(c, param(c, "signature")));
    open.post(`${base}/:id/:signature/output`, async (c) => {
      // APIFlask validates the body before the handler runs: 400/422 come before 404/403/409.
      const body = checkOutputBody(await jsonBody(c));
      const task = ctx.store.get(param(c, "id"));
      if (!verifySignature(task.id, param(c, "signature"), ctx.secret)) {
        throw new ApiError(403, "Invalid Task Signature. Access Denied.");
      }
      saveOutput(task, body, ctx);
      return ok(c, null);
    });
  }
  return input;
}

/** The task's Job: terminate, logs and jobs (from {@link TasksContext.podsOf}). */
function jobRoutes(authed: RouteGroup, ctx: TasksContext): void {
  authed.post("/api/v2/task/:id/terminate", (c) => {
    const task = ctx.store.get(param(c, "id"));
    if (terminate(task)) {
      ctx.store.save(task);
      ctx.onTerminated(task);
    }
    return ok(c, null);
  });

  // `kubernetes.py:200-243`: no existence check; {} when there are no pods.
  authed.get("/api/v2/task/:id/logs", (c) => ok(c, Object.fromEntries(podsOf(c, ctx).map((p) => [p.name, logsOf(p)]))));
  authed.get("/api/v2/task/:id/jobs", (c) => {
    const pods = podsOf(c, ctx);
    if (pods.length === 0) return ok(c, { message: "No logs available for the specified task execution" });
    return ok(c, Object.fromEntries(pods.map((p) => [p.name, { logs: logsOf(p), status: p.phase }])));
  });
}

/** The seed template's routes: never served by the platform, kept so seed-era tools can be run. */
function seedEraRoutes(
  authed: RouteGroup,
  ctx: TasksContext,
  input: (c: Context<Env>, signature: string | undefined) => Promise<Response>,
): void {
  authed.get("/api/v1/task/:id/input", (c) => input(c, undefined));
  authed.post("/api/v1/task/:id/output", async (c) => {
    const wrapper = await jsonBody(c);
    const task = ctx.store.get(param(c, "id"));
    if (!isObject(wrapper) || !("output_json" in wrapper)) {
      throw validationError({ output_json: ["Missing data for required field."] });
    }
    if (wrapper.task_exec_id !== undefined && wrapper.task_exec_id !== task.id) {
      throw validationError({ task_exec_id: ["Does not match the task in the URL."] });
    }
    saveOutput(task, checkOutputBody(wrapper.output_json), ctx);
    return ok(c, null);
  });
}

/** `save_output` after the signature check: 409 when terminal, outputs registered, then state. */
function saveOutput(task: StoredTask, body: ReturnType<typeof checkOutputBody>, ctx: TasksContext): void {
  checkAcceptsOutput(task);
  const registered = registerOutputs(task, body.output ?? body.outputs ?? {}, ctx.catalog);
  task.registered = { ...task.registered, ...registered };
  try {
    applyOutput(task, body);
  } finally {
    // What the platform wrote before a failing insert stays written.
    ctx.store.save(task);
  }
}

/** A pod's log as the platform reads it: a Pending pod has none yet (`kubernetes.py:225-236`). */
function logsOf(pod: PodView): string {
  return pod.phase === "Pending" ? "Pod is in Pending status, logs unavailable" : pod.logs;
}

function podsOf(c: Context<Env>, ctx: TasksContext): ReturnType<TasksContext["podsOf"]> {
  const id = param(c, "id");
  return ctx.store.has(id) ? ctx.podsOf(ctx.store.get(id)) : [];
}

/**
 * The task input (`get_input`): `input` (resource ids resolved to their URLs), `output`
 * (name → path), `parameters` (literal-evaluated), `minio`; `secrets` (when there are any) and
 * `signature_verified` only with a valid signature.
 */
async function taskInputOf(
  task: StoredTask,
  verified: boolean,
  caller: string,
  ctx: TasksContext,
): Promise<Record<string, unknown>> {
  const output: Record<string, string> = {};
  for (const [name, spec] of Object.entries(task.outputs)) output[name] = spec.url;
  const result: Record<string, unknown> = {
    input: await inputUrlsOf(task, ctx.catalog, ctx.listObjects),
    minio: await ctx.minio(caller),
    output,
    parameters: parametersOf(task) ?? {},
  };
  if (verified) {
    if (Object.keys(task.secrets).length > 0) result.secrets = task.secrets;
    result.signature_verified = true;
  }
  return result;
}

const STATES: ExecState[] = ["created", "running", "succeeded", "failed"];

/** `GET /api/v2/tasks` (`tasks.py:368-400`, `TaskListQuery`): ids by state; `null` when none. */
function listTasks(c: Context<Env>, ctx: TasksContext): Record<string, string[]> | null {
  const query = c.var.input as ReturnType<typeof queryOf>;
  const user = c.var.user.preferred_username;
  const visible = ctx.store
    .all()
    .filter((t) => ctx.accounts.isAdmin(user) || t.creator === user)
    .sort((a, b) => a.start_date.localeCompare(b.start_date));
  if (query.state !== undefined) {
    const ids = visible.filter((t) => t.exec_state === query.state).map((t) => t.id);
    const page = ids.slice(
      query.offset ?? 0,
      query.limit === undefined ? undefined : (query.offset ?? 0) + query.limit,
    );
    return page.length > 0 ? { [query.state]: page } : null;
  }
  // Without a state the platform ignores limit and offset (`sql_utils.py:859-890`).
  const out: Record<string, string[]> = {};
  for (const state of STATES) {
    const ids = visible.filter((t) => t.exec_state === state).map((t) => t.id);
    if (ids.length > 0) out[state] = ids;
  }
  return Object.keys(out).length > 0 ? out : null;
}

/** The query of `GET /tasks`, checked like `TaskListQuery` (422 `{"query": …}`); unknown parameters are ignored. */
function queryOf(c: Context<Env>): { state?: ExecState; limit?: number; offset?: number } {
  const raw = c.req.query();
  const values: Record<string, unknown> = {};
  const errors: Record<string, string[]> = {};
  for (const key of ["limit", "offset"]) {
    if (raw[key] === undefined) continue;
    if (!/^\s*[+-]?\d+\s*$/.test(raw[key])) errors[key] = ["Not a valid integer."];
    else values[key] = Number(raw[key]);
  }
  if (raw.state !== undefined) values.state = raw.state;
  Object.assign(
    errors,
    checkFields(values, {
      state: { type: "string", oneOf: STATES },
      limit: { type: "integer", min: 0 },
      offset: { type: "integer", min: 0 },
    }),
  );
  if (Object.keys(errors).length > 0) throw new ApiError(422, "Validation error", { query: errors });
  return values as { state?: ExecState; limit?: number; offset?: number };
}

/** `POST /tasks/status` (`processes.py:513-522`): per process, tasks running/succeeded/failed (created not counted). */
function statusOf(identifiers: string[], store: TaskStore): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const id of identifiers) {
    if (!isCanonicalUuid(id)) continue;
    const counts = { failed: 0, running: 0, succeeded: 0 };
    for (const t of store.all()) if (t.process_id === id && t.exec_state !== "created") counts[t.exec_state] += 1;
    out[id] = counts;
  }
  return out;
}
