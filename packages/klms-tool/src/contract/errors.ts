/**
 * Errors raised while reading what the platform sent. They carry a message meant for a tool
 * author: what is wrong, where, and what was found instead.
 */
import { KlmsError } from "../errors.js";

export class TaskInputError extends KlmsError<"BadTaskInput"> {
  override name = "TaskInputError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("BadTaskInput", message, options);
  }
}

/** Describes a JSON value in an error message without printing it (it may hold a secret). */
export function describeType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "an object";
  if (typeof value === "string") return "a string";
  if (typeof value === "number") return Number.isInteger(value) ? "an integer" : "a number";
  if (typeof value === "boolean") return "a boolean";
  return typeof value;
}

/** Lists the keys of an object for an error message: "a, b, c" or "(none)". */
export function keyList(value: object): string {
  const keys = Object.keys(value);
  return keys.length === 0 ? "(none)" : keys.map((k) => JSON.stringify(k)).join(", ");
}

/** True for a plain JSON object (not null, not a list). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
