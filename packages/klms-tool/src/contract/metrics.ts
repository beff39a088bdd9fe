import { KlmsError } from "../errors.js";
import { MAX_JSON_DEPTH } from "./limits.js";

/** Raised when metrics cannot be made JSON-safe; the message names the metric path. */
export class MetricsError extends KlmsError<"BadMetrics"> {
  override name = "MetricsError";
  constructor(message: string, options?: { cause?: unknown }) {
    super("BadMetrics", message, options);
  }
}

/** The default bound on the serialised size of all metrics (the platform stores each as jsonb). */
export const DEFAULT_METRICS_LIMIT_BYTES = 256 * 1024;

/**
 * Turns tool metrics into values JSON can carry, the way a reader of them expects:
 * NaN and ±Infinity become null (as `JSON.stringify` does), a BigInt a number when it is safe
 * (else a string of its digits), a Date its ISO string, a Map an object, a Set or typed array a
 * list, an object with `toJSON` what that returns, a class instance its own fields.
 * Functions, symbols and cycles are rejected with a {@link MetricsError} naming the path, and so
 * is a result larger than `limitBytes` once serialised.
 */
export function toJsonSafe(
  metrics: Record<string, unknown>,
  limitBytes: number = DEFAULT_METRICS_LIMIT_BYTES,
): Record<string, unknown> {
  const safe = convert(metrics, "metrics", new Set(), 2) as Record<string, unknown>;
  const size = Buffer.byteLength(JSON.stringify(safe));
  if (size > limitBytes) {
    const biggest = Object.entries(safe)
      .map(([k, v]) => [k, Buffer.byteLength(JSON.stringify(v) ?? "")] as const)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([k, n]) => `${k} (${n} bytes)`)
      .join(", ");
    throw new MetricsError(
      `metrics are ${size} bytes once serialised, over the limit of ${limitBytes}; the largest: ${biggest}. ` +
        "Write large results to an output file instead.",
    );
  }
  return safe;
}

/** `depth`: the value's level in the posted output (the output is 1, its metrics 2). */
function convert(value: unknown, path: string, seen: Set<object>, depth: number): unknown {
  switch (typeof value) {
    case "string":
    case "boolean":
      return value;
    case "number":
      return Number.isFinite(value) ? value : null;
    case "bigint":
      return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER)
        ? Number(value)
        : value.toString();
    case "undefined":
      return null;
    case "function":
    case "symbol":
      throw new MetricsError(`${path} is a ${typeof value}, which has no JSON form`);
  }
  if (value === null) return null;
  if (depth > MAX_JSON_DEPTH) {
    throw new MetricsError(
      `${path.slice(0, 80)}… is nested more than ${MAX_JSON_DEPTH} levels deep in the output, deeper than the platform's JSON parser (Python) accepts; flatten it, or write it to an output file`,
    );
  }
  const obj = value as object;
  if (seen.has(obj)) throw new MetricsError(`${path} refers back to itself (a cycle)`);
  seen.add(obj);
  try {
    if (value instanceof Date) {
      return Number.isNaN(value.getTime()) ? null : value.toISOString();
    }
    if (ArrayBuffer.isView(value)) {
      if (value instanceof DataView) throw new MetricsError(`${path} is a DataView, which has no JSON form`);
      return Array.from(value as unknown as ArrayLike<number | bigint>, (v, i) =>
        convert(v, `${path}[${i}]`, seen, depth + 1),
      );
    }
    if (Array.isArray(value) || value instanceof Set) {
      return Array.from(value as Iterable<unknown>, (v, i) => convert(v, `${path}[${i}]`, seen, depth + 1));
    }
    if (value instanceof Map) {
      const out: Record<string, unknown> = {};
      for (const [k, v] of value) out[String(k)] = convert(v, `${path}.${String(k)}`, seen, depth + 1);
      return out;
    }
    if (typeof (value as { toJSON?: unknown }).toJSON === "function") {
      return convert((value as { toJSON: () => unknown }).toJSON(), path, seen, depth);
    }
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(obj)) {
      if (v === undefined) continue;
      out[k] = convert(v, `${path}.${k}`, seen, depth + 1);
    }
    return out;
  } finally {
    seen.delete(obj);
  }
}
