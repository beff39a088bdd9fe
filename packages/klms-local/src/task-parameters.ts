/**
 * Task parameters and secrets as the platform stores and returns them.
 *
 * Parameters (`sql_utils.py:1112-1141`, `:1599-1617`): each value is written `json.dumps(value)`
 * into a `jsonb` column, read back by psycopg2 (`json.loads`), then, when it is a string, through
 * `ast.literal_eval` ({@link pyLiteralEval}). So a JSON `2.0` comes back the float `2.0`, a
 * `1e16` the int `10000000000000000` (jsonb's numeric prints no exponent), a `-0.0` the float
 * `0.0`, a string `"1.0"` the float `1.0`; a float `inf`/`nan` (JSON `1e999`) or a `\u0000` in a
 * string cannot be stored in jsonb, so the creation fails with the platform's SQL 500.
 *
 * Secrets (`sql_utils.py:1144-1189`, `klms.task_secret.value text`): psycopg2 binds the value
 * and PostgreSQL casts it to text: a string as it is, an int with all its digits, a float as
 * the numeric its `repr()` reads as (`2.0` → `"2.0"`, `1e16` → `"10000000000000000"`), a bool
 * `"true"`/`"false"`, `null` stays `null`; a dict or list cannot be bound (500).
 */
import { checkParameterRows, checkSecretRows } from "./db-constraints.js";
import { pyLiteralEval } from "./literal-eval.js";
import { dumpsJson, PyFloat, PyInt, pyInt, setKey } from "./python-json.js";
import { numberSourceAt, type Place, parseJsonText, pyFloat } from "./python-repr.js";

/**
 * A value of a parsed request body as Python's `json.loads` made it: a number whose source text
 * has `.` or an exponent is a {@link PyFloat}, other numbers ints (exact, {@link PyInt} beyond
 * 2^53). `place` finds the number's source text (`parseJsonText`); without it (a value built in
 * JavaScript) an integral number is an int, another a float.
 */
export function pythonValueOf(value: unknown, place?: Place): unknown {
  if (typeof value === "number") {
    const source = place ? numberSourceAt(place) : undefined;
    if (source === undefined) return Number.isInteger(value) ? value : new PyFloat(value);
    return /[.eE]/.test(source) ? new PyFloat(value) : pyInt(source);
  }
  if (Array.isArray(value)) return value.map((item, i) => pythonValueOf(item, { parent: value, key: i }));
  if (value !== null && typeof value === "object" && !(value instanceof PyFloat) && !(value instanceof PyInt)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setKey(out, k, pythonValueOf(v, { parent: value, key: k }));
    return out;
  }
  return value;
}

/**
 * The numeric PostgreSQL makes of a float's `repr()`: scale = fraction digits minus exponent
 * (never below 0), no exponent, no negative zero. Scale 0 reads back as a Python int.
 */
export function numericOf(value: number): PyFloat | number | PyInt {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(pyFloat(value));
  if (!m) return new PyFloat(value);
  const [, sign = "", whole = "", fraction = "", exp = "0"] = m;
  const exponent = Number(exp);
  if (fraction.length - exponent > 0) return new PyFloat(value === 0 ? 0 : value);
  const digits = `${whole}${fraction}${"0".repeat(exponent - fraction.length)}`.replace(/^0+(?=\d)/, "");
  return pyInt(digits === "0" ? "0" : `${sign}${digits}`);
}

/** A value as it comes out of jsonb: floats through {@link numericOf}. Non-finite floats are left for the check. */
function throughJsonb(value: unknown): unknown {
  if (value instanceof PyFloat) return Number.isFinite(value.value) ? numericOf(value.value) : value;
  if (Array.isArray(value)) return value.map(throughJsonb);
  if (value !== null && typeof value === "object" && !(value instanceof PyInt)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) setKey(out, k, throughJsonb(v));
    return out;
  }
  return value;
}

