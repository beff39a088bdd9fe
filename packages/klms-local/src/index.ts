/**
 * klms-local: a local STELAR KLMS for developing and testing tools without a cluster: the
 * platform's task API with its rules, an object store, and a runner that plays the cluster's Job.
 */
export { DEV_TOKEN_TTL_SECONDS, issueDevToken, signatureOf } from "./auth.js";
export { DEV_HELP, type DevIo, devMain } from "./dev.js";
export type { Fault } from "./faults.js";
export type { JobStatus, PodView } from "./jobs.js";
export { literalEval } from "./literal-eval.js";
export {
  DEFAULT_BUCKET,
  DEV_SESSION_TOKEN,
  type LocalKlms,
  type LocalKlmsOptions,
  startLocalKlms,
} from "./local-klms.js";
export {
  OBJECT_STORE_CREDENTIALS,
  type ObjectStore,
  type ObjectStoreOptions,
  startObjectStore,
} from "./object-store.js";
export { type RunOptions, type RunResult, type StartedRun, TERMINATION_GRACE_MS } from "./runner.js";
export {
  type CommandRunner,
  type NoRunner,
  PODMAN_COMMAND,
  type PodmanRunner,
  type ProjectRunner,
  parseRunner,
  type Runner,
} from "./runners.js";
export type { TaskSpec } from "./task-spec.js";
export type { TaskRecord } from "./tasks.js";
export { runToolTask, type ToolTaskOptions, type ToolTaskResult } from "./testing.js";
