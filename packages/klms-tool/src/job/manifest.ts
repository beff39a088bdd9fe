import { authorizationHeader } from "../platform/routes.js";

/** What the platform needs to launch a task, as its Data API knows it. */
export interface JobTask {
  /** The task's uuid. */
  id: string;
  signature: string;
  /** The image to run, e.g. `img.stelar.gr/stelar/my-tool:0.1.0`. */
  image: string;
  /** The tool's name in the catalog; absent for a task that names only an image. */
  tool?: string;
  /** The bearer token, with or without `Bearer `: a credential, passed as the first argument. */
  token: string;
  /** The API URL the tool calls back; the cluster's is `http://stelarapi/`. */
  apiUrl?: string;
  creator?: string;
  processId?: string;
  /** A profile's settings; defaults as on the platform. */
  backoffLimit?: number;
  ttlSecondsAfterFinished?: number;
  restartPolicy?: "Never" | "OnFailure";
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  imagePullSecrets?: string[];
  resources?: {
    requests?: { cpu?: string; memory?: string; "ephemeral-storage"?: string };
    limits?: { cpu?: string; memory?: string; "ephemeral-storage"?: string };
  };
}

const MAX = 63;

/**
 * A Kubernetes label value: at most 63 characters of `[A-Za-z0-9._-]`, starting and ending with
 * an alphanumeric; other characters become `-`.
 */
export function labelValue(value: string): string {
  return value
    .replace(/[^A-Za-z0-9._-]/g, "-")
    .slice(0, MAX)
    .replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, "");
}

/** The Job's name, as the platform makes it: `task-<id>-<tool>`, or `task-<id>` when that is not a valid name. */
export function jobName(id: string, tool?: string): string {
  const short = `task-${id}`;
  if (!tool) return short;
  const long = `${short}-${tool.replace(/_/g, "-")}`;
  return long.length <= MAX && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(long) ? long : short;
}

/**
 * The batch/v1 Job the KLMS creates for a task (the Data API's `JobSpec.manifest`): one
 * container named `main` running the image's ENTRYPOINT with the four arguments
 * `["Bearer <jwt>", api_url, task_id, signature]`, no environment, restartPolicy Never,
 * backoffLimit 3, kept 24 hours after it ends. Apply it to run a tool image on any cluster.
 */
export function jobManifest(task: JobTask): Record<string, unknown> {
  const apiUrl = task.apiUrl ?? "http://stelarapi/";
  const labels: Record<string, string> = {
    "stelar.metadata.class": "task-execution",
    "stelar.task-id": labelValue(task.id),
    "stelar.tool-name": labelValue(task.tool ?? "external-image"),
  };
  if (task.creator) labels["stelar.creator"] = labelValue(task.creator);
  if (task.processId) labels["stelar.process-id"] = labelValue(task.processId);
  // The same rule as the entrypoint's header: one place decides what a bearer token looks like.
  const token = authorizationHeader(task.token);
  const pullSecrets = [...new Set([...(task.imagePullSecrets ?? []), "stelar-registry-secret"])];
  const container: Record<string, unknown> = {
    name: "main",
    image: task.image,
    imagePullPolicy: task.imagePullPolicy ?? "Always",
    args: [token, apiUrl, task.id, task.signature],
  };
  if (task.resources && (task.resources.requests || task.resources.limits)) container.resources = task.resources;
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: jobName(task.id, task.tool), labels },
    spec: {
      backoffLimit: task.backoffLimit ?? 3,
      ttlSecondsAfterFinished: task.ttlSecondsAfterFinished ?? 86400,
      template: {
        metadata: {
          annotations: {
            "stelar/tool-name": task.tool ?? "external-image",
            "stelar/image": task.image,
            "stelar/api_url": apiUrl,
          },
          labels,
        },
        spec: {
          restartPolicy: task.restartPolicy ?? "Never",
          imagePullSecrets: pullSecrets.map((name) => ({ name })),
          containers: [container],
        },
      },
    },
  };
}

/** YAML for a JSON value: block style, strings quoted as JSON (which YAML reads as is). */
export function toYaml(value: unknown, indent = ""): string {
  if (Array.isArray(value)) {
    if (value.length === 0) return "[]";
    return value
      .map((v) => {
        const inner = toYaml(v, `${indent}  `);
        return `${indent}- ${isBlock(v) ? inner.trimStart() : inner}`;
      })
      .join("\n");
  }
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value);
    if (entries.length === 0) return "{}";
    return entries
      .map(([k, v]) => (isBlock(v) ? `${indent}${k}:\n${toYaml(v, `${indent}  `)}` : `${indent}${k}: ${toYaml(v)}`))
      .join("\n");
  }
  return JSON.stringify(value);
}

function isBlock(v: unknown): boolean {
  return v !== null && typeof v === "object" && (Array.isArray(v) ? v.length > 0 : Object.keys(v).length > 0);
}
