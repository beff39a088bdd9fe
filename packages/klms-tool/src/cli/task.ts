/** `klms-tool task <run|list|get|logs|terminate|outputs>`: a KLMS's tasks, from the command line. */
import { mkdirSync } from "node:fs";
import { basename, resolve } from "node:path";
import { isTerminal, type TaskState } from "../client/index.js";
import { ExitCode } from "../exit-codes.js";
import {
  type ClusterIO,
  type ClusterStreams,
  clusterStreams,
  guarded,
  parseFor,
  say,
  sayJson,
  UsageError,
} from "./cluster-io.js";
import { objectStorage } from "./object-storage.js";
import { connect } from "./session.js";
import { follow, logPrinter, summary } from "./task-follow.js";
import { TASK_RUN_HELP, taskRun } from "./task-run.js";

const TASK_HELP = `usage: klms-tool task <command> [options]

The tasks of the KLMS you are logged in to (klms-tool login; or KLMS_URL and KLMS_TOKEN).

commands:
  run <tool>         create a task of a tool and, with --wait/--follow, follow it to its end
  list               your tasks (--state created|running|succeeded|failed, --limit N)
  get <id>           a task's record: state, dates, inputs, parameters, messages, metrics, outputs
  logs <id>          its pods' logs (--follow: until it ends)
  terminate <id>     stop a created or running task (it fails)
  outputs <id>       download its registered outputs (--dir <folder>, default .)

Each takes --json (the platform's records as they are) and --help.
Exit codes: 0 done (run/get: the task succeeded), 1 the task failed or the KLMS refused
(with its error type and message), 2 a usage mistake or no login.

${TASK_RUN_HELP.split("\n").slice(0, 1).join("\n")}`;

const SUBCOMMANDS: Record<string, { help: string; run(argv: string[], io: ClusterStreams): Promise<number> }> = {
  run: { help: TASK_RUN_HELP, run: taskRun },
  list: {
    help: "usage: klms-tool task list [--state created|running|succeeded|failed] [--limit N] [--json]\n\nYour tasks (an admin's: everyone's), newest states last, at most --limit (default 20) of each state.",
    run: taskList,
  },
  get: {
    help: "usage: klms-tool task get <id> [--json]\n\nA task's record (GET /api/v2/task/<id>). Exits 1 when the task failed.",
    run: taskGet,
  },
  logs: {
    help: "usage: klms-tool task logs <id> [--follow]\n\nThe logs of the task's pods (one per run of its Job); --follow prints them as they grow until the task ends.",
    run: taskLogs,
  },
  terminate: {
    help: "usage: klms-tool task terminate <id> [--json]\n\nStops a created or running task's Job; the task fails. A task that has ended gives 409. An external task (no tool, no image) is left alone, as the platform does.",
    run: taskTerminate,
  },
  outputs: {
    help: "usage: klms-tool task outputs <id> [--dir <folder>] [--json]\n\nDownloads the outputs the task registered (its record's outputs) into --dir (default: the current folder), each as <folder>/<file name of its path>.\nS3 credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY when set, else the object store's STS with your KLMS token.",
    run: taskOutputs,
  },
};

/** `klms-tool task`. */
export const taskCommand = {
  name: "task",
  summary: "run, list, follow, stop and download the tasks of a KLMS",
  help: TASK_HELP,
  async run(argv: string[], cio?: ClusterIO): Promise<number> {
    const io = clusterStreams(cio);
    const [name, ...rest] = argv;
    if (name === undefined || name === "--help" || name === "-h" || name === "help") {
      say(name === undefined ? io.stderr : io.stdout, TASK_HELP);
      return name === undefined ? ExitCode.Usage : ExitCode.Success;
    }
    const sub = SUBCOMMANDS[name];
    if (!sub) {
      say(io.stderr, `unknown task command "${name}"\n\n${TASK_HELP}`);
      return ExitCode.Usage;
    }
    return sub.run(rest, io);
  },
};

async function taskList(argv: string[], io: ClusterStreams): Promise<number> {
  const args = parseFor(
    argv,
    { state: { type: "string" }, limit: { type: "string" }, json: { type: "boolean" } },
    SUBCOMMANDS.list?.help ?? "",
    { min: 0, max: 0 },
    io,
  );
  if ("exit" in args) return args.exit;
  return guarded(io, async () => {
    const state = args.values.state as TaskState | undefined;
    const limit = Number(args.values.limit ?? 20);
    if (!Number.isInteger(limit) || limit < 1)
      throw new UsageError(`--limit ${args.values.limit}: give a whole number ≥ 1`);
    const { client } = await connect(io.env);
    const ids = await client.tasks.list(state ? { state, limit, offset: 0 } : {});
    const records = [];
    for (const s of ["created", "running", "succeeded", "failed"] as const) {
      for (const id of (ids[s] ?? []).slice(0, limit)) records.push(await client.tasks.get(id));
    }
    if (args.values.json) sayJson(io.stdout, records);
    else if (records.length === 0) say(io.stdout, "no tasks");
    else
      for (const t of records)
        say(
          io.stdout,
          `${t.id}  ${t.exec_state.padEnd(9)}  ${t.start_date.slice(0, 19)}  ${t.tool ?? t.image ?? "(external)"}  ${t.name}`,
        );
    return ExitCode.Success;
  });
}

