/**
 * Parallel ranged download: an object fetched as byte ranges, several at once, each written at
 * its offset in a local file. Why: one HTTP stream is bound by one connection's window and one
 * core on each side; several ranges keep the link full on a network with latency and spread the
 * server's work (BENCHMARKS.md, "Transfers"). Memory stays flat in the object's size: each range
 * is streamed to the file, at most `FLUSH_BYTES` buffered per range in flight.
 */
import { type FileHandle, open } from "node:fs/promises";
import type { Readable } from "node:stream";

/** One answer to a GET, as the SDK's GetObjectCommand gives it (the fields used here). */
export interface RangeAnswer {
  Body?: unknown;
  ContentLength?: number;
  /** `bytes 0-1023/4096` on a 206 answer; absent when the server sent the whole object (200). */
  ContentRange?: string;
  ETag?: string;
}

/** Options of {@link rangedDownload}. */
export interface RangedDownloadOptions {
  /**
   * GETs `range` (an HTTP Range value such as `bytes=0-1023`, or undefined for the whole object),
   * only if the object still has `etag` (If-Match) when one is given; rejects as the SDK does.
   */
  get(range: string | undefined, etag: string | undefined, signal: AbortSignal): Promise<RangeAnswer>;
  /** The file to write (created or truncated); the caller removes it on failure and renames it on success. */
  file: string;
  /** Bytes per range (at least 1). The first range also tells the object's size. */
  partSize: number;
  /** Ranges in flight at once (at least 1). */
  concurrency: number;
  /** Objects smaller than this are fetched in at most two sequential requests, not in parallel. */
  minBytes: number;
  signal?: AbortSignal;
  /** Called with each chunk's length once it is written. */
  onBytes?(bytes: number): void;
  /** Called once the object's size is known. */
  onTotal?(total: number): void;
  /** Builds the error of a range that ended short of (or went past) its announced length. */
  incomplete(done: number, expected: number): Error;
  /** Marks an error of the local file (so that the caller tells the disk's failures from the store's). */
  local(error: unknown): unknown;
}

/** Chunks of a range are gathered up to this size, then written in one call (one thread-pool round trip). */
const FLUSH_BYTES = 1024 * 1024;

/** A range of the object still to fetch: [start, end] inclusive. */
interface Span {
  start: number;
  end: number;
}

/**
 * Downloads an object into `file` as parallel ranges; returns its size in bytes. Each range after
 * the first asks for the first answer's ETag (If-Match), so an object replaced during the download
 * fails it (412) instead of mixing two versions. On any failure or cancellation every range in
 * flight is stopped and awaited before the error is thrown: nothing writes to the file after.
 */
export async function rangedDownload(o: RangedDownloadOptions): Promise<number> {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (o.signal?.aborted) controller.abort();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  let handle: FileHandle | undefined;
  let first: Awaited<ReturnType<typeof firstRange>> | undefined;
  try {
    const head = await firstRange(o, controller.signal);
    first = head;
    if (Number.isFinite(head.total)) o.onTotal?.(head.total);
    const fh = await open(o.file, "w").catch((e) => Promise.reject(o.local(e)));
    handle = fh;
    const signal = controller.signal;
    const jobs: Array<() => Promise<void>> = [() => writeBody(o, fh, head.body, 0, head.length, signal)];
    const parallel = head.total >= o.minBytes;
    for (const span of spans(head.length, head.total, parallel ? o.partSize : head.total)) {
      jobs.push(async () => {
        const answer = await o.get(`bytes=${span.start}-${span.end}`, head.etag, signal);
        await writeBody(o, fh, answer.Body as Readable, span.start, span.end - span.start + 1, signal);
      });
    }
    await runPool(jobs, parallel ? o.concurrency : 1, controller);
    return head.total;
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    // The first body is unread when the file could not be opened: release its socket.
    if (first && !first.body.readableEnded && !first.body.destroyed) first.body.destroy();
    await handle?.close().catch(() => {});
  }
}

/** The first range's answer: its body and length, the object's size and ETag. */
async function firstRange(o: RangedDownloadOptions, signal: AbortSignal) {
  let answer: RangeAnswer;
  try {
    answer = await o.get(`bytes=0-${o.partSize - 1}`, undefined, signal);
  } catch (error) {
    // An empty object has no byte 0: 416. Fetch it whole (zero bytes) instead.
    if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 416) throw error;
    answer = await o.get(undefined, undefined, signal);
  }
  // "bytes 0-1023/4096": the size after the slash. No Content-Range: the server sent it all (200),
  // maybe without a length (chunked): then it is not checked, as a single stream's is not.
  const match = /\/(\d+)\s*$/.exec(answer.ContentRange ?? "");
  const length = answer.ContentLength ?? (match ? 0 : Number.POSITIVE_INFINITY);
  const total = match ? Number(match[1]) : length;
  return { body: answer.Body as Readable, length, total, etag: answer.ETag };
}

/** The spans of [from, total) in pieces of `size` bytes (the last one shorter). */
function spans(from: number, total: number, size: number): Span[] {
  const list: Span[] = [];
  for (let start = from; start < total; start += size) list.push({ start, end: Math.min(total, start + size) - 1 });
  return list;
}

/**
 * Streams `body` into the file from `offset`, gathering chunks up to FLUSH_BYTES per write; fails
 * when the body's length differs from `length` (a connection cut mid-range).
 */
async function writeBody(
  o: RangedDownloadOptions,
  fh: FileHandle,
  body: Readable,
  offset: number,
  length: number,
  signal: AbortSignal,
) {
  // The SDK watches its abort signal only until the answer's headers: a body being read is ended here.
  const onAbort = () => body.destroy(aborted());
  if (signal.aborted) onAbort();
  signal.addEventListener("abort", onAbort, { once: true });
  let position = offset;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const buffers = pending;
    const bytes = pendingBytes;
    pending = [];
    pendingBytes = 0;
    await fh.writev(buffers, position).catch((e) => Promise.reject(o.local(e)));
    position += bytes;
    o.onBytes?.(bytes);
  };
  try {
    for await (const chunk of body) {
      pending.push(chunk as Buffer);
      pendingBytes += (chunk as Buffer).length;
      if (position - offset + pendingBytes > length) throw o.incomplete(position - offset + pendingBytes, length);
      if (pendingBytes >= FLUSH_BYTES) await flush();
    }
    await flush();
  } finally {
    signal.removeEventListener("abort", onAbort);
    // A body left unread holds a pooled socket: release it on every early exit.
    if (!body.readableEnded && !body.destroyed) body.destroy();
  }
  if (length !== Number.POSITIVE_INFINITY && position - offset !== length)
    throw o.incomplete(position - offset, length);
}

/**
 * Runs `jobs`, at most `width` at once. The first failure aborts `controller` (the requests in
 * flight) and is thrown once every started job has settled, so none is still writing.
 */
async function runPool(jobs: Array<() => Promise<void>>, width: number, controller: AbortController) {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    while (next < jobs.length && !failure && !controller.signal.aborted) {
      const job = jobs[next++] as () => Promise<void>;
      await job().catch((error) => {
        failure ??= { error };
        controller.abort();
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, lane));
  if (failure) throw failure.error;
  if (controller.signal.aborted) throw aborted();
}

/** The error of a cancelled range (its name selects the "cancelled" explanation). */
function aborted(): Error {
  return Object.assign(new Error("aborted"), { name: "AbortError" });
}
