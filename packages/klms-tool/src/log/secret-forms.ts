/**
 * The forms a secret takes once a program has printed it through a common encoder, as the
 * masker looks for them. Each form is a literal text plus the regular expression that finds it;
 * hexadecimal escapes (`%2F`, `\u00e4`) match in either case, because encoders differ on it
 * (Python and Node upper-case percent escapes, Python's JSON lower-cases `\u` escapes, hand-made
 * URLs use either).
 */

/** One printed form of a secret. */
export interface SecretForm {
  /** The form as an encoder would print it (its length decides how much a stream holds back). */
  text: string;
  /** A regular-expression source matching `text`, hexadecimal escapes in either case. */
  source: string;
}

/** JSON nesting followed inside a secret that is a JSON document; deeper fields are not listed. */
const MAX_SECRET_JSON_DEPTH = 32;

/** Every form of `secret` the masker looks for (the caller drops forms that are too short). */
export function secretForms(secret: string): SecretForm[] {
  const texts = new Set<string>();
  for (const base of baseForms(secret)) for (const encoded of encodings(base)) texts.add(encoded);
  texts.delete("");
  return [...texts].map((text) => ({ text, source: toSource(text) }));
}

/** The secret, and the parts of it that are secret on their own. */
function baseForms(secret: string): Set<string> {
  const bases = new Set<string>([secret]);
  const bearer = /^bearer\s+(.+)$/is.exec(secret);
  if (bearer?.[1]) bases.add(bearer[1]);
  for (const form of [...bases]) {
    // A multi-line value (a PEM key) is often printed one line at a time.
    for (const line of form.split(/\r?\n/)) bases.add(line.trim());
    // A JWT's signature part is secret on its own; its header alone is not worth masking.
    const jwt = form.split(".");
    if (jwt.length === 3 && jwt.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) bases.add(jwt[2] as string);
  }
  for (const form of jsonForms(secret)) bases.add(form);
  return bases;
}

/** For a secret that is a JSON document (a service-account key, …): each string field, and its re-serialisations. */
function jsonForms(secret: string): string[] {
  const trimmed = secret.trim();
  if (!trimmed.startsWith("{") && !trimmed.startsWith("[")) return [];
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch {
    return [];
  }
  const forms: string[] = [JSON.stringify(value, null, 2)];
  // Compact (JSON.stringify, Python with separators=(",", ":")) and Python's default ", "/": ",
  // each as is and with Python's ensure_ascii escapes.
  for (const text of [JSON.stringify(value), pythonDumps(value, 0)]) {
    if (text !== undefined) forms.push(text, asciiJson(text));
  }
  const walk = (v: unknown, depth: number) => {
    if (typeof v === "string") forms.push(v);
    else if (v !== null && typeof v === "object" && depth < MAX_SECRET_JSON_DEPTH) {
      for (const child of Object.values(v)) walk(child, depth + 1);
    }
  };
  walk(value, 0);
  return forms;
}

/**
 * The encodings of one text: as is, JSON-escaped, percent-encoded four ways, base64, hexadecimal,
 * and the way Python prints it inside a container or with `!r` (`repr`, `ascii`, and `repr` of its
 * UTF-8 bytes): `print(secrets)` shows every value through `repr`.
 */
function encodings(text: string): string[] {
  if (text === "") return [];
  const json = JSON.stringify(text).slice(1, -1);
  const bytes = Buffer.from(text);
  const base64 = bytes.toString("base64");
  const hex = bytes.toString("hex");
  return [
    text,
    json,
    asciiJson(json),
    pythonRepr(text, false),
    pythonRepr(text, true),
    pythonBytesRepr(bytes),
    hex,
    hex.toUpperCase(),
    encodeURIComponent(text),
    // Python's urllib.parse.quote(s) keeps "/" ; quote(s, safe="") does not.
    percentEncode(text, PYTHON_SAFE, "/", false),
    percentEncode(text, PYTHON_SAFE, "", false),
    // quote_plus(s) and a form body (URLSearchParams): space as "+".
    percentEncode(text, PYTHON_SAFE, "", true),
    new URLSearchParams({ s: text }).toString().slice(2),
    base64,
    base64.replace(/=+$/, ""),
    bytes.toString("base64url"),
  ];
}

/** Characters Python's `str.isprintable()` refuses, besides ASCII's controls: `repr` escapes them. */
const PY_UNPRINTABLE = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}]|(?! )\p{Zs}/u;

/**
 * The body of Python's `repr(text)` (or `ascii(text)`), without its quotes: single quotes unless
 * the text holds a `'` and no `"`; `\\`, the quote in use, `\t \n \r` escaped; other unprintable
 * characters (and, for `ascii`, everything past ASCII) as `\xhh`, `\uhhhh` or `\Uhhhhhhhh`.
 */
