/**
 * Tasks: the records the local KLMS keeps, the state machine the platform applies to them, and
 * the task record users read (`GET /api/v2/task/<id>`, `tasks.py:421-470`). One JSON file per
 * task under `<dataDir>/tasks/`, written crash-safely (off the event loop, by a DurableWriter), so a
 * restart finds every task where it was.
 */
import { join } from "node:path";
import { type OutcomeState, outcomeOf, type TaskOutput } from "klms-tool/contract";
import { checkTagRows } from "./db-constraints.js";
import { DurableWriter } from "./durable-writer.js";
import { ApiError } from "./envelope.js";
import { RecordDir } from "./records.js";
import { isCanonicalUuid } from "./schema.js";
import { metricRowsOf, parameterRowsOf, parametersFromRows } from "./task-parameters.js";
import { isoNow } from "./timestamps.js";

/** The four states of a task execution on the platform. */
export type ExecState = "created" | "running" | "succeeded" | "failed";

/** An output as stored at creation (`parse_outputs`, `tasks.py:764-835`). */
export type StoredOutput =
  | { url: string }
  | { url: string; resource_id: string; resource_action: string }
  | { url: string; dataset: string; resource_name: string; resource_label: string };

/** A `datasets` alias as stored at creation (`parse_datasets`, `tasks.py:713-762`). */
export type StoredDataset = { package_uuid: string } | { package_details: Record<string, unknown> };

/** What the store keeps about a task. */
export interface StoredTask {
  id: string;
  process_id: string;
  name: string;
  creator: string;
  exec_state: ExecState;
  start_date: string;
  end_date: string | null;
  /** As sent (a name or an id); absent when the spec had none. */
  tool?: string;
  /** The Job's image (`__image__`): `<repository>:<tag>` for a tool, the image as given otherwise; absent for an external task. */
  image?: string;
  /** The tool profile the Job runs with (`backoff_limit` etc.), for a task with a Job. */
  job_profile?: Record<string, unknown>;
  /** The Job's name, or `__external__`. */
  job_id: string;
  /** The user's tags, plus `container_id` and `job_id` for a task with a Job. */
  tags: Record<string, string>;
  datasets: Record<string, StoredDataset>;
  /** Input rows by group: resource ids and paths, in order; groups with no row are absent. */
  inputs: Record<string, string[]>;
  /** Each input resource's URL at creation (used when the resource is gone). */
  input_urls: Record<string, string>;
  outputs: Record<string, StoredOutput>;
  /**
   * The parameter rows as the platform stores them: name → the JSON text its `jsonb` column
   * holds (`task-parameters.ts`); `null` when there are none. Files of earlier versions held the
   * values themselves under `parameters`; they are converted when loaded.
   */
  parameter_rows: Record<string, string> | null;
  /** The secret rows as the platform's text column holds them (`null` stays `null`). */
  secrets: Record<string, string | null>;
  /** The posted `message` (the `log` tag), once one was posted. */
  message: string | null;
  metrics: Record<string, unknown> | null;
  /** The metrics as the platform's `jsonb` rows hold them (`task-parameters.ts`); absent in files of earlier versions. */
  metric_rows?: Record<string, string> | null;
  /** The last posted output map (name → path), as the tool reported it. */
  output: Record<string, string>;
  /** Outputs registered in the catalog: name → resource id. */
  registered: Record<string, string>;
  error: string | null;
}

/** `GET /api/v2/task/<id>`: keys as the platform writes them (sorted when sent). */
export interface TaskRecord {
  creator: string;
  end_date: string | null;
  exec_state: ExecState;
  id: string;
  image?: string;
  inputs: Record<string, string[]>;
  messages?: string | null;
  metrics?: Record<string, unknown> | null;
  name: string;
  outputs?: Record<string, { resource_id: string; url: string }>;
  parameters: Record<string, unknown> | null;
  process_id: string;
  start_date: string;
  tags: Record<string, string>;
  tool?: string;
}

/** The `job_id` of a task that no Job runs: neither a tool nor an image was given. */
export const EXTERNAL_JOB = "__external__";

/** True once the platform refuses further outputs for the task. */
export function isTerminal(state: ExecState): boolean {
  return state === "succeeded" || state === "failed";
}

/** True for a task with no Job (`Task.is_external` in stelar_client: no `image`). */
export function isExternal(task: StoredTask): boolean {
  return task.image === undefined;
}

/** The task store: an in-memory map mirrored to one file per task. */
export class TaskStore {
  readonly #files: RecordDir<StoredTask>;
  readonly #tasks = new Map<string, StoredTask>();

