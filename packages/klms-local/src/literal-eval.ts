/**
 * The platform runs Python's `ast.literal_eval` on every stored parameter value when it reads
 * them back (Data API `sql_utils.py:1599-1617`, `ValueError`/`SyntaxError` ignored), so a string
 * parameter that looks like a Python literal reaches the tool converted: `"123"` → `123`,
 * `"1.0"` → the float `1.0`, `"1e5"` → `100000.0`, `"-0.0"` → `-0.0`, `"1e999"` → `inf` (written
 * `Infinity`), `"'''abc'''"` → `"abc"`, `"None"` → `null`. Numbers (sign, `_`, hex, octal, binary,
 * exponent), `True`/`False`/`None`, strings (prefixes `r`/`u`, triple quotes, adjacent ones
 * concatenated), lists, tuples and dicts are read; floats come out as {@link PyFloat}, ints beyond
 * 2^53 as {@link PyInt}. The literals JSON cannot carry (complex `1+2j`, sets `{1,2}`, bytes
 * `b"x"`, `...`) come out as {@link PyOpaque}: the platform's reply then fails with a 500, and so
 * does ours (`dumpsJson`). What `literal_eval` rejects (names, other expressions, `"null"`,
 * dates, URLs, f-strings) stays the original string.
 *
 * Not reproduced: an unhashable dict key or set item (`"{[1]: 2}"`) raises `TypeError` on the
 * platform, which its handlers turn into a 500 `InternalException`; here the text stays a string.
 */
import { floatJson, PyFloat, PyInt, PyOpaque, pyInt, setKey, toJsValue } from "./python-json.js";

/** Thrown inside the parser when the text is not a supported literal; never escapes this module. */
class NotALiteral extends Error {}

const DIGITS = String.raw`\d(?:_?\d)*`;
const EXPONENT = `[eE][+-]?${DIGITS}`;
const FLOAT = new RegExp(
  String.raw`^(?:${DIGITS}\.(?:${DIGITS})?(?:${EXPONENT})?|\.${DIGITS}(?:${EXPONENT})?|${DIGITS}${EXPONENT})`,
);
const INTEGER = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*)/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
/** A string or bytes literal's prefix and quote (`f` strings are not literals: `literal_eval` refuses them). */
const STRING_PREFIX = /^([rR][bB]|[bB][rR]|[rRuUbB]?)(['"])/;

/** A number as Python holds it: an int (a JS number, or {@link PyInt}), a {@link PyFloat}, or a complex ({@link PyOpaque}). */
type PyNumber = number | PyInt | PyFloat | PyOpaque;

function isNumber(v: unknown): v is PyNumber {
  return (
    typeof v === "number" ||
    v instanceof PyInt ||
    v instanceof PyFloat ||
    (v instanceof PyOpaque && v.type === "complex")
  );
}

function negate(n: PyNumber): PyNumber {
  if (typeof n === "number") return n === 0 ? 0 : -n;
  if (n instanceof PyFloat) return new PyFloat(-n.value);
  if (n instanceof PyInt) return pyInt(n.digits.startsWith("-") ? n.digits.slice(1) : `-${n.digits}`);
  return n;
}

const COMPLEX = new PyOpaque("complex");

/**
 * Evaluates a string the way the platform's parameter read does: returns the converted value,
 * Python-typed ({@link PyFloat}, {@link PyInt}, {@link PyOpaque}), when `text` is a supported
 * Python literal, else `text` itself. Non-string values are returned as they are (the platform's
 * `literal_eval` raises on them and keeps the value).
 */
export function pyLiteralEval(text: unknown): unknown {
  if (typeof text !== "string") return text;
  try {
    const parser = new Parser(text.replace(/^[ \t]+/, ""));
    const value = parser.value();
    parser.end();
    return value;
  } catch (e) {
    if (e instanceof NotALiteral) return text;
    throw e;
  }
}

/**
 * {@link pyLiteralEval} for JavaScript callers: a float as a number, an int beyond 2^53 as a
 * BigInt; a literal JSON cannot carry (complex, set, bytes; the platform's reply would be a 500)
 * gives `text` back.
 */
export function literalEval(text: unknown): unknown {
  if (typeof text !== "string") return text;
  const value = pyLiteralEval(text);
  return containsOpaque(value) ? text : toJsValue(value);
}

function containsOpaque(value: unknown): boolean {
  if (value instanceof PyOpaque) return true;
  if (value === null || typeof value !== "object" || value instanceof PyFloat || value instanceof PyInt) return false;
  return Object.values(value).some(containsOpaque);
}

/** Applies {@link pyLiteralEval} to each top-level parameter value, as the platform does per row. */
export function evalParameters(parameters: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters)) setKey(out, name, pyLiteralEval(value));
  return out;
}

