/**
 * The cluster's Jobs, played locally: a task for a tool or an image gets a Job whose pods each
 * run the task's container once. A pod that ends with a non-zero exit (or a signal) is Failed and
 * the Job starts a new pod after a back-off delay, until one succeeds or more than `backoffLimit`
 * have failed (Kubernetes' Job controller with `restartPolicy: Never`). Deleting the Job (the
 * platform's terminate) stops its pods with their grace period; once ended they are gone from the
 * pod list, as on the cluster, but their logs stay on disk.
 *
 * Pods and logs live under `<dataDir>/logs/<task id>/`: `<pod name>.log` and `pods.json` (written
 * crash-safely in the background on every pod change; the pod list is served from memory).
 */

import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Masker } from "klms-tool/internal";
import type { DurableWriter } from "./durable-writer.js";
import type { PodView } from "./routes/tasks.js";
import type { RunResult, StartedRun } from "./runner.js";
import type { PodLauncher, PodStart } from "./runners.js";

/** What `pods.json` keeps of a pod. */
interface PodRecord {
  name: string;
  phase: PodView["phase"];
  exitCode?: number | null;
  signal?: string | null;
}

/** A Job's status, as Kubernetes reports it (`.status` of a batch/v1 Job, in short). */
export interface JobStatus {
  /** Pods running or pending. */
  active: number;
  succeeded: number;
  failed: number;
  /** `Complete` once a pod succeeded; `Failed` once more than `backoffLimit` pods failed. */
  condition?: "Complete" | "Failed";
}

/** Settings of {@link Jobs}. */
export interface JobOptions {
  /** Failed pods allowed before the Job gives up is this + 1 (`spec.backoffLimit`); platform default 3. */
  backoffLimit: number;
  /** The delay before the first retry; it doubles per failure, up to 6 min (Kubernetes: 10 s). */
  retryDelayMs: number;
  /** Between SIGTERM and SIGKILL when a pod is stopped (Kubernetes' default: 30 s). */
  graceMs: number;
  /** The server's log sink; none when quiet. */
  log?: (line: string) => void;
  /** Writes `pods.json` off the event loop; whoever stops the server flushes it. */
  writer: DurableWriter;
}

/** The platform's default profile (data-api src/execution/kubernetes.py:117-126). */
export const DEFAULT_BACKOFF_LIMIT = 3;
/** Kubernetes' Job back-off: 10 s, doubled on each failure, capped at 6 min. */
export const DEFAULT_RETRY_DELAY_MS = 10_000;
const MAX_RETRY_DELAY_MS = 360_000;

/** The pod's part of a run that is not chosen per pod: arguments, grace period, secrets. */
export type PodTemplate = Omit<PodStart, "name" | "logFile" | "graceMs" | "masker">;

/** A launcher that can start pods. */
type ReadyLauncher = Exclude<PodLauncher, { pending: string }>;

interface JobState {
  taskId: string;
  jobName: string;
  pods: PodRecord[];
  runs: Map<string, StartedRun>;
  deleted: boolean;
  condition?: JobStatus["condition"];
  wake?: () => void;
}

/** Every task's Job and pods. */
export class Jobs {
  readonly #dir: string;
  readonly #options: JobOptions;
  readonly #jobs = new Map<string, JobState>();
  /** Per task: what its pods' logs hide, shared by all its pods and added to while they run. */
  readonly #maskers = new Map<string, Masker>();

  /** `dir` is `<dataDir>/logs`. */
  constructor(dir: string, options: JobOptions) {
    this.#dir = dir;
    this.#options = options;
  }

  /**
   * Starts the task's Job: pods until one succeeds, more than `backoffLimit` (default: the
   * option's) fail, or the Job is deleted.
   */
  start(taskId: string, jobName: string, launcher: PodLauncher, template: PodTemplate, backoffLimit?: number): void {
    const job = this.#job(taskId, jobName);
    if ("pending" in launcher) {
      this.#options.log?.(`task ${taskId}: its pod stays Pending: ${launcher.pending}`);
      this.#add(job, { name: podName(jobName), phase: "Pending" });
      return;
    }
    void this.#retryLoop(job, launcher, template, backoffLimit ?? this.#options.backoffLimit);
  }

