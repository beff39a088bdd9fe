/**
 * `klms-tool exec`: the entrypoint of a tool image, in place of run.sh. It fetches the task input,
 * runs the worker on it in a private folder, checks what the worker wrote and posts the outcome,
 * so that the platform always learns how a task ended: with the tool's own output, or with a
 * failure report that says what went wrong. Light on imports on purpose: it starts every task.
 */
import type { EventEmitter } from "node:events";
import type { Writable } from "node:stream";
import { isObject } from "../contract/errors.js";
import { readTaskInput, type TaskOutput } from "../contract/index.js";
import { ExitCode } from "../exit-codes.js";
import { createLogger, type Logger, logSettings } from "../log/logger.js";
import { Masker } from "../log/mask.js";
import { fetchTaskInput, PlatformError, postTaskOutput, type TaskCallOptions } from "../platform/client.js";
import type { FetchLike } from "../platform/http.js";
import { DEFAULT_RETRY_POLICY } from "../platform/retry.js";
import { type TaskRoutes, taskRoutes } from "../platform/routes.js";
import { failureReport } from "../worker/report.js";
import { ENTRYPOINT_HELP, type EntrypointOptions, parseEntrypointArgs } from "./args.js";
import { decideReport, describeWorkerEnd, maskReport } from "./report.js";
import {
  type Cancellation,
  deadlineAfterCancel,
  describeCancel,
  isCancelReason,
  watchCancellation,
} from "./signals.js";
import { summarizeInput } from "./summary.js";
import { superviseWorker, type WorkerEnd, WorkerProcess } from "./supervisor.js";
import { WorkerThread } from "./thread.js";
import { withUsage } from "./usage.js";
import { readOutputFile } from "./worker-output.js";
import { createWorkspace, type Workspace } from "./workspace.js";

export {
  ENTRYPOINT_DEFAULTS,
  ENTRYPOINT_HELP,
  type EntrypointOptions,
  type ParsedArgs,
  parseEntrypointArgs,
  splitCommand,
} from "./args.js";
export { type CancelReason, describeCancel } from "./signals.js";
export type { WorkerEnd } from "./supervisor.js";

/** Where the entrypoint reads and writes; every field defaults to the process's own. */
export interface EntrypointIO {
  stdout?: Writable;
  stderr?: Writable;
  env?: NodeJS.ProcessEnv;
  /** The worker's working directory (the image's WORKDIR). */
  cwd?: string;
  /** Where SIGTERM/SIGINT are heard; `process` by default. */
  signals?: EventEmitter;
  /** Replaces the built-in HTTP client (tests); the global `fetch` fits. */
  fetch?: FetchLike;
  /** Randomness for the retry jitter. */
  random?: () => number;
  /** Parent folder of the task's private workspace; the system's temporary directory by default. */
  tmpDir?: string;
  /**
   * Sets the process title, which replaces the command line shown in /proc/<pid>/cmdline and
   * `ps` (the token and the signature are arguments); sets `process.title` by default.
   */
  setTitle?: (title: string) => void;
}

/** How long a post may take once the task was cancelled: the pod is SIGKILLed 30 s after SIGTERM. */
const CANCELLED_POST_BUDGET_MS = 15_000;

/**
 * Runs one task, as the platform's Job starts it: `argv` are the arguments after `klms-tool exec`.
 * Resolves to the process exit code: 0 once the platform has recorded the outcome (whatever it
 * is), 2 for wrong arguments, 3 when the input could not be fetched, 4 when the output could not
 * be posted (the output is then printed on stdout as a recovery record).
 *
 * Input failures: when the token is refused (401/403), the request is rejected (4xx) or the reply
 * is unusable, and a signature is known (v2), a failure report is also posted, so that the task
 * does not stay "running" with no word of why; the exit code is still 3. Transient failures
 * (network, 5xx, 429 after every retry) and 404 post nothing: the Job's next pod may succeed,
 * and an unknown task cannot be reported on.
 */
