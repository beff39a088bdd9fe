/**
 * Concurrent multipart upload of a local file: each part is read straight from its byte range of
 * the file and sent as its own streamed request, several at once. Why: lib-storage's `Upload`
 * copies a stream into part buffers (memory = partSize × queueSize, and one more pass over the
 * data); a file can be read at any offset, so no part is buffered, memory stays flat in the
 * file's size, and a failed part is retried by reading its range again.
 */
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import type { Readable } from "node:stream";
import { byteCounter } from "./streams.js";

/** The multipart calls of S3 (CreateMultipartUpload, UploadPart, Complete, Abort), as the SDK answers them. */
export interface MultipartCalls {
  create(signal: AbortSignal): Promise<{ UploadId?: string }>;
  part(
    uploadId: string,
    partNumber: number,
    body: Readable,
    length: number,
    signal: AbortSignal,
  ): Promise<{ ETag?: string }>;
  complete(uploadId: string, parts: Array<{ ETag: string; PartNumber: number }>, signal: AbortSignal): Promise<unknown>;
  abort(uploadId: string): Promise<unknown>;
}

/** Options of {@link uploadFileInParts}. */
export interface PartsUploadOptions {
  calls: MultipartCalls;
  file: string;
  /** The file's size when the upload started (the parts are cut from it). */
  size: number;
  /** Bytes per part; raised when needed to stay within S3's 10 000 parts, and to its 5 MiB minimum. */
  partSize: number;
  /** Parts in flight at once (at least 1). */
  concurrency: number;
  /** Attempts per part (default 3): a part that fails is read from the file again and resent. */
  attempts?: number;
  signal?: AbortSignal;
  /** Called with each part's length once the store has it. */
  onBytes?(bytes: number): void;
  /** Builds the error of a part whose bytes differ from its announced length (the file changed). */
  changed(done: number, expected: number): Error;
  /** Marks an error of the local file, to tell it from the store's. */
  local(error: unknown): unknown;
}

const MiB = 1024 * 1024;
/** S3's limits: 10 000 parts, at least 5 MiB each (but the last). */
const MAX_PARTS = 10_000;
const MIN_PART = 5 * MiB;
/** Read buffer of a part's file stream (see FILE_BUFFER in storage.ts: fewer thread-pool round trips). */
const READ_BUFFER = MiB;

/**
 * Uploads `file` in parts sent concurrently and completes the multipart upload. On any failure
 * or cancellation the parts in flight are stopped and the multipart upload is aborted on the
 * server, so no partial object and no orphan parts remain; the first error is thrown.
 */
export async function uploadFileInParts(o: PartsUploadOptions): Promise<void> {
  const partSize = Math.max(MIN_PART, o.partSize, Math.ceil(o.size / MAX_PARTS));
  const count = Math.max(1, Math.ceil(o.size / partSize));
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (o.signal?.aborted) controller.abort();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  let uploadId: string | undefined;
  try {
    uploadId = (await o.calls.create(controller.signal)).UploadId;
    if (!uploadId) throw new Error("the object store answered CreateMultipartUpload without an UploadId");
    const id = uploadId;
    const etags: string[] = new Array(count);
    let next = 0;
    let failure: { error: unknown } | undefined;
    const lane = async () => {
      while (next < count && !failure) {
        const index = next++;
        const start = index * partSize;
        const length = Math.min(partSize, o.size - start);
        try {
          etags[index] = await sendPart(o, id, index + 1, start, length, controller.signal);
          o.onBytes?.(length);
        } catch (error) {
          failure ??= { error };
          controller.abort();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency, count) }, lane));
    if (failure) throw failure.error;
    if (controller.signal.aborted) throw aborted();
    // Each part read exactly its range: a file that grew meanwhile is caught here, before the
    // object is made (a shrunk one already failed its last part).
    const now = (await stat(o.file).catch((e) => Promise.reject(o.local(e)))).size;
    if (now !== o.size) throw o.changed(now, o.size);
    const parts = etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 }));
    await o.calls.complete(id, parts, controller.signal);
    uploadId = undefined;
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    // Best effort: the error that matters is the one being thrown.
    if (uploadId) await o.calls.abort(uploadId).catch(() => {});
  }
}

/** Sends one part read from the file, retrying a failed attempt (not a cancellation, not a changed file). */
async function sendPart(
  o: PartsUploadOptions,
  uploadId: string,
  partNumber: number,
  start: number,
  length: number,
  signal: AbortSignal,
): Promise<string> {
  const attempts = o.attempts ?? 3;
  for (let attempt = 1; ; attempt++) {
    let sourceError: unknown;
    const source = createReadStream(o.file, { start, end: start + length - 1, highWaterMark: READ_BUFFER });
    const counted = byteCounter({ expected: length, mismatch: (done, expected) => o.changed(done, expected) });
    // The file's errors (and a changed size) end the request; the cause is kept to be thrown.
    source.once("error", (e) => {
      sourceError ??= o.local(e);
      counted.destroy(e);
    });
    counted.once("error", (e) => {
      sourceError ??= e;
    });
    source.pipe(counted);
    try {
      const answer = await o.calls.part(uploadId, partNumber, counted, length, signal);
      if (!answer.ETag) throw new Error(`the object store answered part ${partNumber} without an ETag`);
      return answer.ETag;
    } catch (error) {
      source.destroy();
      counted.destroy();
      if (sourceError !== undefined) throw sourceError;
      if (signal.aborted || attempt >= attempts) throw error;
    }
  }
}

/** The error of a cancelled upload (its name selects the "cancelled" explanation). */
function aborted(): Error {
  return Object.assign(new Error("aborted"), { name: "AbortError" });
}
