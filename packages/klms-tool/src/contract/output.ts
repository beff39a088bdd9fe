import { describeType, isObject } from "./errors.js";
import { jsonDepth, MAX_JSON_DEPTH } from "./limits.js";

/**
 * A task output the platform accepts (`schema.Task_Output` of the Data API):
 * `status` is required; the other keys are optional; nothing else is allowed.
 */
export interface TaskOutput {
  /** `"succeeded"` or `"failed"` as this kit writes it; the platform also reads 2xx integers as success. Required. */
  status: string | number;
  /** One line for people: what happened. */
  message?: string;
  /** The details of a failure (a stack, the broken rules); its presence always means failed. */
  error?: string;
  /** Metric name → JSON value, stored by the platform with the task (at most 256 KiB serialised by default). */
  metrics?: Record<string, unknown>;
  /** Output name → the object path produced for it (`s3://bucket/key`), registered by the platform. */
  output?: Record<string, string>;
}

/** The status values this kit writes. */
export const Status = {
  Succeeded: "succeeded",
  Failed: "failed",
} as const;

/** The state the platform moves a task to when it receives an output. */
export type OutcomeState = "succeeded" | "failed" | "unchanged";

/**
 * One broken rule. Severity `error`: this kit never posts such an output (the platform rejects it,
 * or accepts it and never finishes the task); `warning`: accepted, but probably not what was meant.
 */
export interface Violation {
  /** Where: `status`, `output.report`, `(root)`, … */
  path: string;
  /** `error`: the output is refused (not posted); `warning`: accepted, but probably not what was meant. */
  severity: "error" | "warning";
  /** True when the platform itself answers 422 for it. */
  rejected: boolean;
  /** What is wrong and how to fix it. */
  message: string;
}

/** The verdict on a candidate task output. */
export interface OutputCheck {
  /** True when no violation is an error: the platform would accept the output. */
  valid: boolean;
  /** Every rule broken, errors and warnings. */
  violations: Violation[];
  /** The state the platform would give the task, when the output is accepted. */
  state?: OutcomeState;
}

const ALLOWED_KEYS = ["status", "message", "error", "metrics", "output", "outputs"];

/**
 * Checks a candidate output against the platform's rules, read from its code: the body must be an
 * object with only `status` (required, string or integer), `message` and `error` (strings),
 * `metrics` (an object) and `output`/`outputs` (objects of string values); null is never
 * allowed. Also flags what the platform accepts but turns into a surprise: a status of `0` or
 * `""` leaves the task running forever, `"200"` as a string means failed, an `error` key always
 * means failed.
 */
export function checkTaskOutput(value: unknown): OutputCheck {
  const violations: Violation[] = [];
  const sink: Sink = {
    error: (path, message, rejected = true) => violations.push({ path, severity: "error", rejected, message }),
    warn: (path, message) => violations.push({ path, severity: "warning", rejected: false, message }),
  };
  if (!isObject(value)) {
    sink.error("(root)", `the output must be a JSON object, got ${describeType(value)}`);
    return { valid: false, violations };
  }
  // Before anything else reads it: a value nested too deep fails the platform's parser, and
  // serialising one 100,000 levels deep would overflow the stack.
  const depth = jsonDepth(value, MAX_JSON_DEPTH);
  if (depth > MAX_JSON_DEPTH) {
    const where =
      isObject(value.metrics) && jsonDepth(value.metrics, MAX_JSON_DEPTH) >= MAX_JSON_DEPTH ? "metrics" : "(root)";
    sink.error(
      where,
      `nested more than ${MAX_JSON_DEPTH} levels deep: the platform's JSON parser (Python) fails on it; flatten it, or write it to an output file`,
      false,
    );
    return { valid: false, violations };
  }
  for (const key of Object.keys(value)) {
    if (!ALLOWED_KEYS.includes(key)) {
      sink.error(key, `unknown key ${JSON.stringify(key)}: the platform accepts only ${ALLOWED_KEYS.join(", ")}`);
    }
  }
  checkStatus(value, sink);
  checkFields(value, sink);
  const valid = !violations.some((v) => v.severity === "error");
  return valid ? { valid, violations, state: outcomeOf(value as unknown as TaskOutput) } : { valid, violations };
}

