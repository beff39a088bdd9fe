/**
 * Python values where JavaScript's lose what the platform keeps, and the JSON the platform's
 * Flask writes for them (`DefaultJSONProvider` subclassed at `data_api.py:142-156`: Python's
 * `json.dumps` with `sort_keys=True`, `ensure_ascii=True`, compact separators).
 *
 * JavaScript has one number type; Python has `int` (unbounded) and `float`, and prints them
 * differently: `1.0` stays `1.0`, `1e16` is `1e+16`, `float("inf")` is `Infinity`. A value that
 * reaches a reply through Python (task parameters, secrets) is therefore held as a
 * {@link PyFloat} or, for an int beyond 2^53, a {@link PyInt}; a Python value JSON cannot carry
 * (complex, set, bytes, Ellipsis) is a {@link PyOpaque}, and writing it fails as Flask fails: the
 * reply becomes a 500 (`NotJsonSerializable`).
 */
import { pyFloat } from "./python-repr.js";

/** A Python `float`: printed as `repr()` prints it (`1.0`, `100000.0`, `1e+16`, `-0.0`). */
export class PyFloat {
  constructor(readonly value: number) {}
  /** `JSON.stringify` fallback (loses the float look); replies use {@link dumpsJson}. */
  toJSON(): number | null {
    return Number.isFinite(this.value) ? this.value : null;
  }
}

/** A Python `int` too large for a JavaScript number to hold exactly: its decimal digits (with `-`). */
export class PyInt {
  constructor(readonly digits: string) {}
  /** `JSON.stringify` fallback (rounded); replies use {@link dumpsJson}. */
  toJSON(): number {
    return Number(this.digits);
  }
}

/** A Python value JSON cannot carry, by its type name (`complex`, `set`, `bytes`, `ellipsis`). */
export class PyOpaque {
  constructor(readonly type: string) {}
}

/** Flask's `TypeError: Object of type X is not JSON serializable`, raised by {@link dumpsJson}. */
export class NotJsonSerializable extends Error {
  constructor(readonly type: string) {
    super(`Object of type ${type} is not JSON serializable`);
  }
}

/** A Python int: a JavaScript number when exact, else a {@link PyInt}. `digits` is a decimal integer. */
export function pyInt(digits: string): number | PyInt {
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : new PyInt(BigInt(digits).toString());
}

/** Python's `json.dumps` of a float: `repr()`, except `Infinity`, `-Infinity`, `NaN`. */
export function floatJson(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (!Number.isFinite(value)) return value > 0 ? "Infinity" : "-Infinity";
  return pyFloat(value);
}

/**
 * Writes `value` as the platform's Flask writes a reply: keys sorted by code point at every
 * level, `","`/`":"` separators, every non-ASCII character escaped `\uXXXX`; a
 * {@link PyFloat} as Python prints a float, a {@link PyInt} with all its digits, a JavaScript
 * number as Python would print it (integral: an int; else a float). Throws
 * {@link NotJsonSerializable} on a {@link PyOpaque}. Iterative: bodies may nest deeply.
 */
export function dumpsJson(value: unknown): string {
  const out: string[] = [];
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v instanceof Raw) {
      out.push(v.text);
      continue;
    }
    const scalar = scalarJson(v);
    if (scalar !== undefined) {
      out.push(scalar);
      continue;
    }
    // Containers push their pieces in reverse, the separators as raw tokens.
    const pieces: unknown[] = [];
    if (Array.isArray(v)) {
      pieces.push(raw("["));
      v.forEach((item, i) => {
        if (i > 0) pieces.push(raw(","));
        pieces.push(item);
      });
      pieces.push(raw("]"));
    } else {
      const record = v as Record<string, unknown>;
      pieces.push(raw("{"));
      sortedKeys(record).forEach((key, i) => {
        pieces.push(raw(`${i > 0 ? "," : ""}${stringJson(key)}:`), record[key]);
      });
      pieces.push(raw("}"));
    }
    for (let i = pieces.length - 1; i >= 0; i--) stack.push(pieces[i]);
  }
  return out.join("");
}

/** Punctuation (and an object key with its colon) written as it is. */
class Raw {
  constructor(readonly text: string) {}
}
function raw(text: string): Raw {
  return new Raw(text);
}

function scalarJson(v: unknown): string | undefined {
  if (v === null || v === undefined) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (typeof v === "string") return stringJson(v);
  if (typeof v === "number") return Number.isInteger(v) ? String(v === 0 ? 0 : v) : floatJson(v);
  if (typeof v === "bigint") return v.toString();
  if (v instanceof PyFloat) return floatJson(v.value);
  if (v instanceof PyInt) return v.digits;
  if (v instanceof PyOpaque) throw new NotJsonSerializable(v.type);
  if (typeof v !== "object") throw new NotJsonSerializable(typeof v);
  return undefined;
}

/** Python's `sort_keys`: by code point (JavaScript's default sort compares UTF-16 units). */
function sortedKeys(record: Record<string, unknown>): string[] {
  return Object.keys(record).sort((a, b) => {
    const x = [...a];
    const y = [...b];
    for (let i = 0; i < Math.min(x.length, y.length); i++) {
      const d = (x[i] as string).codePointAt(0)! - (y[i] as string).codePointAt(0)!;
      if (d !== 0) return d;
    }
    return x.length - y.length;
  });
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  "\\": "\\\\",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
  "\b": "\\b",
  "\f": "\\f",
};

/** Python's `json` string with `ensure_ascii`: anything outside space..`~` escaped (UTF-16 units, lowercase hex). */
export function stringJson(s: string): string {
  return `"${s.replace(/[\\"]|[^ -~]/g, (c) => SHORT_ESCAPES[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`)}"`;
}

/** Replaces the Python values of {@link PyFloat}/{@link PyInt} by JavaScript's (`number`, `bigint`) for callers in JavaScript. */
export function toJsValue(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  if (value instanceof PyInt) return BigInt(value.digits);
  if (Array.isArray(value)) return value.map(toJsValue);
  if (value !== null && typeof value === "object" && !(value instanceof PyOpaque)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setKey(out, k, toJsValue(v));
    return out;
  }
  return value;
}

/** Sets `record[key]`, also for `__proto__` (a plain assignment would change the prototype). */
export function setKey(record: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}