  /** One pod started by hand (no retry); its end is recorded before `done` resolves for the caller. */
  runOnce(taskId: string, jobName: string, launcher: PodLauncher, template: PodTemplate): StartedRun {
    if ("pending" in launcher) throw new Error(`cannot run task ${taskId}: ${launcher.pending}`);
    return this.#startPod(this.#job(taskId, jobName), launcher, template);
  }

  /**
   * Masks `values` (each string or number leaf, e.g. the MinIO credentials a task input just handed
   * out) in the task's pod logs from now on: in what its pods print (the log files) and in what
   * {@link pods} shows (`/logs`, `/jobs`, the console).
   */
  hide(taskId: string, values: unknown): void {
    this.#maskerOf(taskId).addAll(values);
  }

  /** The task's pods, oldest first, with their logs so far (masked by {@link hide}). */
  pods(taskId: string): PodView[] {
    const job = this.#jobs.get(taskId) ?? this.#load(taskId);
    if (!job) return [];
    const masker = this.#maskerOf(taskId);
    return job.pods.map((pod) => ({ name: pod.name, phase: pod.phase, logs: masker.mask(this.#logs(taskId, pod)) }));
  }

  #maskerOf(taskId: string): Masker {
    let masker = this.#maskers.get(taskId);
    if (!masker) {
      masker = new Masker();
      this.#maskers.set(taskId, masker);
    }
    return masker;
  }

  /** The task's Job status; undefined when it has none. */
  status(taskId: string): JobStatus | undefined {
    const job = this.#jobs.get(taskId) ?? this.#load(taskId);
    if (!job) return undefined;
    const count = (phase: PodView["phase"]) => job.pods.filter((p) => p.phase === phase).length;
    const status: JobStatus = {
      active: count("Running") + count("Pending"),
      succeeded: count("Succeeded"),
      failed: count("Failed"),
    };
    if (job.condition) status.condition = job.condition;
    return status;
  }

  /**
   * Deletes the task's Job like `kubectl delete job --cascade=background`: no new pod, each
   * running pod gets SIGTERM and SIGKILL after the grace period; ended pods leave the list.
   */
  delete(taskId: string): void {
    const job = this.#jobs.get(taskId);
    if (!job || job.deleted) return;
    job.deleted = true;
    job.wake?.();
    for (const run of job.runs.values()) run.stop(this.#options.graceMs);
    job.pods = job.pods.filter((pod) => job.runs.has(pod.name));
    this.#save(job);
  }

  /** Kills every running pod (SIGKILL) and waits for them: the local KLMS is stopping. */
  async stopAll(): Promise<void> {
    const runs = [...this.#jobs.values()].flatMap((job) => {
      job.deleted = true;
      job.wake?.();
      return [...job.runs.values()];
    });
    for (const run of runs) run.kill();
    await Promise.all(runs.map((run) => run.done));
  }

  async #retryLoop(job: JobState, launcher: ReadyLauncher, template: PodTemplate, backoffLimit: number) {
    let failures = 0;
    while (!job.deleted) {
      const result = await this.#startPod(job, launcher, template).done;
      if (job.deleted) return;
      if (result.exitCode === 0) return this.#finish(job, "Complete");
      failures++;
      if (failures > backoffLimit) {
        this.#finish(job, "Failed");
        this.#options.log?.(`job ${job.jobName}: ${failures} pods failed; backoffLimit ${backoffLimit} reached`);
        return;
      }
      const delay = Math.min(this.#options.retryDelayMs * 2 ** (failures - 1), MAX_RETRY_DELAY_MS);
      this.#options.log?.(
        `job ${job.jobName}: pod failed (exit ${result.exitCode ?? result.signal}); a new pod in ${delay / 1000} s`,
      );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        job.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      job.wake = undefined;
    }
  }

  #startPod(job: JobState, launcher: ReadyLauncher, template: PodTemplate): StartedRun {
    const pod: PodRecord = { name: podName(job.jobName), phase: "Pending" };
    this.#add(job, pod);
    const run = launcher.start({
      ...template,
      masker: this.#maskerOf(job.taskId),
      name: pod.name,
      logFile: this.#logFile(job.taskId, pod.name),
      graceMs: this.#options.graceMs,
    });
    job.runs.set(pod.name, run);
    pod.phase = "Running";
    this.#save(job);
    const done = run.done.then((result: RunResult) => {
      job.runs.delete(pod.name);
      pod.phase = result.exitCode === 0 ? "Succeeded" : "Failed";
      pod.exitCode = result.exitCode;
      pod.signal = result.signal;
      // A deleted Job's pods are gone once they have stopped (their log files stay).
      if (job.deleted) job.pods = job.pods.filter((p) => p !== pod);
      this.#save(job);
      return result;
    });
    return { ...run, done };
  }

  #finish(job: JobState, condition: JobStatus["condition"]): void {
    job.condition = condition;
    this.#save(job);
  }

