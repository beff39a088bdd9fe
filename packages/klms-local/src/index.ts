/**
 * klms-local: a local STELAR KLMS for developing and testing tools without a cluster: the
 * platform's task API with its rules, an object store, and a runner that plays the cluster's Job.
 */
export { DEV_PASSWORD, type UserSpec } from "./accounts.js";
export {
  DEV_TOKEN_TTL_SECONDS,
  DEV_USERNAME,
  issueDevToken,
  issueToken,
  REFRESH_TOKEN_TTL_SECONDS,
  signatureOf,
  verifyToken,
} from "./auth.js";
export { DEFAULT_ORGANIZATION } from "./catalog/catalog.js";
export type { Seed } from "./catalog/seed.js";
export { DEV_HELP, type DevIo, devMain } from "./dev.js";
export type { Fault } from "./faults.js";
export type { JobStatus } from "./jobs.js";
export { literalEval } from "./literal-eval.js";
export {
  DEFAULT_BUCKET,
  type LocalKlms,
  type LocalKlmsOptions,
  MINIO_DURATION_SECONDS,
  startLocalKlms,
  type TaskOutcome,
} from "./local-klms.js";
export {
  type MintedCredentials,
  type ObjectStore,
  type ObjectStoreOptions,
  startObjectStore,
} from "./object-store.js";
export type { RegistryOptions } from "./registry/oci.js";
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
export type { MinioInput, PodView } from "./server.js";
export type { OutputSpecBody, TaskSpec } from "./task-spec.js";
export type { TaskRecord } from "./tasks.js";
export { runToolTask, type ToolTaskOptions, type ToolTaskResult } from "./testing.js";