export async function runEntrypoint(argv: string[], io: EntrypointIO = {}): Promise<ExitCode> {
  // First of all: on Linux this overwrites the arguments' memory, so the token and the signature
  // leave /proc/<pid>/cmdline (they were readable there while Node started).
  const setTitle = io.setTitle ?? ((title: string) => (process.title = title));
  setTitle("klms-tool exec");
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;

  const parsed = parseEntrypointArgs(argv, env);
  if (parsed.kind === "help") {
    stdout.write(ENTRYPOINT_HELP);
    return ExitCode.Success;
  }
  if (parsed.kind === "usage") {
    stderr.write(`klms-tool exec: ${maskedError(parsed)}\n\n${ENTRYPOINT_HELP}`);
    if (parsed.task) await reportUnusableOptions(parsed.task, parsed.error, io, stderr, env);
    return ExitCode.Usage;
  }
  const options = parsed.options;
  setTitle(`klms-tool exec task ${options.taskId}`);
  let routes: TaskRoutes;
  try {
    routes = taskRoutes(options.endpoint, options.taskId, options.signature);
  } catch (err) {
    stderr.write(`klms-tool exec: ${(err as Error).message}\n\n${ENTRYPOINT_HELP}`);
    return ExitCode.Usage;
  }

  const masker = new Masker();
  masker.add(options.token);
  if (options.signature !== undefined) masker.add(options.signature);
  const { warnings, ...logging } = logSettings(env);
  const log = createLogger({ source: "entrypoint", masker, write: (line) => stderr.write(line), ...logging });
  for (const warning of [...parsed.warnings, ...warnings]) log.warn(warning);
  const cancellation = watchCancellation({ emitter: io.signals, timeoutMs: options.timeoutMs });
  const task = new TaskRun({ options, routes, masker, log, cancellation, io, stdout, stderr, env });
  try {
    return await task.run();
  } finally {
    cancellation.dispose();
  }
}

/** A usage error's text, with the task's token and signature masked (they may be quoted in it). */
function maskedError(parsed: { error: string; task?: { token: string; signature?: string } }): string {
  if (!parsed.task) return parsed.error;
  const masker = new Masker();
  masker.add(parsed.task.token);
  if (parsed.task.signature !== undefined) masker.add(parsed.task.signature);
  return masker.mask(parsed.error);
}

/**
 * The arguments name a task but an option's value is wrong (a flag or, typically, an environment
 * variable the image sets, such as `KLMS_TIMEOUT=30m`): every pod of the Job would fail the same
 * way, so the platform is told why (v2 only: the seed's routes have no signature to post with).
 */
async function reportUnusableOptions(
  task: Pick<EntrypointOptions, "token" | "endpoint" | "taskId" | "signature">,
  error: string,
  io: EntrypointIO,
  stderr: Writable,
  env: NodeJS.ProcessEnv,
): Promise<void> {
  if (task.signature === undefined) return;
  let routes: TaskRoutes;
  try {
    routes = taskRoutes(task.endpoint, task.taskId, task.signature);
  } catch {
    return; // An unusable URL: there is nowhere to post.
  }
  const masker = new Masker();
  masker.add(task.token);
  masker.add(task.signature);
  const { warnings: _, ...logging } = logSettings(env);
  const log = createLogger({ source: "entrypoint", masker, write: (line) => stderr.write(line), ...logging });
  const message = `The tool's image could not start the task: ${error}. Fix that option (its flag in the image's entrypoint or its environment variable), then run the task again. The worker did not run.`;
  const client: TaskCallOptions = {};
  if (io.fetch) client.fetch = io.fetch;
  if (io.random) client.random = io.random;
  await postFailureReport(routes, task.token, failureReport(message, error, {}, masker), masker, client, log);
}

/** Posts a failure report the entrypoint wrote; logs the outcome, never throws (the caller's exit code stands). */
async function postFailureReport(
  routes: TaskRoutes,
  token: string,
  report: TaskOutput,
  masker: Masker,
  client: TaskCallOptions,
  log: Logger,
): Promise<boolean> {
  try {
    const posted = await postTaskOutput(routes, token, maskReport(report, masker), client);
    log.info("failure report posted", { outcome: posted.outcome });
    return true;
  } catch (postErr) {
    log.warn(`the failure report could not be posted either: ${masker.mask((postErr as Error).message)}`);
    return false;
  }
}