  #job(taskId: string, jobName: string): JobState {
    let job = this.#jobs.get(taskId) ?? this.#load(taskId);
    if (!job) {
      job = { taskId, jobName, pods: [], runs: new Map(), deleted: false };
      this.#jobs.set(taskId, job);
      // Private before the first pod's log file is opened there (the writer would make it too, later).
      mkdirSync(join(this.#dir, taskId), { recursive: true, mode: 0o700 });
    }
    return job;
  }

  #add(job: JobState, pod: PodRecord): void {
    job.pods.push(pod);
    this.#save(job);
  }

  /** A Job found on disk from an earlier server: its pods that did not end have an Unknown phase. */
  #load(taskId: string): JobState | undefined {
    const file = join(this.#dir, taskId, "pods.json");
    if (!existsSync(file)) return undefined;
    let saved: { jobName: string; pods: PodRecord[]; condition?: JobStatus["condition"] };
    try {
      saved = JSON.parse(readFileSync(file, "utf8"));
    } catch (error) {
      this.#options.log?.(`warning: ${file} cannot be read (${(error as Error).message}); its pods are left out`);
      return undefined;
    }
    for (const pod of saved.pods) if (pod.phase === "Running" || pod.phase === "Pending") pod.phase = "Unknown";
    const job: JobState = { taskId, jobName: saved.jobName, pods: saved.pods, runs: new Map(), deleted: false };
    if (saved.condition) job.condition = saved.condition;
    this.#jobs.set(taskId, job);
    return job;
  }

  #save(job: JobState): void {
    const text = `${JSON.stringify({ jobName: job.jobName, condition: job.condition, pods: job.pods }, null, 2)}\n`;
    void this.#options.writer.write(join(this.#dir, job.taskId, "pods.json"), text);
  }

  #logFile(taskId: string, pod: string): string {
    return join(this.#dir, taskId, `${pod}.log`);
  }

  #logs(taskId: string, pod: PodRecord): string {
    const file = this.#logFile(taskId, pod.name);
    return existsSync(file) ? readFileSync(file, "utf8") : "";
  }
}

/** Kubernetes' `generateName` alphabet (no vowels, no look-alike digits). */
const SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789";

/**
 * A pod name as the Job controller makes one: `<job name>-` cut to 58 characters, then 5 random
 * characters (apiserver's SimpleNameGenerator).
 */
export function podName(jobName: string): string {
  const bytes = randomBytes(5);
  let suffix = "";
  for (const byte of bytes) suffix += SUFFIX_ALPHABET[byte % SUFFIX_ALPHABET.length];
  return `${`${jobName}-`.slice(0, 58)}${suffix}`;
}
