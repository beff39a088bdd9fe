/**
 * klms-tool: build STELAR KLMS tools in TypeScript.
 *
 * ```ts
 * import { defineTool, main, z } from "klms-tool";
 * const tool = defineTool({ name: "my-tool", parameters: z.object({ x: z.number() }), async run(task) { … } });
 * export default tool;
 * main(import.meta, tool);
 * ```
 */
export { z } from "zod";
export * from "./contract/index.js";
/** Splits a command line like a POSIX shell splits words (the `--worker` rule); the local KLMS reads its runners with it. */
export { splitCommand } from "./entrypoint/args.js";
export { ExitCode } from "./exit-codes.js";
export { createLogger, type Logger, type LogLevel } from "./log/logger.js";
export { MASK, Masker } from "./log/mask.js";
export {
  createStorage,
  formatBytes,
  type InputFile,
  type ObjectInfo,
  type OutputTarget,
  type PathLike,
  type ProgressListener,
  parsePath,
  progressReporter,
  Storage,
  StorageError,
  type StorageOptions,
  type TransferOptions,
  type TransferProgress,
} from "./storage/index.js";
export {
  defineTool,
  type InputGroupSpec,
  isToolDefinition,
  type OutputSpec,
  type PlainRun,
  type ToolDefinition,
  type ToolResult,
  type ToolSpec,
} from "./tool/define.js";
export { ParameterError } from "./tool/parameters.js";
export {
  SecretsUnavailableError,
  type Task,
  TaskValidationError,
} from "./tool/task.js";
export { main } from "./worker/main.js";
export { type RunnableTool, runWorker, type WorkerOptions, type WorkerResult } from "./worker/worker.js";
