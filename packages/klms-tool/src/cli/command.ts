import { type ParseArgsConfig, parseArgs } from "node:util";
import { ExitCode } from "../exit-codes.js";

/** One `klms-tool` command: its help text and what it does with its arguments. */
export interface Command {
  name: string;
  /** One line, shown in `klms-tool --help`. */
  summary: string;
  /** Full help, shown by `klms-tool <command> --help`. */
  help: string;
  run(argv: string[]): Promise<ExitCode | number>;
}

/** Where commands write: standard output for results, standard error for messages. */
export const out = (text: string): void => {
  process.stdout.write(text.endsWith("\n") ? text : `${text}\n`);
};
export const err = (text: string): void => {
  process.stderr.write(text.endsWith("\n") ? text : `${text}\n`);
};

/**
 * Parses a command's arguments. On `--help` prints the help and returns `{exit: Success}`; on a
 * mistake prints what is wrong and the help and returns `{exit: Usage}`.
 */
export function parse<T extends ParseArgsConfig["options"]>(
  argv: string[],
  options: T,
  help: string,
  positionals: { min: number; max: number },
): { values: Record<string, string | boolean | undefined>; positionals: string[] } | { exit: ExitCode } {
  try {
    const parsed = parseArgs({
      args: argv,
      options: { ...options, help: { type: "boolean", short: "h" } },
      allowPositionals: true,
      strict: true,
    });
    const values = parsed.values as Record<string, string | boolean | undefined>;
    if (values.help) {
      out(help);
      return { exit: ExitCode.Success };
    }
    const n = parsed.positionals.length;
    if (n < positionals.min || n > positionals.max) {
      err(
        `expected ${positionals.min === positionals.max ? positionals.min : `${positionals.min} to ${positionals.max}`} argument(s), got ${n}\n\n${help}`,
      );
      return { exit: ExitCode.Usage };
    }
    return { values, positionals: parsed.positionals };
  } catch (error) {
    err(`${(error as Error).message}\n\n${help}`);
    return { exit: ExitCode.Usage };
  }
}
