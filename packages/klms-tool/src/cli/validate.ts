import { readFile } from "node:fs/promises";
import { TaskInputError } from "../contract/errors.js";
import { readTaskInput } from "../contract/input.js";
import { checkTaskOutput, formatViolations } from "../contract/output.js";
import { ExitCode } from "../exit-codes.js";
import { type Command, err, out, parse } from "./command.js";

/**
 * Reads the one JSON file a validate command takes. On failure prints why and returns the exit
 * code: 2 for a file that cannot be read, 1 for one that is not JSON (the platform would refuse it).
 */
async function readJsonArgument(argv: string[], help: string): Promise<{ json: unknown } | { exit: ExitCode }> {
  const args = parse(argv, {}, help, { min: 1, max: 1 });
  if ("exit" in args) return args;
  const path = args.positionals[0] as string;
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    err(`cannot read ${path}: ${(error as Error).message}`);
    return { exit: ExitCode.Usage };
  }
  try {
    return { json: JSON.parse(text) };
  } catch (error) {
    err(`✗ ${path} is not valid JSON: ${(error as Error).message}`);
    return { exit: ExitCode.Failure };
  }
}

const outputHelp = `usage: klms-tool validate-output <output.json>

Checks a task output against the platform's rules (the Data API's Task_Output schema):
only status (required; string or integer), message, error (strings), metrics (an object) and
output (an object of path strings); no unknown keys, no nulls, no lists. Also flags what the
platform accepts but turns into a surprise (status "200" as a string means failed, status 0
leaves the task running, an "error" key always means failed).

exit codes: 0 valid; 1 invalid, every broken rule listed; 2 the file cannot be read.`;

/** `klms-tool validate-output`: would the platform accept this output, and what would it do? */
export const validateOutputCommand: Command = {
  name: "validate-output",
  summary: "check an output.json against the platform's rules",
  help: outputHelp,
  async run(argv) {
    const read = await readJsonArgument(argv, outputHelp);
    if ("exit" in read) return read.exit;
    const check = checkTaskOutput(read.json);
    if (check.violations.length > 0) err(formatViolations(check.violations));
    if (!check.valid) {
      err(`invalid: the platform would reject this output (HTTP 422)`);
      return ExitCode.Failure;
    }
    out(`valid: the platform accepts it; the task would end ${check.state}`);
    return ExitCode.Success;
  },
};

const inputHelp = `usage: klms-tool validate-input <input.json>

Reads a task input the way the runtime does (the platform's "input"/"output" keys, the plural
"inputs"/"outputs" of the template's README, the raw {"success", "result"} envelope, a single
path where a list is expected) and prints what a tool would receive. Secret values are never
printed, only their names.

exit codes: 0 usable; 1 not usable, with the reason; 2 the file cannot be read.`;

/** `klms-tool validate-input`: what would a tool receive from this task input? */
export const validateInputCommand: Command = {
  name: "validate-input",
  summary: "check an input.json and show what a tool would receive",
  help: inputHelp,
  async run(argv) {
    const read = await readJsonArgument(argv, inputHelp);
    if ("exit" in read) return read.exit;
    try {
      const { task, warnings } = readTaskInput(read.json);
      for (const w of warnings) err(`! ${w}`);
      const lines = [
        "valid: a tool receives",
        `  input groups: ${
          Object.entries(task.input)
            .map(([g, p]) => `${g} (${p.length})`)
            .join(", ") || "(none)"
        }`,
        `  outputs: ${Object.keys(task.output).join(", ") || "(none)"}`,
        `  parameters: ${Object.keys(task.parameters).join(", ") || "(none)"}`,
        `  secrets: ${Object.keys(task.secrets).join(", ") || "(none)"}${task.signature_verified ? " (signature verified)" : ""}`,
        `  object store: ${task.minio.endpoint_url ?? "(none)"}${task.minio.skey ? " (with a session token)" : ""}`,
      ];
      if (Object.keys(task.extra).length > 0) lines.push(`  other keys, kept: ${Object.keys(task.extra).join(", ")}`);
      out(lines.join("\n"));
      return ExitCode.Success;
    } catch (error) {
      if (error instanceof TaskInputError) {
        err(`✗ ${error.message}`);
        return ExitCode.Failure;
      }
      throw error;
    }
  },
};
