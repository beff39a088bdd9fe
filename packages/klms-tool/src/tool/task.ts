import type { z } from "zod";
import type { TaskInput } from "../contract/input.js";
import { KlmsError } from "../errors.js";
import type { Logger } from "../log/logger.js";
import type { Storage } from "../storage/storage.js";
import type { InputFile, OutputTarget } from "../storage/task-files.js";
import type { InputGroupSpec, OutputSpec, ToolDefinition } from "./define.js";
import { parseParameters } from "./parameters.js";

/** Raised when the task does not fit the tool's declaration (input counts, output targets, secrets). */
export class TaskValidationError extends KlmsError<"BadTask"> {
  override name = "TaskValidationError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("BadTask", message, options);
  }
}

/** Raised when a tool reads `task.secrets` but the platform did not send them. */
export class SecretsUnavailableError extends KlmsError<"SecretsUnavailable"> {
  override name = "SecretsUnavailableError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("SecretsUnavailable", message, options);
  }
}

/**
 * `task.signal.reason` once the task is cancelled: an Error, so that the usual idioms
 * (`signal.throwIfAborted()`, `events.once(…, { signal })`, rejecting with the reason) throw an
 * Error. Its `name` is "AbortError", as the platform's own aborts (`AbortSignal.timeout()`, a
 * fetch's abort) name theirs, so code that checks `error.name === "AbortError"` knows it;
 * `instanceof KlmsError` and `code` "Cancelled" tell it apart.
 */
export class TaskCancelledError extends KlmsError<"Cancelled"> {
  override name = "AbortError";
  /** The signal the worker received, e.g. "SIGTERM" (a timeout arrives as SIGTERM too). */
  readonly signal: NodeJS.Signals;
  constructor(signal: NodeJS.Signals) {
    super("Cancelled", `the task was cancelled (${signal})`);
    this.signal = signal;
  }
}

/** What the runtime needs to build a task besides the input: logger, signal, storage glue. */
export interface TaskContext {
  log: Logger;
  signal: AbortSignal;
  workdir: string;
  /** The task's object store, created on first use. */
  storage(): Storage;
  inputFile(path: string): InputFile;
  outputTarget(name: string, path: string): OutputTarget;
}

/** The task as a tool's `run` sees it: typed parameters, input groups, outputs, secrets. */
export interface Task<
  P = Record<string, unknown>,
  S = Record<string, unknown>,
  I extends string = string,
  O extends string = string,
> {
  /** Parameters, validated by the tool's schema, defaults applied. */
  readonly parameters: P;
  /** Input groups by name, each a list of files (always a list, possibly empty). */
  readonly inputs: Readonly<Record<I, readonly InputFile[]>>;
  /** Output targets by name. */
  readonly outputs: Readonly<Record<O, OutputTarget>>;
  /** Secrets, validated by the tool's schema; throws when the platform did not send them. */
  readonly secrets: S;
  /**
   * Aborted when the task is cancelled (SIGTERM, timeout): pass it to long operations. Its
   * `reason` is then a {@link TaskCancelledError}.
   */
  readonly signal: AbortSignal;
  /** Lines with a level, secrets masked. */
  readonly log: Logger;
  /** A private scratch folder for this task, removed at the end. */
  readonly workdir: string;
  /** The task input as the platform sent it, normalised. */
  readonly input: TaskInput;
  /** The task's object store (its `minio` block), for what inputs and outputs do not cover. */
  readonly storage: Storage;
  /** Records a metric; it is reported with the output. */
  metric(name: string, value: unknown): void;
  /** Reports progress as a log line (throttled): `progress 3/10 (30%) reading files`. */
  progress(done: number, total?: number, message?: string): void;
}

/** The task plus what the runtime collects while the tool runs. */
export interface BuiltTask {
  task: Task<Record<string, unknown>, Record<string, unknown>, string, string> & {
    inputs: Record<string, InputFile[]>;
    outputs: Record<string, OutputTarget>;
  };
  metrics: Map<string, unknown>;
  warnings: string[];
}

const PROGRESS_INTERVAL_MS = 1000;

/**
 * Builds the task object for a tool's `run`: validates parameters, input group counts and output
 * targets against the declaration, and throws a clear error when they do not fit.
 */
