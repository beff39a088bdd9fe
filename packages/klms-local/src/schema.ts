/**
 * Request bodies checked the way the platform's marshmallow schemas check them (APIFlask
 * `@input(..., location="json")`): one list of messages per field, marshmallow's exact words,
 * unknown and dump-only keys refused with "Unknown field.", and the whole thing answered as a
 * 422 `{"json": {...}}` (`klms-platform-api.md` §1.4).
 */
import { isObject } from "klms-tool/internal";
import { ApiError } from "./envelope.js";

/** One field of a schema. */
export interface FieldRule {
  type: "string" | "uuid" | "boolean" | "integer" | "dict" | "list" | "raw";
  required?: boolean;
  /** `null` accepted (marshmallow `allow_none`). Default: false. */
  nullable?: boolean;
  /** Refused on input with "Unknown field." (marshmallow `dump_only`). */
  dumpOnly?: boolean;
  /** marshmallow `OneOf`. */
  oneOf?: readonly string[];
  /** marshmallow `Length(min=, max=)`. */
  minLength?: number;
  maxLength?: number;
  /** marshmallow `Regexp`: "String does not match expected pattern."; with `lambda: true`, "Invalid value.". */
  pattern?: RegExp;
  lambda?: boolean;
  /** For lists: each item must be a string. */
  items?: "string";
  /** For dicts: each value must be a string (nested `{key: {value: [...]}}` errors). */
  values?: "string";
  /** Bounds for integers (marshmallow `Range(min=, max=)`). */
  min?: number;
  max?: number;
}

/** A schema: field name to rule. */
export type Schema = Record<string, FieldRule>;

/** Field errors, as marshmallow reports them. */
export type FieldErrors = Record<string, unknown>;

/**
 * What Python's `uuid.UUID(s)` accepts, as marshmallow's `fields.UUID` does: 32 hex digits, with
 * optional hyphens, braces or a `urn:uuid:` prefix, in any case.
 */
export function isPythonUuid(text: string): boolean {
  const hex = text
    .trim()
    .replace(/^urn:uuid:/i, "")
    .replace(/^\{|\}$/g, "")
    .replace(/-/g, "");
  return /^[0-9a-fA-F]{32}$/.test(hex);
}

/** The platform's `utils.is_valid_uuid`: canonical lowercase hyphenated form only (`utils.py:768-780`). */
export function isCanonicalUuid(value: unknown): value is string {
  return typeof value === "string" && /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value);
}

/**
 * Checks `body` against `schema`. Returns the field errors (empty when valid); `partial` skips the
 * required checks (marshmallow `partial=True`, used by PUT and PATCH).
 */
export function checkFields(
  body: unknown,
  schema: Schema,
  options: { partial?: boolean; unknown?: "raise" | "include" } = {},
): FieldErrors {
  if (!isObject(body)) return { _schema: ["Invalid input type."] };
  const errors: FieldErrors = {};
  for (const key of Object.keys(body)) {
    if (options.unknown === "include") break;
    if (!(key in schema) || schema[key]?.dumpOnly) errors[key] = ["Unknown field."];
  }
  for (const [name, rule] of Object.entries(schema)) {
    if (rule.dumpOnly || name in errors) continue;
    if (!(name in body)) {
      if (rule.required && !options.partial) errors[name] = ["Missing data for required field."];
      continue;
    }
    const problem = checkValue(body[name], rule);
    if (problem !== undefined) errors[name] = problem;
  }
  return errors;
}

function checkValue(value: unknown, rule: FieldRule): unknown {
  if (value === null) return rule.nullable ? undefined : ["Field may not be null."];
  switch (rule.type) {
    case "string":
      if (typeof value !== "string") return ["Not a valid string."];
      if (rule.minLength !== undefined && value.length < rule.minLength) {
        return [`Shorter than minimum length ${rule.minLength}.`];
      }
      if (rule.maxLength !== undefined && value.length > rule.maxLength) {
        return [`Longer than maximum length ${rule.maxLength}.`];
      }
      if (rule.oneOf && !rule.oneOf.includes(value)) return [`Must be one of: ${rule.oneOf.join(", ")}.`];
      if (rule.pattern && !rule.pattern.test(value)) {
        return [rule.lambda ? "Invalid value." : "String does not match expected pattern."];
      }
      return undefined;
    case "uuid":
      return typeof value === "string" && isPythonUuid(value) ? undefined : ["Not a valid UUID."];
    case "boolean":
      return typeof value === "boolean" ? undefined : ["Not a valid boolean."];
    case "integer":
      if (!Number.isInteger(value)) return ["Not a valid integer."];
      return outOfRange(value as number, rule);
    case "list":
      if (!Array.isArray(value)) return ["Not a valid list."];
      if (rule.minLength !== undefined && value.length < rule.minLength) {
        return [`Shorter than minimum length ${rule.minLength}.`];
      }
      if (rule.items === "string") {
        const bad: Record<string, string[]> = {};
        value.forEach((item, i) => {
          if (typeof item !== "string") bad[i] = ["Not a valid string."];
        });
        return Object.keys(bad).length > 0 ? bad : undefined;
      }
      return undefined;
    case "dict":
      if (!isObject(value)) return ["Not a valid mapping type."];
      if (rule.values === "string") {
        const bad: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(value))
          if (typeof v !== "string") bad[k] = { value: ["Not a valid string."] };
        return Object.keys(bad).length > 0 ? bad : undefined;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** marshmallow's `Range` messages. */
function outOfRange(value: number, rule: FieldRule): string[] | undefined {
  const { min, max } = rule;
  if ((min === undefined || value >= min) && (max === undefined || value <= max)) return undefined;
  if (min !== undefined && max !== undefined) {
    return [`Must be greater than or equal to ${min} and less than or equal to ${max}.`];
  }
  return min !== undefined ? [`Must be greater than or equal to ${min}.`] : [`Must be less than or equal to ${max}.`];
}

/** A 422 shaped like APIFlask's request validation error. */
export function validationError(fields: FieldErrors): ApiError {
  return new ApiError(422, "Validation error", { json: fields });
}

/** Checks and throws the 422 when anything is wrong; returns the body typed as a record. */
export function loadBody(
  body: unknown,
  schema: Schema,
  options: { partial?: boolean; unknown?: "raise" | "include" } = {},
): Record<string, unknown> {
  const errors = checkFields(body, schema, options);
  if (Object.keys(errors).length > 0) throw validationError(errors);
  return body as Record<string, unknown>;
}
