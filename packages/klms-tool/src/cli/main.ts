#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { ExitCode } from "../exit-codes.js";
import { clusterCommands } from "./cluster.js";
import { type Command, err, out } from "./command.js";
import { devCommand, execCommand, jobCommand } from "./delegated.js";
import { manifestCommand } from "./manifest.js";
import { runCommand } from "./run.js";
import { validateInputCommand, validateOutputCommand } from "./validate.js";

const commands: Command[] = [
  execCommand,
  runCommand,
  devCommand,
  validateInputCommand,
  validateOutputCommand,
  manifestCommand,
  jobCommand,
  ...clusterCommands,
];

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return `usage: klms-tool <command> [options]

Build, run and check STELAR KLMS tools.

commands:
${commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join("\n")}

Run \`klms-tool <command> --help\` for a command's options.
Options: -h, --help; -v, --version.`;
}

/** Dispatches `klms-tool <command> …` and returns the exit code. */
export async function cli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    (name === undefined ? err : out)(help());
    return name === undefined ? ExitCode.Usage : ExitCode.Success;
  }
  if (name === "--version" || name === "-v") {
    out(version());
    return ExitCode.Success;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    err(`unknown command "${name}"\n\n${help()}`);
    return ExitCode.Usage;
  }
  return command.run(rest);
}

cli(process.argv.slice(2)).then(
  (code) => {
    if (process.exitCode === undefined || process.exitCode === 0) process.exitCode = code;
  },
  (error: unknown) => {
    err(`klms-tool: ${(error as Error).stack ?? String(error)}`);
    process.exitCode = ExitCode.Failure;
  },
);
