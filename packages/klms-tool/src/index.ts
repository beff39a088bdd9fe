/**
 * klms-tool: build STELAR KLMS tools in TypeScript. This is the tool author's surface: define a
 * tool, run it, the task and its files, the object store, the errors and the exit codes.
 *
 * ```ts
 * import { defineTool, main } from "klms-tool";
 * import * as z from "klms-tool/zod";
 * const tool = defineTool({ name: "my-tool", parameters: z.object({ x: z.number() }), async run(task) { … } });
 * export default tool;
 * main(import.meta, tool);
 * ```
 *
 * The other tiers: `klms-tool/contract` (the platform's input and output rules, for programs
 * that check task files), `klms-tool/zod` (the runtime's zod, for parameter schemas), `klms-tool/client` (the Data API client), `klms-tool/cli` (the CLI as
 * a function) and `klms-tool/internal` (for the kit's own packages only; no stability promise).
 */
/**
 * All of zod as one object. Prefer `import * as z from "klms-tool/zod"`: a bundler keeps only
 * what the tool uses from that, while this object holds every zod locale (about 600 KB more in
 * the tool's bundle, loaded by every task). Kept so that existing tools still build.
 */
export { z } from "zod";
export { TaskInputError } from "./contract/errors.js";
export type { MinioBlock, TaskInput } from "./contract/input.js";
export { MetricsError } from "./contract/metrics.js";
export { type EndpointChoice, type MinioSettings, minioSettings } from "./contract/minio.js";
export type { TaskOutput } from "./contract/output.js";
export { KlmsError, type KlmsErrorCode, type PlatformErrorCode } from "./errors.js";
export { ExitCode } from "./exit-codes.js";
export type { Logger, LogLevel } from "./log/logger.js";
export {
  createStorage,
  type InputFile,
  type ObjectInfo,
  type OutputTarget,
  type PathLike,
  type ProgressListener,
  Storage,
  StorageError,
  type StorageErrorCode,
  type StorageOptions,
  type TransferOptions,
  type TransferProgress,
} from "./storage/index.js";
export {
  defineTool,
  type InputGroupSpec,
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
  TaskCancelledError,
  TaskValidationError,
} from "./tool/task.js";
export { main } from "./worker/main.js";
export type { RunnableTool } from "./worker/worker.js";
