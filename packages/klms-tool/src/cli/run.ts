import { type Command, parse } from "./command.js";

const help = `usage: klms-tool run <main.js> <input.json> <output.json>

Runs a tool's module on a task input file and writes the task output file: the Python template's worker
contract, as in \`node dist/main.js input.json output.json\`. The output file is always written,
also when the tool throws, returns nothing or returns an output the platform would reject.

The module exports a defineTool(...) tool as its default export, or the Python template's plain
\`run(json)\` function.

exit codes: 0 the tool succeeded; 1 it failed (output.json holds the failure report); 2 usage.`;

/** `klms-tool run`: the worker contract on a local input file. */
export const runCommand: Command = {
  name: "run",
  summary: "run a tool's module on input.json and write output.json",
  help,
  ownsSignals: true, // the worker contract: worker/own-process.ts handles SIGTERM/SIGINT
  async run(argv, io) {
    const args = parse(argv, {}, help, { min: 3, max: 3 }, io);
    if ("exit" in args) return args.exit;
    const [modulePath, inputPath, outputPath] = args.positionals as [string, string, string];
    // Loaded here, not at start-up: `klms-tool exec` must not pay for the worker and zod.
    const { runWorker } = await import("../worker/worker.js");
    const result = await runWorker({ modulePath, inputPath, outputPath, ownProcess: true });
    return result.exitCode;
  },
};
