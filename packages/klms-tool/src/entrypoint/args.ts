/**
 * The command line of `klms-tool exec`: options first, then the arguments the platform's Job
 * passes, `<token> <endpoint_url> <task_id> <signature>` (or the Python template's three, without the
 * signature). Every option can also come from an environment variable, so that an image can set
 * it in its Dockerfile without touching run.sh.
 */
import { parseArgs } from "node:util";
import { entrypointOptionsHelp } from "../config/docs.js";
import { OPTIONS, type OptionName } from "../config/options.js";
import { type Env, readOptions } from "../config/read.js";

/** Everything the entrypoint needs to run one task. */
export interface EntrypointOptions {
  token: string;
  endpoint: string;
  taskId: string;
  /** Absent in the Python template's 3-argument form, which selects the v1 routes. */
  signature?: string;
  /** The worker command as argv; `input.json output.json` are appended. With `workerThread`, the module alone. */
  worker: string[];
  /** The tool module to run in a worker thread of the entrypoint instead of a process (`--worker-thread`). */
  workerThread?: string;
  /** The tool module to run as a process started ahead of the input (`--worker-module`); `worker` is then `node <module>`. */
  workerModule?: string;
  /** `--grace-period` in milliseconds (the table's `gracePeriod`, default 10 s). */
  gracePeriodMs: number;
  /** `--timeout` in milliseconds: overall limit for the task; undefined for none. */
  timeoutMs?: number;
  /** `--request-timeout` in milliseconds (default 30 s). */
  requestTimeoutMs: number;
  /** `--retries` (default 5). */
  retries: number;
  /** `--retry-delay` in milliseconds (default 1 s). */
  retryDelayMs: number;
}

/** What the command line asks for. */
export type ParsedArgs =
  | {
      kind: "run";
      options: EntrypointOptions;
      /** What the entrypoint logs as a warning once it can (e.g. a worker variable that was ignored). */
      warnings: string[];
    }
  | { kind: "help" }
  | {
      kind: "usage";
      error: string;
      /**
       * The task the arguments name, when they are whole and only an option's value is wrong
       * (typically an environment variable the image sets): the entrypoint can still tell the
       * platform why the task cannot run, instead of leaving it "created" through every retry.
       */
      task?: Pick<EntrypointOptions, "token" | "endpoint" | "taskId" | "signature">;
    };

/** Defaults, chosen for a Kubernetes pod (30 s between SIGTERM and SIGKILL): read from the one table. */
export const ENTRYPOINT_DEFAULTS = {
  worker: OPTIONS.worker.default,
  gracePeriodSeconds: OPTIONS.gracePeriod.default,
  requestTimeoutSeconds: OPTIONS.requestTimeout.default,
  retries: OPTIONS.retries.default,
  retryDelaySeconds: OPTIONS.retryDelay.default,
} as const;

/** The options that have a `klms-tool exec` flag. */
type FlaggedName = { [K in OptionName]: (typeof OPTIONS)[K] extends { flag: string } ? K : never }[OptionName];

/** The three ways to run the tool, of which one is chosen. */
const WORKER_CHOICES = ["worker", "workerModule", "workerThread"] as const;

/** The options of `klms-tool exec` that have a flag, in the table's order. */
const FLAGGED = (Object.keys(OPTIONS) as OptionName[]).filter((name) => "flag" in OPTIONS[name]) as FlaggedName[];

/** The usage text of `klms-tool exec`; its options section is made from the table (src/config/options.ts). */
export const ENTRYPOINT_HELP = `Usage: klms-tool exec [options] <token> <api_url> <task_id> <signature>
       klms-tool exec [options] <token> <api_url> <task_id>   (the Python template's form: v1 routes)

Runs one KLMS task, as the platform's Kubernetes Job starts it (replaces run.sh):
  1. GET  <api_url>/api/v2/task/<task_id>/<signature>/input  (Authorization: <token>)
  2. run  <worker command> <tmp>/input.json <tmp>/output.json     (secrets masked in its logs)
  3. check output.json against the platform's rules; a missing or invalid output becomes a
     failure report that says exactly what was wrong
  4. POST <api_url>/api/v2/task/<task_id>/<signature>/output (no auth: the signature is the key)
With three arguments the Python template's routes are used: GET <api_url>/api/v1/task/<task_id>/input and
POST <api_url>/api/v1/task/<task_id>/output with {"task_exec_id", "output_json"}, both with the token.

Options (each also read from the environment variable shown; the option wins; durations in seconds):
${entrypointOptionsHelp()}
Exit codes:
  0  the platform recorded the task's outcome (succeeded or failed), or already had one (409);
     when it refused the tool's output, a failure report took its place (the output is printed
     on stdout as a recovery record)
  2  wrong arguments (when they name a task and only an option's value is wrong, the platform
     is told why)
  3  the task input could not be fetched
  4  neither the task output nor a failure report could be posted; the output is printed on
     stdout as a recovery record
`;

