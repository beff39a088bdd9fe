import type { Writable } from "node:stream";
import { parseArgs } from "node:util";
import { ExitCode } from "../exit-codes.js";
import { type JobTask, jobManifest, toYaml } from "./manifest.js";

const HELP = `usage: klms-tool job --task-id ID --signature SIG --image IMAGE [options]

Prints the Kubernetes Job the KLMS would create for a task (one container "main" running the
image's ENTRYPOINT with "Bearer <token>" <api_url> <task_id> <signature>, restartPolicy Never,
backoffLimit 3), so that a tool image also runs on any cluster: klms-tool job … | kubectl apply -f -

The manifest carries the bearer token in the container's arguments, as the platform's does: it
is a credential; do not commit or share the printed manifest.

options:
  --task-id <id>          the task's id (required)
  --signature <sig>       the task's signature (required; GET /api/v2/task/<id>/signature)
  --image <image>         the tool image (required)
  --tool <name>           the tool's catalog name (for the Job's name and labels)
  --token <token>         the bearer token (default: the KLMS_TOKEN environment variable)
  --api-url <url>         the API URL the tool calls (default http://stelarapi/)
  --creator <user>        the stelar.creator label
  --process-id <id>       the stelar.process-id label
  --backoff-limit <n>     retries of a failed pod (default 3)
  --cpu <request[:limit]>, --memory <request[:limit]>   container resources, e.g. --memory 1Gi:2Gi
  --output <json|yaml>    format (default yaml)
  -h, --help              this help`;

/** Where `klms-tool job` writes and which environment it reads; the process's own by default. */
export interface JobCommandIO {
  stdout?: Writable;
  stderr?: Writable;
  /** Read for `KLMS_TOKEN`. */
  env?: NodeJS.ProcessEnv;
}

const OPTIONS = {
  "task-id": { type: "string" },
  signature: { type: "string" },
  image: { type: "string" },
  tool: { type: "string" },
  token: { type: "string" },
  "api-url": { type: "string" },
  creator: { type: "string" },
  "process-id": { type: "string" },
  "backoff-limit": { type: "string" },
  cpu: { type: "string" },
  memory: { type: "string" },
  output: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

type Values = Record<string, string | boolean | undefined>;

/** `klms-tool job`: prints the Job manifest of a task. */
export async function jobCommand(argv: string[], io: JobCommandIO = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let values: Values;
  try {
    values = parseArgs({ args: argv, options: OPTIONS }).values;
  } catch (error) {
    stderr.write(`${(error as Error).message}\n\n${HELP}\n`);
    return ExitCode.Usage;
  }
  if (values.help) {
    stdout.write(`${HELP}\n`);
    return ExitCode.Success;
  }
  const token = (values.token as string | undefined) ?? (io.env ?? process.env).KLMS_TOKEN;
  const output = (values.output as string | undefined) ?? "yaml";
  const backoff = values["backoff-limit"] === undefined ? undefined : Number(values["backoff-limit"]);
  const problems = problemsOf(values, token, output, backoff);
  if (problems.length > 0) {
    stderr.write(`${problems.join("\n")}\n\n${HELP}\n`);
    return ExitCode.Usage;
  }
  const manifest = jobManifest(jobTask(values, token as string, backoff));
  stdout.write(output === "json" ? `${JSON.stringify(manifest, null, 2)}\n` : `${toYaml(manifest)}\n`);
  return ExitCode.Success;
}

/** Every mistake in the options, one a line. */
function problemsOf(values: Values, token: string | undefined, output: string, backoff: number | undefined): string[] {
  const missing = ["task-id", "signature", "image"].filter((k) => !values[k]);
  if (!token) missing.push("token (or KLMS_TOKEN)");
  return [
    ...(missing.length > 0 ? [`missing: --${missing.join(", --")}`] : []),
    ...(output !== "json" && output !== "yaml" ? [`--output must be json or yaml, not "${output}"`] : []),
    ...(backoff !== undefined && !(Number.isInteger(backoff) && backoff >= 0 && backoff <= 10)
      ? ["--backoff-limit must be 0 to 10"]
      : []),
  ];
}

/** The task of the manifest, from checked options. */
function jobTask(values: Values, token: string, backoff: number | undefined): JobTask {
  const task: JobTask = {
    id: values["task-id"] as string,
    signature: values.signature as string,
    image: values.image as string,
    token,
  };
  if (values.tool) task.tool = values.tool as string;
  if (values["api-url"]) task.apiUrl = values["api-url"] as string;
  if (values.creator) task.creator = values.creator as string;
  if (values["process-id"]) task.processId = values["process-id"] as string;
  if (backoff !== undefined) task.backoffLimit = backoff;
  const resources: NonNullable<JobTask["resources"]> = {};
  for (const kind of ["cpu", "memory"] as const) {
    const spec = values[kind] as string | undefined;
    if (!spec) continue;
    const [request, limit] = spec.split(":");
    if (request) resources.requests = { ...resources.requests, [kind]: request };
    if (limit) resources.limits = { ...resources.limits, [kind]: limit };
  }
  if (resources.requests || resources.limits) task.resources = resources;
  return task;
}
