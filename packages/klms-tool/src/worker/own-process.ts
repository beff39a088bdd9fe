/**
 * The worker owning its process (or its thread): every line it prints is masked, nothing it
 * printed is lost when it ends, and however it ends before `run()` settles (process.exit, an
 * uncaught error, a signal, or an event loop with nothing left to do) a failure report says how,
 * from facts: whether process.exit was called and with what, whether run() settled.
 */
import type { EventEmitter } from "node:events";
import { StringDecoder } from "node:string_decoder";
import { isMainThread } from "node:worker_threads";
import { ExitCode } from "../exit-codes.js";
import type { Logger } from "../log/logger.js";
import type { Masker } from "../log/mask.js";
import { TaskCancelledError } from "../tool/task.js";
import { describeThrown } from "./report.js";

/** What {@link ownProcess} needs from the running worker. */
export interface OwnProcessContext {
  masker: Masker;
  log: Logger;
  /** Aborted (task.signal) at the first SIGTERM/SIGINT. */
  controller: AbortController;
  /** After the signal, how long the tool may take to stop before the worker reports it cancelled (ms). */
  graceMs: number;
  signals: EventEmitter;
  /** Writes the failure report (synchronously) unless a result was written already. */
  fail: (message: string, details?: string) => void;
  /** True once run() has settled and its result is written. */
  done: () => boolean;
}

/** How the process (or thread) ended before run() settled, as the facts say. */
export interface EarlyEnd {
  /** The code given to process.exit(), when the tool (or a library) called it. */
  explicitExit?: number;
  /** The exit code the process is ending with. */
  code: number;
}

/** One sentence for an end before run() settled, from the facts; shared by process and thread. */
export function describeEarlyEnd(end: EarlyEnd): string {
  if (end.explicitExit !== undefined) {
    return `the tool ended the process (process.exit(${end.explicitExit})) before returning a result`;
  }
  return (
    "run() never settled: it was still awaiting a promise when nothing was left to run (no timer, " +
    "socket or child process could ever settle it), so the process ended without a result"
  );
}

/**
 * Takes over the process for the worker; returns a release function that undoes all of it. The
 * grace timer ends the run with a failure report when the tool ignores the cancellation.
 */
export function ownProcess(ctx: OwnProcessContext): () => void {
  const restoreStdio = maskStdio(ctx.masker);
  const realExit = process.exit;
  let explicitExit: number | undefined;
  process.exit = ((code?: number | string | null) => {
    explicitExit ??= Number(code ?? process.exitCode ?? 0);
    return realExit.call(process, code as number);
  }) as typeof process.exit;
  const onExit = (code: number) => {
    if (!ctx.done()) {
      const end: EarlyEnd = { code };
      if (explicitExit !== undefined) end.explicitExit = explicitExit;
      ctx.fail(describeEarlyEnd(end));
      process.exitCode = ExitCode.Failure;
    }
    restoreStdio.flush();
  };
  const onCrash = (error: unknown) => {
    const { message, details } = describeThrown(error);
    ctx.fail(`uncaught error in the tool: ${message}`, details);
    process.exit(ExitCode.Failure);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (ctx.controller.signal.aborted) return;
    ctx.log.warn(`received ${signal}: cancelling the task`, { grace_period_s: ctx.graceMs / 1000 });
    ctx.controller.abort(new TaskCancelledError(signal));
    setTimeout(() => {
      ctx.fail(`cancelled: received ${signal} and the tool did not stop within ${ctx.graceMs / 1000} s`);
      process.exit(ExitCode.Failure);
    }, ctx.graceMs).unref();
  };
  process.on("exit", onExit);
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  ctx.signals.on("SIGTERM", onSignal);
  ctx.signals.on("SIGINT", onSignal);
  return () => {
    process.exit = realExit;
    process.off("exit", onExit);
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
    ctx.signals.off("SIGTERM", onSignal);
    ctx.signals.off("SIGINT", onSignal);
    restoreStdio.restore();
  };
}

/**
 * Routes everything written to stdout and stderr (console.log included) through the masker, a
 * whole line at a time: a secret written in two `write` calls is still found. A line without its
 * newline is held until the newline comes, or the process ends.
 *
 * In the main thread stdout and stderr are made blocking when they are pipes: Node writes to a
 * full pipe asynchronously, and process.exit() drops what is still queued (2,000 lines then exit
 * delivered a few hundred). Blocking writes cost a slow reader's pace; the entrypoint reads
 * promptly.
 */
function maskStdio(masker: Masker): { flush(): void; restore(): void } {
  const streams = [process.stdout, process.stderr] as const;
  const originals = streams.map((s) => s.write);
  const held = streams.map((stream) => {
    if (isMainThread) setBlocking(stream);
    const lines = masker.lines();
    const decoder = new StringDecoder("utf8");
    const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      if (typeof chunk !== "string" && !(chunk instanceof Uint8Array)) return write(chunk, ...rest);
      const encoding = typeof rest[0] === "string" ? (rest[0] as BufferEncoding) : undefined;
      const text =
        typeof chunk === "string"
          ? encoding && encoding !== "utf8" && encoding !== "utf-8"
            ? decoder.write(Buffer.from(chunk, encoding))
            : chunk
          : decoder.write(Buffer.from(chunk));
      const callback = rest.find((r) => typeof r === "function");
      return write(lines.push(text), ...(callback ? [callback] : []));
    }) as typeof stream.write;
    return { write, lines, decoder };
  });
  const flush = () => {
    for (const { write, lines, decoder } of held) {
      const rest = lines.push(decoder.end()) + lines.flush();
      if (rest) write(rest);
    }
  };
  return {
    flush,
    restore() {
      flush();
      streams.forEach((stream, i) => {
        stream.write = originals[i] as typeof stream.write;
      });
    },
  };
}

/** Makes a pipe's writes synchronous (libuv's uv_stream_set_blocking), as Node does for files and TTYs. */
function setBlocking(stream: NodeJS.WriteStream): void {
  const handle = (stream as unknown as { _handle?: { setBlocking?: (on: boolean) => unknown } })._handle;
  if (typeof handle?.setBlocking === "function") handle.setBlocking(true);
}