export function buildTask(tool: ToolDefinition, input: TaskInput, ctx: TaskContext): BuiltTask {
  const warnings: string[] = [];
  const parameters = tool.parameters
    ? collect(parseParameters(tool.parameters, input.parameters), warnings)
    : input.parameters;

  const inputs = buildInputs(tool.inputs ?? {}, input.input, ctx, warnings);
  const outputs = buildOutputs(tool.outputs ?? {}, input.output, ctx, warnings);

  const metrics = new Map<string, unknown>();
  let lastProgress = 0;
  const task = {
    parameters,
    inputs,
    outputs,
    get secrets(): Record<string, unknown> {
      return readSecrets(tool.secrets, input);
    },
    signal: ctx.signal,
    log: ctx.log,
    workdir: ctx.workdir,
    input,
    get storage(): Storage {
      return ctx.storage();
    },
    metric(name: string, value: unknown) {
      if (typeof name !== "string" || name === "")
        throw new TypeError("task.metric: the name must be a non-empty string");
      metrics.set(name, value);
    },
    progress(done: number, total?: number, message?: string) {
      const now = Date.now();
      const final = total !== undefined && done >= total;
      if (!final && now - lastProgress < PROGRESS_INTERVAL_MS) return;
      lastProgress = now;
      const pct = total ? ` (${Math.floor((100 * done) / total)}%)` : "";
      ctx.log.info(`progress ${done}${total !== undefined ? `/${total}` : ""}${pct}${message ? ` ${message}` : ""}`);
    },
  };
  return { task, metrics, warnings };
}

function collect<T>(parsed: { value: T; warnings: string[] }, warnings: string[]): T {
  warnings.push(...parsed.warnings);
  return parsed.value;
}

function buildInputs(
  declared: Record<string, InputGroupSpec>,
  given: Record<string, string[]>,
  ctx: TaskContext,
  warnings: string[],
): Record<string, InputFile[]> {
  const groups: Record<string, InputFile[]> = {};
  const present = Object.keys(given);
  for (const [name, spec] of Object.entries(declared)) {
    const paths = given[name] ?? [];
    const min = spec.min ?? 1;
    if (paths.length < min) {
      const why = name in given ? `holds ${paths.length}` : "is missing";
      throw new TaskValidationError(
        `input group "${name}" needs at least ${min} path${min > 1 ? "s" : ""} but ${why}; ` +
          `the task's input groups: ${present.map((g) => `"${g}" (${given[g]?.length})`).join(", ") || "(none)"}`,
      );
    }
    if (spec.max !== undefined && paths.length > spec.max) {
      throw new TaskValidationError(`input group "${name}" takes at most ${spec.max} paths but holds ${paths.length}`);
    }
    groups[name] = paths.map((p) => ctx.inputFile(p));
  }
  for (const name of present) {
    if (name in declared) continue;
    warnings.push(`input group "${name}" is not declared by the tool; it is passed on as is`);
    groups[name] = (given[name] ?? []).map((p) => ctx.inputFile(p));
  }
  return groups;
}

function buildOutputs(
  declared: Record<string, OutputSpec>,
  given: Record<string, string>,
  ctx: TaskContext,
  warnings: string[],
): Record<string, OutputTarget> {
  const outputs: Record<string, OutputTarget> = {};
  for (const [name, spec] of Object.entries(declared)) {
    const path = given[name];
    if (path === undefined && !spec.optional) {
      throw new TaskValidationError(
        `output "${name}" is declared but the task gives no path for it; the task's outputs: ` +
          `${
            Object.keys(given)
              .map((k) => `"${k}"`)
              .join(", ") || "(none)"
          }. Add it to the task's "outputs".`,
      );
    }
    outputs[name] = ctx.outputTarget(name, path ?? "");
  }
  for (const [name, path] of Object.entries(given)) {
    if (name in declared) continue;
    warnings.push(`output "${name}" is not declared by the tool; it is passed on as is`);
    outputs[name] = ctx.outputTarget(name, path);
  }
  return outputs;
}

function readSecrets(schema: z.ZodType<Record<string, unknown>, unknown> | undefined, input: TaskInput) {
  const present = Object.keys(input.secrets);
  if (!input.signature_verified && present.length === 0) {
    throw new SecretsUnavailableError(
      "the task's secrets are not available: the platform sends them only when the input is fetched with the " +
        "task's valid signature (the 4th argument of the entrypoint). Check that the signature is passed on.",
    );
  }
  if (!schema) return input.secrets;
  const result = schema.safeParse(input.secrets);
  if (result.success) return result.data;
  // Never show a secret's value: name the key and the rule only.
  const problems = result.error.issues.map((i) => {
    const key = i.path.map(String).join(".") || "(all)";
    return i.code === "invalid_type" && !(String(i.path[0]) in input.secrets)
      ? `- ${key}: missing`
      : `- ${key}: ${i.code.replace(/_/g, " ")}`;
  });
  throw new SecretsUnavailableError(
    `the task's secrets do not match the tool's schema:\n${problems.join("\n")}\n` +
      `secrets present: ${present.map((k) => `"${k}"`).join(", ") || "(none)"}`,
  );
}