/** What a {@link TaskRun} is made of, by name (it took nine positional arguments). */
interface TaskRunParts {
  options: EntrypointOptions;
  routes: TaskRoutes;
  masker: Masker;
  log: Logger;
  cancellation: Cancellation;
  io: EntrypointIO;
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
}

/** One task run: the steps of {@link runEntrypoint} sharing their state. */
class TaskRun {
  readonly options: EntrypointOptions;
  readonly routes: TaskRoutes;
  /** Every secret known so far (token, signature, then the input's credentials and secrets). */
  readonly masker: Masker;
  readonly log: Logger;
  readonly cancellation: Cancellation;
  readonly io: EntrypointIO;
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** The environment the options were read from, passed on to the worker. */
  readonly env: NodeJS.ProcessEnv;
  #workspace: Workspace | undefined;
  /** With `--worker-thread`: the tool, loading from the start so that it is ready when the input is. */
  #thread: WorkerThread | undefined;
  /** With `--worker-module`: the tool's process, started (and loading) before the input is fetched. */
  #process: WorkerProcess | undefined;

  constructor(run: TaskRunParts) {
    this.options = run.options;
    this.routes = run.routes;
    this.masker = run.masker;
    this.log = run.log;
    this.cancellation = run.cancellation;
    this.io = run.io;
    this.stdout = run.stdout;
    this.stderr = run.stderr;
    this.env = run.env;
  }

  client(signal?: AbortSignal): TaskCallOptions {
    const client: TaskCallOptions = {
      requestTimeoutMs: this.options.requestTimeoutMs,
      retry: {
        retries: this.options.retries,
        baseDelayMs: this.options.retryDelayMs,
        maxDelayMs: DEFAULT_RETRY_POLICY.maxDelayMs,
      },
      onRetry: (n) =>
        this.log.warn(`request failed (${n.reason}); retrying in ${(n.delayMs / 1000).toFixed(2)} s`, {
          attempt: n.attempt,
        }),
    };
    if (signal) client.signal = signal;
    if (this.io.fetch) client.fetch = this.io.fetch;
    if (this.io.random) client.random = this.io.random;
    return client;
  }