async function taskGet(argv: string[], io: ClusterStreams): Promise<number> {
  const args = parseFor(argv, { json: { type: "boolean" } }, SUBCOMMANDS.get?.help ?? "", { min: 1, max: 1 }, io);
  if ("exit" in args) return args.exit;
  return guarded(io, async () => {
    const { client } = await connect(io.env);
    const task = await client.tasks.get(args.positionals[0] as string);
    if (args.values.json) sayJson(io.stdout, task);
    else {
      say(io.stdout, summary(task));
      say(
        io.stdout,
        `  name      ${task.name}\n  tool      ${task.tool ?? task.image ?? "(external)"}\n  started   ${task.start_date}\n  inputs    ${JSON.stringify(task.inputs)}\n  params    ${JSON.stringify(task.parameters)}`,
      );
    }
    return task.exec_state === "failed" ? ExitCode.Failure : ExitCode.Success;
  });
}

async function taskLogs(argv: string[], io: ClusterStreams): Promise<number> {
  const args = parseFor(argv, { follow: { type: "boolean" } }, SUBCOMMANDS.logs?.help ?? "", { min: 1, max: 1 }, io);
  if ("exit" in args) return args.exit;
  return guarded(io, async () => {
    const { client } = await connect(io.env);
    const id = args.positionals[0] as string;
    if (args.values.follow) {
      const task = await follow(client, id, { logs: io.stdout, signal: io.signal });
      return task.exec_state === "succeeded" ? ExitCode.Success : ExitCode.Failure;
    }
    const logs = await client.tasks.logs(id);
    if (Object.keys(logs).length === 0) say(io.stderr, "no logs (an external task, or its pods are gone)");
    logPrinter(io.stdout)(logs);
    return ExitCode.Success;
  });
}

async function taskTerminate(argv: string[], io: ClusterStreams): Promise<number> {
  const args = parseFor(argv, { json: { type: "boolean" } }, SUBCOMMANDS.terminate?.help ?? "", { min: 1, max: 1 }, io);
  if ("exit" in args) return args.exit;
  return guarded(io, async () => {
    const { client } = await connect(io.env);
    const id = args.positionals[0] as string;
    await client.tasks.terminate(id);
    const task = await client.tasks.get(id);
    if (args.values.json) sayJson(io.stdout, task);
    else
      say(
        io.stdout,
        `task ${id} ${isTerminal(task.exec_state) ? task.exec_state : `${task.exec_state} (an external task is left alone)`}`,
      );
    return ExitCode.Success;
  });
}

async function taskOutputs(argv: string[], io: ClusterStreams): Promise<number> {
  const args = parseFor(
    argv,
    { dir: { type: "string" }, json: { type: "boolean" } },
    SUBCOMMANDS.outputs?.help ?? "",
    { min: 1, max: 1 },
    io,
  );
  if ("exit" in args) return args.exit;
  return guarded(io, async () => {
    const { client } = await connect(io.env);
    const task = await client.tasks.get(args.positionals[0] as string);
    const outputs = Object.entries(task.outputs ?? {});
    if (!isTerminal(task.exec_state))
      throw new UsageError(`task ${task.id} is ${task.exec_state}: its outputs come when it ends`);
    if (outputs.length === 0) {
      say(io.stderr, `task ${task.id} registered no outputs`);
      if (args.values.json) sayJson(io.stdout, {});
      return ExitCode.Success;
    }
    const storage = await objectStorage(client, io.env);
    const dir = resolve(io.cwd, (args.values.dir as string | undefined) ?? ".");
    mkdirSync(dir, { recursive: true });
    const files: Record<string, string> = {};
    try {
      for (const [name, out] of outputs) {
        let file = resolve(dir, basename(out.url));
        if (Object.values(files).includes(file)) file = resolve(dir, `${name}-${basename(out.url)}`);
        files[name] = await storage.download(out.url, file, { signal: io.signal });
        if (!args.values.json) say(io.stdout, `${name}  ${out.url}  ->  ${files[name]}`);
      }
    } finally {
      storage.close();
    }
    if (args.values.json) sayJson(io.stdout, files);
    return ExitCode.Success;
  });
}
