import type { EventEmitter } from "node:events";
import { mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { type Env, readOptionsLeniently } from "../config/read.js";
import { decodeUtf8, ReadLimitError, readFileBounded } from "../contract/bounded-read.js";
import { TaskInputError } from "../contract/errors.js";
import { readTaskInput, type TaskInput } from "../contract/input.js";
import { jsonDepth, MAX_INPUT_BYTES, MAX_JSON_DEPTH } from "../contract/limits.js";
import { DEFAULT_METRICS_LIMIT_BYTES, MetricsError, toJsonSafe } from "../contract/metrics.js";
import { checkTaskOutput, outcomeOf, Status, type TaskOutput } from "../contract/output.js";
import { ExitCode } from "../exit-codes.js";
import { createLogger, type Logger, logSettings } from "../log/logger.js";
import { Masker } from "../log/mask.js";
import { withAutomaticMetrics } from "../metrics/automatic.js";
import { isToolDefinition, type PlainRun, type ToolDefinition } from "../tool/define.js";
import { ParameterError } from "../tool/parameters.js";
import { buildTask, TaskCancelledError, TaskValidationError } from "../tool/task.js";
import { AutoMetrics } from "./auto-metrics.js";
import { type TaskFiles, taskFiles } from "./files.js";
import { ownProcess } from "./own-process.js";
import { describeThrown, failureReport, invalidOutputMessage, MAX_ERROR_CHARS } from "./report.js";

/** A tool as the worker accepts it: a {@link defineTool} result or the Python template's plain `run(json)`. */
export type RunnableTool = ToolDefinition | PlainRun;

/** Options of {@link runWorker}. */
export interface WorkerOptions {
  /** The task input file (the Python template's `input.json`). */
  inputPath: string;
  /** Where the output is written (the Python template's `output.json`); always written, also on failure. */
  outputPath: string;
  /** The tool itself, or … */
  tool?: RunnableTool;
  /** … a module to import that exports it (default export, or a named `run` function). */
  modulePath?: string;
  /**
   * Own the process: report a failure also on `process.exit`, uncaught errors and SIGTERM/SIGINT.
   * True for `node dist/main.js …` and `klms-tool run`; false when a test calls the worker.
   */
  ownProcess?: boolean;
  /**
   * After SIGTERM, how long the tool may take to stop before the worker reports it cancelled (ms).
   * Default: `KLMS_GRACE_PERIOD` of `env` (seconds, which `klms-tool exec` sets to its
   * --grace-period), else 10 s, the entrypoint's default (the one table's `gracePeriod`).
   */
  graceMs?: number;
  /**
   * Where the worker's settings come from (`KLMS_GRACE_PERIOD`, `KLMS_LOG_*`, `KLMS_S3_*`: see
   * the README's configuration table). Default: the process's environment.
   */
  env?: Env;
  /**
   * Where SIGTERM/SIGINT are heard when `ownProcess` is set; `process` by default. A worker thread
   * hears no signals: the entrypoint sends them as messages, re-emitted here.
   */
  signals?: EventEmitter;
  /** Where log lines go (default standard error). */
  write?: (line: string) => void;
}

/** What {@link runWorker} wrote and the exit code it chose. */
export interface WorkerResult {
  exitCode: ExitCode;
  output: TaskOutput;
}

/** The worker's own settings: the grace period and the log's, read leniently (a bad value is logged, not fatal). */
function workerSettings(env: Env | undefined) {
  const grace = readOptionsLeniently(["gracePeriod"], env);
  const { warnings, ...logging } = logSettings(env);
  return { graceMs: Math.round(grace.values.gracePeriod * 1000), logging, warnings: [...grace.warnings, ...warnings] };
}

/**
 * The Python template's worker contract: read `input.json`, run the tool, write `output.json`. The output is
 * ALWAYS a valid task output: when the tool throws, returns nothing or something the platform
 * would reject, produces metrics that cannot be serialised, exits early or is cancelled, the
 * output is a failure report saying what went wrong, with every secret value masked.
 */
export async function runWorker(options: WorkerOptions): Promise<WorkerResult> {
  const masker = new Masker();
  const settings = workerSettings(options.env);
  const write = options.write ? { write: options.write } : {};
  const log = createLogger({ source: "tool", masker, ...settings.logging, ...write });
  for (const warning of settings.warnings) log.warn(warning);
  const auto = new AutoMetrics();
  const controller = new AbortController();
  const workdir = mkdtempSync(join(tmpdir(), "klms-task-"));
  let result: WorkerResult | undefined;

  const finish = (output: TaskOutput): WorkerResult => {
    if (result) return result;
    writeOutput(options.outputPath, output, masker);
    rmSync(workdir, { recursive: true, force: true });
    result = { exitCode: outcomeOf(output) === "succeeded" ? ExitCode.Success : ExitCode.Failure, output };
    return result;
  };
  const fail = (message: string, details?: string): WorkerResult => {
    log.error(message);
    return finish(failureReportOf(message, details, auto.finish(), masker));
  };

  const release = options.ownProcess
    ? ownProcess({
        masker,
        log,
        controller,
        graceMs: options.graceMs ?? settings.graceMs,
        signals: options.signals ?? process,
        fail,
        done: () => result !== undefined,
      })
    : () => {};
  try {
    const input = await loadInput(options.inputPath, masker, log);
    if ("failure" in input) return fail(input.failure);
    let tool: RunnableTool;
    try {
      tool = options.tool ?? (await loadTool(options.modulePath));
    } catch (error) {
      const { message, details } = describeThrown(error);
      return fail(`could not load the tool: ${message}`, details);
    }
    const output = isToolDefinition(tool)
      ? await runDefined(tool, input.task, { log, signal: controller.signal, workdir, masker, auto, env: options.env })
      : await runPlain(tool, input.json, input.task, { log, signal: controller.signal, auto, masker });
    if (output.status === Status.Succeeded) log.info(output.message ?? "succeeded");
    else log.error(output.message ?? "failed");
    return finish(output);
  } catch (error) {
    const reason: unknown = controller.signal.aborted ? controller.signal.reason : undefined;
    const signal = reason instanceof TaskCancelledError ? reason.signal : String(reason);
    // The tool stopped by throwing the signal's own reason (throwIfAborted()): that is the whole story.
    if (reason !== undefined && error === reason) return fail(`cancelled (${signal}): the tool stopped on task.signal`);
    const { message, details } = describeThrown(error);
    return fail(`${reason !== undefined ? `cancelled (${signal}): ` : ""}${message}`, details);
  } finally {
    release();
  }
}

interface RunContext {
  log: Logger;
  signal: AbortSignal;
  auto: AutoMetrics;
  /** Required: every failure report and output is masked with it. */
  masker: Masker;
}

async function runDefined(
  tool: ToolDefinition,
  input: TaskInput,
  ctx: RunContext & { workdir: string; env: Env | undefined },
): Promise<TaskOutput> {
  const produced: Record<string, string> = {};
  const files = taskFiles(input, { workdir: ctx.workdir, signal: ctx.signal, log: ctx.log, produced, env: ctx.env });
  try {
    return await runBuilt(tool, input, ctx, files, produced);
  } finally {
    files.close();
  }
}

async function runBuilt(
  tool: ToolDefinition,
  input: TaskInput,
  ctx: RunContext & { workdir: string },
  files: TaskFiles,
  produced: Record<string, string>,
): Promise<TaskOutput> {
  let built: ReturnType<typeof buildTask>;
  try {
    built = buildTask(tool, input, { log: ctx.log, signal: ctx.signal, workdir: ctx.workdir, ...files });
  } catch (error) {
    if (error instanceof ParameterError || error instanceof TaskValidationError) {
      return failureReportOf(error.message, undefined, ctx.auto.finish(), ctx.masker);
    }
    throw error;
  }
  for (const w of built.warnings) ctx.log.warn(w);

  const returned = await tool.run(built.task as never);
  if (returned !== undefined && (typeof returned !== "object" || returned === null || Array.isArray(returned))) {
    return failureReportOf(
      `run() must return an object like {message, metrics, output} or nothing, got ${describe(returned)}`,
      undefined,
      ctx.auto.finish(),
      ctx.masker,
    );
  }
  const r = returned ?? {};
  const output = { ...produced, ...(r.output ?? {}) };
  for (const [name, spec] of Object.entries(tool.outputs ?? {})) {
    if (!spec.optional && !(name in output) && input.output[name] !== undefined) {
      return failureReportOf(
        `output "${name}" was not produced: upload it with task.outputs.${name}.upload(…) or return it in "output"`,
        undefined,
        ctx.auto.finish(),
        ctx.masker,
      );
    }
  }
  for (const name of Object.keys(output)) {
    if (!(name in input.output)) {
      ctx.log.warn(`output "${name}" is not in the task's outputs, so the platform will not register it`);
    }
  }
  const own = { ...Object.fromEntries(built.metrics), ...(r.metrics ?? {}) };
  const automatic = tool.autoMetrics === false ? {} : { ...ctx.auto.finish(), ...files.transferred() };
  const metrics = withAutomaticMetrics(own, automatic);
  const candidate: Record<string, unknown> = {
    status: Status.Succeeded,
    message: r.message ?? `${tool.name} succeeded`,
    output,
    metrics,
  };
  return finalize(candidate, "run() returned an output", tool.metricsLimitBytes, ctx);
}

async function runPlain(
  run: PlainRun,
  json: Record<string, unknown>,
  input: TaskInput,
  ctx: RunContext,
): Promise<TaskOutput> {
  // The Python template's tools read json["input"] or json["inputs"]: give them both spellings.
  const compat = {
    ...json,
    input: input.input,
    inputs: input.input,
    output: input.output,
    outputs: input.output,
    parameters: input.parameters,
    minio: input.minio,
    ...(Object.keys(input.secrets).length > 0 ? { secrets: input.secrets } : {}),
  };
  const returned = await run(compat);
  if (returned === undefined || returned === null) {
    return failureReportOf(
      `run(json) returned ${returned === null ? "null" : "nothing"}: return {message, output, metrics, status}`,
      undefined,
      ctx.auto.finish(),
      ctx.masker,
    );
  }
  if (typeof returned !== "object" || Array.isArray(returned)) {
    return failureReportOf(
      `run(json) must return an object, got ${describe(returned)}`,
      undefined,
      ctx.auto.finish(),
      ctx.masker,
    );
  }
  const candidate: Record<string, unknown> = { ...(returned as Record<string, unknown>) };
  if ("outputs" in candidate && !("output" in candidate)) {
    candidate.output = candidate.outputs;
    delete candidate.outputs;
  }
  const auto = ctx.auto.finish();
  if (candidate.metrics === undefined) candidate.metrics = auto;
  else if (typeof candidate.metrics === "object" && candidate.metrics !== null && !Array.isArray(candidate.metrics)) {
    candidate.metrics = withAutomaticMetrics(candidate.metrics as Record<string, unknown>, auto);
  }
  return finalize(candidate, "run(json) returned an output", undefined, ctx);
}

/** Makes metrics JSON-safe, checks the platform's rules, and writes the status in our vocabulary. */
function finalize(
  candidate: Record<string, unknown>,
  what: string,
  metricsLimit: number | undefined,
  ctx: RunContext,
): TaskOutput {
  const auto = () => ctx.auto.finish();
  if (typeof candidate.metrics === "object" && candidate.metrics !== null && !Array.isArray(candidate.metrics)) {
    try {
      candidate.metrics = toJsonSafe(
        candidate.metrics as Record<string, unknown>,
        metricsLimit ?? DEFAULT_METRICS_LIMIT_BYTES,
      );
    } catch (error) {
      if (error instanceof MetricsError)
        return failureReportOf(`the metrics cannot be reported: ${error.message}`, undefined, auto(), ctx.masker);
      throw error;
    }
  }
  const check = checkTaskOutput(candidate);
  for (const v of check.violations) if (v.severity === "warning") ctx.log.warn(`${v.path}: ${v.message}`);
  if (!check.valid) return failureReportOf(invalidOutputMessage(what, check.violations), undefined, auto(), ctx.masker);
  const output = candidate as unknown as TaskOutput;
  const status = outcomeOf(output) === "succeeded" ? Status.Succeeded : Status.Failed;
  const final: TaskOutput = { ...output, status };
  if (status === Status.Failed && final.error === undefined) final.error = final.message ?? "the tool reported failure";
  // Every string: message, error, metrics values, output paths.
  return ctx.masker.maskValue(final);
}

async function loadInput(
  path: string,
  masker: Masker,
  log: Logger,
): Promise<{ task: TaskInput; json: Record<string, unknown> } | { failure: string }> {
  let text: string;
  try {
    const what = `the task input ${path}`;
    text = decodeUtf8(await readFileBounded(path, { what, maxBytes: MAX_INPUT_BYTES, followSymlinks: true }), what);
  } catch (error) {
    if (error instanceof ReadLimitError) return { failure: error.message };
    return { failure: `could not read the task input ${path}: ${(error as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { failure: `the task input ${path} is not valid JSON: ${(error as Error).message}` };
  }
  if (jsonDepth(json, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    return { failure: `the task input ${path} is nested more than ${MAX_JSON_DEPTH} levels deep` };
  }
  try {
    const { task, warnings } = readTaskInput(json);
    // Register secrets before anything is logged.
    for (const k of ["id", "key", "skey"] as const) masker.add(task.minio[k]);
    const tooShort = masker.addAll(task.secrets);
    for (const w of warnings) log.warn(w);
    for (const name of tooShort) log.warn(`secret "${name}" is too short to be masked in logs`);
    const body = json as Record<string, unknown>;
    const unwrapped = "result" in body && "success" in body ? (body.result as Record<string, unknown>) : body;
    return { task, json: unwrapped };
  } catch (error) {
    if (error instanceof TaskInputError) return { failure: `the task input is not usable: ${error.message}` };
    throw error;
  }
}

async function loadTool(modulePath: string | undefined): Promise<RunnableTool> {
  if (!modulePath) throw new Error("no tool given: pass the tool or the path of its module");
  const mod = (await import(pathToFileURL(resolve(modulePath)).href)) as Record<string, unknown>;
  const candidates = [mod.default, (mod.default as Record<string, unknown> | undefined)?.default, mod.tool, mod.run];
  for (const c of candidates) if (isToolDefinition(c)) return c;
  for (const c of [mod.run, mod.default]) if (typeof c === "function") return c as PlainRun;
  throw new Error(
    `${modulePath} exports neither a defineTool(...) default export nor a run(json) function; ` +
      `its exports: ${Object.keys(mod).join(", ") || "(none)"}`,
  );
}

/** Writes output.json, every string masked (the masker is required: no path writes a secret). */
function writeOutput(path: string, output: TaskOutput, masker: Masker): void {
  // Write then rename, so that a reader never sees half a file.
  const tmp = join(dirname(resolve(path)), `.${process.pid}.output.tmp`);
  writeFileSync(tmp, `${JSON.stringify(masker.maskValue(output), null, 2)}\n`);
  renameSync(tmp, path);
}

function describe(value: unknown): string {
  return Array.isArray(value) ? "a list" : value === null ? "null" : `a ${typeof value}`;
}

/** The runtime's failure reports: the one builder, with the error cut at {@link MAX_ERROR_CHARS}. */
function failureReportOf(
  message: string,
  details: string | undefined,
  metrics: Record<string, unknown>,
  masker: Masker,
): TaskOutput {
  return failureReport(message, details, metrics, masker, MAX_ERROR_CHARS);
}
