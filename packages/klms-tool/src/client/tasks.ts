/**
 * Tasks (`routes/workflows.py:51-415`, platform-api §4): create with the platform's `TaskSchema`
 * body, read, list, logs per pod, terminate, delete, and wait with backoff.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Transport } from "./transport.js";

/** A task's state (`exec_state`). */
export type TaskState = "created" | "running" | "succeeded" | "failed";

/** The body of `POST /api/v2/task` (`TaskSchema`, `tasks.py:110-295`), as stelar_client's TaskSpec sends it. */
export interface TaskSpecBody {
  /** A running process's UUID (required). */
  process_id: string;
  /** The task's name. */
  name: string;
  /** A tool's name or id: the task runs its default profile's image. */
  tool?: string;
  /** An image to run instead of a tool's (e.g. `img.stelar.gr/stelar/my-tool:0.1.0`). */
  image?: string;
  /** Aliases used by inputs (`d0::owned`) and outputs: a dataset UUID, or `{name, owner_org, …}` for a new one. */
  datasets: Record<string, string | Record<string, unknown>>;
  /** Group → items: a resource UUID (`::filter`), `alias::filter`, `ctx::filter`, or an `s3://` path. */
  inputs: Record<string, string[]>;
  /** Name → `{url, dataset?, resource?}`. */
  outputs: Record<string, { url: string; dataset?: string; resource?: string | { name: string; relation: string } }>;
  /** The tool's parameters. */
  parameters: Record<string, unknown>;
  /** Secrets handed to the tool only with a verified signature (masked in its logs). */
  secrets?: Record<string, unknown>;
  /** Free key → value tags. */
  tags?: Record<string, string>;
}

/** `GET /api/v2/task/<id>` (`tasks.py:421-470`); `messages`, `metrics`, `outputs` only once it ended. */
export interface TaskRecord {
  /** The task's UUID. */
  id: string;
  /** Its name. */
  name: string;
  /** The user who created it. */
  creator: string;
  /** created, running, succeeded or failed. */
  exec_state: TaskState;
  /** The process it belongs to. */
  process_id: string;
  /** When it was created (ISO 8601, local time, no zone). */
  start_date: string;
  /** When it ended (ISO 8601); null while it runs. */
  end_date: string | null;
  /** Input group → the paths or resource ids it was given. */
  inputs: Record<string, string[]>;
  /** The parameters it was given. */
  parameters: Record<string, unknown> | null;
  /** Its tags. */
  tags: Record<string, string>;
  /** The tool it runs, when created from a tool. */
  tool?: string;
  /** The image it runs. */
  image?: string;
  /** The posted output's `message` once the task has ended; null otherwise. */
  messages?: string | null;
  /** The posted metrics once the task has ended; null when there are none. */
  metrics?: Record<string, unknown> | null;
  /** Output name → the resource registered for it and its URL (registered outputs only, once ended). */
  outputs?: Record<string, { resource_id: string; url: string }>;
}

/** Pod name → its status and log (`GET …/jobs`, `kubernetes.py:290-346`). */
export type TaskJobs = Record<string, { status: string; logs: string }>;

/** Options of {@link Tasks.wait}. */
export interface WaitOptions {
  /** Stops waiting (the task keeps running). */
  signal?: AbortSignal;
  /** First delay between polls, ms; default 500. */
  minDelayMs?: number;
  /** Longest delay, ms (the delay grows × 1.5 while nothing changes); default 5 000. */
  maxDelayMs?: number;
  /** Called after each poll (e.g. to print new log lines); the delay restarts when it returns true ("something changed"). */
  onPoll?: (task: TaskRecord) => boolean | undefined | Promise<boolean | undefined>;
}

/** Whether a task has ended. */
export function isTerminal(state: TaskState): boolean {
  return state === "succeeded" || state === "failed";
}

/** The task routes. */
export class Tasks {
  constructor(private readonly transport: Transport) {}

  /** Creates a task; the platform starts its Job when it names a tool or an image. */
  create(spec: TaskSpecBody): Promise<{ id: string; job_id: string; signature: string }> {
    return this.transport.call("POST", "/api/v2/task", { body: spec });
  }

  /** One task by id; a {@link KlmsApiError} `NotFoundError` (404) when there is none. */
  get(id: string): Promise<TaskRecord> {
    return this.transport.call("GET", `/api/v2/task/${encodeURIComponent(id)}`);
  }

  /**
   * The caller's task ids (an admin's: everyone's), by state (`GET /api/v2/tasks`, `tasks.py:368-400`):
   * with `state`, that state's ids (paged); without, all states'.
   */
  async list(
    options: { state?: TaskState; limit?: number; offset?: number } = {},
  ): Promise<Partial<Record<TaskState, string[]>>> {
    const result = await this.transport.call<Partial<Record<TaskState, string[]>> | null>("GET", "/api/v2/tasks", {
      query: options,
    });
    return result ?? {};
  }

  /** The signature the task's input and output routes need (creator or admin only, else 403). */
  async signature(id: string): Promise<string> {
    const result = await this.transport.call<{ signature: string }>(
      "GET",
      `/api/v2/task/${encodeURIComponent(id)}/signature`,
    );
    return result.signature;
  }

  /** Pod name → log (`{}` without pods: external tasks, or after the Job's TTL). */
  logs(id: string): Promise<Record<string, string>> {
    return this.transport.call("GET", `/api/v2/task/${encodeURIComponent(id)}/logs`);
  }

  /** Pod name → status and log; `{}` without pods (the platform's `{"message": …}` reply). */
  async jobs(id: string): Promise<TaskJobs> {
    const result = await this.transport.call<TaskJobs | { message: string }>(
      "GET",
      `/api/v2/task/${encodeURIComponent(id)}/jobs`,
    );
    return typeof (result as { message?: unknown }).message === "string" ? {} : (result as TaskJobs);
  }

  /** Stops a created or running task's Job and fails it; an external task is left alone (`tasks.py:1331-1367`). 409 when it already ended. */
  async terminate(id: string): Promise<void> {
    await this.transport.call("POST", `/api/v2/task/${encodeURIComponent(id)}/terminate`);
  }

  /** Deletes an ended task's record (409 while it runs). */
  async delete(id: string): Promise<void> {
    await this.transport.call("DELETE", `/api/v2/task/${encodeURIComponent(id)}`);
  }

  /**
   * Polls the task until it has ended and returns its record. The delay starts at `minDelayMs`,
   * grows × 1.5 up to `maxDelayMs`, and starts over when `onPoll` reports a change.
   */
  async wait(id: string, options: WaitOptions = {}): Promise<TaskRecord> {
    const min = options.minDelayMs ?? 500;
    const max = options.maxDelayMs ?? 5000;
    let delay = min;
    for (;;) {
      const task = await this.get(id);
      const changed = await options.onPoll?.(task);
      if (isTerminal(task.exec_state)) return task;
      delay = changed ? min : Math.min(max, delay * 1.5);
      await sleep(delay, undefined, { signal: options.signal });
    }
  }
}
