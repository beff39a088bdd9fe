/**
 * `klms-tool`, importable: `cli(argv, io)` runs one command with the given streams and resolves
 * to its exit code, so that tests and other programs need not start a process. The executable
 * (`dist/cli/main.js`, and the package's bin) only hands it `process.argv`.
 */
import { readFileSync } from "node:fs";
import { ExitCode } from "../exit-codes.js";
import { imageCommand } from "../image/command.js";
import { clusterCommands } from "./cluster.js";
import { type CliIO, type Command, type CommandIO, commandIO, line } from "./command.js";
import { devCommand, execCommand, jobCommand } from "./delegated.js";
import { interruptible } from "./interrupt.js";
import { manifestCommand } from "./manifest.js";
import { runCommand } from "./run.js";
import { tryCommand } from "./try.js";
import { validateInputCommand, validateOutputCommand } from "./validate.js";

export type { CliIO, Command, CommandIO } from "./command.js";

/** Every command, in the order `klms-tool --help` lists them. */
export const COMMANDS: readonly Command[] = [
  execCommand,
  runCommand,
  devCommand,
  validateInputCommand,
  validateOutputCommand,
  manifestCommand,
  tryCommand,
  jobCommand,
  imageCommand,
  ...clusterCommands,
];

/** The package's version, from its package.json (the one place it is written). */
export function cliVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

/** The text of `klms-tool --help`. */
export function cliHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `usage: klms-tool <command> [options]

Build, run and check STELAR KLMS tools.

commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

From a tool project to a task that ran on a KLMS (a real one, or \`klms-tool dev --registry …\`):
  klms-tool login <url>                           a session with the KLMS
  klms-tool publish                               image built and pushed, catalog entry made
  klms-tool task run <tool> --input g=<file> --follow   a task of it, its logs followed
  klms-tool task outputs <task id> --dir out/     its outputs downloaded

Run \`klms-tool <command> --help\` for a command's options.
Options: -h, --help; -v, --version.`;
}

/** How {@link cli} runs a command beyond its streams. */
export interface CliOptions {
  /**
   * The executable's own process (`dist/cli/main.js`). SIGINT/SIGTERM abort the command's
   * `io.signal` (its external tools stopped, its private files removed) and the command then
   * resolves to 130/143 (see interrupt.ts); commands with `ownsSignals` handle them themselves.
   * A reader that closes stdout or stderr (`| head -1`) ends the command quietly with 141, as git
   * does, except a command with `ownsSignals` (the entrypoint must still post the task's outcome,
   * the worker contract still write output.json, dev keep serving): it goes on, its output lost.
   * Default false: a program or test calling `cli()` keeps its process to itself.
   */
  executable?: boolean;
}

/** 128 + SIGPIPE: what a shell shows for a command whose reader went away. */
const CLOSED_OUTPUT_EXIT = 141;

/**
 * The process's stdout/stderr closed by their reader (EPIPE): see {@link CliOptions.executable}.
 * `interrupt` stops the command as Ctrl-C does (its children told, its files removed), quietly.
 */
function onClosedOutput(interrupt: ((exitCode: number, reason: string) => void) | undefined): void {
  let told = false;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      // A write after the first EPIPE fails with ERR_STREAM_DESTROYED: the same closed reader, once.
      const closed = error.code === "EPIPE" || error.code === "ERR_STREAM_DESTROYED";
      if (!closed) throw error;
      if (!told) interrupt?.(CLOSED_OUTPUT_EXIT, "the output's reader went away");
      told = true;
    });
  }
}

/**
 * Runs `klms-tool <argv…>`: `argv` is what follows the program's name, e.g.
 * `["validate-output", "output.json"]`. Resolves to the exit code (0 success, 1 failure, 2 usage,
 * 3 and 4 from `exec`, 130/143 interrupted; see `ExitCode`); an unexpected error is printed on
 * `io.stderr` with its stack and resolves to 1, so the promise never rejects.
 */
export async function cli(argv: readonly string[], io: CliIO = {}, options: CliOptions = {}): Promise<number> {
  const streams = commandIO(io);
  const [name, ...rest] = argv;
  // Help, version, an unknown command: nothing to stop, so a closed reader ends the process now.
  if (options.executable && !COMMANDS.some((c) => c.name === name)) onClosedOutput((code) => process.exit(code));
  try {
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      line(name === undefined ? streams.stderr : streams.stdout, cliHelp());
      return name === undefined ? ExitCode.Usage : ExitCode.Success;
    }
    if (name === "--version" || name === "-v") {
      line(streams.stdout, cliVersion());
      return ExitCode.Success;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
      line(streams.stderr, `unknown command "${name}"\n\n${cliHelp()}`);
      return ExitCode.Usage;
    }
    if (!options.executable) return await command.run(rest, streams);
    if (command.ownsSignals) {
      onClosedOutput(undefined); // goes on: its output is lost, its work (posting the outcome) is not
      return await command.run(rest, streams);
    }
    return await runInterruptible(command, rest, streams);
  } catch (error) {
    line(streams.stderr, `klms-tool: ${(error as Error).stack ?? String(error)}`);
    return ExitCode.Failure;
  }
}

/** `command.run` with the process's SIGINT/SIGTERM aborting its `io.signal`; 130/143 when they did. */
async function runInterruptible(command: Command, argv: string[], io: CommandIO): Promise<number> {
  const interruption = interruptible(io.signal, (signal) =>
    line(io.stderr, `klms-tool ${command.name}: ${signal}: stopping (again to quit at once)`),
  );
  onClosedOutput(interruption.interrupt);
  try {
    const code = await command.run(argv, { ...io, signal: interruption.signal });
    return interruption.exitCode() ?? code;
  } finally {
    interruption.dispose();
  }
}
