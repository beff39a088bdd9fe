/**
 * Decides what to post once the worker has ended: the worker's own output when it is valid and
 * trustworthy, otherwise a failure report that says exactly what went wrong. Nothing is repaired
 * silently: a bad output is described, never patched into shape.
 */
import { formatViolations, Status, type TaskOutput } from "../contract/index.js";
import type { Masker } from "../log/mask.js";
import { describeCancel } from "./signals.js";
import type { WorkerResult } from "./supervisor.js";
import type { WorkerOutput } from "./worker-output.js";

/** The output to post and where it came from. */
export interface Report {
  output: TaskOutput;
  /** `worker`: the tool's own output.json, as written; `entrypoint`: a failure report. */
  source: "worker" | "entrypoint";
}

/** One sentence on how the worker ended, e.g. "the worker exited with code 1". */
export function describeWorkerEnd(worker: WorkerResult, command: string[]): string {
  const name = worker.thread ? "worker thread" : "worker";
  if (worker.spawnError !== undefined) {
    return `the ${name} ${JSON.stringify(command.join(" "))} could not be started (${worker.spawnError})`;
  }
  const oom = worker.outOfMemory !== undefined ? ` (out of memory: ${worker.outOfMemory})` : "";
  if (worker.thread && worker.forceKilled) {
    const when = worker.forceKilled === "grace-period" ? "after the grace period" : "at a second signal";
    return `the worker thread was stopped ${when}${oom}`;
  }
  if (worker.signal) {
    let how = `the worker was killed by signal ${worker.signal}`;
    if (worker.forceKilled === "grace-period") how += " after the grace period";
    else if (worker.forceKilled === "second-signal") how += " at a second signal";
    else if (worker.signal === "SIGKILL" && !worker.cancelled) {
      how += " (not by this entrypoint: in a pod this is usually the memory limit, OOMKilled)";
    }
    return `${how}${oom}`;
  }
  return `the ${name} exited with code ${worker.exitCode}${oom}`;
}

/** Decides the output to post for a worker that ended as `worker` and left `file`. */
export function decideReport(worker: WorkerResult, file: WorkerOutput, command: string[]): Report {
  const end = describeWorkerEnd(worker, command);
  const own = file.kind === "valid" ? file.output : undefined;

  if (worker.spawnError !== undefined) return failure(`${capitalize(end)}.`, worker);
  if (worker.cancelled) {
    return failure(`Task ${describeCancel(worker.cancelled)}: ${end}.${ownWords(own)}`, worker, own);
  }
  if (worker.signal) {
    const trusted =
      own && file.kind === "valid" && file.state === "succeeded"
        ? " Its output.json said succeeded, but a killed worker may not have finished."
        : ownWords(own);
    return failure(`${capitalize(end)}.${trusted}`, worker, own);
  }
  switch (file.kind) {
    case "valid":
      return { output: file.output, source: "worker" };
    case "missing":
      return failure(`${capitalize(end)} without writing output.json.`, worker);
    case "unreadable":
    case "not-json":
      return failure(`${capitalize(end)}, but ${file.reason}.`, worker);
    case "invalid":
      return failure(
        `${capitalize(end)}, but its output.json breaks the platform's rules, so it was not posted:\n${formatViolations(file.violations)}`,
        worker,
      );
  }
}

/**
 * Masks every string of an output before it is posted or printed: message, error, metrics
 * values (at any depth) and output paths, keys included. A report may quote the worker's words,
 * and a worker may put a secret anywhere.
 */
export function maskReport(output: TaskOutput, masker: Masker): TaskOutput {
  return masker.maskValue(output);
}

/** A failure report written by the entrypoint itself (input problems, cancellation before the worker). */
export function failureReport(message: string, error: string, metrics: Record<string, unknown> = {}): TaskOutput {
  return { status: Status.Failed, message, error, metrics };
}

function failure(message: string, worker: WorkerResult, own?: TaskOutput): Report {
  const metrics: Record<string, unknown> = {
    ...(own?.metrics ?? {}),
    worker_exit_code: worker.exitCode,
    worker_signal: worker.signal,
    worker_seconds: Math.round(worker.durationMs) / 1000,
  };
  const tail = worker.stderrTail ? `Last lines of the worker's standard error:\n${worker.stderrTail}` : "";
  const error = tail || (typeof own?.error === "string" ? own.error : (message.split("\n")[0] as string));
  return { output: failureReport(message, error, metrics), source: "entrypoint" };
}

function ownWords(own: TaskOutput | undefined): string {
  if (!own) return "";
  const words = typeof own.message === "string" && own.message ? `: ${JSON.stringify(own.message)}` : "";
  return ` The worker's own report said status ${JSON.stringify(own.status)}${words}.`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
