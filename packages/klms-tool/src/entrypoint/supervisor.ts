/**
 * Runs the worker (`<command> input.json output.json`) as a child process and survives whatever
 * it does: throw, exit, run out of memory, hang, or be killed. Its standard output and error pass
 * through the one capture (log/capture.ts) on their way to the entrypoint's own, so no secret
 * reaches the pod's log. The worker runs in its own process group, and the run ends only when the
 * whole group has: processes the worker started and left behind are stopped too.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import type { Writable } from "node:stream";
import { setTimeout as delay } from "node:timers/promises";
import { captureWorkerStreams } from "../log/capture.js";
import type { Logger } from "../log/logger.js";
import type { Masker } from "../log/mask.js";
import { type Cancellation, type CancelReason, stopWorkerOnCancel } from "./signals.js";
import { measureWorker, type WorkerUsage } from "./usage.js";

/** What the supervisor needs to run the worker. */
export interface WorkerRun {
  /** The worker command as argv; the two file paths are appended. */
  command: string[];
  inputPath: string;
  outputPath: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
  masker: Masker;
  /** How long the worker may take to stop after SIGTERM; it is killed FORCE_MARGIN_MS (1 s) later. */
  gracePeriodMs: number;
  cancellation: Cancellation;
  log: Logger;
  /** Lines of standard error kept for the failure report. Default 20. */
  tailLines?: number;
}

/** How the worker ended (process or thread): the one account the report is decided from. Not the result of the in-process `runWorker()`. */
export interface WorkerEnd {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started at all (e.g. ENOENT), or the thread's module not loaded. */
  spawnError?: string;
  /** Set when the worker was a thread of the entrypoint (`--worker-thread`) rather than a process. */
  thread?: boolean;
  /** Set when the run was cancelled (signal or timeout) while the worker ran. */
  cancelled?: CancelReason;
  /** Why the entrypoint forced the worker to stop (SIGKILL, or terminate() for a thread): it outlived the grace period, or a second signal came. */
  forceKilled?: "grace-period" | "second-signal";
  /** The last lines of the worker's standard error, already masked. */
  stderrTail: string;
  /** The first line of standard error that reports running out of memory, if any (masked). */
  outOfMemory?: string;
  durationMs: number;
  /** The worker process's resource use, measured from outside (absent for a thread). */
  usage?: WorkerUsage;
}

/** How long to wait for the worker's pipes to close once it has exited (a grandchild may hold them). */
const PIPE_DRAIN_MS = 2000;
/** How often a leftover process group is checked while it is given time to stop. */
const GROUP_POLL_MS = 50;

/** Starts the worker and resolves when it has ended, its process group is gone and its output has been passed on. */
export async function superviseWorker(run: WorkerRun): Promise<WorkerEnd> {
  const started = Date.now();
  const child = startChild(run);
  const usage = measureWorker(child.pid);
  const capture = captureWorkerStreams({
    stdout: child.stdout,
    stderr: child.stderr,
    toStdout: run.stdout,
    toStderr: run.stderr,
    masker: run.masker,
  });
  const group = child.pid === undefined ? undefined : new ProcessGroup(child.pid);
  const stop = stopWorkerOnCancel({
    cancellation: run.cancellation,
    log: run.log,
    gracePeriodMs: run.gracePeriodMs,
    name: "worker",
    forcing: "killing",
    request: (signal) => group?.signal(signal),
    force: () => group?.signal("SIGKILL"),
    // The whole group, not the direct child: descendants that ignore SIGTERM are killed too,
    // also after the child itself has exited.
    ended: () => !group?.alive(),
  });

  let spawnError: string | undefined;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once("error", (err) => {
      // 'error' without 'exit' means the process never started.
      if (child.pid === undefined) {
        spawnError = err.message;
        resolve({ code: null, signal: null });
      }
    });
    child.once("exit", (code, signal) => resolve({ code, signal }));
  });
  const { code, signal } = await exited;
  const measured = usage.stop();
  if (group?.alive()) await stopLeftovers(group, run, stop.cancelled() !== undefined);
  stop.dispose();
  await capture.drain(PIPE_DRAIN_MS);

  const result: WorkerEnd = {
    exitCode: code,
    signal,
    stderrTail: capture.stderrTail(run.tailLines ?? 20),
    durationMs: Date.now() - started,
    usage: measured,
  };
  if (spawnError !== undefined) result.spawnError = spawnError;
  const cancelled = stop.cancelled();
  const forced = stop.forced();
  if (cancelled) result.cancelled = cancelled;
  if (forced) result.forceKilled = forced;
  const outOfMemory = capture.outOfMemory();
  if (outOfMemory !== undefined) result.outOfMemory = outOfMemory;
  return result;
}

/** Spawns `<command> input.json output.json` in its own process group. */
function startChild(run: WorkerRun) {
  const [program, ...args] = run.command;
  // "node" means the Node running this entrypoint: same version, and no PATH surprises.
  const executable = program === "node" ? process.execPath : (program as string);
  return spawn(executable, [...args, run.inputPath, run.outputPath], {
    cwd: run.cwd,
    env: run.env,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that a signal reaches the worker's children too, and a terminal's
    // Ctrl+C is delivered once (by us) rather than twice.
    detached: true,
  });
}

/** The worker's process group (its id is the worker's pid, as it was started detached). */
class ProcessGroup {
  constructor(readonly id: number) {}

  /**
   * True while any process of the group is alive, the worker or a descendant. A zombie does not
   * count: as a pod's PID 1 the entrypoint inherits orphans that nobody reaps, and kill(-id, 0)
   * would still find them. On Linux the group is read from /proc; elsewhere kill(-id, 0) decides.
   */
  alive(): boolean {
    try {
      process.kill(-this.id, 0);
    } catch {
      return false;
    }
    let pids: string[];
    try {
      pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
    } catch {
      return true;
    }
    return pids.some((pid) => {
      try {
        // Fields after the command (which may hold spaces and parentheses): state ppid pgrp …
        const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
        const [state, , pgrp] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        return Number(pgrp) === this.id && state !== "Z" && state !== "X";
      } catch {
        return false;
      }
    });
  }

  signal(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.id, signal);
    } catch {
      // Gone already.
    }
  }
}

/**
 * The worker has exited but processes it started are still running (they would outlive the task,
 * and hold its pipes). They get SIGTERM (unless the cancellation already sent it), the grace
 * period to stop, then SIGKILL.
 */
async function stopLeftovers(group: ProcessGroup, run: WorkerRun, signalled: boolean): Promise<void> {
  run.log.warn("the worker exited, but processes it started are still running: stopping them", {
    grace_period_s: run.gracePeriodMs / 1000,
  });
  if (!signalled) group.signal("SIGTERM");
  const deadline = Date.now() + run.gracePeriodMs;
  while (group.alive() && Date.now() < deadline) await delay(GROUP_POLL_MS);
  if (!group.alive()) return;
  run.log.warn("processes the worker started did not stop within the grace period: killing them");
  group.signal("SIGKILL");
  for (let i = 0; i < 20 && group.alive(); i++) await delay(GROUP_POLL_MS);
}