class Parser {
  #pos = 0;
  constructor(readonly text: string) {}

  end(): void {
    this.#skipSpace();
    if (this.#pos !== this.text.length) throw new NotALiteral();
  }

  value(): unknown {
    this.#skipSpace();
    const rest = this.text.slice(this.#pos);
    const c = rest[0];
    if (c === undefined) throw new NotALiteral();
    if (c === "[") return this.#sequence("[", "]");
    if (c === "(") return this.#parenthesised();
    if (c === "{") return this.#dict();
    if (rest.startsWith("...")) {
      this.#pos += 3;
      return new PyOpaque("ellipsis");
    }
    if (c === "+" || c === "-" || /^[0-9.]/.test(rest)) return this.#complexSum(this.#signed());
    if (STRING_PREFIX.test(rest)) return this.#strings();
    const name = NAME.exec(rest)?.[0];
    if (name === "True" || name === "False" || name === "None") {
      this.#pos += name.length;
      return name === "None" ? null : name === "True";
    }
    throw new NotALiteral();
  }

  /** A number with an optional sign: -5 and -(5), not -True, -'x' or --5. */
  #signed(): PyNumber {
    const c = this.text[this.#pos];
    if (c !== "+" && c !== "-") return this.#number();
    this.#pos++;
    const n = this.#peek() === "(" ? this.#parenthesised() : this.#number();
    if (!isNumber(n)) throw new NotALiteral();
    return c === "-" ? negate(n) : n;
  }

  /** `literal_eval` takes one `a + bj` / `a - bj` (a signed number, b an unsigned imaginary): a complex. */
  #complexSum(left: PyNumber): PyNumber {
    const save = this.#pos;
    const op = this.#peek();
    if (op !== "+" && op !== "-") return left;
    this.#pos++;
    this.#skipSpace();
    if (!/^[0-9.]/.test(this.text.slice(this.#pos))) {
      this.#pos = save;
      return left;
    }
    const right = this.#number();
    if (right !== COMPLEX) throw new NotALiteral();
    return COMPLEX;
  }

  /** Skips white space and `#` comments, which Python's parser ignores too. */
  #skipSpace(): void {
    for (;;) {
      const c = this.text[this.#pos];
      if (c !== undefined && /\s/.test(c)) this.#pos++;
      else if (c === "#") {
        const eol = this.text.indexOf("\n", this.#pos);
        this.#pos = eol < 0 ? this.text.length : eol;
      } else return;
    }
  }

  #peek(): string | undefined {
    this.#skipSpace();
    return this.text[this.#pos];
  }

  #expect(char: string): void {
    if (this.#peek() !== char) throw new NotALiteral();
    this.#pos++;
  }

  #number(): PyNumber {
    const rest = this.text.slice(this.#pos);
    const float = FLOAT.exec(rest)?.[0];
    const integer = INTEGER.exec(rest)?.[0];
    const token = float ?? integer;
    if (!token) throw new NotALiteral();
    let after = rest[token.length];
    // 1j and 1.5J are imaginary (decimal only: 0x1j is not a number).
    const imaginary = (after === "j" || after === "J") && !/^0[xXoObB]/.test(token);
    if (imaginary) after = rest[token.length + 1];
    // A number glued to a letter or digit is something else: 007, 1_ or 12abc.
    if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) throw new NotALiteral();
    this.#pos += token.length + (imaginary ? 1 : 0);
    if (imaginary) return COMPLEX;
    const clean = token.replaceAll("_", "");
    // Python's float() as Number(): inf beyond the range (1e999).
    return float ? new PyFloat(Number(clean)) : pyInt(parseInteger(clean));
  }

  #strings(): string | PyOpaque {
    let out = "";
    let bytes: boolean | undefined;
    // Python joins adjacent string literals: 'a' "b" is "ab"; mixing bytes and str is a SyntaxError.
    while (bytes === undefined || STRING_PREFIX.test(this.text.slice(this.#pos))) {
      const piece = this.#string();
      if (bytes !== undefined && bytes !== piece.bytes) throw new NotALiteral();
      bytes = piece.bytes;
      out += piece.text;
      this.#skipSpace();
    }
    return bytes ? new PyOpaque("bytes") : out;
  }

  #string(): { text: string; bytes: boolean } {
    const m = STRING_PREFIX.exec(this.text.slice(this.#pos));
    if (!m) throw new NotALiteral();
    const prefix = (m[1] ?? "").toLowerCase();
    const raw = prefix.includes("r");
    const bytes = prefix.includes("b");
    const single = m[2] as string;
    const triple = this.text.startsWith(single.repeat(3), this.#pos + prefix.length);
    const quote = triple ? single.repeat(3) : single;
    this.#pos += prefix.length + quote.length;
    let out = "";
    for (;;) {
      const c = this.text[this.#pos];
      if (c === undefined || (c === "\n" && !triple)) throw new NotALiteral();
      // Bytes literals hold ASCII only.
      if (bytes && c.charCodeAt(0) > 0x7f) throw new NotALiteral();
      if (this.text.startsWith(quote, this.#pos)) {
        this.#pos += quote.length;
        return { text: out, bytes };
      }
      this.#pos++;
      if (c !== "\\") {
        out += c;
        continue;
      }
      const next = this.text[this.#pos];
      if (next === undefined) throw new NotALiteral();
      if (raw) {
        out += c + next;
        this.#pos++;
        continue;
      }
      out += this.#escape();
    }
  }

  #escape(): string {
    const c = this.text[this.#pos] as string;
    this.#pos++;
    const simple: Record<string, string> = {
      "\n": "",
      "\\": "\\",
      "'": "'",
      '"': '"',
      a: "\x07",
      b: "\b",
      f: "\f",
      n: "\n",
      r: "\r",
      t: "\t",
      v: "\v",
    };
    if (c in simple) return simple[c] as string;
    const hexLength = c === "x" ? 2 : c === "u" ? 4 : c === "U" ? 8 : 0;
    if (hexLength > 0) {
      const hex = this.text.slice(this.#pos, this.#pos + hexLength);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLength}}$`).test(hex)) throw new NotALiteral();
      this.#pos += hexLength;
      const code = Number.parseInt(hex, 16);
      if (code > 0x10ffff) throw new NotALiteral();
      return String.fromCodePoint(code);
    }
    const octal = /^[0-7]{1,3}/.exec(this.text.slice(this.#pos - 1))?.[0];
    if (octal) {
      this.#pos += octal.length - 1;
      return String.fromCodePoint(Number.parseInt(octal, 8));
    }
    if (c === "N") throw new NotALiteral();
    // Python keeps an unknown escape as it is (with a warning).
    return `\\${c}`;
  }

  #sequence(open: string, close: string): unknown[] {
    this.#expect(open);
    const items: unknown[] = [];
    while (this.#peek() !== close) {
      items.push(this.value());
      if (this.#peek() === ",") this.#pos++;
      else break;
    }
    this.#expect(close);
    return items;
  }

  /** `(1)` is 1, `(1,)` and `(1, 2)` are tuples (JSON lists), `()` is an empty tuple. */
  #parenthesised(): unknown {
    this.#expect("(");
    if (this.#peek() === ")") {
      this.#pos++;
      return [];
    }
    const first = this.value();
    if (this.#peek() === ")") {
      this.#pos++;
      return first;
    }
    this.#expect(",");
    const items = [first];
    while (this.#peek() !== ")") {
      items.push(this.value());
      if (this.#peek() === ",") this.#pos++;
      else break;
    }
    this.#expect(")");
    return items;
  }

  /** A dict (its keys become JSON keys as Python's `json.dumps` writes them), or a set (`{1, 2}`: opaque). */
  #dict(): Record<string, unknown> | PyOpaque {
    this.#expect("{");
    const out: Record<string, unknown> = {};
    let set = false;
    let first = true;
    while (this.#peek() !== "}") {
      const key = this.value();
      if (first && this.#peek() !== ":") set = true;
      first = false;
      if (!set) {
        this.#expect(":");
        setKey(out, jsonKey(key), this.value());
      }
      if (this.#peek() === ",") this.#pos++;
      else break;
    }
    this.#expect("}");
    return set ? new PyOpaque("set") : out;
  }
}

/** An int token (no `_`) as decimal digits: Python ints are unbounded, so through BigInt. */
function parseInteger(clean: string): string {
  return BigInt(/^0[oO]/.test(clean) ? `0o${clean.slice(2)}` : clean).toString();
}

function jsonKey(key: unknown): string {
  if (typeof key === "string") return key;
  if (key === null) return "null";
  if (typeof key === "boolean") return String(key);
  if (typeof key === "number") return String(key);
  if (key instanceof PyInt) return key.digits;
  if (key instanceof PyFloat) return floatJson(key.value);
  // Lists are unhashable in Python; tuples as keys cannot be written as JSON.
  throw new NotALiteral();
}