/** Where {@link checkTaskOutput}'s parts report what they find. */
interface Sink {
  /** A broken rule; `rejected`: the platform answers 422 for it (default true). */
  error(path: string, message: string, rejected?: boolean): void;
  warn(path: string, message: string): void;
}

/** The `status` rules: present, a string or an integer, not falsy, and a word the platform knows. */
function checkStatus(value: Record<string, unknown>, sink: Sink): void {
  if (!("status" in value)) {
    sink.error("status", 'missing: "status" is required (use "succeeded" or "failed")');
    return;
  }
  const s = value.status;
  const isInt = typeof s === "number" && Number.isInteger(s);
  if (typeof s !== "string" && !isInt && typeof s !== "boolean") {
    sink.error("status", `must be a string or an integer, got ${describeType(s)}`);
  } else if ((s === 0 || s === "" || s === false) && !("error" in value)) {
    sink.error(
      "status",
      `${JSON.stringify(s)} is falsy: the platform accepts it and leaves the task running forever`,
      false,
    );
  } else if (typeof s === "boolean") {
    sink.warn("status", 'true is accepted as the integer 1 and means failed; use "succeeded" or "failed"');
  } else if (typeof s === "string" && /^\d+$/.test(s)) {
    sink.warn("status", `the string ${JSON.stringify(s)} means failed; only integers 200-299 mean succeeded`);
  } else if (typeof s === "string" && !["success", "succeeded", "error", "failed"].includes(s.toLowerCase())) {
    sink.warn("status", `${JSON.stringify(s)} is not a known status and means failed; use "succeeded" or "failed"`);
  }
}

/** The other keys' types: `message`/`error` strings, `metrics` an object, `output`/`outputs` name → path. */
function checkFields(value: Record<string, unknown>, sink: Sink): void {
  for (const key of ["message", "error"] as const) {
    if (key in value && typeof value[key] !== "string") {
      sink.error(key, `must be a string, got ${describeType(value[key])}`);
    }
  }
  if ("metrics" in value && !isObject(value.metrics)) {
    sink.error("metrics", `must be an object, got ${describeType(value.metrics)}`);
  }
  for (const key of ["output", "outputs"] as const) {
    if (!(key in value)) continue;
    const map = value[key];
    if (!isObject(map)) {
      sink.error(key, `must be an object of output name to path, got ${describeType(map)}`);
      continue;
    }
    for (const [name, path] of Object.entries(map)) {
      if (typeof path !== "string") {
        const hint = Array.isArray(path) ? " (one key per file, or a folder prefix)" : "";
        sink.error(`${key}.${name}`, `must be a path string, got ${describeType(path)}${hint}`);
      }
    }
  }
  if ("output" in value && "outputs" in value) {
    sink.warn("outputs", 'both "output" and "outputs" are present: the platform uses "output" and ignores "outputs"');
  }
  if (
    "error" in value &&
    outcomeOf(value as unknown as TaskOutput) === "failed" &&
    stateOfStatus(value.status) === "succeeded"
  ) {
    sink.warn("error", 'an "error" key always means failed, even with a success status');
  }
}

/** The platform's `parse_state`: 2xx or "success"/"succeeded" succeed, a falsy status changes nothing. */
export function stateOfStatus(status: unknown): OutcomeState {
  if (status === 0 || status === "" || status === false || status === null || status === undefined) return "unchanged";
  if (typeof status === "boolean") return "failed";
  if (typeof status === "number") return status >= 200 && status <= 299 ? "succeeded" : "failed";
  if (typeof status === "string") {
    const s = status.toLowerCase();
    return s === "success" || s === "succeeded" ? "succeeded" : "failed";
  }
  return "failed";
}

/** The state the platform gives a task for an accepted output: an `error` key fails it whatever the status. */
export function outcomeOf(output: TaskOutput): OutcomeState {
  return "error" in output ? "failed" : stateOfStatus(output.status);
}

/** Formats violations one per line, for a terminal or a failure report. */
export function formatViolations(violations: Violation[]): string {
  return violations.map((v) => `${v.severity === "error" ? "✗" : "!"} ${v.path}: ${v.message}`).join("\n");
}
