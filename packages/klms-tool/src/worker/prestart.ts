/**
 * The tool's side of `klms-tool exec --worker-module`: the entrypoint starts the tool's Node
 * process before it has the task's input, so that this process's start and the module's load
 * overlap the input request instead of following it (BENCHMARKS.md: two Node starts in a row were
 * most of a no-op task). The worker contract is otherwise the same: input.json in, output.json
 * out, always written.
 *
 * The protocol, one JSON line each way on the pipe whose descriptor is in `KLMS_WORKER_START_FD`
 * (the entrypoint sets it; the tool never sees it): the process says `ready` once the module has
 * loaded and `main()` runs, then waits for `start` with the two paths. The pipe closing first
 * means the task will not run here (its input could not be fetched): the process exits, quietly.
 * A process started without the variable is the plain `node main.js input.json output.json`.
 */
import { Socket } from "node:net";
import { ExitCode } from "../exit-codes.js";
import { type ReadyLine, type StartLine, WORKER_START_FD_ENV } from "./start-pipe.js";
import { type RunnableTool, runWorker } from "./worker.js";

/** Says `ready`, waits for `start`, then runs the tool as `node main.js input.json output.json` would. */
export function servePrestart(tool: RunnableTool, fd: number): void {
  // Not for the tool's own child processes: they were not started by the entrypoint.
  delete process.env[WORKER_START_FD_ENV];
  const pipe = new Socket({ fd, readable: true, writable: true });
  pipe.setEncoding("utf8");
  // A closed pipe (the entrypoint gone) must not crash the process with an unhandled 'error'.
  pipe.on("error", () => {});
  pipe.write(`${JSON.stringify({ type: "ready" } satisfies ReadyLine)}\n`);
  let received = "";
  let started = false;
  pipe.on("data", (chunk: string) => {
    received += chunk;
    const end = received.indexOf("\n");
    if (started || end < 0) return;
    started = true;
    // The pipe has done its job; closing it keeps it from holding the process open.
    pipe.destroy();
    const start = parseStart(received.slice(0, end));
    if (!start) {
      process.stderr.write(`klms-tool: unexpected start line from the entrypoint: ${received.slice(0, 200)}\n`);
      process.exitCode = ExitCode.Usage;
      return;
    }
    runWorker({ tool, inputPath: start.inputPath, outputPath: start.outputPath, ownProcess: true }).then(
      (result) => {
        process.exitCode = result.exitCode;
      },
      (error: unknown) => {
        process.stderr.write(`could not write ${start.outputPath}: ${(error as Error).message}\n`);
        process.exitCode = ExitCode.Failure;
      },
    );
  });
}

function parseStart(line: string): StartLine | undefined {
  try {
    const value = JSON.parse(line) as Partial<StartLine>;
    if (value?.type === "start" && typeof value.inputPath === "string" && typeof value.outputPath === "string") {
      return value as StartLine;
    }
  } catch {
    // Falls through: not JSON.
  }
  return undefined;
}
