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
    cancelledAt.set(controller.signal, Date.now());
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
            cancelledAt.set(controller.signal, Date.now());
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

/**
 * A signal for a wait that must end within `ms` of a cancellation, whenever the cancellation
 * comes: before the wait began (the budget runs from the cancellation, not from now) or during
 * it. Dispose of it when the wait is over.
 */
export function deadlineAfterCancel(cancel: AbortSignal, ms: number): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const start = () => {
    const since = cancelledAt.get(cancel) ?? Date.now();
    timer = setTimeout(() => controller.abort(cancel.reason), Math.max(0, since + ms - Date.now()));
  };
  if (cancel.aborted) start();
  else cancel.addEventListener("abort", start, { once: true });
  return {
    signal: controller.signal,
    dispose() {
      clearTimeout(timer);
      cancel.removeEventListener("abort", start);
    },
  };
}

/** When each cancellation of {@link watchCancellation} fired (ms since the epoch), for budgets counted from it. */
const cancelledAt = new WeakMap<AbortSignal, number>();

/**
 * How much longer than the grace period the entrypoint waits before forcing a worker: the kit's
 * own worker runtime stops the tool at the grace period and writes its own report (which says
 * what the tool was doing); this margin lets that report land before SIGKILL or terminate().
 */
export const FORCE_MARGIN_MS = 1000;

/** How a worker (a process or a thread) is asked to stop, then made to. */
export interface WorkerStopper {
  cancellation: Cancellation;
  log: { warn(message: string, fields?: Record<string, unknown>): void };
  gracePeriodMs: number;
  /** "worker" or "worker thread", for the log lines. */
  name: string;
  /** How forcing reads in the log: "killing" (a process, SIGKILL) or "stopping" (a thread). */
  forcing: string;
  /** Asks the worker to stop, forwarding the signal the entrypoint received (SIGTERM on a timeout). */
  request(signal: NodeJS.Signals): void;
  /** Stops the worker at once: SIGKILL for a process, terminate() for a thread. */
  force(why: "grace-period" | "second-signal"): void;
  /** True once the worker has ended (nothing left to stop). */
  ended(): boolean;
}

/** What {@link stopWorkerOnCancel} saw, read once the worker has ended. */
export interface StopState {
  /** Why the run was cancelled, if it was. */
  cancelled(): CancelReason | undefined;
  /** Why the worker was forced to stop, if it was. */
  forced(): "grace-period" | "second-signal" | undefined;
  /** Stops listening and clears the grace timer. */
  dispose(): void;
}

/**
 * The one cancellation policy of the entrypoint, for a worker process and a worker thread alike:
 * at the first signal (or the timeout) forward it and start the grace period; when the grace
 * period ends, or a second signal comes, stop the worker at once.
 */
export function stopWorkerOnCancel(stopper: WorkerStopper): StopState {
  let cancelled: CancelReason | undefined;
  let forced: "grace-period" | "second-signal" | undefined;
  let graceTimer: NodeJS.Timeout | undefined;
  const force = (why: "grace-period" | "second-signal") => {
    if (forced || stopper.ended()) return;
    forced = why;
    stopper.force(why);
  };
  const onCancel = () => {
    const reason = stopper.cancellation.signal.reason;
    cancelled = isCancelReason(reason) ? reason : { kind: "signal", signal: "SIGTERM" };
    const forward = cancelled.kind === "signal" ? cancelled.signal : "SIGTERM";
    stopper.log.warn(`${describeCancel(cancelled)}: stopping the ${stopper.name} (${forward})`, {
      grace_period_s: stopper.gracePeriodMs / 1000,
    });
    stopper.request(forward);
    graceTimer = setTimeout(() => {
      if (stopper.ended()) return;
      stopper.log.warn(`the ${stopper.name} did not stop within the grace period: ${stopper.forcing} it now`);
      force("grace-period");
    }, stopper.gracePeriodMs + FORCE_MARGIN_MS);
  };
  stopper.cancellation.onRepeat((signal) => {
    if (forced || stopper.ended()) return;
    stopper.log.warn(`${signal} received again: ${stopper.forcing} the ${stopper.name} now`);
    force("second-signal");
  });
  if (stopper.cancellation.signal.aborted) onCancel();
  else stopper.cancellation.signal.addEventListener("abort", onCancel, { once: true });
  return {
    cancelled: () => cancelled,
    forced: () => forced,
    dispose() {
      if (graceTimer) clearTimeout(graceTimer);
      stopper.cancellation.signal.removeEventListener("abort", onCancel);
    },
  };
}
