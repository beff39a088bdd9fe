import { basename } from "node:path";
import type { TaskInput } from "../contract/input.js";
import type { Logger } from "../log/logger.js";
import type { InputFile, OutputTarget } from "../tool/task.js";

/** What the task's files need from the worker. */
export interface FilesContext {
  workdir: string;
  signal: AbortSignal;
  log: Logger;
  /** Filled with output name → path for every output the tool uploads. */
  produced: Record<string, string>;
}

/** Creates the input files and output targets a task hands to the tool. */
export function taskFiles(
  _input: TaskInput,
  _ctx: FilesContext,
): { inputFile(path: string): InputFile; outputTarget(name: string, path: string): OutputTarget } {
  return {
    inputFile: (path) => ({ path, name: basename(path.replace(/\/+$/, "")) }),
    outputTarget: (name, path) => ({ name, path }),
  };
}
