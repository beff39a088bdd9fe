/**
 * The entrypoint's side of `--worker-thread`: runs the tool module in a worker thread instead of
 * a child process. The thread starts before the input is fetched, so the module (the runtime,
 * zod, the tool) loads while the request is in flight, and no second Node has to start.
 *
 * What a thread keeps from a process: a tool that throws, calls `process.exit`, leaves a promise
 * rejected or runs out of heap ends its thread, not the entrypoint, and the outcome is still
 * reported; its output goes through the masker; a signal is forwarded, and the thread is stopped
 * after the grace period. What it gives up: a crash in native code (a segfault in an addon) or a
 * kill of the whole process ends the entrypoint too, so the Job's next pod runs the task again;
 * `process.chdir` is unavailable and `process.on("SIGTERM")` never fires (signals reach the main
 * thread; `task.signal` carries them); the automatic CPU and memory metrics count the whole
 * process. Descriptors 1 and 2 are the entrypoint's own, past the masker: the thread's runtime
 * gives what would write to them directly (a subprocess's inherited stdio, fs.writeSync(1)) to
 * the thread's streams instead, within the limits worker/thread-stdio.ts names. Processes the tool
 * leaves running are stopped when the thread ends, as a worker process's are (leftovers.ts).
 * That is why a child process stays the default.
 */
import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import type { Writable } from "node:stream";
import { Worker } from "node:worker_threads";
import { captureWorkerStreams, type WorkerCapture } from "../log/capture.js";
import type { Logger } from "../log/logger.js";
import type { Masker } from "../log/mask.js";
import { type FromWorkerThread, type ToWorkerThread, WORKER_THREAD_MARK } from "../worker/thread.js";
import { stopLeftovers, THREAD_MARK_ENV, ThreadSpawned } from "./leftovers.js";
import { describeEndBeforeMain, type EndBeforeMain, warnWhileLoading } from "./loading.js";
import { type Cancellation, stopWorkerOnCancel } from "./signals.js";
import type { WorkerEnd } from "./supervisor.js";
import { measureThisProcess } from "./usage.js";

/** Where and how the thread starts. */
export interface ThreadStart {
  /** The tool module, e.g. `bundle/tool/main.mjs`; it must end with `main(import.meta, tool)`. */
  module: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  stdout: Writable;
  stderr: Writable;
  masker: Masker;
  /** Lines of standard error kept for the failure report. Default 20. */
  tailLines?: number;
}

/** What a run of the started thread needs. */
export interface ThreadRun {
  inputPath: string;
  outputPath: string;
  gracePeriodMs: number;
  cancellation: Cancellation;
  log: Logger;
}

const PIPE_DRAIN_MS = 2000;

/** A tool module loading in a worker thread, waiting for its task. */
export class WorkerThread {
  readonly #thread: Worker;
  readonly #start: ThreadStart;
  readonly #ready: Promise<void>;
  readonly #exited: Promise<number>;
  readonly #capture: WorkerCapture;
  readonly #mark = `${process.pid}-${randomUUID()}`;
  /** The processes the tool started, found by {@link WorkerThread.#mark}. */
  readonly #spawned = new ThreadSpawned(this.#mark);
  #loaded = false;
  #loadError: string | undefined;
  #uncaught: string | undefined;
  #outOfMemory: string | undefined;

