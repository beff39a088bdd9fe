/**
 * When and how long to wait before asking the Data API again. Only failures that another attempt
 * can cure are retried: network errors, timeouts, 408, 429 and 5xx. A 4xx answer is the server's
 * considered verdict and is returned at once.
 */
import { MAX_RETRY_DELAY_SECONDS, OPTIONS } from "../config/options.js";

/** How many times to retry, and how the delay between attempts grows. */
export interface RetryPolicy {
  /** Retries after the first attempt (0: one attempt only). */
  retries: number;
  /** The first backoff ceiling; each retry doubles it. */
  baseDelayMs: number;
  /** No single wait is longer, even when the server's Retry-After asks for more. */
  maxDelayMs: number;
}

/**
 * Six attempts over about half a minute at worst: long enough for an API pod to restart. The
 * values are the entrypoint's defaults (`--retries`, `--retry-delay`) from the one table.
 */
export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: OPTIONS.retries.default,
  baseDelayMs: OPTIONS.retryDelay.default * 1000,
  maxDelayMs: MAX_RETRY_DELAY_SECONDS * 1000,
};

/** True for the HTTP statuses another attempt may cure. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status <= 599);
}

/**
 * The wait before retry number `retry` (0-based), with "full jitter": a uniform draw between 0
 * and the exponential ceiling, so that many pods failing together do not retry in lockstep.
 * A server's Retry-After (in ms) wins over the draw, within `maxDelayMs`.
 */
export function backoffDelay(
  retry: number,
  policy: RetryPolicy,
  retryAfterMs?: number,
  random: () => number = Math.random,
): number {
  if (retryAfterMs !== undefined) return Math.min(Math.max(0, retryAfterMs), policy.maxDelayMs);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  return Math.floor(random() * ceiling);
}

/** Reads a Retry-After header (seconds, or an HTTP date) as milliseconds from `now`. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
