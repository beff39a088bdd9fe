/**
 * The masker: every secret the task carries, in every form a program is likely to print it in,
 * replaced by `***`. Masking is by value (not by variable name), so it works on text the kit did
 * not write: the worker's own prints, a Python traceback, a URL with a password in it.
 */
import { Transform } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { secretForms } from "./secret-forms.js";

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
  /** Regular-expression sources, one per form, and the longest text any of them matches. */
  #sources = new Set<string>();
  #longest = 0;
  #pattern: RegExp | undefined;

  /** Registers a secret value (a string or number). Returns false when it is too short to be masked. */
  add(value: unknown): boolean {
    if (typeof value !== "string" && typeof value !== "number") return true;
    const secret = String(value);
    if (secret.length < MIN_MASKED_LENGTH) return secret.length === 0;
    for (const form of secretForms(secret)) {
      if (form.text.length < MIN_MASKED_LENGTH || this.#sources.has(form.source)) continue;
      this.#sources.add(form.source);
      this.#longest = Math.max(this.#longest, form.text.length);
      this.#pattern = undefined;
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

  /** Masks every registered value in `text`. */
  mask(text: string): string {
    if (this.#sources.size === 0) return text;
    if (!this.#pattern) {
      // Longest first, so that a value is masked whole before any of its parts.
      const sorted = [...this.#sources].sort((a, b) => b.length - a.length);
      this.#pattern = new RegExp(sorted.join("|"), "g");
    }
    return text.replace(this.#pattern, MASK);
  }

  /**
   * Masks every string in a JSON value (object keys included), deeply, without recursion: a
   * report's message, error, metrics values and output paths, or a whole output.json.
   */
  maskValue<T>(value: T): T {
    if (this.#sources.size === 0) return value;
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

/** Applies `mask` to every string of a JSON value, keys included, with an explicit stack (no depth limit). */
function maskJson(root: unknown, mask: (s: string) => string): unknown {
  if (typeof root === "string") return mask(root);
  if (root === null || typeof root !== "object") return root;
  const copy = (v: object): Record<string, unknown> | unknown[] => (Array.isArray(v) ? [] : {});
  const top = copy(root);
  const stack: Array<[object, Record<string, unknown> | unknown[]]> = [[root, top]];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const [from, to] = item;
    for (const [key, value] of Object.entries(from)) {
      let out: unknown = value;
      if (typeof value === "string") out = mask(value);
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