/**
 * The parameter rows the platform would store for a task spec's `parameters` (parsed by
 * `parseJsonText`, or built in JavaScript): name → the JSON text jsonb holds. `null` when there
 * are none. Throws the platform's SQL 500 for what jsonb refuses ({@link checkParameterRows}).
 */
export function parameterRowsOf(
  parameters: Record<string, unknown> | null | undefined,
  what: "parameter" | "metric" = "parameter",
): Record<string, string> | null {
  if (!parameters || Object.keys(parameters).length === 0) return null;
  const rows: Record<string, string> = {};
  for (const [name, value] of Object.entries(parameters)) {
    const python = pythonValueOf(value, { parent: parameters, key: name });
    checkParameterRows(name, python, what);
    setKey(rows, name, dumpsJson(throughJsonb(python)));
  }
  return rows;
}

/**
 * Metrics go the same way (`sql_utils.py:1192-1217`: psycopg2's `Json` into `klms.metrics.value
 * jsonb`; `:1621-1640`: read back through `ast.literal_eval`): name → jsonb text.
 */
export function metricRowsOf(metrics: Record<string, unknown> | null | undefined): Record<string, string> | null {
  return parameterRowsOf(metrics, "metric");
}

/**
 * The parameters (or metrics) as the platform reads them back (`task_execution_parameters_read_sql`): each
 * row parsed as psycopg2 parses jsonb, then a string through {@link pyLiteralEval}; `null` when
 * there are none.
 */
export function parametersFromRows(rows: Record<string, string> | null): Record<string, unknown> | null {
  if (!rows || Object.keys(rows).length === 0) return null;
  const out: Record<string, unknown> = {};
  for (const [name, text] of Object.entries(rows)) {
    // Wrapped in a list so that a top-level number has a container to remember its text by.
    const parsed = parseJsonText(`[${text}]`).value as unknown[];
    setKey(out, name, pyLiteralEval(pythonValueOf(parsed[0], { parent: parsed, key: 0 })));
  }
  return out;
}

/** One secret as the platform's text column returns it (see the module comment). */
function secretText(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return String(value);
  if (value instanceof PyInt) return value.digits;
  if (typeof value === "number") return String(value === 0 ? 0 : value);
  if (value instanceof PyFloat) {
    if (!Number.isFinite(value.value))
      return Number.isNaN(value.value) ? "NaN" : value.value > 0 ? "Infinity" : "-Infinity";
    const numeric = numericOf(value.value);
    return numeric instanceof PyFloat ? numericText(value.value) : dumpsJson(numeric);
  }
  return String(value);
}

/** A float's numeric text with its scale (`2.0`, `0.00001`, `1.5`), as PostgreSQL prints it. */
function numericText(value: number): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]\d+))?$/.exec(pyFloat(value));
  if (!m) return pyFloat(value);
  const [, sign = "", whole = "", fraction = "", exp = "0"] = m;
  const exponent = Number(exp);
  const digits = `${whole}${fraction}`;
  // The decimal point sits `whole.length + exponent` digits in; pad with zeros on either side.
  const point = whole.length + exponent;
  const padded = point <= 0 ? `${"0".repeat(1 - point)}${digits}` : digits.padEnd(point + 1, "0");
  const at = Math.max(point, 1);
  const text = `${padded.slice(0, at)}.${padded.slice(at)}`.replace(/^0+(?=\d)/, "");
  return value === 0 ? text : `${sign}${text}`;
}

/**
 * The secret rows the platform would store for a task spec's `secrets`: name → text or `null`.
 * Throws the platform's SQL 500 for a dict or a list ({@link checkSecretRows}).
 */
export function secretRowsOf(secrets: Record<string, unknown> | null | undefined): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(secrets ?? {})) {
    const python = pythonValueOf(value, { parent: secrets as object, key: name });
    checkSecretRows(name, python);
    setKey(out, name, secretText(python));
  }
  return out;
}
