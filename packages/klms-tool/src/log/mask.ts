/**
 * The masker: every secret the task carries, in every form a program is likely to print it in,
 * replaced by `***`. Masking is by value (not by variable name), so it works on text the kit did
 * not write: the worker's own prints, a Python traceback, a URL with a password in it.
 */
import { Transform } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { literalAnchor, secretForms } from "./secret-forms.js";

/** What a masked value is replaced with. */
export const MASK = "***";

/**
 * Values shorter than this are not masked: masking "a" or "42" would garble every line and,
 * worse, tell a reader where the short secret occurs. {@link Masker.add} returns false for them
 * so that the caller can warn.
 */
export const MIN_MASKED_LENGTH = 4;

/**
 * Replaces secret values in text, by value, wherever they appear. Knows the forms the common
 * encoders of Python and Node give a secret (see secret-forms.ts): JSON-escaped (also with
 * `\uXXXX` escapes), percent-encoded as `encodeURIComponent`, `urllib.parse.quote` (keeps `/`),
 * `quote_plus` (space as `+`) or a form body encodes it, with upper- or lower-case hex, base64
 * (standard, URL-safe, with or without padding), each line of a multi-line value, a bearer
 * token without its prefix, a JWT's signature part, and, for a secret that is itself a JSON
 * document, each of its string fields and its compact and Python re-serialisations.
 *
 * Limits: a secret shorter than {@link MIN_MASKED_LENGTH} is not masked; a secret encoded in a
 * way not listed (hashed, encrypted, base64 of a longer text that contains it, spelled out
 * character by character) is not recognised.
 */
export class Masker {
  /** One matcher per form, by its regular-expression source. */
  #forms = new Map<string, FormMatcher>();
  #longest = 0;

