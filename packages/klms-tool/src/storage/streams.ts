import { type Readable, Transform } from "node:stream";

/** Options of {@link byteCounter}. */
export interface ByteCounterOptions {
  /**
   * The byte count the stream must have (a file's size when the upload started, an object's
   * Content-Length); undefined for a stream of unknown length, which is not checked.
   */
  expected?: number;
  /** Called after each chunk with the count so far (progress, totals). */
  onBytes?(done: number, chunk: number): void;
  /** Builds the error for a count that differs from `expected` (`done` bytes seen so far). */
  mismatch(done: number, expected: number): Error;
}

/**
 * A pass-through that counts bytes and fails as soon as the count cannot match `expected`:
 * more bytes than announced fail at once, fewer fail at the end. Why: a request that sends fewer
 * bytes than its Content-Length waits forever for the rest, and one that sends more corrupts the
 * next request on the connection; failing in the stream names the real cause (the file changed)
 * instead of whatever the server makes of it.
 */
export function byteCounter(options: ByteCounterOptions): Transform {
  const { expected } = options;
  let done = 0;
  // The chunk that completes the expected count is held until the source ends: passed on at
  // once, it would complete the request (the store then keeps the object) before a file that
  // grew could be noticed.
  let last: Buffer | undefined;
  return new Transform({
    transform(chunk: Buffer, _encoding, next) {
      done += chunk.length;
      if (expected !== undefined && done > expected) return next(options.mismatch(done, expected));
      options.onBytes?.(done, chunk.length);
      if (expected !== undefined && done === expected) {
        last = chunk;
        return next();
      }
      next(null, chunk);
    },
    flush(next) {
      if (expected !== undefined && done !== expected) return next(options.mismatch(done, expected));
      next(null, last);
    },
  });
}

/**
 * Makes `outer` (what the caller holds) own `inner` (the SDK's response body): when `outer`
 * closes before `inner` has ended (destroyed, an early `break`, an error), `inner` is destroyed
 * too. Why: the SDK's body holds one of the client's pooled sockets (50 at most) until it is read
 * to its end or destroyed; an early exit that only drops the outer stream leaked one per call,
 * and the 51st request waited forever for a free socket.
 */
export function releaseWithOuter(outer: Readable, inner: Readable): void {
  outer.once("close", () => {
    if (!inner.readableEnded && !inner.destroyed) inner.destroy();
  });
}

/**
 * Ends `outer` after its source failed: with `error`, unless nobody can still read it. Abandoned
 * means paused, with no `readable` listener and no pipe: what a `readline` interface leaves
 * behind when a loop over it breaks (it pauses its input and keeps its listeners). Such a
 * stream is released quietly, since an error event there reaches readline, which re-emits it
 * on an interface nobody listens to: an uncaught exception thrown at a program that stopped
 * using the stream, typically when the idle timeout frees its connection. A reader that comes
 * back later still sees the stream end early (`for await` and `pipeline` report a premature
 * close), never a short stream that looks complete.
 */
export function failOrRelease(outer: Readable, error: Error): void {
  const state = (outer as unknown as { _readableState?: { pipes?: unknown[] } })._readableState;
  const abandoned =
    outer.readableFlowing === false && outer.listenerCount("readable") === 0 && (state?.pipes?.length ?? 0) === 0;
  outer.destroy(abandoned ? undefined : error);
}

/**
 * An AbortController that is aborted when `signal` is (the caller's cancellation), and that the
 * transfer can also abort itself (its source failed). `dispose()` removes the listener.
 */
export function linkedAbort(signal: AbortSignal | undefined): { controller: AbortController; dispose(): void } {
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  if (signal?.aborted) controller.abort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  return { controller, dispose: () => signal?.removeEventListener("abort", onAbort) };
}
