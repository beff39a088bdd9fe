/**
 * A tool module started ahead of its input (`--worker-module`, `--worker-thread`) takes its task
 * once it calls `main(import.meta, tool)`. This module words what happens when it does not: a
 * warning while it is slow to, and the one account of a module that ended before it did, the same
 * for a process and a thread.
 * @internal
 */
import type { Logger } from "../log/logger.js";

/**
 * After how long a module that has not called `main()` yet is reported, once (milliseconds).
 * Long enough for a tool that loads a model at import time; short against a forgotten `main()`,
 * which would otherwise wait silently until `--timeout` or a cancel.
 */
export const LOAD_WARNING_MS = 30_000;

/**
 * Logs one warning if the module has not called `main()` (`ready()` is false) `afterMs` after the
 * task was ready for it. Returns the function that cancels the warning (call it once the worker
 * has ended). The timer does not keep the entrypoint alive by itself.
 */
export function warnWhileLoading(log: Logger, module: string, ready: () => boolean, afterMs = LOAD_WARNING_MS) {
  const timer = setTimeout(() => {
    if (ready()) return;
    log.warn(
      `${module} has not called main(import.meta, tool) ${afterMs / 1000} s after its input was ready: still waiting. A tool module must end with main(import.meta, tool); --timeout (KLMS_TIMEOUT) bounds the wait`,
    );
  }, afterMs);
  timer.unref();
  return () => clearTimeout(timer);
}

/** How a module that never called `main()` ended. */
export interface EndBeforeMain {
  /** The module as given (`--worker-module` / `--worker-thread`). */
  module: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** What the module threw while loading, masked (a thread's `error` event), if that is known. */
  loadError?: string;
  /** Whether it wrote anything on its standard error. */
  wroteStderr: boolean;
  /** The flag that needs `main()` and how to run the module without it, e.g. `--worker "node x.mjs"`. */
  mode: { needs: string; instead: string };
}

/**
 * Why a module started ahead of its input never took its task: it failed to load (threw, exited
 * non-zero or was killed), or it finished without calling `main()`. One sentence, no final period.
 */
export function describeEndBeforeMain(end: EndBeforeMain): string {
  if (end.loadError !== undefined) return `the module failed to load: ${end.loadError}`;
  if (end.exitCode !== 0 || end.signal !== null) {
    const how = end.signal !== null ? `was killed by signal ${end.signal}` : `exited with code ${end.exitCode}`;
    const where = end.wroteStderr
      ? "; see the last lines of its standard error"
      : ", and wrote nothing on its standard error";
    return `the module failed to load: it ${how} before calling main(import.meta, tool)${where}`;
  }
  return `${end.module} did not call main(import.meta, tool), which ${end.mode.needs} needs (or ${end.mode.instead})`;
}
