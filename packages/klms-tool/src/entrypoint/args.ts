/**
 * The command line of `klms-tool exec`: options first, then the arguments the platform's Job
 * passes, `<token> <endpoint_url> <task_id> <signature>` (or the seed's three, without the
 * signature). Every option can also come from an environment variable, so that an image can set
 * it in its Dockerfile without touching run.sh.
 */
import { parseArgs } from "node:util";

/** Everything the entrypoint needs to run one task. */
export interface EntrypointOptions {
  token: string;
  endpoint: string;
  taskId: string;
  /** Absent in the seed's 3-argument form, which selects the v1 routes. */
  signature?: string;
  /** The worker command as argv; `input.json output.json` are appended. With `workerThread`, the module alone. */
  worker: string[];
  /** The tool module to run in a worker thread of the entrypoint instead of a process (`--worker-thread`). */
  workerThread?: string;
  gracePeriodMs: number;
  /** Overall limit for the task; undefined for none. */
  timeoutMs?: number;
  requestTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
}

/** What the command line asks for. */
export type ParsedArgs =
  | { kind: "run"; options: EntrypointOptions }
  | { kind: "help" }
  | { kind: "usage"; error: string };

/** Defaults, chosen for a Kubernetes pod (30 s between SIGTERM and SIGKILL). */
export const ENTRYPOINT_DEFAULTS = {
  worker: "node dist/main.js",
  gracePeriodSeconds: 10,
  requestTimeoutSeconds: 30,
  retries: 5,
  retryDelaySeconds: 1,
} as const;

/** The usage text of `klms-tool exec`. */
export const ENTRYPOINT_HELP = `Usage: klms-tool exec [options] <token> <api_url> <task_id> <signature>
       klms-tool exec [options] <token> <api_url> <task_id>           (seed form: v1 routes)

Runs one KLMS task, as the platform's Kubernetes Job starts it (replaces run.sh):
  1. GET  <api_url>/api/v2/task/<task_id>/<signature>/input  (Authorization: <token>)
  2. run  <worker command> <tmp>/input.json <tmp>/output.json     (secrets masked in its logs)
  3. check output.json against the platform's rules; a missing or invalid output becomes a
     failure report that says exactly what was wrong
  4. POST <api_url>/api/v2/task/<task_id>/<signature>/output (no auth: the signature is the key)
With three arguments the seed's routes are used: GET <api_url>/api/v1/task/<task_id>/input and
POST <api_url>/api/v1/task/<task_id>/output with {"task_exec_id", "output_json"}, both with the token.

Options (each also read from the environment variable shown; the option wins):
  --worker <command>        The worker command, split like a shell would (quotes allowed, no
                            expansion), run in the current directory. "node" means this Node.
                            [KLMS_WORKER] default: "${ENTRYPOINT_DEFAULTS.worker}"
                            e.g. --worker "python3 -u main.py"
  --worker-thread <module>  Run the tool module (which ends with main(import.meta, tool)) in a
                            worker thread of this process instead of a second Node: it loads
                            while the input is fetched, and saves a Node start (60 to 90 ms,
                            a sixth of a no-op task). A crash in native code then ends the
                            entrypoint too, so the platform learns nothing; keep the default
                            child process for tools with native addons.
                            [KLMS_WORKER_THREAD] e.g. --worker-thread bundle/tool/main.mjs
  --grace-period <seconds>  After SIGTERM/SIGINT or the timeout, how long the worker may take to
                            stop. The worker gets it too (KLMS_GRACE_PERIOD): a Node tool is
                            reported cancelled by its runtime when it ends; 1 s later whatever
                            still runs of the worker's process group is killed (SIGKILL). Keep
                            it well under the pod's terminationGracePeriodSeconds (30 s).
                            [KLMS_GRACE_PERIOD] default: ${ENTRYPOINT_DEFAULTS.gracePeriodSeconds}
  --timeout <seconds>       Overall time limit of the task, counted from the start; when it is
                            reached the worker is stopped and the task reported failed.
                            [KLMS_TIMEOUT] default: none
  --request-timeout <seconds>
                            Time limit of each request to the Data API.
                            [KLMS_REQUEST_TIMEOUT] default: ${ENTRYPOINT_DEFAULTS.requestTimeoutSeconds}
  --retries <n>             Retries of a request after a network error, a timeout, 408, 429 or
                            5xx (exponential backoff with full jitter; Retry-After respected).
                            [KLMS_RETRIES] default: ${ENTRYPOINT_DEFAULTS.retries}
  --retry-delay <seconds>   First backoff ceiling; it doubles on each retry, up to 30 s.
                            [KLMS_RETRY_DELAY] default: ${ENTRYPOINT_DEFAULTS.retryDelaySeconds}
  -h, --help                Print this help.

Exit codes:
  0  the platform recorded the task's outcome (succeeded or failed), or already had one (409)
  2  wrong arguments
  3  the task input could not be fetched
  4  the task output could not be posted; the output is printed on stdout as a recovery record
`;

