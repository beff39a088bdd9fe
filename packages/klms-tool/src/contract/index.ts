/**
 * What travels between a tool and the KLMS platform: the task input it receives and the task
 * output it posts back. Shared by the runtime, the CLI and the local KLMS, so that all three
 * apply the same rules.
 */
export { TaskInputError } from "./errors.js";
export { type MinioBlock, type ReadResult, readTaskInput, type TaskInput } from "./input.js";
export { DEFAULT_METRICS_LIMIT_BYTES, MetricsError, toJsonSafe } from "./metrics.js";
export { type EndpointChoice, type MinioSettings, minioSettings, parseEndpoint } from "./minio.js";
export { CATALOG_NAME, CATALOG_NAME_RULE } from "./names.js";
export {
  checkTaskOutput,
  formatViolations,
  type OutcomeState,
  type OutputCheck,
  outcomeOf,
  Status,
  stateOfStatus,
  type TaskOutput,
  type Violation,
} from "./output.js";
