import type { Readable, Writable } from "node:stream";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ExitCode } from "../exit-codes.js";

/**
 * Where a `klms-tool` command reads and writes. Every field defaults to the process's own, so
 * that a test (or another program) runs a command in-process with its own streams.
 */
export interface CliIO {
  /** Results (a manifest, a verdict, the help asked for). Default: `process.stdout`. */
  stdout?: Writable;
  /** Messages and errors. Default: `process.stderr`. */
  stderr?: Writable;
  /** What a command reads from its input (`login --password-stdin`). Default: `process.stdin`. */
  stdin?: Readable;
  /** Environment variables the command reads (e.g. `KLMS_TOKEN`). Default: `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** The folder relative paths are resolved against. Default: `process.cwd()`. */
  cwd?: string;
  /**
   * Stops a command: `try --watch` ends, external tools (podman, npm) are stopped, private temporary
   * files removed. The executable aborts it on SIGINT/SIGTERM. Default: a signal that never aborts.
   */
  signal?: AbortSignal;
}

/** {@link CliIO} with every default filled in, as each command receives it. */
export type CommandIO = Required<CliIO>;

/** Fills in the defaults of {@link CliIO}. */
export function commandIO(io: CliIO = {}): CommandIO {
  return {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    signal: io.signal ?? new AbortController().signal,
  };
}

/** One `klms-tool` command: its help text and what it does with its arguments. */
export interface Command {
  name: string;
  /** One line, shown in `klms-tool --help`. */
  summary: string;
  /** Full help, shown by `klms-tool <command> --help`. */
  help: string;
  /**
   * The command handles SIGINT/SIGTERM itself and must go on when its output's reader goes away
   * (the entrypoint, the worker contract, `dev`): the executable then leaves the process's signals
   * alone and ignores EPIPE for it (see `cli()`'s `executable`). Default false.
   */
  ownsSignals?: boolean;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run(argv: string[], io: CommandIO): Promise<ExitCode | number>;
}

/** Writes one message, ending it with a newline when it has none. */
export function line(stream: Writable, text: string): void {
  stream.write(text.endsWith("\n") ? text : `${text}\n`);
}

/**
 * Parses a command's arguments. On `--help` prints the help and returns `{exit: Success}`; on a
 * mistake prints what is wrong and the help and returns `{exit: Usage}`.
 */
export function parse<T extends ParseArgsConfig["options"]>(
  argv: string[],
  options: T,
  help: string,
  positionals: { min: number; max: number },
  io: CommandIO,
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | { exit: ExitCode } {
  return parseMultiple(argv, options, help, positionals, io) as ReturnType<typeof parse>;
}

/** {@link parse} for commands with `multiple: true` options, whose values may be lists. */
export function parseMultiple<T extends ParseArgsConfig["options"]>(
  argv: string[],
  options: T,
  help: string,
  positionals: { min: number; max: number },
  io: CommandIO,
): { values: Record<string, string | string[] | boolean | undefined>; positionals: string[] } | { exit: ExitCode } {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
    if (values.help) {
      line(io.stdout, help);
      return { exit: ExitCode.Success };
    }
    const n = parsed.positionals.length;
    if (n < positionals.min || n > positionals.max) {
      const expected =
        positionals.min === positionals.max ? positionals.min : `${positionals.min} to ${positionals.max}`;
      line(io.stderr, `expected ${expected} argument(s), got ${n}\n\n${help}`);
      return { exit: ExitCode.Usage };
    }
    return { values, positionals: parsed.positionals };
  } catch (error) {
    line(io.stderr, `${(error as Error).message}\n\n${help}`);
    return { exit: ExitCode.Usage };
  }
}
