/**
 * What the KLMS commands (login, whoami, task …) share: their streams, output for people or
 * `--json` for scripts, and how a failure becomes a message and an exit code.
 */
import type { Readable, Writable } from "node:stream";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { KlmsApiError } from "../client/errors.js";
import { ExitCode } from "../exit-codes.js";

/**
 * Where a KLMS command reads and writes; each field defaults to the process's own. The shape
 * matches the CLI's `CliIO` (plus `stdin`, for `--password-stdin`).
 */
export interface ClusterIO {
  stdout?: Writable;
  stderr?: Writable;
  stdin?: Readable;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  signal?: AbortSignal;
}

/** {@link ClusterIO} with its defaults. */
export type ClusterStreams = Required<ClusterIO>;

/** Fills in the defaults. */
export function clusterStreams(io: ClusterIO = {}): ClusterStreams {
  return {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    stdin: io.stdin ?? process.stdin,
    env: io.env ?? process.env,
    cwd: io.cwd ?? process.cwd(),
    signal: io.signal ?? new AbortController().signal,
  };
}

/** Writes a line. */
export function say(stream: Writable, text: string): void {
  stream.write(text.endsWith("\n") ? text : `${text}\n`);
}

/** Writes `value` as pretty JSON (the `--json` output). */
export function sayJson(stream: Writable, value: unknown): void {
  stream.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A mistake of the person (bad option value, not logged in, …): printed without a stack, exit 2. */
export class UsageError extends Error {
  override name = "UsageError";
}

/**
 * Runs a command's body; turns a {@link KlmsApiError} into its explanation (exit 1), a
 * {@link UsageError} into its message (exit 2), and passes other errors on.
 */
export async function guarded(io: ClusterStreams, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof KlmsApiError) {
      say(io.stderr, `klms-tool: ${error.explain()}`);
      return ExitCode.Failure;
    }
    if (error instanceof UsageError) {
      say(io.stderr, `klms-tool: ${error.message}`);
      return ExitCode.Usage;
    }
    throw error;
  }
}

/**
 * Parses a KLMS command's arguments (`--help` prints `help` on stdout: `{exit: 0}`; a mistake
 * prints what is wrong and the help on stderr: `{exit: 2}`), writing to the command's own streams.
 */
export function parseFor<T extends NonNullable<ParseArgsConfig["options"]>>(
  argv: string[],
  options: T,
  help: string,
  positionals: { min: number; max: number },
  io: ClusterStreams,
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
      say(io.stdout, help);
      return { exit: ExitCode.Success };
    }
    const n = parsed.positionals.length;
    if (n < positionals.min || n > positionals.max) {
      const want =
        positionals.min === positionals.max ? `${positionals.min}` : `${positionals.min} to ${positionals.max}`;
      say(io.stderr, `expected ${want} argument(s), got ${n}\n\n${help}`);
      return { exit: ExitCode.Usage };
    }
    return { values, positionals: parsed.positionals };
  } catch (error) {
    say(io.stderr, `${(error as Error).message}\n\n${help}`);
    return { exit: ExitCode.Usage };
  }
}
