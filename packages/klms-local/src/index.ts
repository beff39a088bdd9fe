/**
 * klms-local: a local STELAR KLMS for developing and testing tools without a cluster: the
 * platform's task API with its rules, an object store, and a runner that plays the cluster's Job.
 */
export { DEV_TOKEN_TTL_SECONDS, issueDevToken, signatureOf } from "./auth.js";
export { DEV_HELP, type DevIo, devMain } from "./dev.js";
export type { Fault } from "./faults.js";
export { literalEval } from "./literal-eval.js";
export {
  DEFAULT_BUCKET,
  type LocalKlms,
  type LocalKlmsOptions,
  MINIO_DURATION_SECONDS,
  startLocalKlms,
} from "./local-klms.js";
export {
  type MintedCredentials,
  type ObjectStore,
  type ObjectStoreOptions,
  startObjectStore,
} from "./object-store.js";
export type { RunOptions, RunResult } from "./runner.js";
export type { TaskSpec } from "./task-spec.js";
export type { TaskRecord } from "./tasks.js";
export { runToolTask, type ToolTaskOptions, type ToolTaskResult } from "./testing.js";
