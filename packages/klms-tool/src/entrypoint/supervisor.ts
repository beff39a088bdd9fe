/**
 * Runs the worker (`<command> input.json output.json`) as a child process and survives whatever
 * it does: throw, exit, run out of memory, hang, or be killed. Its standard output and error pass
 * through the one capture (log/capture.ts) on their way to the entrypoint's own, so no secret
 * reaches the pod's log. The worker runs in its own process group, and the run ends only when the
 * whole group has: processes the worker started and left behind are stopped too.
 */
import { type ChildProcess, spawn } from "node:child_process";
import type { Socket } from "node:net";
import type { Readable, Writable } from "node:stream";
import { captureWorkerStreams, type WorkerCapture } from "../log/capture.js";
import type { Logger } from "../log/logger.js";
import type { Masker } from "../log/mask.js";
import { type StartLine, WORKER_START_FD_ENV } from "../worker/start-pipe.js";
import { ProcessGroup, stopLeftovers } from "./leftovers.js";
import { describeEndBeforeMain, warnWhileLoading } from "./loading.js";
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
  /** Set when a worker started ahead of its input was stopped before its module called `main()`. */
  stoppedLoading?: boolean;
  /** Why the entrypoint forced the worker to stop (SIGKILL, or terminate() for a thread): it outlived the grace period, or a second signal came. */
  forceKilled?: "grace-period" | "second-signal";
  /** The last lines of the worker's standard error, already masked. */
  stderrTail: string;
  /** The first line of standard error that reports running out of memory, if any (masked). */
  outOfMemory?: string;
  durationMs: number;
  /** The worker's resource use, measured from outside (for a thread: of the whole process). */
  usage?: WorkerUsage;
}

/** How long to wait for the worker's pipes to close once it has exited (a grandchild may hold them). */
const PIPE_DRAIN_MS = 2000;

/** Starts the worker and resolves when it has ended, its process group is gone and its output has been passed on. */
export async function superviseWorker(run: WorkerRun): Promise<WorkerEnd> {
  return new WorkerProcess(run, run).run(run);
}

/** How a {@link WorkerProcess} starts: the worker run without its paths and its cancellation. */
export type WorkerProcessStart = Omit<WorkerRun, "inputPath" | "outputPath" | "gracePeriodMs" | "cancellation" | "log">;

/** What running a started {@link WorkerProcess} needs. */
export type WorkerProcessRun = Pick<WorkerRun, "inputPath" | "outputPath" | "gracePeriodMs" | "cancellation" | "log">;

/**
 * The worker's process, from its start to the account of how it ended. Started with the task's
 * paths (`<command> input.json output.json`, {@link superviseWorker}), or ahead of them
 * (`--worker-module`: `node <module>` alone, the kit's runtime, which says `ready` and waits for
 * the paths on a pipe; worker/prestart.ts), so that it loads while the input is fetched.
 */
export class WorkerProcess {
  readonly #start: WorkerProcessStart;
  readonly #child: ChildProcess;
  readonly #usage: ReturnType<typeof measureWorker>;
  readonly #capture: WorkerCapture;
  readonly #group: ProcessGroup | undefined;
  readonly #exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly #prestarted: boolean;
  #spawnError: string | undefined;
  #ready = false;

