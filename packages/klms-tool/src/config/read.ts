/**
 * Reads options of the table (options.ts) from a command line's flags and an environment. This is
 * the one module of the kit that reads `process.env` for a setting, and only as a default: every
 * caller can inject its own environment (tests, the entrypoint's `io.env`).
 */
import { OPTIONS, OptionError, type OptionName, type OptionSpec } from "./options.js";

/** An environment as read: variable name → text. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Every option once read, in the units the code uses: durations in seconds, sizes in bytes. */
export interface Settings {
  /** The worker command line, as typed (split by the entrypoint). Default `node dist/main.js`. */
  worker: string;
  /** The tool module to run in a worker thread; undefined: a process. */
  workerThread: string | undefined;
  workerModule: string | undefined;
  /** Seconds the worker may take to stop after a cancellation. Default 10. */
  gracePeriod: number;
  /** Seconds the whole task may take; undefined: no limit (0 is read as none). */
  timeout: number | undefined;
  /** Seconds each Data API request may take. Default 30. */
  requestTimeout: number;
  /** Retries of a Data API request. Default 5. */
  retries: number;
  /** Seconds of the first backoff ceiling. Default 1. */
  retryDelay: number;
  /** The lowest level logged: debug, info (default), warn, error. */
  logLevel: "debug" | "info" | "warn" | "error";
  /** `text` (default) or `json` log lines. */
  logFormat: "text" | "json";
  /** The object store endpoint that overrides the task's `minio` URLs; undefined: none. */
  endpoint: string | undefined;
  /** Bytes per multipart part of `task.storage`. Default 8 MiB. */
  partSize: number;
  /** Parts of one multipart upload sent at once. Default 4. */
  uploadConcurrency: number;
  /** Bytes up to which a file goes up in one PUT. Default 5 GiB. */
  singlePutMaxBytes: number;
  /** Ranges of one download in flight at once (1: one stream). Default 4. */
  downloadConcurrency: number;
  /** Bytes per ranged GET of a parallel download. Default 8 MiB. */
  downloadRangeSize: number;
  /** Bytes from which a download goes in parallel ranges. Default 64 MiB. */
  rangedGetMinBytes: number;
  /** Seconds a storage connection may stay silent. Default 60. */
  idleTimeout: number;
  /** Attempts per storage request. Default 5. */
  maxAttempts: number;
}

// Checked: Settings has exactly the table's options.
type _SameKeys = [keyof Settings] extends [OptionName] ? ([OptionName] extends [keyof Settings] ? true : never) : never;
const _sameKeys: _SameKeys = true;
void _sameKeys;

/** What {@link readOptions} found: the values and the warnings to log (deprecated variables). */
export interface ReadOptions<K extends OptionName> {
  values: Pick<Settings, K>;
  warnings: string[];
}

/**
 * Reads the options `names`: the flag's text (from `flags`) wins over the environment variable,
 * which wins over the default. A blank variable counts as unset. Throws an {@link OptionError}
 * naming the flag or variable, the unit and the text given, for the first bad value.
 */
export function readOptions<K extends OptionName>(
  names: readonly K[],
  env: Env = process.env,
  flags: Partial<Record<OptionName, string>> = {},
): ReadOptions<K> {
  const values: Partial<Record<OptionName, unknown>> = {};
  const warnings: string[] = [];
  for (const name of names) {
    const spec: OptionSpec = OPTIONS[name];
    const flag = flags[name];
    const own = env[spec.env];
    let value: unknown;
    const olds = (spec.deprecated ?? []).filter((old) => (env[old.env] ?? "").trim() !== "");
    const given = flag !== undefined ? (spec.flag ?? spec.env) : own !== undefined && own.trim() !== "" ? spec.env : "";
    if (flag !== undefined) value = parseValue(spec, flag, spec.flag ?? spec.env);
    else if (given) value = parseValue(spec, own as string, spec.env);
    else if (olds[0]) {
      const old = olds[0];
      const raw = env[old.env] as string;
      value = old.unit ? parseDeprecated(spec, raw, old.env) : parseValue(spec, raw, old.env);
      warnings.push(
        `${old.env} is deprecated: set ${spec.env}${old.unit ? ` in ${spec.unit}` : ""} instead (here ${String(value)})`,
      );
    } else value = spec.default;
    // A deprecated variable beside what is read is not silently dropped.
    for (const old of olds.slice(given ? 0 : 1)) {
      warnings.push(
        `${old.env} is ignored: ${given || olds[0]?.env} is set (${old.env} is deprecated: use ${spec.env})`,
      );
    }
    // An option without a default reads 0 as "none" (e.g. --timeout 0).
    if (spec.default === undefined && value === 0) value = undefined;
    values[name] = value;
  }
  return { values: values as Pick<Settings, K>, warnings };
}