  /** Starts the thread: the module begins to load now. */
  constructor(start: ThreadStart) {
    this.#start = start;
    this.#thread = new Worker(resolve(start.cwd, start.module), {
      workerData: { [WORKER_THREAD_MARK]: true },
      // The mark tells the processes the tool starts from the entrypoint's own (leftovers.ts).
      env: { ...start.env, [THREAD_MARK_ENV]: this.#mark },
      stdout: true,
      stderr: true,
    });
    this.#capture = captureWorkerStreams({
      stdout: this.#thread.stdout,
      stderr: this.#thread.stderr,
      toStdout: start.stdout,
      toStderr: start.stderr,
      masker: start.masker,
    });

    this.#exited = new Promise((resolveExit) => this.#thread.once("exit", resolveExit));
    this.#ready = new Promise<void>((resolveReady) => {
      this.#thread.on("message", (message: FromWorkerThread) => {
        if (message?.type === "ready") {
          this.#loaded = true;
          resolveReady();
        }
      });
      this.#thread.on("error", (error: Error & { code?: string }) => {
        const text = start.masker.mask(error?.stack ?? String(error));
        if (!this.#loaded) this.#loadError = start.masker.mask(error?.message ?? String(error));
        else if (error?.code === "ERR_WORKER_OUT_OF_MEMORY") this.#outOfMemory = start.masker.mask(error.message);
        else this.#uncaught = text;
      });
      // A thread that ends before `ready` failed to load, or its module never called main().
      this.#exited.then(() => resolveReady());
    });
    // Until the task starts, the loading thread must not keep the entrypoint alive on its own.
    this.#thread.unref();
  }

  /** Stops a thread whose task will not run (the input could not be fetched, or a signal came first). */
  async dispose(): Promise<void> {
    await this.#thread.terminate();
    await this.#capture.drain(PIPE_DRAIN_MS);
  }

  /** Runs the task in the thread and resolves when the thread has ended and its output has been passed on. */
  async run(run: ThreadRun): Promise<WorkerEnd> {
    const started = Date.now();
    const usage = measureThisProcess();
    this.#thread.ref();
    let running = false;
    let ended = false;
    let stoppedBeforeStart = false;
    void this.#exited.then(() => {
      ended = true;
    });
    const stop = stopWorkerOnCancel({
      cancellation: run.cancellation,
      log: run.log,
      gracePeriodMs: run.gracePeriodMs,
      name: "worker thread",
      forcing: "stopping",
      request: (signal) => {
        if (running) {
          this.#thread.postMessage({ type: "cancel", signal } satisfies ToWorkerThread);
          // As a worker process's group gets the signal, so do the processes the tool started.
          this.#spawned.signal(signal);
        } else {
          // Still loading: there is nothing to cancel gracefully.
          stoppedBeforeStart = true;
          void this.#thread.terminate();
        }
      },
      force: () => {
        // A thread blocked in spawnSync/execSync cannot be terminated until its child ends: kill
        // what the tool started first (the process modes kill the whole group at this point).
        this.#spawned.signal("SIGKILL");
        void this.#thread.terminate();
      },
      ended: () => ended,
    });

    const stopWarning = warnWhileLoading(run.log, this.#start.module, () => this.#loaded);
    await this.#ready;
    stopWarning();
    if (this.#loaded && !stoppedBeforeStart) {
      running = true;
      this.#thread.postMessage({
        type: "start",
        inputPath: run.inputPath,
        outputPath: run.outputPath,
      } satisfies ToWorkerThread);
    }
    const exitCode = await this.#exited;
    const measured = usage.stop();
    // The thread is gone, but processes its tool started share this process's group: stop them
    // as a worker process's leftovers are stopped. The cancellation's signal went to the thread only.
    if (this.#spawned.alive()) await stopLeftovers(this.#spawned, run, false);
    stop.dispose();
    await this.#capture.drain(PIPE_DRAIN_MS);
    return { ...this.#end(exitCode, Date.now() - started, stoppedBeforeStart, stop), usage: measured };
  }

  /** The account of how the thread ended, once it has exited and its streams are drained. */
  #end(
    exitCode: number,
    durationMs: number,
    stoppedBeforeStart: boolean,
    stop: ReturnType<typeof stopWorkerOnCancel>,
  ): WorkerEnd {
    const result: WorkerEnd = { exitCode, signal: null, stderrTail: this.#stderrTail(), durationMs, thread: true };
    if (!this.#loaded && !stoppedBeforeStart) {
      const end: EndBeforeMain = {
        module: this.#start.module,
        exitCode,
        signal: null,
        wroteStderr: result.stderrTail !== "",
        mode: { needs: "a worker thread", instead: "run it as a process with --worker" },
      };
      if (this.#loadError !== undefined) end.loadError = this.#loadError;
      result.spawnError = describeEndBeforeMain(end);
    }
    const cancelled = stop.cancelled();
    const forced = stop.forced();
    if (cancelled) result.cancelled = cancelled;
    if (cancelled && !this.#loaded) result.stoppedLoading = true;
    if (forced) result.forceKilled = forced;
    if (this.#outOfMemory !== undefined) result.outOfMemory = this.#outOfMemory;
    return result;
  }

  #stderrTail(): string {
    const lines = this.#start.tailLines ?? 20;
    const tail = `${this.#capture.stderrTail(lines)}${this.#uncaught ? `\n${this.#uncaught}` : ""}`.trim();
    return tail ? tail.split("\n").slice(-lines).join("\n") : "";
  }
}