  /** Registers a secret value (a string or number). Returns false when it is too short to be masked. */
  add(value: unknown): boolean {
    if (typeof value !== "string" && typeof value !== "number") return true;
    const secret = String(value);
    if (secret.length < MIN_MASKED_LENGTH) return secret.length === 0;
    for (const form of secretForms(secret)) {
      if (form.text.length < MIN_MASKED_LENGTH || this.#forms.has(form.source)) continue;
      this.#forms.set(form.source, { source: form.source, anchor: literalAnchor(form.text), pattern: undefined });
      this.#longest = Math.max(this.#longest, form.text.length);
    }
    return true;
  }

  /** Registers every string or number leaf of a JSON value (e.g. the `secrets` object); returns the paths of those too short to mask. */
  addAll(value: unknown): string[] {
    const tooShort: string[] = [];
    const walk = (v: unknown, path: string) => {
      if (typeof v === "string" || typeof v === "number") {
        if (!this.add(v)) tooShort.push(path);
      } else if (v && typeof v === "object") {
        for (const [k, child] of Object.entries(v)) walk(child, path ? `${path}.${k}` : k);
      }
    };
    walk(value, "");
    return tooShort;
  }

  /** The longest text one registered form can match, in characters: how much a stream must hold back. */
  get longest(): number {
    return this.#longest;
  }

  /**
   * Masks every registered value in `text`: each occurrence of any form, and where two overlap,
   * the whole of both. Why not one regular expression of all the forms: it was compiled again
   * whenever a secret was added (twice per task: the token, then the input's credentials), and
   * its size (a JWT's forms run to thousands of characters) made that cost tens of milliseconds
   * on every task's critical path (BENCHMARKS.md). A form's literal anchor skips its expression
   * on the lines that cannot hold it, which is nearly all of them.
   */
  mask(text: string): string {
    const spans: Array<[number, number]> = [];
    for (const form of this.#forms.values()) {
      if (form.anchor !== "" && !text.includes(form.anchor)) continue;
      form.pattern ??= new RegExp(form.source, "g");
      form.pattern.lastIndex = 0;
      for (let match = form.pattern.exec(text); match; match = form.pattern.exec(text)) {
        spans.push([match.index, match.index + match[0].length]);
      }
    }
    return spans.length > 0 ? replaceSpans(text, spans) : text;
  }

  /**
   * Masks every string in a JSON value (object keys included), deeply, without recursion: a
   * report's message, error, metrics values and output paths, or a whole output.json.
   */
  maskValue<T>(value: T): T {
    if (this.#forms.size === 0) return value;
    return maskJson(value, (s) => this.mask(s)) as T;
  }

  /** A line buffer that masks whole lines of text written to it in pieces. */
  lines(): LineMasker {
    return new LineMasker(this);
  }

  /**
   * A transform stream of bytes in, masked UTF-8 text out: decoded across chunks, masked a whole
   * line at a time, the rest flushed at the end. For a worker's two streams use
   * `captureWorkerStreams` (capture.ts), which is built on the same pieces.
   */
  stream(): Transform {
    const lines = this.lines();
    const decoder = new StringDecoder("utf8");
    return new Transform({
      transform(chunk: Buffer | string, _encoding, done) {
        done(null, lines.push(typeof chunk === "string" ? chunk : decoder.write(chunk)));
      },
      flush(done) {
        done(null, lines.push(decoder.end()) + lines.flush());
      },
    });
  }
}

/**
 * Masks text that arrives in pieces, a whole line at a time, so that a secret written in two
 * pieces (two `write` calls, two pipe chunks) is still found. A line longer than
 * {@link LineMasker.MAX_LINE} is passed on in parts, holding back enough of its end to hold any
 * secret whole.
 */
export class LineMasker {
  /** Characters held back at most before a line with no end is passed on in parts. */
  static readonly MAX_LINE = 64 * 1024;
  #pending = "";
  readonly #masker: Masker;

  constructor(masker: Masker) {
    this.#masker = masker;
  }

  /** Adds text; returns the masked text that can be passed on now (complete lines, or the start of a very long one). */
  push(text: string): string {
    this.#pending += text;
    let out = "";
    const lastNewline = this.#pending.lastIndexOf("\n");
    if (lastNewline >= 0) {
      out = this.#masker.mask(this.#pending.slice(0, lastNewline + 1));
      this.#pending = this.#pending.slice(lastNewline + 1);
    }
    if (this.#pending.length > LineMasker.MAX_LINE) {
      const masked = this.#masker.mask(this.#pending);
      // Keep back one character less than the longest form: a secret cut here is still whole later.
      let cut = Math.max(0, masked.length - Math.max(0, this.#masker.longest - 1));
      // Never between the two halves of a surrogate pair.
      const code = masked.charCodeAt(cut - 1);
      if (cut > 0 && code >= 0xd800 && code <= 0xdbff) cut--;
      out += masked.slice(0, cut);
      this.#pending = masked.slice(cut);
    }
    return out;
  }

  /** Returns whatever is held back, masked (the end of the stream, or the program exits). */
  flush(): string {
    const rest = this.#pending ? this.#masker.mask(this.#pending) : "";
    this.#pending = "";
    return rest;
  }
}

/** How the masker looks for one form of a secret. */
interface FormMatcher {
  source: string;
  /** A literal part every match contains (secret-forms.ts: literalAnchor). */
  anchor: string;
  /** The form's expression, compiled on the first text that holds its anchor. */
  pattern: RegExp | undefined;
}

/** `text` with every span (start, end) replaced by {@link MASK}; overlapping spans become one. */
function replaceSpans(text: string, spans: Array<[number, number]>): string {
  spans.sort((a, b) => a[0] - b[0] || b[1] - a[1]);
  let out = "";
  let from = 0;
  let current: [number, number] | undefined;
  for (const span of spans) {
    if (current && span[0] < current[1]) {
      current[1] = Math.max(current[1], span[1]);
      continue;
    }
    if (current) {
      out += text.slice(from, current[0]) + MASK;
      from = current[1];
    }
    current = [span[0], span[1]];
  }
  if (current) out += text.slice(from, current[0]) + MASK;
  return out + text.slice(current ? current[1] : from);
}

/** Applies `mask` to every string of a JSON value, keys included, with an explicit stack (no depth limit). */
/**
 * A number whose decimal form holds a secret (a PIN reported as `Number(secret)`) becomes the
 * masked string: the value's type changes, but a secret never reaches the platform as a number.
 */
function maskNumber(value: number | bigint, mask: (s: string) => string): number | bigint | string {
  const text = String(value);
  const masked = mask(text);
  return masked === text ? value : masked;
}

function maskJson(root: unknown, mask: (s: string) => string): unknown {
  if (typeof root === "string") return mask(root);
  if (typeof root === "number" || typeof root === "bigint") return maskNumber(root, mask);
  if (root === null || typeof root !== "object") return root;
  const copy = (v: object): Record<string, unknown> | unknown[] => (Array.isArray(v) ? [] : {});
  const top = copy(root);
  const stack: Array<[object, Record<string, unknown> | unknown[]]> = [[root, top]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [from, to] = item;
    for (const [key, value] of Object.entries(from)) {
      let out: unknown = value;
      if (typeof value === "string") out = mask(value);
      else if (typeof value === "number" || typeof value === "bigint") out = maskNumber(value, mask);
      else if (value !== null && typeof value === "object") {
        out = copy(value);
        stack.push([value, out as Record<string, unknown> | unknown[]]);
      }
      if (Array.isArray(to)) to.push(out);
      // defineProperty: a key "__proto__" (JSON.parse makes it an own key) stays a plain key.
      else Object.defineProperty(to, mask(key), { value: out, enumerable: true, writable: true, configurable: true });
    }
  }
  return top;
}
