/**
 * Tasks: the records the local KLMS keeps, the state machine the platform applies to them, and
 * the two views tools and users read (the task input and the task metadata). One JSON file per
 * task under `<dataDir>/tasks/`, replaced atomically on every change, so a restart finds every
 * task where it was.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type OutcomeState, outcomeOf, type TaskOutput } from "klms-tool/contract";
import { ApiError } from "./envelope.js";
import { evalParameters } from "./literal-eval.js";
import type { ParsedSpec } from "./task-spec.js";

/** The four states of a task execution on the platform. */
export type ExecState = "created" | "running" | "succeeded" | "failed";

/** What the store keeps about a task (its spec, its state, and what the tool posted). */
export interface StoredTask extends ParsedSpec {
  id: string;
  job_id: string;
  creator: string;
  exec_state: ExecState;
  creation_date: string;
  start_date: string | null;
  end_date: string | null;
  /** The last accepted output body's parts, once the tool has posted one. */
  message: string | null;
  metrics: Record<string, unknown>;
  output: Record<string, string>;
  error: string | null;
}

/** `GET /api/v2/task/<id>`: the task's metadata, and once it is terminal, its outcome. */
export interface TaskRecord {
  id: string;
  exec_state: ExecState;
  start_date: string | null;
  end_date: string | null;
  name?: string;
  inputs: Record<string, string[]>;
  parameters: Record<string, unknown>;
  outputs: Record<string, { url: string }>;
  metrics: Record<string, unknown>;
  messages: string | null;
  error?: string | null;
  [k: string]: unknown;
}

/** The `job_id` of a task that no Job runs: neither a tool nor an image was given. */
export const EXTERNAL_JOB = "__external__";

/** True once the platform refuses further outputs for the task. */
export function isTerminal(state: ExecState): boolean {
  return state === "succeeded" || state === "failed";
}

/** The task store: an in-memory map mirrored to one file per task. */
export class TaskStore {
  readonly #dir: string;
  readonly #tasks = new Map<string, StoredTask>();

  /** Opens (and creates) `<dataDir>/tasks`, loading every task found there. */
  constructor(dataDir: string) {
    this.#dir = join(dataDir, "tasks");
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    for (const file of readdirSync(this.#dir)) {
      if (!file.endsWith(".json")) continue;
      const task = JSON.parse(readFileSync(join(this.#dir, file), "utf8")) as StoredTask;
      this.#tasks.set(task.id, task);
    }
  }

  /** Creates a task from a validated spec; it starts `created`, like on the platform. */
  create(spec: ParsedSpec): StoredTask {
    const now = new Date().toISOString();
    const id = randomUUID();
    const task: StoredTask = {
      ...spec,
      id,
      job_id: spec.tool !== undefined || spec.image !== undefined ? `task-${id}` : EXTERNAL_JOB,
      creator: "dev",
      exec_state: "created",
      creation_date: now,
      start_date: now,
      end_date: null,
      message: null,
      metrics: {},
      output: {},
      error: null,
    };
    this.save(task);
    return task;
  }

  /** The task, or the platform's 404. */
  get(id: string): StoredTask {
    const task = this.#tasks.get(id);
    if (!task) throw new ApiError(404, `Task with id '${id}' not found.`);
    return task;
  }

  /** True when the task exists. */
  has(id: string): boolean {
    return this.#tasks.has(id);
  }

  /** Writes the task's file atomically (temp file, then rename) and updates the map. */
  save(task: StoredTask): void {
    const file = join(this.#dir, `${task.id}.json`);
    const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
    // Mode 0600: the file holds the task's secrets.
    writeFileSync(temp, `${JSON.stringify(task, null, 2)}\n`, { mode: 0o600 });
    renameSync(temp, file);
    this.#tasks.set(task.id, task);
  }
}

/** The platform moves a `created` task to `running` when its input is first read. */
export function markInputRead(task: StoredTask): boolean {
  if (task.exec_state !== "created") return false;
  task.exec_state = "running";
  return true;
}

/**
 * The platform's `save_output` after validation and the signature check: refuses a terminal
 * task (409), keeps the message, metrics, error and output map (`output` wins over `outputs`),
 * and moves the task by {@link stateAfterOutput}.
 */
export function applyOutput(task: StoredTask, body: TaskOutput & { outputs?: Record<string, string> }): void {
  if (isTerminal(task.exec_state)) {
    throw new ApiError(409, `Task '${task.id}' is terminated and no further updates are allowed.`);
  }
  task.output = body.output ?? body.outputs ?? {};
  task.metrics = { ...task.metrics, ...(body.metrics ?? {}) };
  if (body.message !== undefined) task.message = body.message;
  if (body.error !== undefined) task.error = body.error;
  const state = stateAfterOutput(body);
  if (state !== "unchanged") finish(task, state);
}

/**
 * The platform's order (`save_output`): an `error` key fails the task whatever the status;
 * otherwise a truthy status goes through `parse_state`, and a falsy one changes nothing.
 */
export function stateAfterOutput(body: TaskOutput): OutcomeState {
  return outcomeOf(body);
}

/** `POST /task/<id>/terminate`: the platform deletes the Job and marks the task failed. */
export function terminate(task: StoredTask): void {
  if (isTerminal(task.exec_state)) {
    throw new ApiError(409, `Task '${task.id}' is terminated and no further updates are allowed.`);
  }
  task.message ??= "Task terminated by user.";
  finish(task, "failed");
}

function finish(task: StoredTask, state: "succeeded" | "failed"): void {
  task.exec_state = state;
  task.end_date = new Date().toISOString();
}

/** The object store block of the task input (`minio`), or none. */
export type MinioInput = Record<string, string>;

/**
 * The task input the platform gives a tool (`Task.get_input`): `input`, `output`, `parameters`
 * (through the platform's `literal_eval`), `minio`; `secrets` (when there are any) and
 * `signature_verified` only with a valid signature.
 */
export function taskInputOf(task: StoredTask, minio: MinioInput, signatureVerified: boolean): Record<string, unknown> {
  const output: Record<string, string> = {};
  for (const [name, spec] of Object.entries(task.outputs)) output[name] = spec.url;
  const result: Record<string, unknown> = {
    input: task.inputs,
    minio,
    output,
    parameters: evalParameters(task.parameters),
  };
  if (signatureVerified) {
    if (Object.keys(task.secrets).length > 0) result.secrets = task.secrets;
    result.signature_verified = true;
  }
  return result;
}

/**
 * The task metadata (`GET /api/v2/task/<id>`). The platform fills `messages`, `outputs` and
 * `metrics` only once the task is terminal; here they are always present (empty before), so the
 * typed record has one shape. `outputs` lists the posted paths of the keys the task declared.
 */
export function taskRecordOf(task: StoredTask): TaskRecord {
  const terminal = isTerminal(task.exec_state);
  const outputs: Record<string, { url: string }> = {};
  if (terminal) {
    for (const [name, url] of Object.entries(task.output)) if (name in task.outputs) outputs[name] = { url };
  }
  return {
    id: task.id,
    process_id: task.process_id ?? null,
    creator: task.creator,
    exec_state: task.exec_state,
    start_date: task.start_date,
    end_date: task.end_date,
    tags: task.tags,
    image: task.image ?? null,
    tool: task.tool ?? null,
    ...(task.name !== undefined ? { name: task.name } : {}),
    inputs: task.inputs,
    parameters: evalParameters(task.parameters),
    job_id: task.job_id,
    messages: terminal ? task.message : null,
    outputs,
    metrics: terminal ? task.metrics : {},
    error: terminal ? task.error : null,
  };
}
