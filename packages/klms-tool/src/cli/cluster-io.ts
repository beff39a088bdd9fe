/**
 * What the KLMS commands (login, whoami, task …) share: their streams, output for people or
 * `--json` for scripts, and how a failure becomes a message and an exit code.
 */
import type { Writable } from "node:stream";
import { KlmsApiError } from "../client/errors.js";
import { ExitCode } from "../exit-codes.js";
import { type CliIO, type CommandIO, commandIO, line, parseMultiple } from "./command.js";

/** Where a KLMS command reads and writes: the CLI's own {@link CliIO} (with `stdin`). */
export type ClusterIO = CliIO;

/** {@link ClusterIO} with its defaults. */
export type ClusterStreams = CommandIO;

/** Fills in the defaults (the CLI's {@link commandIO}). */
export const clusterStreams = commandIO;

/** Writes a line (the CLI's {@link line}). */
export const say = line;

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

/** Parses a KLMS command's arguments: the CLI's {@link parseMultiple}. */
export const parseFor = parseMultiple;
