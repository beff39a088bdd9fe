/**
 * The tool's side of `klms-tool exec --worker-thread`: the tool module runs in a worker thread of
 * the entrypoint rather than in a second Node process, which saves a Node start per task and lets
 * the module load while the input is being fetched. `main()` hands over to {@link serveThread}
 * when the entrypoint started the thread; the worker contract is otherwise the same (input.json
 * in, output.json out, always written).
 *
 * The messages are few: the thread says `ready` once the module has loaded; the entrypoint sends
 * `start` with the two paths, then perhaps `cancel` with the signal it received.
 */
import { EventEmitter } from "node:events";
import { dirname } from "node:path";
import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { ExitCode } from "../exit-codes.js";
import { guardThreadStdio, setThreadScratch } from "./thread-stdio.js";
import { type RunnableTool, runWorker } from "./worker.js";

/** The key of `workerData` that marks a thread started by the entrypoint (a string, so that two copies of the runtime agree). */
export const WORKER_THREAD_MARK = "klms-tool:worker-thread";

/** What the entrypoint sends to the thread. */
export type ToWorkerThread =
  | { type: "start"; inputPath: string; outputPath: string }
  | { type: "cancel"; signal: NodeJS.Signals };

/** What the thread sends to the entrypoint. */
export type FromWorkerThread = { type: "ready" };

// Descriptors 1 and 2 are past the entrypoint's masker (thread-stdio.ts). Guarded as soon as the
// runtime loads in the entrypoint's thread, before the tool's own code can take child_process's or
// fs's functions (a CommonJS tool that requires klms-tool first); serveThread runs only here.
if (isWorkerThread()) guardThreadStdio();

/** True in a worker thread that the entrypoint started to run a tool. */
export function isWorkerThread(): boolean {
  return (
    !isMainThread &&
    parentPort !== null &&
    typeof workerData === "object" &&
    workerData !== null &&
    (workerData as Record<string, unknown>)[WORKER_THREAD_MARK] === true
  );
}

/** Waits for the entrypoint's `start`, then runs the tool as `node main.js input.json output.json` would. */
export function serveThread(tool: RunnableTool): void {
  const port = parentPort;
  if (!port) throw new Error("serveThread() runs only in a worker thread");
  // Signals reach the main thread only; the entrypoint forwards them, and they are re-emitted
  // here for the worker's own cancellation handling (abort task.signal, then the grace period).
  const signals = new EventEmitter();
  port.on("message", (message: ToWorkerThread) => {
    if (message.type === "cancel") {
      signals.emit(message.signal, message.signal);
      return;
    }
    setThreadScratch(dirname(message.inputPath));
    // From here the port must not keep the thread alive on its own: a run() awaiting a promise
    // that nothing can settle then ends the thread, and is reported as such, instead of hanging.
    port.unref();
    runWorker({ tool, inputPath: message.inputPath, outputPath: message.outputPath, ownProcess: true, signals }).then(
      (result) => {
        process.exitCode = result.exitCode;
        port.close();
      },
      (error: unknown) => {
        process.stderr.write(`could not write ${message.outputPath}: ${(error as Error).message}\n`);
        process.exitCode = ExitCode.Failure;
        port.close();
      },
    );
  });
  port.postMessage({ type: "ready" } satisfies FromWorkerThread);
}
