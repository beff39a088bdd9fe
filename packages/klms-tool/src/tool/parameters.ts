import type * as z from "zod";
import { KlmsError } from "../errors.js";

/** Raised when the task's parameters do not match the tool's schema; lists every problem. */
export class ParameterError extends KlmsError<"BadParameters"> {
  override name = "ParameterError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("BadParameters", message, options);
  }
}

/** The validated parameters and what was tolerated on the way. */
export interface ParsedParameters<T> {
  value: T;
  warnings: string[];
}

/**
 * Validates the task's parameters against the tool's schema, with defaults applied.
 *
 * The platform stores parameters as JSON and runs Python's `ast.literal_eval` on every string
 * parameter it reads back (Data API `sql_utils.py` L1599-1617; klms-contract §2.5), so a value
 * sent as "123", "3.10", "1e5", "0x1F", "True" or "None" reaches the tool as 123, 3.1, 100000,
 * 31, true or null. The text that was sent is lost: "3.1" and "3.10" both arrive as 3.1.
 *
 * Where the schema asks for a string and gets such a value, the tool gets the value written
 * out (`String(3.1)` = "3.1"; true, false, null as "True", "False", "None") with a warning that
 * says so: it never claims that this was the text sent, and tells how to send the text exactly
 * (as a Python string literal, "'3.10'", which the platform's evaluation unquotes). Where a
 * written-out value does not satisfy the schema (an enum member "3.10" against 3.1), the error
 * says what the platform did. Unknown parameters are kept out of the result and reported as
 * warnings.
 */
export function parseParameters<S extends z.ZodType>(
  schema: S,
  raw: Record<string, unknown>,
): ParsedParameters<z.output<S>> {
  const warnings: string[] = [];
  const declared = declaredKeys(schema);
  if (declared) {
    const unknown = Object.keys(raw).filter((k) => !declared.includes(k));
    if (unknown.length > 0) {
      warnings.push(
        `unknown parameter${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => JSON.stringify(k)).join(", ")} ` +
          `ignored; the tool declares ${declared.map((k) => JSON.stringify(k)).join(", ") || "none"}`,
      );
    }
  }

  let value: unknown = structuredClone(raw);
  // Each pass can repair several values; a nested schema may reveal more on the next pass.
  for (let pass = 0; pass < 10; pass++) {
    const result = schema.safeParse(value);
    if (result.success) return { value: result.data, warnings };
    let repaired = false;
    for (const issue of result.error.issues) {
      const current = getAt(value, issue.path);
      if (current.found && wasLiteralEvaluated(current.value) && wantsString(issue, current.value)) {
        const text = writtenOut(current.value);
        value = setAt(value, issue.path, text);
        warnings.push(repairWarning(pathName(issue.path), current.value, text));
        repaired = true;
      }
    }
    if (!repaired) throw new ParameterError(formatIssues(result.error.issues, value));
  }
  throw new ParameterError("the parameters could not be validated (too many nested repairs)");
}

function declaredKeys(schema: z.ZodType): string[] | undefined {
  let s: z.ZodType = schema;
  // Unwrap wrappers that keep an object's shape (default, optional, pipe input).
  // Read from zod's definition rather than `instanceof z.ZodObject`, so that this module does not
  // load zod: a tool without schemas then never does (about 40 ms per task, BENCHMARKS.md).
  for (let i = 0; i < 5; i++) {
    const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
    if (def.type === "object" && isRecord(def.shape)) return Object.keys(def.shape);
    const inner = (def.innerType ?? def.in) as z.ZodType | undefined;
    if (!inner) return undefined;
    s = inner;
  }
  return undefined;
}

function wasLiteralEvaluated(v: unknown): v is number | boolean | null {
  return v === null || typeof v === "number" || typeof v === "boolean";
}

