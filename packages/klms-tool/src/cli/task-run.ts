/** `klms-tool task run <tool>`: creates a task as stelar_client would, and follows it when asked. */
import type { KlmsClient, ProcessRecord } from "../client/index.js";
import { ExitCode } from "../exit-codes.js";
import { type ClusterStreams, guarded, parseFor, say, sayJson, UsageError } from "./cluster-io.js";
import { connect } from "./session.js";
import { buildTaskBody } from "./task-args.js";
import { follow, summary } from "./task-follow.js";

/** The help of `task run`. */
export const TASK_RUN_HELP = `usage: klms-tool task run <tool> [options]

Creates a task of <tool> (a name or id in the KLMS catalog: klms-tool publish puts a tool
project's image and entry there) the way the platform's SDK does
(POST /api/v2/task with a TaskSpec body); the KLMS starts its Job. Without --wait or --follow it
prints the task's id and returns.

options:
  --param k=v            a parameter (repeatable); the value is JSON when it parses (3, true,
                         ["a"]), else text (spearman)
  --input group=<item>   an input (repeatable; the same group again adds to it). <item> is a
                         resource id (<uuid>[::relation]), <alias>::<relation> of a --dataset,
                         ctx::<relation> (the process's resources), an s3:// path, or a local
                         file, uploaded to the object store and registered as a resource of the
                         process
  --output name=<s3 path>  where an output goes (repeatable); default for each output the tool
                         declares: s3://<bucket>/klms-tool/outputs/<task name>/<name>. Every
                         output is registered as a resource of the process when the task succeeds
  --dataset alias=<id|name>  a dataset the inputs and outputs refer to by alias (repeatable)
  --secret k=v           a secret the tool receives (repeatable; never printed)
  --process <id|name>    the running process the task belongs to; default: the process
                         "klms-tool-<username>", created when it is missing or has ended
  --name <name>          the task's name; default <tool>-<UTC time>
  --image <tag|profile>  which of the tool's images or profiles to run; default its default profile
  --bucket <name>        the bucket for uploads and default outputs; default klms-bucket
  --wait                 wait for the task to end; exit 1 when it failed
  --follow               --wait, printing its logs as they come
  --json                 print the created task ({id, job_id}) or, with --wait, its final record

Uploading local files takes S3 credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set,
else the object store's STS (AssumeRoleWithWebIdentity with your KLMS token).

example:
  klms-tool task run correlations --input series=./weather.csv --param method=spearman --follow`;

const OPTIONS = {
  param: { type: "string", multiple: true },
  input: { type: "string", multiple: true },
  output: { type: "string", multiple: true },
  dataset: { type: "string", multiple: true },
  secret: { type: "string", multiple: true },
  process: { type: "string" },
  name: { type: "string" },
  image: { type: "string" },
  bucket: { type: "string" },
  wait: { type: "boolean" },
  follow: { type: "boolean" },
  json: { type: "boolean" },
} as const;

/** Runs `task run` with the arguments after `run`. */
export async function taskRun(argv: string[], io: ClusterStreams): Promise<number> {
  const args = parseFor(argv, OPTIONS, TASK_RUN_HELP, { min: 1, max: 1 }, io);
  if ("exit" in args) return args.exit;
  const v = args.values as Record<string, string | string[] | boolean | undefined>;
  const list = (k: string) => (v[k] as string[] | undefined) ?? [];
  return guarded(io, async () => {
    const { client } = await connect(io.env);
    const tool = await client.tools.get(args.positionals[0] as string);
    const process = await processFor(client, v.process as string | undefined);
    const body = await buildTaskBody(client, tool, process, {
      params: list("param"),
      inputs: list("input"),
      outputs: list("output"),
      datasets: list("dataset"),
      secrets: list("secret"),
      name: v.name as string | undefined,
      image: v.image as string | undefined,
      bucket: (v.bucket as string | undefined) ?? "klms-bucket",
      cwd: io.cwd,
      env: io.env,
    });
    const created = await client.tasks.create(body);
    if (!v.wait && !v.follow) {
      if (v.json) sayJson(io.stdout, { ...created, signature: undefined, name: body.name, process_id: process.id });
      else
        say(
          io.stdout,
          `task ${created.id} created (tool ${tool.name}, process ${process.name}): klms-tool task get ${created.id}`,
        );
      return ExitCode.Success;
    }
    if (!v.json) say(io.stderr, `task ${created.id} created (tool ${tool.name}, process ${process.name})`);
    const task = await follow(client, created.id, {
      logs: v.follow ? (v.json ? io.stderr : io.stdout) : undefined,
      signal: io.signal,
      onState: v.json ? undefined : (s) => say(io.stderr, `state: ${s}`),
    });
    if (v.json) sayJson(io.stdout, task);
    else say(io.stdout, summary(task));
    return task.exec_state === "succeeded" ? ExitCode.Success : ExitCode.Failure;
  });
}

/** The named process (it must be running), or the user's own `klms-tool-<username>`, made when needed. */
async function processFor(client: KlmsClient, ref: string | undefined): Promise<ProcessRecord> {
  if (ref) {
    const p = await client.processes.get(ref);
    if (p.exec_state !== "running")
      throw new UsageError(
        `process ${p.name} has ${p.exec_state}: a task needs a running process (leave out --process to use your own)`,
      );
    return p;
  }
  const { username } = await client.me();
  const name = `klms-tool-${username.toLowerCase().replace(/[^a-z0-9_-]/g, "-")}`;
  const existing = await client.processes.find(name);
  if (existing?.exec_state === "running") return existing;
  // Names are unique in the catalog even once a process ended: a new one gets a suffix.
  const fresh = existing ? `${name}-${Date.now().toString(36)}` : name;
  return client.processes.create({ name: fresh, owner_org: "stelar-klms", title: `klms-tool runs of ${username}` });
}