  /** Starts the process now; without `paths`, ahead of its input (the command must be the kit's runtime). */
  constructor(start: WorkerProcessStart, paths?: { inputPath: string; outputPath: string }) {
    this.#start = start;
    this.#prestarted = paths === undefined;
    this.#child = startChild(start, paths);
    this.#usage = measureWorker(this.#child.pid);
    this.#capture = captureWorkerStreams({
      stdout: this.#child.stdout as Readable,
      stderr: this.#child.stderr as Readable,
      toStdout: start.stdout,
      toStderr: start.stderr,
      masker: start.masker,
    });
    this.#group = this.#child.pid === undefined ? undefined : new ProcessGroup(this.#child.pid);
    this.#exited = new Promise((resolve) => {
      this.#child.once("error", (err) => {
        // 'error' without 'exit' means the process never started.
        if (this.#child.pid === undefined) {
          this.#spawnError = err.message;
          resolve({ code: null, signal: null });
        }
      });
      this.#child.once("exit", (code, signal) => resolve({ code, signal }));
    });
    const pipe = this.#pipe();
    if (pipe) {
      pipe.setEncoding("utf8");
      pipe.on("error", () => {}); // The process died: its exit says why.
      pipe.on("data", (chunk: string) => {
        if (chunk.includes('"ready"')) this.#ready = true;
      });
      // Until the task starts, the waiting process must not keep the entrypoint alive on its own.
      this.#child.unref();
      pipe.unref();
    }
  }

  /** Stops a process whose task will not run (the input could not be fetched, or a signal came first). */
  async dispose(): Promise<void> {
    // Held until it has gone: an unreferenced child's exit would not keep this process waiting.
    this.#child.ref();
    this.#pipe()?.destroy();
    if (this.#group?.alive()) this.#group.signal("SIGKILL");
    await this.#exited;
    await this.#capture.drain(PIPE_DRAIN_MS);
  }

  /** Runs the task (sends the paths to a process started ahead of them) and resolves once it has ended. */
  async run(run: WorkerProcessRun): Promise<WorkerEnd> {
    const started = Date.now();
    const group = this.#group;
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
    const pipe = this.#pipe();
    const stopWarning = pipe ? warnWhileLoading(run.log, this.#module(), () => this.#ready) : () => {};
    if (pipe) {
      this.#child.ref();
      const line: StartLine = { type: "start", inputPath: run.inputPath, outputPath: run.outputPath };
      pipe.end(`${JSON.stringify(line)}\n`);
    }
    const { code, signal } = await this.#exited;
    stopWarning();
    const measured = this.#usage.stop();
    if (group?.alive()) await stopLeftovers(group, { ...this.#start, ...run }, stop.cancelled() !== undefined);
    stop.dispose();
    await this.#capture.drain(PIPE_DRAIN_MS);

    const result: WorkerEnd = {
      exitCode: code,
      signal,
      stderrTail: this.#capture.stderrTail(this.#start.tailLines ?? 20),
      durationMs: Date.now() - started,
      usage: measured,
    };
    const cancelled = stop.cancelled();
    const spawnError = this.#spawnError ?? this.#notReady(result, cancelled !== undefined);
    if (spawnError !== undefined) result.spawnError = spawnError;
    const forced = stop.forced();
    if (cancelled) result.cancelled = cancelled;
    if (cancelled && this.#prestarted && !this.#ready) result.stoppedLoading = true;
    if (forced) result.forceKilled = forced;
    const outOfMemory = this.#capture.outOfMemory();
    if (outOfMemory !== undefined) result.outOfMemory = outOfMemory;
    return result;
  }

  /** The start pipe of a process started ahead of its input (stdio slot 3). */
  #pipe(): Socket | undefined {
    return this.#prestarted ? (this.#child.stdio[3] as Socket | undefined) : undefined;
  }

  /** The module of a process started ahead of its input (`node <module>`). */
  #module(): string {
    return this.#start.command.slice(1).join(" ");
  }

  /** Why a process started ahead of its input never took its task: it did not load, or is not the kit's runtime. */
  #notReady(end: WorkerEnd, cancelled: boolean): string | undefined {
    if (!this.#prestarted || this.#ready || cancelled) return undefined;
    const module = this.#module();
    return describeEndBeforeMain({
      module,
      exitCode: end.exitCode,
      signal: end.signal,
      wroteStderr: end.stderrTail !== "",
      mode: { needs: "--worker-module", instead: `run it as a command with --worker "node ${module}"` },
    });
  }
}

/**
 * Spawns the worker in its own process group: `<command> input.json output.json`, or, ahead of
 * its input, `<command>` with the start pipe as descriptor 3 (worker/prestart.ts).
 */
function startChild(start: WorkerProcessStart, paths: { inputPath: string; outputPath: string } | undefined) {
  const [program, ...args] = start.command;
  // "node" means the Node running this entrypoint: same version, and no PATH surprises.
  const executable = program === "node" ? process.execPath : (program as string);
  const ahead = paths === undefined;
  return spawn(executable, ahead ? args : [...args, paths.inputPath, paths.outputPath], {
    cwd: start.cwd,
    env: ahead ? { ...start.env, [WORKER_START_FD_ENV]: "3" } : start.env,
    stdio: ahead ? ["ignore", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe"],
    // Its own process group, so that a signal reaches the worker's children too, and a terminal's
    // Ctrl+C is delivered once (by us) rather than twice.
    detached: true,
  });
}
