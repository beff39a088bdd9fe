/**
 * The platform runs Python's `ast.literal_eval` on every stored parameter value when it reads
 * them back (Data API `sql_utils.py`, errors ignored), so a string parameter that looks like a
 * Python literal reaches the tool converted: `"123"` → `123`, `"None"` → `null`. This module
 * reproduces that for the literals a parameter can plausibly hold: numbers (with sign, `_`, hex,
 * octal, binary, exponent), `True`/`False`/`None`, quoted strings (adjacent ones concatenated)
 * and lists, tuples and dicts of those. What `literal_eval` rejects (names, expressions, `"null"`,
 * dates, URLs) stays the original string, as on the platform; so do the literals left out here
 * (complex numbers, bytes, sets, triple-quoted strings) and values JSON cannot carry.
 */

/** Thrown inside the parser when the text is not a supported literal; never escapes this module. */
class NotALiteral extends Error {}

const DIGITS = String.raw`\d(?:_?\d)*`;
const EXPONENT = `[eE][+-]?${DIGITS}`;
const FLOAT = new RegExp(
  String.raw`^(?:${DIGITS}\.(?:${DIGITS})?(?:${EXPONENT})?|\.${DIGITS}(?:${EXPONENT})?|${DIGITS}${EXPONENT})`,
);
const INTEGER = /^(?:0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+|[1-9](?:_?\d)*|0(?:_?0)*)/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;
const STRING_PREFIX = /^([rRuU]?)(['"])/;

/**
 * Evaluates a string the way the platform's parameter read does: returns the converted value
 * when `text` is a supported Python literal, else `text` itself. Non-string values are returned
 * as they are (the platform's `literal_eval` raises on them and keeps the value).
 */
export function literalEval(text: unknown): unknown {
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

/** Applies {@link literalEval} to each top-level parameter value, as the platform does per row. */
export function evalParameters(parameters: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parameters)) out[name] = literalEval(value);
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
    if (c === "+" || c === "-") {
      this.#pos++;
      // A sign applies to a number only: -5 and -(5), not -True or -'x'.
      const n = this.#peek() === "(" ? this.#parenthesised() : this.#number();
      if (typeof n !== "number") throw new NotALiteral();
      return c === "-" ? -n : n;
    }
    if (/^[0-9.]/.test(c)) return this.#number();
    if (STRING_PREFIX.test(rest)) return this.#strings();
    const name = NAME.exec(rest)?.[0];
    if (name === "True" || name === "False" || name === "None") {
      this.#pos += name.length;
      return name === "None" ? null : name === "True";
    }
    throw new NotALiteral();
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

  #number(): number {
    const rest = this.text.slice(this.#pos);
    const float = FLOAT.exec(rest)?.[0];
    const integer = INTEGER.exec(rest)?.[0];
    const token = float ?? integer;
    if (!token) throw new NotALiteral();
    // A number glued to a letter or digit is something else: 1j (complex), 007, 1_ or 12abc.
    const after = rest[token.length];
    if (after !== undefined && /[A-Za-z0-9_.]/.test(after)) throw new NotALiteral();
    this.#pos += token.length;
    const clean = token.replaceAll("_", "");
    const value = float ? Number(clean) : parseInteger(clean);
    if (!Number.isFinite(value)) throw new NotALiteral();
    return value;
  }

  #strings(): string {
    let out = "";
    let first = true;
    // Python joins adjacent string literals: 'a' "b" is "ab".
    while (first || STRING_PREFIX.test(this.text.slice(this.#pos))) {
      out += this.#string();
      first = false;
      this.#skipSpace();
    }
    return out;
  }

  #string(): string {
    const m = STRING_PREFIX.exec(this.text.slice(this.#pos));
    if (!m) throw new NotALiteral();
    const raw = (m[1] ?? "").toLowerCase() === "r";
    const quote = m[2] as string;
    if (this.text.startsWith(quote.repeat(3), this.#pos + (m[1]?.length ?? 0))) throw new NotALiteral();
    this.#pos += m[0].length;
    let out = "";
    for (;;) {
      const c = this.text[this.#pos];
      if (c === undefined || c === "\n") throw new NotALiteral();
      this.#pos++;
      if (c === quote) return out;
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

  /** A dict's keys become JSON object keys the way Python's `json.dumps` writes them. */
  #dict(): Record<string, unknown> {
    this.#expect("{");
    const out: Record<string, unknown> = {};
    while (this.#peek() !== "}") {
      const key = this.value();
      this.#expect(":");
      out[jsonKey(key)] = this.value();
      if (this.#peek() === ",") this.#pos++;
      else break;
    }
    this.#expect("}");
    return out;
  }
}

function parseInteger(clean: string): number {
  const prefix = clean.slice(0, 2).toLowerCase();
  const radix = prefix === "0x" ? 16 : prefix === "0o" ? 8 : prefix === "0b" ? 2 : 10;
  return radix === 10 ? Number(clean) : Number.parseInt(clean.slice(2), radix);
}

function jsonKey(key: unknown): string {
  if (typeof key === "string") return key;
  if (key === null) return "null";
  if (typeof key === "boolean") return String(key);
  // Python writes 2.0 as "2.0" where this gives "2"; a float dict key in a parameter is far-fetched.
  if (typeof key === "number") return String(key);
  // Lists are unhashable in Python; tuples as keys cannot be written as JSON.
  throw new NotALiteral();
}