/** Parses the arguments after `exec`; `env` supplies the options' defaults. */
export function parseEntrypointArgs(argv: string[], env: NodeJS.ProcessEnv = process.env): ParsedArgs {
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(argv);
  } catch (err) {
    return { kind: "usage", error: err instanceof Error ? err.message : String(err) };
  }
  const { values, positionals } = parsed;
  if (values.help) return { kind: "help" };
  if (positionals.length !== 3 && positionals.length !== 4) {
    return {
      kind: "usage",
      error: `expected 4 arguments <token> <endpoint_url> <task_id> <signature> (or the seed's 3), got ${positionals.length}`,
    };
  }
  const [token, endpoint, taskId, signature] = positionals as [string, string, string, string | undefined];
  for (const [name, value] of [
    ["token", token],
    ["endpoint_url", endpoint],
    ["task_id", taskId],
    ["signature", signature],
  ] as const) {
    if (value !== undefined && value.trim() === "") return { kind: "usage", error: `the ${name} argument is empty` };
  }

  try {
    if (values.worker !== undefined && values["worker-thread"] !== undefined) {
      throw new Error("--worker and --worker-thread exclude each other: run the tool as a process or in a thread");
    }
    const workerThread =
      values["worker-thread"] ?? (values.worker === undefined ? env.KLMS_WORKER_THREAD || undefined : undefined);
    if (workerThread !== undefined && workerThread.trim() === "")
      throw new Error("--worker-thread: the module is empty");
    const workerText = values.worker ?? env.KLMS_WORKER ?? ENTRYPOINT_DEFAULTS.worker;
    const worker = workerThread !== undefined ? [workerThread] : splitCommand(workerText);
    if (worker.length === 0) throw new Error("--worker: the command is empty");
    const gracePeriod = seconds(
      "--grace-period",
      values["grace-period"] ?? env.KLMS_GRACE_PERIOD,
      ENTRYPOINT_DEFAULTS.gracePeriodSeconds,
      0,
    );
    const timeout = seconds("--timeout", values.timeout ?? env.KLMS_TIMEOUT, 0, 0);
    const requestTimeout = seconds(
      "--request-timeout",
      values["request-timeout"] ?? env.KLMS_REQUEST_TIMEOUT,
      ENTRYPOINT_DEFAULTS.requestTimeoutSeconds,
      0.001,
    );
    const retries = seconds("--retries", values.retries ?? env.KLMS_RETRIES, ENTRYPOINT_DEFAULTS.retries, 0);
    if (!Number.isInteger(retries)) throw new Error("--retries must be a whole number");
    const retryDelay = seconds(
      "--retry-delay",
      values["retry-delay"] ?? env.KLMS_RETRY_DELAY,
      ENTRYPOINT_DEFAULTS.retryDelaySeconds,
      0,
    );
    const options: EntrypointOptions = {
      token,
      endpoint,
      taskId,
      worker,
      gracePeriodMs: Math.round(gracePeriod * 1000),
      requestTimeoutMs: Math.round(requestTimeout * 1000),
      retries,
      retryDelayMs: Math.round(retryDelay * 1000),
    };
    if (signature !== undefined) options.signature = signature;
    if (workerThread !== undefined) options.workerThread = workerThread;
    if (timeout > 0) options.timeoutMs = Math.round(timeout * 1000);
    return { kind: "run", options };
  } catch (err) {
    return { kind: "usage", error: err instanceof Error ? err.message : String(err) };
  }
}

function parseOptions(argv: string[]) {
  return parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      worker: { type: "string" },
      "worker-thread": { type: "string" },
      "grace-period": { type: "string" },
      timeout: { type: "string" },
      "request-timeout": { type: "string" },
      retries: { type: "string" },
      "retry-delay": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
}

function seconds(name: string, raw: string | undefined, fallback: number, min: number): number {
  if (raw === undefined || raw.trim() === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`${name} must be a number${min > 0 ? " above 0" : " ≥ 0"}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

/**
 * Splits a command line into argv the way a POSIX shell splits words: blanks separate, single
 * quotes keep everything, double quotes keep all but `\"` and `\\`, a backslash escapes one
 * character. No variables, globs or operators: the worker is spawned without a shell.
 */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === "\\" && (text[i + 1] === '"' || text[i + 1] === "\\")) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`--worker: unbalanced ${quote} quote in ${JSON.stringify(text)}`);
  if (inWord) words.push(word);
  return words;
}