  /**
   * Opens (and creates) `<dataDir>/tasks`, loading every task found there; unreadable files are set
   * aside. Tasks are written by `writer` (default: one of its own, for a store only read); whoever
   * stops the server flushes it.
   */
  constructor(
    dataDir: string,
    warn: (message: string) => void = (m) => process.stderr.write(`klms-local: warning: ${m}\n`),
    writer: DurableWriter = new DurableWriter({ warn }),
  ) {
    this.#files = new RecordDir(join(dataDir, "tasks"), writer);
    for (const task of this.#files.loadAll(checkStoredTask, warn)) this.#tasks.set(task.id, task);
  }

  /** The task, or the platform's 404 (`tasks.py:318-334`: message "", detail `{entity: <id>}`). */
  get(id: string): StoredTask {
    const task = this.#tasks.get(id);
    if (!task) throw new ApiError(404, "", { entity: id });
    return task;
  }

  /** True when the task exists. */
  has(id: string): boolean {
    return this.#tasks.has(id);
  }

  /** Every task. */
  all(): StoredTask[] {
    return [...this.#tasks.values()];
  }

  /**
   * Updates the map (what every route reads) and writes the task's file crash-safely in the
   * background; the writer's `flush()` waits for it.
   */
  save(task: StoredTask): void {
    void this.#files.write(task.id, task);
    this.#tasks.set(task.id, task);
  }

  /** Removes the task (`DELETE /task/<id>`). */
  remove(id: string): void {
    void this.#files.remove(id);
    this.#tasks.delete(id);
  }
}

function checkStoredTask(value: unknown): string | undefined {
  const task = value as StoredTask;
  if (typeof task !== "object" || task === null) return "not a JSON object";
  if (!isCanonicalUuid(task.id)) return "no task id";
  if (!["created", "running", "succeeded", "failed"].includes(task.exec_state)) return "no known exec_state";
  if (typeof task.inputs !== "object" || typeof task.outputs !== "object") return "no inputs or outputs";
  if (typeof task.process_id !== "string" || typeof task.registered !== "object") {
    return "not a task record of this klms-local version (no process_id or registered outputs)";
  }
  upgradeParameters(task as StoredTask & { parameters?: Record<string, unknown> | null });
  return undefined;
}

/** A task file of an earlier version kept the parameter values under `parameters`: made rows, as the platform would have stored them. */
function upgradeParameters(task: StoredTask & { parameters?: Record<string, unknown> | null }): void {
  if (task.parameter_rows !== undefined) return;
  task.parameter_rows = parameterRowsOf(task.parameters);
  delete task.parameters;
}

/** The platform moves a `created` task to `running` when its input is first read. */
export function markInputRead(task: StoredTask): boolean {
  if (task.exec_state !== "created") return false;
  task.exec_state = "running";
  return true;
}

/**
 * The platform's `save_output` after validation, the signature check and the outputs'
 * registration: refuses a terminal task (409), keeps the message, metrics, error and output map
 * (`output` wins over `outputs`), and moves the task by {@link stateAfterOutput}.
 */
export function applyOutput(task: StoredTask, body: TaskOutput & { outputs?: Record<string, string> }): void {
  task.output = body.output ?? body.outputs ?? {};
  if (body.metrics && Object.keys(body.metrics).length > 0) {
    task.metric_rows = { ...task.metric_rows, ...metricRowsOf(body.metrics) };
    task.metrics = { ...task.metrics, ...body.metrics };
  }
  // `save_output` then inserts the message as the tag "log" (`tasks.py:1442`): a user tag of that
  // name breaks the primary key, and the task never takes an output (outputs and metrics stay).
  checkTagRows(task.tags, ["log"]);
  if (body.message !== undefined && body.message !== null) task.message = body.message;
  if (body.error !== undefined) task.error = body.error;
  const state = stateAfterOutput(body);
  if (state !== "unchanged") finish(task, state);
}

/** 409 unless the task may still take an output (`tasks.py:1396-1399`). */
export function checkAcceptsOutput(task: StoredTask): void {
  if (isTerminal(task.exec_state)) {
    throw new ApiError(409, `Task '${task.id}' is terminated and no further updates are allowed.`);
  }
}

/**
 * The platform's order (`save_output`): an `error` key fails the task whatever the status;
 * otherwise a truthy status goes through `parse_state`, and a falsy one changes nothing.
 */
export function stateAfterOutput(body: TaskOutput): OutcomeState {
  return outcomeOf(body);
}

/**
 * `POST /task/<id>/terminate` (`tasks.py:1331-1367`): 409 unless `created` or `running`; a task
 * with a Job is failed (its Job is stopped by the caller); an external task is left as it is.
 * Returns true when the task was failed.
 */
export function terminate(task: StoredTask): boolean {
  if (isTerminal(task.exec_state)) {
    throw new ApiError(
      409,
      `Task '${task.id}' is already terminated or in a state that does not allow manual termination.`,
    );
  }
  if (isExternal(task)) return false;
  finish(task, "failed");
  return true;
}

function finish(task: StoredTask, state: "succeeded" | "failed"): void {
  task.exec_state = state;
  task.end_date = isoNow();
}

/**
 * The parameters as the platform reads them back: literal-evaluated, `null` when there are none.
 * Floats are `PyFloat`s, big ints `PyInt`s and what JSON cannot carry `PyOpaque`s: write them
 * with `dumpsJson` (the replies do), or convert with `toJsValue`.
 */
export function parametersOf(task: StoredTask): Record<string, unknown> | null {
  return parametersFromRows(task.parameter_rows);
}

/**
 * The task record (`tasks.py:421-470`): `image` and `tool` only when the task has them;
 * `messages`, `metrics` and `outputs` only once it is terminal; `outputs` lists the registered
 * outputs with their resource's current URL (`currentUrl`).
 */
export function taskRecordOf(task: StoredTask, currentUrl: (resourceId: string) => string | undefined): TaskRecord {
  const record: TaskRecord = {
    creator: task.creator,
    end_date: task.end_date,
    exec_state: task.exec_state,
    id: task.id,
    inputs: task.inputs,
    name: task.name,
    parameters: parametersOf(task),
    process_id: task.process_id,
    start_date: task.start_date,
    tags: task.tags,
  };
  if (task.image !== undefined) record.image = task.image;
  if (task.tool !== undefined) record.tool = task.tool;
  if (isTerminal(task.exec_state)) {
    record.messages = task.message;
    // Read back as the platform reads its metric rows (literal_eval on strings, Python floats).
    record.metrics = task.metric_rows
      ? parametersFromRows(task.metric_rows)
      : task.metrics && Object.keys(task.metrics).length > 0
        ? task.metrics
        : null;
    record.outputs = {};
    for (const [name, resourceId] of Object.entries(task.registered)) {
      record.outputs[name] = { resource_id: resourceId, url: currentUrl(resourceId) ?? "" };
    }
  }
  return record;
}