/**
 * Like {@link readOptions}, for settings that must not stop a task (the log level, the worker's
 * copy of the grace period): a bad value is replaced by its default, with a warning that names it.
 */
export function readOptionsLeniently<K extends OptionName>(
  names: readonly K[],
  env: Env = process.env,
): ReadOptions<K> {
  const values: Partial<Record<OptionName, unknown>> = {};
  const warnings: string[] = [];
  for (const name of names) {
    try {
      const read = readOptions([name], env);
      values[name] = read.values[name];
      warnings.push(...read.warnings);
    } catch (error) {
      values[name] = OPTIONS[name].default;
      warnings.push(`${(error as Error).message}; using the default (${String(OPTIONS[name].default)})`);
    }
  }
  return { values: values as Pick<Settings, K>, warnings };
}

/** The text `raw` of option `spec`, given as `label` (its flag or variable), in the option's unit. */
export function parseValue(spec: OptionSpec, raw: string, label: string): number | string {
  switch (spec.unit) {
    case "seconds":
      return checkMin(spec, Number(raw.trim() === "" ? Number.NaN : raw), raw, label, "a number of seconds");
    case "count": {
      const n = Number(raw.trim() === "" ? Number.NaN : raw);
      if (!Number.isInteger(n)) throw new OptionError(`${label} must be a whole number, got ${JSON.stringify(raw)}`);
      return checkMin(spec, n, raw, label, "a whole number");
    }
    case "bytes":
      return checkMin(spec, parseBytes(raw), raw, label, "a size in bytes (e.g. 8388608 or 8MiB)");
    case "choice":
      if (!spec.choices?.includes(raw)) {
        throw new OptionError(`${label} must be one of ${spec.choices?.join(", ")}, got ${JSON.stringify(raw)}`);
      }
      return raw;
    default:
      return raw;
  }
}

function parseDeprecated(spec: OptionSpec, raw: string, name: string): number {
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) {
    throw new OptionError(
      `${name} must be a positive number of milliseconds, like 120000; got ${JSON.stringify(raw)} (better: ${spec.env}, in seconds)`,
    );
  }
  return ms / 1000;
}

/** `8388608`, `8MiB`, `8 MiB`, `512KiB`, `1GiB`: a whole number of bytes, or NaN. */
function parseBytes(raw: string): number {
  const match = /^\s*(\d+)\s*(KiB|MiB|GiB)?\s*$/i.exec(raw);
  if (!match) return Number.NaN;
  const scale = { kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 }[(match[2] ?? "").toLowerCase()] ?? 1;
  return Number(match[1]) * scale;
}

function checkMin(spec: OptionSpec, n: number, raw: string, label: string, what: string): number {
  const min = spec.min;
  const below = min && (min.exclusive ? n <= min.value : n < min.value);
  if (!Number.isFinite(n) || below) {
    const bound = min ? ` ${min.exclusive ? ">" : "≥"} ${min.value}` : "";
    throw new OptionError(`${label} must be ${what}${bound}, got ${JSON.stringify(raw)}`);
  }
  const max = spec.max?.value ?? (spec.unit === "seconds" ? Number.POSITIVE_INFINITY : Number.MAX_SAFE_INTEGER);
  if (n > max) {
    const why = spec.max ? ` (${spec.max.why})` : "";
    throw new OptionError(`${label} must be at most ${max}${why}, got ${JSON.stringify(raw)}`);
  }
  return n;
}
