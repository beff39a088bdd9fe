/**
 * A task input checked against a tool's declaration without running the tool: what
 * `klms-tool validate-input --tool` reports. The rules are buildTask's own (the ones the worker
 * applies before `run`), so the check and a real run cannot disagree.
 */
import type { TaskInput } from "../contract/input.js";
import { createLogger } from "../log/logger.js";
import { Masker } from "../log/mask.js";
import { createInputFile, createOutputTarget, type TaskFilesContext } from "../storage/task-files.js";
import type { ToolDefinition } from "./define.js";
import { buildTask } from "./task.js";

/** The outcome of {@link checkTaskAgainstTool}. */
export interface ToolInputCheck {
  /** The parameters `run` would see (validated, defaults applied); `{}` when they are refused. */
  parameters: Record<string, unknown>;
  /** What the runtime would tolerate and log (unknown parameters, undeclared groups, …). */
  warnings: string[];
  /** Why the task would fail before `run`; empty when it would start. Never holds a secret value. */
  problems: string[];
}

/**
 * Checks `input` against `tool`: parameters (its zod schema, with the platform's literal_eval
 * repair), input group counts, output targets, and the secrets schema when secrets are present.
 */
export function checkTaskAgainstTool(tool: ToolDefinition, input: TaskInput): ToolInputCheck {
  const files: TaskFilesContext = {
    storage: () => {
      throw new Error("validate-input does not touch the object store");
    },
    workdir: ".",
    onUpload: () => {},
  };
  let built: ReturnType<typeof buildTask>;
  try {
    built = buildTask(tool, input, {
      log: createLogger({ source: "check", masker: new Masker(), write: () => {} }),
      signal: new AbortController().signal,
      workdir: ".",
      storage: files.storage,
      inputFile: (path) => createInputFile(path, files),
      outputTarget: (name, path) => createOutputTarget(name, path, files),
    });
  } catch (error) {
    return { parameters: {}, warnings: [], problems: [(error as Error).message] };
  }
  const { task, warnings } = built;
  const problems: string[] = [];
  if (tool.secrets && (input.signature_verified || Object.keys(input.secrets).length > 0)) {
    try {
      void task.secrets;
    } catch (error) {
      problems.push((error as Error).message);
    }
  } else if (tool.secrets) {
    warnings.push("no secrets in this input: the platform sends them only with a verified signature");
  }
  return { parameters: task.parameters, warnings, problems };
}
