/**
 * The one capture of a worker's output, for a worker process and a worker thread alike: bytes
 * are decoded as UTF-8 across chunks (a character cut by the pipe is joined, not turned into
 * U+FFFD), masked a whole line at a time (a secret split across writes is still found), passed on
 * to the entrypoint's own stdout/stderr, and the end of standard error is kept for the failure
 * report. Nothing is dropped at the end: the decoder and the line buffer are flushed when the
 * worker's streams end, or when the entrypoint stops waiting for them.
 */
import type { Readable, Writable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import type { LineMasker, Masker } from "./mask.js";

/** How runtimes say they ran out of memory: V8, CPython, glibc, C++, the JVM. */
const OUT_OF_MEMORY = /heap out of memory|MemoryError|Cannot allocate memory|std::bad_alloc|OutOfMemoryError/;
/** Characters of standard error kept for the failure report. */
const TAIL_CHARS = 16 * 1024;

/** Where a worker's two streams come from and go to. */
export interface CaptureStreams {
  stdout: Readable;
  stderr: Readable;
  /** The entrypoint's own streams; never ended by the capture. */
  toStdout: Writable;
  toStderr: Writable;
  masker: Masker;
}

/** A running capture; read its findings once the worker has ended. */
export interface WorkerCapture {
  /**
   * Resolves once both streams have ended and everything was passed on, or after `timeoutMs`
   * (a grandchild may hold the pipes open): then what was received is flushed and the streams
   * are let go.
   */
  drain(timeoutMs: number): Promise<void>;
  /** The last `lines` lines of standard error, masked ("" when it printed nothing). */
  stderrTail(lines: number): string;
  /** The first line of standard error that reports running out of memory, masked. */
  outOfMemory(): string | undefined;
}

/** Starts capturing a worker's stdout and stderr. */
export function captureWorkerStreams(streams: CaptureStreams): WorkerCapture {
  let tail = "";
  let outOfMemory: string | undefined;
  const out = new StreamCapture(streams.stdout, streams.masker, streams.toStdout);
  const err = new StreamCapture(streams.stderr, streams.masker, streams.toStderr, (text) => {
    tail = (tail + text).slice(-TAIL_CHARS);
    if (outOfMemory === undefined && OUT_OF_MEMORY.test(text)) {
      outOfMemory = text
        .split("\n")
        .find((line) => OUT_OF_MEMORY.test(line))
        ?.trim();
    }
  });
  return {
    async drain(timeoutMs) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        Promise.all([out.ended, err.ended]),
        new Promise((resolve) => {
          timer = setTimeout(resolve, timeoutMs);
        }),
      ]);
      clearTimeout(timer);
      out.stop();
      err.stop();
    },
    stderrTail(lines) {
      const text = tail.replace(/\s+$/, "");
      return text.trim() ? text.split("\n").slice(-lines).join("\n") : "";
    },
    outOfMemory: () => outOfMemory,
  };
}

/** One stream: decode, mask per line, pass on (pausing while the destination is full); flushed once at its end or when stopped. */
class StreamCapture {
  readonly ended: Promise<void>;
  readonly #decoder = new StringDecoder("utf8");
  readonly #lines: LineMasker;
  readonly #source: Readable;
  readonly #to: Writable;
  readonly #seen: ((text: string) => void) | undefined;
  #done = false;

  constructor(source: Readable, masker: Masker, to: Writable, seen?: (text: string) => void) {
    this.#source = source;
    this.#lines = masker.lines();
    this.#to = to;
    this.#seen = seen;
    source.on("data", (chunk: Buffer | string) => {
      const text = this.#lines.push(typeof chunk === "string" ? chunk : this.#decoder.write(chunk));
      if (text && !this.#emit(text)) {
        // Backpressure, as pipe() would: the worker waits rather than the entrypoint's memory grows.
        source.pause();
        to.once("drain", () => source.resume());
      }
    });
    this.ended = new Promise((resolve) => {
      source.once("end", resolve);
      source.once("close", resolve);
      source.once("error", resolve);
    }).then(() => this.stop());
  }

  /** Flushes what is held back (a last line without a newline, a cut character) and lets the stream go. */
  stop(): void {
    if (this.#done) return;
    this.#done = true;
    if (!this.#source.readableEnded) {
      this.#source.removeAllListeners("data");
      this.#source.destroy();
    }
    const rest = this.#lines.push(this.#decoder.end()) + this.#lines.flush();
    // A last line without its newline gets one: the entrypoint's next log line must not run on.
    if (rest) this.#emit(rest.endsWith("\n") ? rest : `${rest}\n`);
  }

  #emit(text: string): boolean {
    this.#seen?.(text);
    return this.#to.write(text);
  }
}
