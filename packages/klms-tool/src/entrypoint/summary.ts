/**
 * A one-line picture of the task input for the log: shapes and names, never values. The input
 * carries MinIO credentials and secrets; run.sh once echoed it whole.
 */
import type { TaskInput } from "../contract/index.js";

/** Log fields describing a task input without any value in it. */
export function summarizeInput(task: TaskInput): Record<string, unknown> {
  const groups = Object.entries(task.input).map(([name, paths]) => `${name}:${paths.length}`);
  return {
    inputs: groups.length ? groups.join(",") : "(none)",
    outputs: Object.keys(task.output).join(",") || "(none)",
    parameters: Object.keys(task.parameters).join(",") || "(none)",
    secrets: Object.keys(task.secrets).length,
    signature_verified: task.signature_verified,
    minio_credentials: Boolean(task.minio.id && task.minio.key),
  };
}
