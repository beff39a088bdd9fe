/**
 * How the platform's Python prints the JSON values of a request in its messages: `str()` (an
 * f-string `{x}`, `" ".join(map(str, args))`) and `repr()`. JSON keeps what JavaScript loses:
 * Python's `json` reads `1.0` as a float (printed `1.0`) and `1` as an int (printed `1`), and ints
 * of any size exactly, so {@link parseJsonText} remembers each number's source text for
 * {@link pyStr}.
 */

/** The source text of the numbers of parsed JSON bodies, by container and key (array index as a number). */
const numberTexts = new WeakMap<object, Map<string | number, string>>();

/** Where a value sits in a parsed body: its container and key, so {@link pyStr} finds its source text. */
export interface Place {
  parent: object;
  key: string | number;
}

/**
 * `JSON.parse`, remembering the source text of every number inside an object or array (a
 * top-level number has no container and is printed from its value); `depth` is the deepest
 * nesting of arrays and objects (0 for a scalar). Throws `SyntaxError` as `JSON.parse` does.
 */
export function parseJsonText(text: string): { value: unknown; depth: number } {
  const value: unknown = JSON.parse(text);
  const depth = value !== null && typeof value === "object" ? recordNumbers(text, value) : 0;
  return { value, depth };
}

/**
 * Walks valid JSON text without recursion (the body may nest deeper than the stack) alongside
 * the parsed value, noting each number token's text under its container and key. A repeated
 * object key keeps the last value, as both parsers do. Returns the deepest nesting.
 */
function recordNumbers(text: string, root: object): number {
  let depth = 0;
  const stack: Array<{ node: Record<string | number, unknown>; key: string | number }> = [];
  const token = /\s*(?:("(?:[^"\\]|\\.)*")\s*:|("(?:[^"\\]|\\.)*")|(-?\d[\d.eE+-]*)|([[{])|([\]}])|,|true|false|null)/y;
  let current: (typeof stack)[number] | undefined;
  for (let m = token.exec(text); m && token.lastIndex <= text.length; m = token.exec(text)) {
    if (m[0] === "") break;
    const [, key, , number, open, close] = m;
    if (key !== undefined && current) current.key = JSON.parse(key) as string;
    else if (number !== undefined && current) {
      const texts = numberTexts.get(current.node) ?? new Map<string | number, string>();
      numberTexts.set(current.node, texts);
      texts.set(current.key, number);
    }
    if (open !== undefined) {
      const node = (current ? current.node[current.key] : root) as Record<string | number, unknown>;
      if (current) stack.push(current);
      current = { node, key: 0 };
      depth = Math.max(depth, stack.length + 1);
    } else if (close !== undefined) current = stack.pop();
    else if (m[0].trim() === "," && current && Array.isArray(current.node)) current.key = (current.key as number) + 1;
  }
  return depth;
}

/** The source text of the number at `place` in a body parsed by {@link parseJsonText}; undefined when unknown. */
export function numberSourceAt(place: Place): string | undefined {
  return numberTexts.get(place.parent)?.get(place.key);
}

/** Python's `str()` of a JSON value (`None`, `True`, `1.0`, `[1, 'a']`, `{'k': 2}`); `place` finds a number's source. */
export function pyStr(value: unknown, place?: Place): string {
  if (value === null) return "None";
  if (value === true) return "True";
  if (value === false) return "False";
  if (typeof value === "number") return pyNumber(value, place && numberTexts.get(place.parent)?.get(place.key));
  if (Array.isArray(value)) return `[${value.map((v, i) => pyRepr(v, { parent: value, key: i })).join(", ")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return `{${entries.map(([k, v]) => `${pyRepr(k)}: ${pyRepr(v, { parent: value, key: k })}`).join(", ")}}`;
  }
  return String(value);
}

/** Python's `repr()` of a JSON value: strings quoted as Python quotes them, the rest as {@link pyStr}. */
export function pyRepr(value: unknown, place?: Place): string {
  if (typeof value !== "string") return pyStr(value, place);
  const quote = value.includes("'") && !value.includes('"') ? '"' : "'";
  const escaped = value
    .replace(/\\/g, "\\\\")
    .replace(/\n/g, "\\n")
    .replace(/\r/g, "\\r")
    .replace(/\t/g, "\\t")
    .replaceAll(quote, `\\${quote}`);
  return `${quote}${escaped}${quote}`;
}

/** A number as Python prints it: an int token exactly as sent, a float (`.`, `e`) as `repr(float)`. */
function pyNumber(value: number, source?: string): string {
  if (source !== undefined && !/[.eE]/.test(source)) return source.replace(/^-0+$/, "0");
  if (source === undefined && Number.isInteger(value)) return String(value);
  return pyFloat(value);
}

/**
 * Python's `repr(float)`: the shortest round-trip digits (as JavaScript's), in fixed notation
 * with at least one decimal when the exponent is in [-4, 16), else `d.ddde±XX`; `inf`, `nan`.
 */
export function pyFloat(value: number): string {
  if (Number.isNaN(value)) return "nan";
  if (!Number.isFinite(value)) return value > 0 ? "inf" : "-inf";
  if (Object.is(value, -0)) return "-0.0";
  const [mantissa = "0", exp = "0"] = value.toExponential().split("e");
  const exponent = Number(exp);
  if (exponent >= -4 && exponent < 16) {
    const fixed = String(value);
    return fixed.includes(".") ? fixed : `${fixed}.0`;
  }
  return `${mantissa}e${exponent < 0 ? "-" : "+"}${String(Math.abs(exponent)).padStart(2, "0")}`;
}
