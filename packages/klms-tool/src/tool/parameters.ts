import { z } from "zod";

/** Raised when the task's parameters do not match the tool's schema; lists every problem. */
export class ParameterError extends Error {
  override name = "ParameterError";
}

/** The validated parameters and what was tolerated on the way. */
export interface ParsedParameters<T> {
  value: T;
  warnings: string[];
}

/**
 * Validates the task's parameters against the tool's schema, with defaults applied.
 *
 * The platform stores parameters as JSON and runs Python's `ast.literal_eval` on every string it
 * reads back, so a parameter sent as "123", "True" or "None" reaches the tool as 123, true or null.
 * Where the schema asks for a string and gets such a value, it is turned back into the string it
 * came from. Unknown parameters are kept out of the result and reported as warnings.
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
        const original = pythonRepr(current.value);
        value = setAt(value, issue.path, original);
        warnings.push(
          `parameter ${pathName(issue.path)}: the platform turned the string ${JSON.stringify(original)} into ` +
            `${JSON.stringify(current.value)}; read it back as the string the schema asks for`,
        );
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
  for (let i = 0; i < 5; i++) {
    if (s instanceof z.ZodObject) return Object.keys(s.shape);
    const def = (s as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
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
  if (issue.code === "invalid_value") return issue.values.some((v) => v === pythonRepr(value));
  if (issue.code === "invalid_union") {
    return issue.errors.some((branch) => branch.some((i) => i.path.length === 0 && wantsString(i, value)));
  }
  return false;
}

/** The Python source text that `ast.literal_eval` turned into this value. */
function pythonRepr(value: number | boolean | null): string {
  if (value === null) return "None";
  if (typeof value === "boolean") return value ? "True" : "False";
  return String(value);
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
    const shown = got.found && got.value !== undefined ? `; got ${JSON.stringify(got.value)}` : "";
    const message = issue.code === "invalid_type" && !got.found ? `required (${issue.message})` : issue.message;
    return `- ${pathName(issue.path)}: ${message}${shown}`;
  });
  return `invalid parameters:\n${lines.join("\n")}`;
}