  async run(): Promise<ExitCode> {
    const { options, routes, log } = this;
    log.info("task starting", {
      task: options.taskId,
      api: routes.version,
      endpoint: new URL(routes.input).origin,
      worker: options.workerThread ? `${options.workerThread} (worker thread)` : options.worker.join(" "),
      timeout_s: options.timeoutMs === undefined ? "none" : options.timeoutMs / 1000,
    });

    if (options.workerThread) {
      this.#thread = new WorkerThread({
        module: options.workerThread,
        cwd: this.io.cwd ?? process.cwd(),
        env: workerEnv(this.env, options),
        stdout: this.stdout,
        stderr: this.stderr,
        masker: this.masker,
      });
    }
    if (options.workerModule) {
      this.#process = new WorkerProcess({
        command: options.worker,
        cwd: this.io.cwd ?? process.cwd(),
        env: workerEnv(this.env, options),
        stdout: this.stdout,
        stderr: this.stderr,
        masker: this.masker,
      });
    }
    try {
      return await this.fetchAndRun();
    } finally {
      // A worker whose task never started (input refused, cancelled early) must not outlive the run.
      await this.#thread?.dispose();
      await this.#process?.dispose();
    }
  }

  async fetchAndRun(): Promise<ExitCode> {
    const { options, routes, log } = this;
    let result: Record<string, unknown>;
    try {
      result = (await fetchTaskInput(routes, options.token, this.client(this.cancellation.signal))).result;
    } catch (err) {
      return this.inputFailed(err);
    }
    // From here on every credential of the input is masked, in our logs and in the worker's.
    const minio = isObject(result.minio) ? result.minio : {};
    for (const key of ["id", "key", "skey"]) this.masker.add(minio[key]);
    const tooShort = this.masker.addAll(result.secrets);
    if (tooShort.length) log.warn("some secrets are too short to be masked in logs", { secrets: tooShort.join(",") });

    let input: ReturnType<typeof readTaskInput>;
    try {
      input = readTaskInput(result);
    } catch (err) {
      return this.inputFailed(err);
    }
    log.info("input fetched", summarizeInput(input.task));
    for (const warning of input.warnings) log.warn(warning);

    try {
      return await this.superviseAndReport(result);
    } catch (err) {
      // A bug or an environment problem (no temporary directory, …): still tell the platform.
      log.error("the entrypoint failed", { error: (err as Error)?.stack ?? String(err) });
      return this.post(
        failureReport(
          `The entrypoint failed before the task could finish: ${(err as Error)?.message ?? err}`,
          String((err as Error)?.stack ?? err),
          {},
          this.masker,
        ),
        "entrypoint",
      );
    } finally {
      await this.#workspace?.remove();
    }
  }

  async superviseAndReport(result: Record<string, unknown>): Promise<ExitCode> {
    const { options, log } = this;
    if (this.cancellation.signal.aborted) return this.cancelledEarly();
    this.#workspace = await createWorkspace(result, this.io.tmpDir);
    const { inputPath, outputPath } = this.#workspace;
    let worker: WorkerEnd;
    if (this.#thread) {
      log.info("worker starting", { thread: options.workerThread });
      worker = await this.#thread.run({
        inputPath,
        outputPath,
        gracePeriodMs: options.gracePeriodMs,
        cancellation: this.cancellation,
        log,
      });
    } else if (this.#process) {
      log.info("worker starting", { command: options.worker.join(" "), spawned: "before the input" });
      worker = await this.#process.run({
        inputPath,
        outputPath,
        gracePeriodMs: options.gracePeriodMs,
        cancellation: this.cancellation,
        log,
      });
    } else {
      log.info("worker starting", { command: options.worker.join(" ") });
      worker = await superviseWorker({
        command: options.worker,
        inputPath,
        outputPath,
        cwd: this.io.cwd ?? process.cwd(),
        env: workerEnv(this.env, options),
        stdout: this.stdout,
        stderr: this.stderr,
        masker: this.masker,
        gracePeriodMs: options.gracePeriodMs,
        cancellation: this.cancellation,
        log,
      });
    }
    log.info(describeWorkerEnd(worker, options.worker), {
      exit_code: worker.exitCode,
      signal: worker.signal,
      seconds: worker.durationMs / 1000,
    });
    const file = await readOutputFile(this.#workspace.outputPath);
    await this.#workspace.remove();

    const decided = decideReport(worker, file, options.worker, this.masker);
    // Tools that measure nothing themselves (a Python main.py) still get the Python template's metrics.
    const report = worker.usage ? { ...decided, output: withUsage(decided.output, worker.usage) } : decided;
    if (file.kind === "valid") for (const w of file.warnings) log.warn(`output.json: ${w.path}: ${w.message}`);
    if (report.source === "worker" && worker.exitCode !== 0) {
      log.warn("the worker exited with an error but wrote a valid output.json: posting it as its own report");
    }
    return this.post(report.output, report.source);
  }

  async cancelledEarly(): Promise<ExitCode> {
    const reason = this.cancellation.signal.reason;
    const what = isCancelReason(reason) ? describeCancel(reason) : "cancelled";
    return this.post(failureReport(`Task ${what} before the worker started.`, what, {}, this.masker), "entrypoint");
  }

  async inputFailed(err: unknown): Promise<ExitCode> {
    const { log, routes } = this;
    if (err instanceof PlatformError && err.code === "aborted") return this.cancelledEarly();
    const message = err instanceof Error ? err.message : String(err);
    const status = err instanceof PlatformError ? err.status : undefined;
    const hint = status === 401 ? " (the token was refused: it may have expired; tokens live 3 h)" : "";
    log.error(`the task input could not be fetched: ${message}${hint}`);
    const definitive = !(err instanceof PlatformError) || ["auth", "rejected", "invalid-reply"].includes(err.code);
    if (definitive && routes.version === "v2") {
      const report = failureReport(
        `The task input could not be fetched: ${message}${hint}. The worker did not run.`,
        message,
        {},
        this.masker,
      );
      const deadline = deadlineAfterCancel(this.cancellation.signal, CANCELLED_POST_BUDGET_MS);
      try {
        await postFailureReport(routes, this.options.token, report, this.masker, this.client(deadline.signal), log);
      } finally {
        deadline.dispose();
      }
    }
    return ExitCode.InputFetchFailed;
  }

  async post(output: TaskOutput, source: "worker" | "entrypoint"): Promise<ExitCode> {
    const { log } = this;
    const body = maskReport(output, this.masker);
    const fields: Record<string, unknown> = { status: body.status, source };
    if (body.output) fields.outputs = Object.keys(body.output).join(",") || "(none)";
    if (source === "entrypoint") fields.message = body.message;
    log.info("posting the task output", fields);
    // Whenever the signal comes (before the post or during it), the post has 15 s from then.
    const deadline = deadlineAfterCancel(this.cancellation.signal, CANCELLED_POST_BUDGET_MS);
    try {
      const posted = await postTaskOutput(this.routes, this.options.token, body, this.client(deadline.signal));
      if (posted.outcome === "conflict") {
        log.warn(
          "the platform already had an outcome for this task (HTTP 409 on the first post): it was terminated or finished by another run; this run's output was not recorded",
          { detail: posted.detail ?? "" },
        );
      } else {
        log.info(
          posted.outcome === "recorded"
            ? "task output recorded"
            : "task output already recorded (HTTP 409 after a lost reply)",
          {
            attempts: posted.attempts,
          },
        );
      }
      return ExitCode.Success;
    } catch (err) {
      const abandoned = err instanceof PlatformError && err.code === "aborted";
      const why = abandoned
        ? `the task was cancelled and the post did not finish within ${CANCELLED_POST_BUDGET_MS / 1000} s of the signal`
        : (err as Error).message;
      log.error(`the task output could not be posted: ${why}`);
      const recorded = !abandoned && (await this.postInstead(body, err, deadline.signal));
      let record: string;
      try {
        record = this.masker.mask(JSON.stringify(body));
      } catch (serialising) {
        // Checked outputs cannot get here (depth is bounded); say so rather than promise a record.
        log.error(`the output cannot be serialised, so no recovery record follows: ${(serialising as Error).message}`);
        return ExitCode.OutputPostFailed;
      }
      log.error("the output follows on standard output as a recovery record");
      this.stdout.write(`${record}\n`);
      return recorded ? ExitCode.Success : ExitCode.OutputPostFailed;
    } finally {
      deadline.dispose();
    }
  }

  /**
   * The tool's output was refused, or may have been half applied (outputs registered, state not
   * set): posts a failure report without outputs in its place, so that the task does not stay
   * "running" and no output is registered twice. Not after a refused signature (the same refusal
   * would follow) nor after retries without an answer. True when the platform recorded it.
   */
  async postInstead(body: TaskOutput, err: unknown, signal: AbortSignal): Promise<boolean> {
    // No answer at all (the API is unreachable) or the signature refused: a second post would fare no better.
    if (err instanceof PlatformError && (err.code === "auth" || err.status === undefined)) return false;
    const why = this.masker.mask((err as Error).message);
    const report = failureReport(
      `The tool ended with status ${JSON.stringify(body.status)}, but the platform did not accept its output: ${why}. No output of this run is registered; the output document is in the pod's log as a recovery record.`,
      why,
      {},
      this.masker,
    );
    this.log.warn("posting a failure report in place of the refused output");
    return postFailureReport(this.routes, this.options.token, report, this.masker, this.client(signal), this.log);
  }
}

/**
 * The worker's environment: the entrypoint's, plus the grace period (seconds, the one value the
 * kit's worker runtime and the entrypoint share) and the switches that make language runtimes
 * write their output as it comes rather than in blocks lost when the worker is killed (Python).
 * A value the image or the caller set is kept.
 */
function workerEnv(env: NodeJS.ProcessEnv, options: EntrypointOptions): NodeJS.ProcessEnv {
  return {
    PYTHONUNBUFFERED: "1",
    ...env,
    KLMS_GRACE_PERIOD: String(options.gracePeriodMs / 1000),
  };
}
