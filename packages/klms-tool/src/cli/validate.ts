import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { TaskInputError } from "../contract/errors.js";
import { readTaskInput, type TaskInput } from "../contract/input.js";
import { checkTaskOutput, formatViolations } from "../contract/output.js";
import { ExitCode } from "../exit-codes.js";
import { type Command, type CommandIO, line, parse } from "./command.js";
import { loadTool, ToolLoadError } from "./load-tool.js";

/**
 * Reads the JSON file a validate command takes. On failure prints why and returns the exit
 * code 2 (as the help says): the file cannot be read, or it is not JSON.
 */
async function readJson(path: string, io: CommandIO): Promise<{ json: unknown } | { exit: ExitCode }> {
  let text: string;
  try {
    text = await readFile(resolve(io.cwd, path), "utf8");
  } catch (error) {
    line(io.stderr, `cannot read ${path}: ${(error as Error).message}`);
    return { exit: ExitCode.Usage };
  }
  try {
    return { json: JSON.parse(text) };
  } catch (error) {
    line(io.stderr, `✗ ${path} is not valid JSON: ${(error as Error).message}`);
    return { exit: ExitCode.Usage };
  }
}

const outputHelp = `usage: klms-tool validate-output <output.json>

Checks a task output against the platform's rules (the Data API's Task_Output schema):
only status (required; string or integer), message, error (strings), metrics (an object) and
output (an object of path strings); no unknown keys, no nulls, no lists. Also flags what the
platform accepts but turns into a surprise (status "200" as a string means failed, status 0
leaves the task running, an "error" key always means failed).

exit codes: 0 valid; 1 invalid, every broken rule listed; 2 the file cannot be read or is not JSON.`;

/** `klms-tool validate-output`: would the platform accept this output, and what would it do? */
export const validateOutputCommand: Command = {
  name: "validate-output",
  summary: "check an output.json against the platform's rules",
  help: outputHelp,
  async run(argv, io) {
    const args = parse(argv, {}, outputHelp, { min: 1, max: 1 }, io);
    if ("exit" in args) return args.exit;
    const read = await readJson(args.positionals[0] as string, io);
    if ("exit" in read) return read.exit;
    const check = checkTaskOutput(read.json);
    if (check.violations.length > 0) line(io.stderr, formatViolations(check.violations));
    if (!check.valid) {
      line(io.stderr, `invalid: the platform would reject this output (HTTP 422)`);
      return ExitCode.Failure;
    }
    line(io.stdout, `valid: the platform accepts it; the task would end ${check.state}`);
    return ExitCode.Success;
  },
};

const inputHelp = `usage: klms-tool validate-input <input.json> [--tool <main.js>]

Reads a task input the way the runtime does (the platform's "input"/"output" keys, the plural
"inputs"/"outputs" of the template's README, the raw {"success", "result"} envelope, a single
path where a list is expected) and prints what a tool would receive. Secret values are never
printed, only their names.

options:
  --tool <main.js>   also check the input against this tool's declaration (the built module,
                     e.g. dist/main.js): its parameters schema (defaults applied), its input
                     groups' counts, its outputs and its secrets schema
  -h, --help         this help

exit codes: 0 usable; 1 not usable, with the reason; 2 a file cannot be read or is not JSON,
or the tool cannot be loaded.`;

/** `klms-tool validate-input`: what would a tool receive from this task input? */
export const validateInputCommand: Command = {
  name: "validate-input",
  summary: "check an input.json (against a tool with --tool) and show what it would receive",
  help: inputHelp,
  async run(argv, io) {
    const args = parse(argv, { tool: { type: "string" } }, inputHelp, { min: 1, max: 1 }, io);
    if ("exit" in args) return args.exit;
    const read = await readJson(args.positionals[0] as string, io);
    if ("exit" in read) return read.exit;
    let task: TaskInput;
    try {
      const parsed = readTaskInput(read.json);
      task = parsed.task;
      for (const w of parsed.warnings) line(io.stderr, `! ${w}`);
    } catch (error) {
      if (!(error instanceof TaskInputError)) throw error;
      line(io.stderr, `✗ ${error.message}`);
      return ExitCode.Failure;
    }
    line(io.stdout, describeInput(task));
    const toolPath = args.values.tool as string | undefined;
    return toolPath === undefined ? ExitCode.Success : checkAgainstTool(task, toolPath, io);
  },
};

/** What a tool receives from `task`, without a secret value. */
function describeInput(task: TaskInput): string {
  const list = (names: string[]) => names.join(", ") || "(none)";
  const lines = [
    "valid: a tool receives",
    `  input groups: ${list(Object.entries(task.input).map(([g, p]) => `${g} (${p.length})`))}`,
    `  outputs: ${list(Object.keys(task.output))}`,
    `  parameters: ${list(Object.keys(task.parameters))}`,
    `  secrets: ${list(Object.keys(task.secrets))}${task.signature_verified ? " (signature verified)" : ""}`,
    `  object store: ${task.minio.endpoint_url ?? "(none)"}${task.minio.skey ? " (with a session token)" : ""}`,
  ];
  if (Object.keys(task.extra).length > 0) lines.push(`  other keys, kept: ${list(Object.keys(task.extra))}`);
  return lines.join("\n");
}

/** Checks `task` against the tool's declaration, as the runtime does before `run`. */
async function checkAgainstTool(task: TaskInput, toolPath: string, io: CommandIO): Promise<ExitCode> {
  let tool: Awaited<ReturnType<typeof loadTool>>;
  try {
    tool = await loadTool(toolPath, io.cwd);
  } catch (error) {
    if (!(error instanceof ToolLoadError)) throw error;
    line(io.stderr, error.message);
    return error.loadedWithoutTool ? ExitCode.Failure : ExitCode.Usage;
  }
  // Loaded here: validate-input without --tool must not pay for zod.
  const { checkTaskAgainstTool } = await import("../tool/check.js");
  const check = checkTaskAgainstTool(tool, task);
  for (const w of check.warnings) line(io.stderr, `! ${w}`);
  if (check.problems.length > 0) {
    line(io.stderr, `✗ not usable by ${tool.name}:\n${check.problems.map((p) => `  ${p}`).join("\n")}`);
    return ExitCode.Failure;
  }
  line(io.stdout, `valid for ${tool.name}: parameters ${JSON.stringify(check.parameters)}`);
  return ExitCode.Success;
}
