/**
 * Turns SIGTERM/SIGINT and the optional overall timeout into one cancellation. Kubernetes sends
 * SIGTERM when a task is terminated or its pod evicted, then SIGKILL 30 s later: the entrypoint
 * must stop the worker and still report within that window.
 */
import type { EventEmitter } from "node:events";

/** Why the task was cancelled. */
export type CancelReason = { kind: "signal"; signal: NodeJS.Signals } | { kind: "timeout"; seconds: number };

/** The cancellation state of one task run. */
export interface Cancellation {
  /** Aborts, with a {@link CancelReason}, at the first signal or at the timeout. */
  signal: AbortSignal;
  /** Registers a callback for each signal received after the first: the user insists. */
  onRepeat(listener: (signal: NodeJS.Signals) => void): void;
  /** Removes the signal handlers and the timer. */
  dispose(): void;
}

/** Options of {@link watchCancellation}. */
export interface CancellationOptions {
  /** Where signals are heard; `process` by default (tests pass an EventEmitter). */
  emitter?: EventEmitter;
  signals?: NodeJS.Signals[];
  timeoutMs?: number;
}

/** A readable sentence for a cancel reason, e.g. "cancelled by SIGTERM". */
export function describeCancel(reason: CancelReason): string {
  return reason.kind === "signal" ? `cancelled by ${reason.signal}` : `timed out after ${reason.seconds} s`;
}

/** True when an abort reason is one of ours. */
export function isCancelReason(value: unknown): value is CancelReason {
  return (
    typeof value === "object" &&
    value !== null &&
    ((value as CancelReason).kind === "signal" || (value as CancelReason).kind === "timeout")
  );
}

/**
 * Starts listening. While a handler is installed Node no longer exits on these signals, which
 * is the point: the entrypoint decides when to exit, after reporting.
 */
export function watchCancellation(options: CancellationOptions = {}): Cancellation {
  const emitter = options.emitter ?? process;
  const signals = options.signals ?? ["SIGTERM", "SIGINT"];
  const controller = new AbortController();
  const repeatListeners: ((signal: NodeJS.Signals) => void)[] = [];

  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) {
      for (const listener of repeatListeners) listener(signal);
      return;
    }
    controller.abort({ kind: "signal", signal } satisfies CancelReason);
  };
  const handlers = signals.map((signal) => {
    const handler = () => onSignal(signal);
    emitter.on(signal, handler);
    return [signal, handler] as const;
  });
  const timer =
    options.timeoutMs !== undefined
      ? setTimeout(() => {
          if (!controller.signal.aborted) {
            controller.abort({ kind: "timeout", seconds: (options.timeoutMs as number) / 1000 } satisfies CancelReason);
          }
        }, options.timeoutMs)
      : undefined;
  timer?.unref();

  return {
    signal: controller.signal,
    onRepeat: (listener) => repeatListeners.push(listener),
    dispose() {
      if (timer) clearTimeout(timer);
      for (const [signal, handler] of handlers) emitter.off(signal, handler);
    },
  };
}