/** Parses the arguments after `exec`; `env` supplies the options' defaults. */
export function parseEntrypointArgs(argv: string[], env: Env = process.env): ParsedArgs {
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
      error: `expected 4 arguments <token> <endpoint_url> <task_id> <signature> (or the Python template's 3), got ${positionals.length}`,
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
  const task: Pick<EntrypointOptions, "token" | "endpoint" | "taskId" | "signature"> = { token, endpoint, taskId };
  if (signature !== undefined) task.signature = signature;
  try {
    const warnings = ignoredWorkerVariables(values, env);
    return { kind: "run", options: { ...task, ...readFlagged(values, env) }, warnings };
  } catch (err) {
    return { kind: "usage", error: err instanceof Error ? err.message : String(err), task };
  }
}

/**
 * The environment may name more than one way to run the tool (an image's `ENV` and a run's `-e`):
 * then the thread beats the module, which beats the command, and the others are ignored, which
 * is said (a flag replaces all three without a word: the option wins).
 */
function ignoredWorkerVariables(values: Record<string, string | boolean | undefined>, env: Env): string[] {
  if (WORKER_CHOICES.some((name) => typeof values[OPTIONS[name].flag.slice(2)] === "string")) return [];
  const set = (["workerThread", "workerModule", "worker"] as const).filter((name) => env[OPTIONS[name].env]);
  if (set.length < 2) return [];
  const [chosen, ...ignored] = set.map((name) => OPTIONS[name].env);
  return [
    `${[chosen, ...ignored].join(" and ")} are ${set.length === 2 ? "both" : "all"} set: ${chosen} is used (the thread beats the module, which beats the command), ${ignored.join(" and ")} ignored; unset what you do not mean`,
  ];
}

/** The worker and the durations, from the flags, else the environment, else the table's defaults. */
function readFlagged(
  values: Record<string, string | boolean | undefined>,
  env: Env,
): Omit<EntrypointOptions, "token" | "endpoint" | "taskId" | "signature"> {
  const flags: Partial<Record<FlaggedName, string>> = {};
  for (const name of FLAGGED) {
    const value = values[OPTIONS[name].flag.slice(2)];
    if (typeof value === "string") flags[name] = value;
  }
  const given = WORKER_CHOICES.filter((name) => flags[name] !== undefined);
  if (given.length > 1) {
    throw new Error(
      `${given.map((name) => OPTIONS[name].flag).join(" and ")} exclude each other: choose how the tool runs (a command, a module in its own process, or a module in a thread)`,
    );
  }
  // A choice on the command line beats the environment's; in the environment, the thread beats
  // the module, which beats the command (run.sh sets the module only when neither other is set).
  const chosenEnv =
    given.length === 0 ? env : { ...env, [OPTIONS.workerThread.env]: undefined, [OPTIONS.workerModule.env]: undefined };
  const { values: o } = readOptions(FLAGGED, chosenEnv, flags);
  for (const name of ["workerThread", "workerModule"] as const) {
    if (o[name] !== undefined && o[name].trim() === "") throw new Error(`${OPTIONS[name].flag}: the module is empty`);
  }
  const module = o.workerThread ?? o.workerModule;
  const worker =
    o.workerThread !== undefined ? [o.workerThread] : module !== undefined ? ["node", module] : splitCommand(o.worker);
  if (worker.length === 0) throw new Error("--worker: the command is empty");
  const options: Omit<EntrypointOptions, "token" | "endpoint" | "taskId" | "signature"> = {
    worker,
    gracePeriodMs: Math.round(o.gracePeriod * 1000),
    requestTimeoutMs: Math.round(o.requestTimeout * 1000),
    retries: o.retries,
    retryDelayMs: Math.round(o.retryDelay * 1000),
  };
  if (o.workerThread !== undefined) options.workerThread = o.workerThread;
  else if (o.workerModule !== undefined) options.workerModule = o.workerModule;
  if (o.timeout !== undefined) options.timeoutMs = Math.round(o.timeout * 1000);
  return options;
}

function parseOptions(argv: string[]) {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const name of FLAGGED) options[OPTIONS[name].flag.slice(2)] = { type: "string" };
  return parseArgs({ args: argv, allowPositionals: true, strict: true, options });
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