function wantsString(issue: z.core.$ZodIssue, value: number | boolean | null): boolean {
  if (issue.code === "invalid_type") return issue.expected === "string";
  if (issue.code === "invalid_value") return issue.values.some((v) => v === writtenOut(value));
  if (issue.code === "invalid_union") {
    return issue.errors.some((branch) => branch.some((i) => i.path.length === 0 && wantsString(i, value)));
  }
  return false;
}

/** True when the issue asks for a string (or a string member) where a literal-evaluated value arrived. */
function asksForString(issue: z.core.$ZodIssue): boolean {
  if (issue.code === "invalid_type") return issue.expected === "string";
  if (issue.code === "invalid_value") return issue.values.some((v) => typeof v === "string");
  if (issue.code === "invalid_union")
    return issue.errors.some((b) => b.some((i) => i.path.length === 0 && asksForString(i)));
  return false;
}

/**
 * The value written out as text: the number in JavaScript's shortest form (3.1, 100000), and
 * Python's spelling of true, false and null, the only texts `literal_eval` turns into them
 * (apart from spaces and parentheses around them). Not the text that was sent, for a number.
 */
function writtenOut(value: number | boolean | null): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
}

/** How to send a string parameter so that it reaches the tool unchanged (klms-contract §2.5). */
const SEND_SAFELY =
  "to pass such text exactly, send it as a Python string literal inside the JSON string, e.g. \"'3.10'\" " +
  "(the platform's literal evaluation removes the quotes), or declare the parameter as a number if a number is meant";

/** The warning of a repaired value: what the platform did, what the tool gets, and how to avoid it. */
function repairWarning(name: string, received: number | boolean | null, text: string): string {
  const did =
    `parameter ${name}: the schema asks for text but ${JSON.stringify(received)} arrived: the platform's literal ` +
    "evaluation of string parameters (Python ast.literal_eval) turns text that looks like a number, True, False or None into that value";
  if (typeof received !== "number") {
    return `${did}; the tool reads it back as ${JSON.stringify(text)}, the usual text for it; ${SEND_SAFELY}`;
  }
  const others = /^\d+$/.test(text)
    ? `"${text}", "${text}.0" and "+${text}"`
    : /^-?\d+(\.\d+)?$/.test(text)
      ? `"${text}" and "${text}${text.includes(".") ? "0" : ".0"}"`
      : `"${text}" and other spellings`;
  return (
    `${did}; the text sent cannot be recovered (${others} all give ${text}), so the tool gets ${JSON.stringify(text)}, ` +
    `the number written out, which may differ from what was sent; ${SEND_SAFELY}`
  );
}

function getAt(root: unknown, path: PropertyKey[]): { found: boolean; value?: unknown } {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== "object" || !(key in (cur as object))) return { found: false };
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return { found: true, value: cur };
}

function setAt(root: unknown, path: PropertyKey[], value: unknown): unknown {
  if (path.length === 0) return value;
  let cur = root as Record<PropertyKey, unknown>;
  for (const key of path.slice(0, -1)) cur = cur[key] as Record<PropertyKey, unknown>;
  cur[path[path.length - 1] as PropertyKey] = value;
  return root;
}

function pathName(path: PropertyKey[]): string {
  return path.length === 0 ? "(all)" : path.map(String).join(".");
}

function formatIssues(issues: z.core.$ZodIssue[], value: unknown): string {
  const lines = issues.map((issue) => {
    const got = getAt(value, issue.path);
    let shown = got.found && got.value !== undefined ? `; got ${JSON.stringify(got.value)}` : "";
    if (got.found && wasLiteralEvaluated(got.value) && asksForString(issue)) {
      shown += ` (the platform's literal evaluation of string parameters may have made it from a string; ${SEND_SAFELY})`;
    }
    const message = issue.code === "invalid_type" && !got.found ? `required (${issue.message})` : issue.message;
    return `- ${pathName(issue.path)}: ${message}${shown}`;
  });
  return `invalid parameters:\n${lines.join("\n")}`;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null;
}