function pythonRepr(text: string, asciiOnly: boolean): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0) as number;
    if (char === "\\" || char === quote) out += `\\${char}`;
    else if (char === "\t") out += "\\t";
    else if (char === "\n") out += "\\n";
    else if (char === "\r") out += "\\r";
    else if (code < 0x20 || code === 0x7f || (code > 0x7f && (asciiOnly || PY_UNPRINTABLE.test(char)))) {
      out += pythonEscape(code);
    } else out += char;
  }
  return out;
}

/** Python's escape of one code point in `repr`/`ascii`: lower-case hexadecimal. */
function pythonEscape(code: number): string {
  if (code <= 0xff) return `\\x${code.toString(16).padStart(2, "0")}`;
  if (code <= 0xffff) return `\\u${code.toString(16).padStart(4, "0")}`;
  return `\\U${code.toString(16).padStart(8, "0")}`;
}

/** The body of Python's `repr(text.encode())` (`b'…'` without `b'` and `'`): bytes past ASCII as `\xhh`. */
function pythonBytesRepr(bytes: Buffer): string {
  const quote = bytes.includes(0x27) && !bytes.includes(0x22) ? 0x22 : 0x27;
  let out = "";
  for (const byte of bytes) {
    if (byte === 0x5c || byte === quote) out += `\\${String.fromCharCode(byte)}`;
    else if (byte === 0x09) out += "\\t";
    else if (byte === 0x0a) out += "\\n";
    else if (byte === 0x0d) out += "\\r";
    else if (byte < 0x20 || byte >= 0x7f) out += `\\x${byte.toString(16).padStart(2, "0")}`;
    else out += String.fromCharCode(byte);
  }
  return out;
}

/** Characters Python's `quote` never escapes. */
const PYTHON_SAFE = /[A-Za-z0-9_.~-]/;

function percentEncode(text: string, safe: RegExp, extraSafe: string, spaceAsPlus: boolean): string {
  let out = "";
  for (const char of text) {
    if (safe.test(char) || extraSafe.includes(char)) out += char;
    else if (spaceAsPlus && char === " ") out += "+";
    else for (const byte of Buffer.from(char)) out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** A JSON string body with every character outside printable ASCII as `\uXXXX` (Python's `ensure_ascii`). */
function asciiJson(json: string): string {
  let out = "";
  for (let i = 0; i < json.length; i++) {
    const code = json.charCodeAt(i);
    out += code >= 0x20 && code <= 0x7e ? json[i] : `\\u${code.toString(16).padStart(4, "0")}`;
  }
  return out;
}

/** Python's `json.dumps(value, ensure_ascii=False)`: ", " and ": " separators; undefined when too deep. */
function pythonDumps(value: unknown, depth: number): string | undefined {
  if (depth > MAX_SECRET_JSON_DEPTH) return undefined;
  if (value === null || typeof value !== "object") return JSON.stringify(value);
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const part = pythonDumps(item, depth + 1);
      if (part === undefined) return undefined;
      parts.push(part);
    }
    return `[${parts.join(", ")}]`;
  }
  for (const [key, item] of Object.entries(value)) {
    const part = pythonDumps(item, depth + 1);
    if (part === undefined) return undefined;
    parts.push(`${pythonDumps(key, depth + 1)}: ${part}`);
  }
  return `{${parts.join(", ")}}`;
}

/** A `%XX` or `\uXXXX` escape in a form's text: its hexadecimal digits match in either case. */
const HEX_ESCAPE = /%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}/g;

/** A regular-expression source for `text`, with `%XX` and `\uXXXX` escapes matching in either case. */
function toSource(text: string): string {
  // One pass over the escapes, the text between them quoted: the forms of a long token (a JWT,
  // its hex and base64) run to thousands of characters, and every task registers them.
  let source = "";
  let from = 0;
  for (const match of text.matchAll(HEX_ESCAPE)) {
    source += quote(text.slice(from, match.index));
    const hex = match[0];
    source += hex.startsWith("%") ? "%" : "\\\\u";
    for (const digit of hex.slice(hex.startsWith("%") ? 1 : 2)) {
      source += digit >= "0" && digit <= "9" ? digit : `[${digit.toLowerCase()}${digit.toUpperCase()}]`;
    }
    from = match.index + hex.length;
  }
  return source + quote(text.slice(from));
}

/** `text` as a regular-expression source that matches it literally. */
function quote(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * The longest part of a form's text that its source matches exactly (outside every hexadecimal
 * escape): a text that lacks it cannot hold the form, so the masker tests it with `includes`
 * before it runs the form's regular expression. Empty when the form is escapes only.
 */
export function literalAnchor(text: string): string {
  let anchor = "";
  for (const part of text.split(HEX_ESCAPE)) if (part.length > anchor.length) anchor = part;
  return anchor;
}
