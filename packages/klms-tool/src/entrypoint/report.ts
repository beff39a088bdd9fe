/**
 * Decides what to post once the worker has ended: the worker's own output when it is valid and
 * trustworthy, otherwise a failure report that says exactly what went wrong. Nothing is repaired
 * silently: a bad output is described, never patched into shape.
 */
import { formatViolations, type TaskOutput } from "../contract/index.js";
import type { Masker } from "../log/mask.js";
import type { AutomaticMetrics } from "../metrics/automatic.js";
import { failureReport } from "../worker/report.js";
import { describeCancel } from "./signals.js";
import type { WorkerEnd } from "./supervisor.js";
import type { OutputFile } from "./worker-output.js";

/** The output to post and where it came from. */
export interface Report {
  output: TaskOutput;
  /** `worker`: the tool's own output.json, as written; `entrypoint`: a failure report. */
  source: "worker" | "entrypoint";
}

/** One sentence on how the worker ended, e.g. "the worker exited with code 1". */
export function describeWorkerEnd(worker: WorkerEnd, command: string[]): string {
  const name = worker.thread ? "worker thread" : "worker";
  if (worker.spawnError !== undefined) {
    return `the ${name} ${JSON.stringify(command.join(" "))} could not be started (${worker.spawnError})`;
  }
  const oom = worker.outOfMemory !== undefined ? ` (out of memory: ${worker.outOfMemory})` : "";
  const loading = worker.stoppedLoading
    ? " while its module was loading (it had not called main(import.meta, tool))"
    : "";
  return `${describeEnd(worker, name)}${loading}${oom}`;
}

/** How the worker's process or thread ended, without the notes {@link describeWorkerEnd} adds. */
function describeEnd(worker: WorkerEnd, name: string): string {
  if (worker.thread && worker.forceKilled) {
    const when = worker.forceKilled === "grace-period" ? "after the grace period" : "at a second signal";
    return `the worker thread was stopped ${when}`;
  }
  if (worker.signal) {
    let how = `the worker was killed by signal ${worker.signal}`;
    if (worker.forceKilled === "grace-period") how += " after the grace period";
    else if (worker.forceKilled === "second-signal") how += " at a second signal";
    else if (worker.signal === "SIGKILL" && !worker.cancelled) {
      how += " (not by this entrypoint: in a pod this is usually the memory limit, OOMKilled)";
    }
    return how;
  }
  return `the ${name} exited with code ${worker.exitCode}`;
}

/** Decides the output to post for a worker that ended as `worker` and left `file`. */
export function decideReport(worker: WorkerEnd, file: OutputFile, command: string[], masker: Masker): Report {
  const end = describeWorkerEnd(worker, command);
  const own = file.kind === "valid" ? file.output : undefined;

  if (worker.spawnError !== undefined) return failure(`${capitalize(end)}.`, worker, masker);
  if (worker.cancelled) {
    return failure(`Task ${describeCancel(worker.cancelled)}: ${end}.${ownWords(own)}`, worker, masker, own);
  }
  if (worker.signal) {
    const trusted =
      own && file.kind === "valid" && file.state === "succeeded"
        ? " Its output.json said succeeded, but a killed worker may not have finished."
        : ownWords(own);
    return failure(`${capitalize(end)}.${trusted}`, worker, masker, own);
  }
  switch (file.kind) {
    case "valid":
      return { output: file.output, source: "worker" };
    case "missing":
      return failure(`${capitalize(end)} without writing output.json.`, worker, masker);
    case "unreadable":
    case "not-json":
      return failure(`${capitalize(end)}, but ${file.reason}.`, worker, masker);
    case "invalid":
      return failure(
        `${capitalize(end)}, but its output.json breaks the platform's rules, so it was not posted:\n${formatViolations(file.violations)}`,
        worker,
        masker,
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

function failure(message: string, worker: WorkerEnd, masker: Masker, own?: TaskOutput): Report {
  // The worker_* metrics are facts of the worker's end the worker cannot know: the entrypoint's win.
  const metrics: Record<string, unknown> & AutomaticMetrics<"worker_exit_code" | "worker_signal" | "worker_seconds"> = {
    ...(own?.metrics ?? {}),
    worker_exit_code: worker.exitCode,
    worker_signal: worker.signal,
    worker_seconds: Math.round(worker.durationMs) / 1000,
  };
  const tail = worker.stderrTail ? `Last lines of the worker's standard error:\n${worker.stderrTail}` : "";
  const error = tail || (typeof own?.error === "string" ? own.error : (message.split("\n")[0] as string));
  return { output: failureReport(message, error, metrics, masker), source: "entrypoint" };
}

function ownWords(own: TaskOutput | undefined): string {
  if (!own) return "";
  const words = typeof own.message === "string" && own.message ? `: ${JSON.stringify(own.message)}` : "";
  return ` The worker's own report said status ${JSON.stringify(own.status)}${words}.`;
}

function capitalize(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
