/**
 * Concurrent multipart upload of a local file: each part is read from its byte range of the file
 * into a buffer that its lane reuses for every part it sends, and sent as one request, several
 * at once. Why reused buffers: reading into fresh memory for every chunk (a file stream, or
 * lib-storage's part buffers) made the kernel fault in and zero new pages for every byte, which
 * cost more CPU than the copy itself (`perf` on this kit's benchmark: about a quarter of the
 * upload's CPU); a lane's buffer is touched once and stays warm. Why whole parts as buffers and
 * not streams: the request's body is done with its buffer once the store has answered, so the
 * buffer can be refilled safely, and the SDK can retry a part by itself. Memory: concurrency ×
 * part size (32 MiB with the defaults), flat in the file's size.
 */
import { type FileHandle, open } from "node:fs/promises";

/** The multipart calls of S3 (CreateMultipartUpload, UploadPart, Complete, Abort), as the SDK answers them. */
export interface MultipartCalls {
  create(signal: AbortSignal): Promise<{ UploadId?: string }>;
  /** Sends one part; `body` is only read until the promise settles (its buffer is then reused). */
  part(uploadId: string, partNumber: number, body: Uint8Array, signal: AbortSignal): Promise<{ ETag?: string }>;
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
  /** Parts in flight at once (at least 1); each holds one buffer of `partSize` bytes. */
  concurrency: number;
  signal?: AbortSignal;
  /** Called with each part's length once the store has it. */
  onBytes?(bytes: number): void;
  /** Builds the error of a file whose size differs from `expected` (it changed during the upload). */
  changed(done: number, expected: number): Error;
  /** Marks an error of the local file, to tell it from the store's. */
  local(error: unknown): unknown;
}

const MiB = 1024 * 1024;
/** S3's limits: 10 000 parts, at least 5 MiB each (but the last). */
const MAX_PARTS = 10_000;
const MIN_PART = 5 * MiB;

/** The part size actually used for a file of `size` bytes: within S3's limits. */
export function effectivePartSize(size: number, partSize: number): number {
  return Math.max(MIN_PART, partSize, Math.ceil(size / MAX_PARTS));
}

/**
 * Uploads `file` in parts sent concurrently and completes the multipart upload. On any failure
 * or cancellation the parts in flight are stopped and the multipart upload is aborted on the
 * server, so no partial object and no orphan parts remain; the first error is thrown.
 */
export async function uploadFileInParts(o: PartsUploadOptions): Promise<void> {
  const partSize = effectivePartSize(o.size, o.partSize);
  const count = Math.max(1, Math.ceil(o.size / partSize));
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (o.signal?.aborted) controller.abort();
  o.signal?.addEventListener("abort", onAbort, { once: true });
  let uploadId: string | undefined;
  let fh: FileHandle | undefined;
  try {
    const file = await open(o.file, "r").catch((e) => Promise.reject(o.local(e)));
    fh = file;
    uploadId = (await o.calls.create(controller.signal)).UploadId;
    if (!uploadId) throw new Error("the object store answered CreateMultipartUpload without an UploadId");
    const etags = await sendParts(o, file, uploadId, partSize, count, controller);
    // Each part read exactly its range: a file that grew meanwhile is caught here, before the
    // object is made (a shrunk one already failed the read of its last part).
    const now = (await file.stat().catch((e) => Promise.reject(o.local(e)))).size;
    if (now !== o.size) throw o.changed(now, o.size);
    const parts = etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 }));
    await o.calls.complete(uploadId, parts, controller.signal);
    uploadId = undefined;
  } finally {
    o.signal?.removeEventListener("abort", onAbort);
    await fh?.close().catch(() => {});
    // Best effort: the error that matters is the one being thrown.
    if (uploadId) await o.calls.abort(uploadId).catch(() => {});
  }
}

/**
 * Sends the `count` parts, `o.concurrency` lanes at once, each lane reading its next part into
 * its own buffer; returns the parts' ETags in order. The first failure aborts `controller` (the
 * requests in flight) and is thrown once every lane has stopped.
 */
async function sendParts(
  o: PartsUploadOptions,
  fh: FileHandle,
  uploadId: string,
  partSize: number,
  count: number,
  controller: AbortController,
): Promise<string[]> {
  const etags: string[] = new Array(count);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const lane = async () => {
    // Allocated on the lane's first part, sized for the file: a small file needs no 8 MiB.
    let buffer: Buffer | undefined;
    while (next < count && !failure && !controller.signal.aborted) {
      const index = next++;
      const start = index * partSize;
      const length = Math.min(partSize, o.size - start);
      try {
        buffer ??= Buffer.allocUnsafeSlow(Math.min(partSize, o.size));
        const body = await readPart(o, fh, buffer, start, length);
        const answer = await o.calls.part(uploadId, index + 1, body, controller.signal);
        if (!answer.ETag) throw new Error(`the object store answered part ${index + 1} without an ETag`);
        etags[index] = answer.ETag;
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
  return etags;
}

/** Reads `length` bytes at `start` into `buffer`; a file that ended early (it shrank) fails. */
async function readPart(o: PartsUploadOptions, fh: FileHandle, buffer: Buffer, start: number, length: number) {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await fh
      .read(buffer, got, length - got, start + got)
      .catch((e) => Promise.reject(o.local(e)));
    if (bytesRead === 0) throw o.changed(start + got, o.size);
    got += bytesRead;
  }
  return buffer.subarray(0, length);
}

/** The error of a cancelled upload (its name selects the "cancelled" explanation). */
function aborted(): Error {
  return Object.assign(new Error("aborted"), { name: "AbortError" });
}
