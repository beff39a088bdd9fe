/**
 * A test kit for tool authors: run a tool as a KLMS task, end to end, in a few lines of
 * `node:test`. The task goes through the local KLMS and the real entrypoint, exactly as the
 * cluster would run it: input GET, worker, output POST.
 *
 * ```ts
 * const run = await runToolTask({ files: { series: ["fixtures/a.csv"] }, parameters: { method: "spearman" } });
 * t.after(() => run.stop());
 * assert.equal(run.state, "succeeded");
 * ```
 */
import { createRequire } from "node:module";
import { basename, dirname, join, resolve } from "node:path";
import { createStorage, minioSettings, type Storage } from "klms-tool";
import { DEFAULT_BUCKET, type LocalKlms, startLocalKlms } from "./local-klms.js";
import type { OutputSpecBody, TaskSpec } from "./task-spec.js";
import type { TaskRecord } from "./tasks.js";

/** Options of {@link runToolTask}. */
export interface ToolTaskOptions {
  /** The tool project's folder: the worker runs there (default: the current folder). */
  cwd?: string;
  /** The worker command (default `node dist/main.js`), e.g. `python3 -u main.py`. */
  worker?: string;
  /**
   * Runs this tool module in a worker thread of the entrypoint (`--worker-thread`), e.g.
   * `dist/main.js`, instead of the `worker` command.
   */
  workerThread?: string;
  /** Local files to upload into the object store, by input group. */
  files?: Record<string, string[]>;
  /** Input items passed as they are (paths of objects already in the store, resource ids, `d0::owned`…), by group. */
  inputs?: Record<string, string[]>;
  /**
   * Output name → path, or a full output spec (`{url, dataset, resource}` to register it in the
   * catalog); default for each name in `outputNames`: `s3://klms-bucket/outputs/<task>/<name>`.
   */
  outputs?: Record<string, string | OutputSpecBody>;
  /** The task spec's `datasets` (aliases used by `inputs` and `outputs`); default none. */
  datasets?: TaskSpec["datasets"];
  /** Outputs to ask for at their default paths. */
  outputNames?: string[];
  parameters?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
  /** Reuse a running local KLMS instead of starting one. */
  klms?: LocalKlms;
  /**
   * Start the local KLMS with its store over https (`true`), or the store and the Data API
   * (`{ api: true }`), as `startLocalKlms`'s `tls`; default false.
   */
  tls?: boolean | { api: boolean };
  /** Extra options for the entrypoint, e.g. `["--timeout", "30"]`. */
  execArgs?: string[];
  env?: Record<string, string>;
}

/** The outcome of {@link runToolTask}. */
export interface ToolTaskResult {
  /** The task's final state in the local KLMS. */
  state: TaskRecord["exec_state"];
  /** The task record as `GET /api/v2/task/<id>` shows it (`outputs` lists only registered outputs). */
  task: TaskRecord;
  /** The entrypoint's exit code. */
  exitCode: number | null;
  /** The task's logs (everything the entrypoint and the tool printed, secrets masked). */
  logs: string;
  /** Output name → path, as the tool reported them. */
  output: Record<string, string>;
  metrics: Record<string, unknown>;
  message: string | null;
  /** The local KLMS the task ran in. */
  klms: LocalKlms;
  /** Reads an object of the store as text (e.g. an output). */
  readText(path: string): Promise<string>;
  /** Stops the local KLMS if this run started it. */
  stop(): Promise<void>;
}

const ENTRYPOINT = join(
  dirname(createRequire(import.meta.url).resolve("klms-tool/package.json")),
  "dist",
  "cli",
  "main.js",
);

/**
 * Runs a tool as a KLMS task through the local KLMS and the real entrypoint. The task belongs to
 * a new process (the platform requires one), and runs as an external task run by hand.
 */
export async function runToolTask(options: ToolTaskOptions = {}): Promise<ToolTaskResult> {
  const klms = options.klms ?? (await startLocalKlms({ quiet: true, tls: options.tls ?? false }));
  const own = !options.klms;
  let storage: Storage | undefined;
  const store = () => {
    storage ??= createStorage(
      minioSettings(klms.minio, { prefer: "external", env: {} }),
      klms.ca ? { ca: klms.ca } : {},
    );
    return storage;
  };
  const stop = async () => {
    storage?.close();
    if (own) await klms.stop();
  };
  try {
    const run = `run-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
    const inputs = await uploadInputs(options, run, store);
    const outputs = outputsOf(options, run);
    const owner = await klms.createProcess({ name: run });
    const { id } = await klms.createTask({
      process_id: owner.id as string,
      name: run,
      datasets: options.datasets ?? {},
      inputs,
      outputs,
      parameters: options.parameters ?? {},
      ...(options.secrets ? { secrets: options.secrets } : {}),
    });
    const result = await klms.runTask(id, {
      command: entrypointCommand(options),
      cwd: resolve(options.cwd ?? "."),
      ...(options.env ? { env: options.env } : {}),
    });
    const task = await klms.getTask(id);
    const outcome = await klms.getOutcome(id);
    return {
      state: task.exec_state,
      task,
      exitCode: result.exitCode,
      logs: result.logs,
      output: outcome.output,
      metrics: outcome.metrics,
      message: outcome.message,
      klms,
      readText: (path) => store().getText(path),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** `options.inputs` plus each of `options.files` uploaded to `inputs/<run>/<group>/` of the bucket. */
async function uploadInputs(
  options: ToolTaskOptions,
  run: string,
  store: () => Storage,
): Promise<Record<string, string[]>> {
  const inputs: Record<string, string[]> = { ...options.inputs };
  for (const [group, files] of Object.entries(options.files ?? {})) {
    inputs[group] ??= [];
    for (const file of files) {
      const path = `s3://${DEFAULT_BUCKET}/inputs/${run}/${group}/${basename(file)}`;
      await store().upload(path, resolve(options.cwd ?? ".", file));
      inputs[group].push(path);
    }
  }
  return inputs;
}

/** `options.outputs` (a bare URL becomes `{ url }`), and `outputs/<run>/<name>` for each of `options.outputNames`. */
function outputsOf(options: ToolTaskOptions, run: string): Record<string, OutputSpecBody> {
  const outputs: Record<string, OutputSpecBody> = {};
  for (const [name, spec] of Object.entries(options.outputs ?? {})) {
    outputs[name] = typeof spec === "string" ? { url: spec } : spec;
  }
  for (const name of options.outputNames ?? [])
    outputs[name] ??= { url: `s3://${DEFAULT_BUCKET}/outputs/${run}/${name}` };
  return outputs;
}

/** The real entrypoint (`klms-tool exec`) with the worker or worker thread and extra arguments. */
function entrypointCommand(options: ToolTaskOptions): string[] {
  const worker = options.workerThread
    ? ["--worker-thread", options.workerThread]
    : ["--worker", options.worker ?? "node dist/main.js"];
  return [process.execPath, ENTRYPOINT, "exec", ...worker, ...(options.execArgs ?? [])];
}
