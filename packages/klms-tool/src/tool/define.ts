import type { z } from "zod";
import { CATALOG_NAME, CATALOG_NAME_RULE } from "../contract/names.js";
import type { Task } from "./task.js";

/** Declares an input group: the list of paths the task gives under that name. */
export interface InputGroupSpec {
  /** What the group holds, for the catalog (default: none). */
  description?: string;
  /** Fewest paths the group must hold (default 1; 0 makes the group optional). */
  min?: number;
  /** Most paths the group may hold (default: no limit). */
  max?: number;
}

/** Declares an output: a path the task gives, which the tool writes. */
export interface OutputSpec {
  /** What the output holds, for the catalog (default: none). */
  description?: string;
  /** An optional output may be left unproduced without failing the task. */
  optional?: boolean;
}

/**
 * What a tool's `run` may return: the runtime adds `status` and merges metrics and outputs.
 * `K` is the tool's output names: with `outputs` declared, `output: { summry: … }` does not
 * compile (TypeScript's weak-type check: a map with no declared name is refused).
 */
export interface ToolResult<K extends string = string> {
  /** The task's message on the platform (default: none). */
  message?: string;
  /** The tool's own metrics, merged over the automatic ones (made JSON-safe). */
  metrics?: Record<string, unknown>;
  /** Output name to the path written; uploads through `task.outputs` are added automatically. */
  output?: Partial<Record<K, string>>;
}

// `void` lets `run() {}` and `async run() {}` type-check.
type RunReturn<K extends string> =
  // biome-ignore lint/suspicious/noConfusingVoidType: a run that returns nothing is the common case
  Promise<ToolResult<K> | undefined | void> | ToolResult<K> | undefined | void;

type AnySchema = z.ZodType<Record<string, unknown>, unknown>;

/** The declaration a tool author writes; see {@link defineTool}. */
export interface ToolSpec<
  P extends AnySchema = AnySchema,
  S extends AnySchema = AnySchema,
  I extends Record<string, InputGroupSpec> = Record<string, InputGroupSpec>,
  O extends Record<string, OutputSpec> = Record<string, OutputSpec>,
> {
  /** The tool's name in the catalog: 2 to 100 of a-z, 0-9, `_` and `-`. */
  name: string;
  /** The tool's version, shown by `klms-tool manifest` and `publish` (default: the package.json's). */
  version?: string;
  /** One paragraph for the catalog (default: none). */
  description?: string;
  /**
   * The task's parameters as a zod schema (`z.object({...})`); `task.parameters` is its output,
   * defaults applied. Default: none (any parameters are ignored). A mismatch fails the task
   * before `run` with every problem listed.
   */
  parameters?: P;
  /**
   * The input groups by name (`{ data: { min: 1 } }`): `task.inputs.<name>` lists their files.
   * Default: none declared (every group the task sends is still readable).
   */
  inputs?: I;
  /**
   * The outputs by name (`{ result: {} }`): `task.outputs.<name>` is where each goes. A declared,
   * non-optional output that the task asks for must be produced. Default: none declared.
   */
  outputs?: O;
  /**
   * The secrets as a zod schema; `task.secrets` is its output, and every value is masked in logs
   * and outputs. Default: none (any secrets sent are still masked).
   */
  secrets?: S;
  /** Add duration, CPU and memory metrics to the output (default true). */
  autoMetrics?: boolean;
  /** Bound on the serialised metrics, in bytes (default 256 KiB). */
  metricsLimitBytes?: number;
  /**
   * The tool's work, given the validated task. Returns `{message, metrics, output}` (or nothing):
   * the runtime adds the status. A throw, a rejection or a cancellation becomes a failure report.
   */
  run(
    task: Task<z.output<P>, z.output<S>, Extract<keyof I, string>, Extract<keyof O, string>>,
  ): RunReturn<Extract<keyof O, string>>;
}

/** A tool, as returned by {@link defineTool}: its declaration, checked and frozen. */
export type ToolDefinition<
  P extends AnySchema = AnySchema,
  S extends AnySchema = AnySchema,
  I extends Record<string, InputGroupSpec> = Record<string, InputGroupSpec>,
  O extends Record<string, OutputSpec> = Record<string, OutputSpec>,
> = Readonly<ToolSpec<P, S, I, O>> & { readonly [TOOL]: true };

const TOOL = Symbol.for("klms-tool.definition");

/** The Python template's plain form: `run(json)` returns `{message, output, metrics, status}`. */
export type PlainRun = (json: Record<string, unknown>) => unknown;

/**
 * Declares a tool: its parameters (a zod schema), input groups, outputs, secrets and `run`.
 * The runtime validates the task against this declaration before `run` is called, and turns
 * whatever `run` returns or throws into an output the platform accepts.
 */
export function defineTool<
  P extends AnySchema = AnySchema,
  S extends AnySchema = AnySchema,
  I extends Record<string, InputGroupSpec> = Record<string, InputGroupSpec>,
  O extends Record<string, OutputSpec> = Record<string, OutputSpec>,
>(spec: ToolSpec<P, S, I, O>): ToolDefinition<P, S, I, O> {
  if (!CATALOG_NAME.test(spec.name)) {
    throw new TypeError(
      `defineTool: name ${JSON.stringify(spec.name)} is not a valid catalog name: ${CATALOG_NAME_RULE}`,
    );
  }
  if (typeof spec.run !== "function") throw new TypeError(`defineTool(${spec.name}): "run" must be a function`);
  for (const [group, g] of Object.entries(spec.inputs ?? {})) {
    const min = g.min ?? 1;
    if (!Number.isInteger(min) || min < 0 || (g.max !== undefined && (!Number.isInteger(g.max) || g.max < min))) {
      throw new TypeError(`defineTool(${spec.name}): input group "${group}" needs integers 0 <= min <= max`);
    }
  }
  return Object.freeze({ ...spec, [TOOL]: true as const });
}

/** True for a value made by {@link defineTool} (also across copies of this package). */
export function isToolDefinition(value: unknown): value is ToolDefinition {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[TOOL] === true;
}
