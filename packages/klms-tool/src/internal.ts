/**
 * @internal `klms-tool/internal`: what the kit's own packages (klms-local, the benchmarks, the
 * scripts, the kit's tests) share with the runtime, and a tool author does not need. No
 * stability promise: names here may change in any release. Tool authors: `klms-tool`.
 */
export { OPTIONS, OptionError, type OptionName, type OptionSpec } from "./config/options.js";
export { type Env, readOptions, type Settings } from "./config/read.js";
export { describeType, isObject } from "./contract/errors.js";
export { splitCommand } from "./entrypoint/args.js";
export { type Builder, globalArgs, hasRunc, runArgs } from "./image/index.js";
export { createLogger, type LoggerOptions } from "./log/logger.js";
export { MASK, Masker } from "./log/mask.js";
export { formatBytes, parsePath, progressReporter } from "./storage/index.js";
export { isToolDefinition } from "./tool/define.js";
export { runWorker, type WorkerOptions, type WorkerResult } from "./worker/worker.js";
