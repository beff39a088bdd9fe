import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ExitCode } from "../exit-codes.js";
import { servePrestart } from "./prestart.js";
import { startPipe } from "./start-pipe.js";
import { isWorkerThread, serveThread } from "./thread.js";
import { type RunnableTool, runWorker } from "./worker.js";

const USAGE = `usage: node <main.js> input.json output.json

Runs this tool on a task input file and writes the task output file (the Python template's worker
contract). The output file is always written, also when the tool fails.`;

/**
 * Runs the tool when its module is the program Node started (`node dist/main.js input.json
 * output.json`), and does nothing when the module is imported (by tests, `klms-tool run`, or
 * `klms-tool manifest`). Put it at the end of `src/main.ts`: `main(import.meta, tool)`.
 * In a worker thread started by `klms-tool exec --worker-thread`, or a process started ahead of its
 * input by `--worker-module`, it serves the entrypoint instead (the paths come from it).
 */
export function main(meta: ImportMeta, tool: RunnableTool): void {
  if (isWorkerThread()) {
    serveThread(tool);
    return;
  }
  if (!isProgram(meta.url)) return;
  const pipe = startPipe();
  if (pipe !== undefined) {
    servePrestart(tool, pipe);
    return;
  }
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const [inputPath, outputPath] = args;
  if (!inputPath || !outputPath || args.length !== 2) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = ExitCode.Usage;
    return;
  }
  runWorker({ tool, inputPath, outputPath, ownProcess: true }).then(
    (r) => {
      process.exitCode = r.exitCode;
    },
    (error: unknown) => {
      // runWorker reports every failure itself; reaching here means output.json could not be written.
      process.stderr.write(`could not write ${outputPath}: ${(error as Error).message}\n`);
      process.exitCode = ExitCode.Failure;
    },
  );
}

function isProgram(moduleUrl: string): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(moduleUrl));
  } catch {
    return false;
  }
}
