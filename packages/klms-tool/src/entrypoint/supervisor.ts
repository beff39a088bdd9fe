/**
 * Runs the worker (`<command> input.json output.json`) as a child process and survives whatever
 * it does: throw, exit, run out of memory, hang, or be killed. Its standard output and error pass
 * through the masker on their way to the entrypoint's own, so no secret reaches the pod's log.
 */
import { spawn } from "node:child_process";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
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
  /** How long the worker may take to stop after SIGTERM before it is killed. */
  gracePeriodMs: number;
  cancellation: Cancellation;
  log: Logger;
  /** Lines of standard error kept for the failure report. Default 20. */
  tailLines?: number;
}

/** How the worker ended. */
export interface WorkerResult {
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
const TAIL_BYTES = 16 * 1024;
/** How runtimes say they ran out of memory: V8, CPython, glibc, C++, the JVM. */
const OUT_OF_MEMORY = /heap out of memory|MemoryError|Cannot allocate memory|std::bad_alloc|OutOfMemoryError/;

/** Starts the worker and resolves when it has ended and its output has been passed on. */
export async function superviseWorker(run: WorkerRun): Promise<WorkerResult> {
  const started = Date.now();
  const [program, ...args] = run.command;
  // "node" means the Node running this entrypoint: same version, and no PATH surprises.
  const executable = program === "node" ? process.execPath : (program as string);

  const child = spawn(executable, [...args, run.inputPath, run.outputPath], {
    cwd: run.cwd,
    env: run.env,
    stdio: ["ignore", "pipe", "pipe"],
    // Its own process group, so that a signal reaches the worker's children too, and a terminal's
    // Ctrl+C is delivered once (by us) rather than twice.
    detached: true,
  });

  const usage = measureWorker(child.pid);
  const outMask = run.masker.stream();
  const errMask = run.masker.stream();
  let tail = "";
  let outOfMemory: string | undefined;
  errMask.on("data", (chunk: Buffer | string) => {
    const text = chunk.toString();
    if (outOfMemory === undefined && OUT_OF_MEMORY.test(text)) {
      outOfMemory = text
        .split("\n")
        .find((line) => OUT_OF_MEMORY.test(line))
        ?.trim();
    }
    tail = (tail + text).slice(-TAIL_BYTES);
  });
  child.stdout.pipe(outMask).pipe(run.stdout, { end: false });
  child.stderr.pipe(errMask).pipe(run.stderr, { end: false });

  let spawnError: string | undefined;
  const running = () => child.exitCode === null && child.signalCode === null;
  const sendSignal = (signal: NodeJS.Signals) => {
    if (child.pid === undefined || !running()) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      child.kill(signal);
    }
  };
  const stop = stopWorkerOnCancel({
    cancellation: run.cancellation,
    log: run.log,
    gracePeriodMs: run.gracePeriodMs,
    name: "worker",
    forcing: "killing",
    request: sendSignal,
    force: () => sendSignal("SIGKILL"),
    ended: () => !running(),
  });

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
  stop.dispose();
  await drain(child, outMask, errMask);

  const lines = tail.replace(/\s+$/, "").split("\n");
  const result: WorkerResult = {
    exitCode: code,
    signal,
    stderrTail: tail.trim() ? lines.slice(-(run.tailLines ?? 20)).join("\n") : "",
    durationMs: Date.now() - started,
    usage: measured,
  };
  if (spawnError !== undefined) result.spawnError = spawnError;
  const cancelled = stop.cancelled();
  const forced = stop.forced();
  if (cancelled) result.cancelled = cancelled;
  if (forced) result.forceKilled = forced;
  if (outOfMemory !== undefined) result.outOfMemory = outOfMemory;
  return result;
}

/** Waits until the worker's output has gone through the maskers, without hanging on a pipe a grandchild still holds. */
async function drain(
  child: ReturnType<typeof spawn>,
  outMask: NodeJS.ReadWriteStream,
  errMask: NodeJS.ReadWriteStream,
): Promise<void> {
  if (child.stdout?.readableEnded === false || child.stderr?.readableEnded === false) {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise((resolve) => child.once("close", resolve)),
      new Promise((resolve) => {
        timer = setTimeout(resolve, PIPE_DRAIN_MS);
      }),
    ]);
    clearTimeout(timer);
  }
  for (const [source, mask] of [
    [child.stdout, outMask],
    [child.stderr, errMask],
  ] as const) {
    if (source && !source.readableEnded) {
      source.unpipe();
      source.destroy();
      mask.end();
    }
  }
  await Promise.all([finished(outMask as never).catch(() => {}), finished(errMask as never).catch(() => {})]);
}
