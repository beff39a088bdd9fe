import { Transform, type TransformCallback } from "node:stream";

/** What a masked value is replaced with. */
export const MASK = "***";

/** Values shorter than this are not masked: masking "a" would garble every line. */
export const MIN_MASKED_LENGTH = 4;

/**
 * Replaces secret values in text, by value, wherever they appear: as they are, JSON-escaped,
 * URL-encoded and base64-encoded (standard and URL-safe), and each line of a multi-line value.
 * A bearer token is also masked without its `Bearer ` prefix, and a JWT by each of its parts.
 */
export class Masker {
  #needles: string[] = [];
  #pattern: RegExp | undefined;

  /** Registers a secret value. Returns false when it is too short to be masked safely. */
  add(value: unknown): boolean {
    if (typeof value !== "string" && typeof value !== "number") return true;
    const secret = String(value);
    if (secret.length < MIN_MASKED_LENGTH) return secret.length === 0;
    const forms = new Set<string>([secret]);
    const bearer = /^bearer\s+(.+)$/i.exec(secret);
    if (bearer?.[1]) forms.add(bearer[1]);
    for (const form of [...forms]) {
      forms.add(JSON.stringify(form).slice(1, -1));
      forms.add(encodeURIComponent(form));
      forms.add(Buffer.from(form).toString("base64"));
      forms.add(Buffer.from(form).toString("base64url"));
      for (const line of form.split(/\r?\n/)) forms.add(line.trim());
      // A JWT's signature part is secret on its own; its header alone is not worth masking.
      const jwt = form.split(".");
      if (jwt.length === 3 && jwt.every((p) => /^[A-Za-z0-9_-]+$/.test(p))) forms.add(jwt[2] as string);
    }
    for (const form of forms) {
      if (form.length >= MIN_MASKED_LENGTH && !this.#needles.includes(form)) this.#needles.push(form);
    }
    this.#pattern = undefined;
    return true;
  }

  /** Registers every string leaf of a JSON value (e.g. the `secrets` object). */
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

  /** The longest registered form, in characters: how much a stream must hold back. */
  get longest(): number {
    return this.#needles.reduce((n, s) => Math.max(n, s.length), 0);
  }

  /** Masks every registered value in `text`. */
  mask(text: string): string {
    if (this.#needles.length === 0) return text;
    if (!this.#pattern) {
      // Longest first, so that a value is masked whole before any of its parts.
      const sorted = [...this.#needles].sort((a, b) => b.length - a.length);
      this.#pattern = new RegExp(sorted.map(escapeRegExp).join("|"), "g");
    }
    return text.replace(this.#pattern, MASK);
  }

  /** A transform stream that masks line by line (a secret split across chunks is still found). */
  stream(): Transform {
    return new MaskingStream(this);
  }
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Holds back a partial line so that no secret is cut in two at a chunk boundary. */
class MaskingStream extends Transform {
  #pending = "";
  readonly #masker: Masker;
  static readonly MAX_LINE = 64 * 1024;

  constructor(masker: Masker) {
    super({ decodeStrings: true });
    this.#masker = masker;
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#pending += chunk.toString("utf8");
    const lastNewline = this.#pending.lastIndexOf("\n");
    if (lastNewline >= 0) {
      this.push(this.#masker.mask(this.#pending.slice(0, lastNewline + 1)));
      this.#pending = this.#pending.slice(lastNewline + 1);
    }
    if (this.#pending.length > MaskingStream.MAX_LINE) {
      // A very long line: emit all but a tail long enough to hold any secret.
      const keep = this.#masker.longest;
      const masked = this.#masker.mask(this.#pending);
      const cut = Math.max(0, masked.length - keep);
      this.push(masked.slice(0, cut));
      this.#pending = masked.slice(cut);
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.#pending) this.push(this.#masker.mask(this.#pending));
    this.#pending = "";
    done();
  }
}
