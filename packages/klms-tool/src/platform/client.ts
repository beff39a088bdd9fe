/**
 * The two calls a task makes to the KLMS Data API: fetch the input, post the output. Every
 * request has a timeout; failures another attempt may cure are retried with backoff (see
 * retry.ts); everything else ends in a {@link PlatformError} whose message says what the server
 * answered. Reply bodies are never echoed whole: an error reply's `help` field is the request URL,
 * which holds the signature.
 */

import { OPTIONS } from "../config/options.js";
import { ReadLimitError } from "../contract/bounded-read.js";
import { isObject } from "../contract/errors.js";
import { jsonDepth, MAX_INPUT_BYTES, MAX_JSON_DEPTH, MAX_POST_REPLY_BYTES } from "../contract/limits.js";
import { KlmsError, type PlatformErrorCode } from "../errors.js";
import { type FetchInit, type FetchLike, httpFetch } from "./http.js";
import {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from "./retry.js";
import { authorizationHeader, type TaskRoutes } from "./routes.js";

/** Why a call to the Data API failed (the old name of {@link PlatformErrorCode}). */
export type PlatformErrorKind = PlatformErrorCode;

/** A failed call to the Data API; `code` decides what the entrypoint does next, `cause` is the socket's error. */
export class PlatformError extends KlmsError<PlatformErrorCode> {
  override name = "PlatformError";
  constructor(
    message: string,
    code: PlatformErrorCode,
    /** The last HTTP status received, if any. */
    readonly status: number | undefined,
    /** How many requests were made. */
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** One retry about to happen, for logging. */
export interface RetryNotice {
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  reason: string;
}

/** Options of the task's two Data API calls, {@link fetchTaskInput} and {@link postTaskOutput} (not the S3 client's, `S3ClientOptions`). */
export interface TaskCallOptions {
  /** Per request, including reading the reply. Default 30 s. */
  requestTimeoutMs?: number;
  retry?: RetryPolicy;
  /** Abandons the call, including any wait between attempts. */
  signal?: AbortSignal;
  /** Replaces the built-in HTTP client (tests); the global `fetch` fits. */
  fetch?: FetchLike;
  /** Source of randomness for the backoff jitter (tests). */
  random?: () => number;
  onRetry?: (notice: RetryNotice) => void;
}

/** How a posted output ended. */
export type PostOutcome =
  /** The platform accepted this output. */
  | "recorded"
  /** 409 after an attempt whose reply was lost: that attempt was recorded. */
  | "already-recorded"
  /** 409 on the very first attempt: the task had already ended before this post (terminated, or finished elsewhere). */
  | "conflict";

/** The successful end of {@link postTaskOutput}. */
export interface PostResult {
  outcome: PostOutcome;
  attempts: number;
  /** The server's own words, for a 409. */
  detail?: string;
}

/** `--request-timeout`'s default, from the one table. */
const DEFAULT_REQUEST_TIMEOUT_MS = OPTIONS.requestTimeout.default * 1000;

/**
 * GETs the task input and returns the envelope's `result`. Sends `Authorization: Bearer <jwt>`
 * (the prefix is added when the token lacks it) and follows redirects.
 */
export async function fetchTaskInput(
  routes: TaskRoutes,
  token: string,
  options: TaskCallOptions = {},
): Promise<{ result: Record<string, unknown>; attempts: number }> {
  const init: FetchInit = {
    method: "GET",
    headers: { Authorization: authorizationHeader(token), Accept: "application/json" },
    what: "the input reply",
    maxBytes: MAX_INPUT_BYTES,
  };
  let attempts = 0;
  for (;;) {
    attempts++;
    const reply = await exchange(routes.input, init, options, attempts);
    if (reply.kind === "response" && reply.status >= 200 && reply.status < 300) {
      const body = reply.json;
      if (!isObject(body)) {
        throw new PlatformError(
          `the input reply (HTTP ${reply.status}) is not a JSON object`,
          "invalid-reply",
          reply.status,
          attempts,
        );
      }
      if (body.success !== true) {
        throw new PlatformError(
          `the input reply has success=${JSON.stringify(body.success)}${errorText(body)}`,
          "invalid-reply",
          reply.status,
          attempts,
        );
      }
      if (!isObject(body.result)) {
        throw new PlatformError(
          'the input reply\'s "result" is not an object',
          "invalid-reply",
          reply.status,
          attempts,
        );
      }
      // Deeper than the platform itself could have written: refused before anything walks it
      // (registering secrets, writing input.json) and overflows the stack.
      if (jsonDepth(body.result, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
        throw new PlatformError(
          `the input reply is nested more than ${MAX_JSON_DEPTH} levels deep`,
          "invalid-reply",
          reply.status,
          attempts,
        );
      }
      return { result: body.result, attempts };
    }
    await retryOrThrow("input", reply, attempts, options);
  }
}

/**
 * POSTs the task output. v2: the output as the body, no credentials but the signature in the
 * path. v1: `{task_exec_id, output_json}` with the token. A 409 means the task already has an
 * outcome: after a lost reply it is this post's own (`already-recorded`); on the first attempt it
 * is somebody else's (`conflict`). Neither is an error: the platform knows how the task ended.
 */
export async function postTaskOutput(
  routes: TaskRoutes,
  token: string,
  output: unknown,
  options: TaskCallOptions = {},
): Promise<PostResult> {
  const headers: Record<string, string> = { "Content-Type": "application/json", Accept: "application/json" };
  let body: unknown = output;
  if (routes.version === "v1") {
    headers.Authorization = authorizationHeader(token);
    body = { task_exec_id: routes.taskId, output_json: output };
  }
  const init: FetchInit = {
    method: "POST",
    headers,
    body: JSON.stringify(body),
    what: "the output reply",
    maxBytes: MAX_POST_REPLY_BYTES,
  };
  let attempts = 0;
  for (;;) {
    attempts++;
    const reply = await exchange(routes.output, init, options, attempts);
    if (reply.kind === "response") {
      if (reply.status >= 200 && reply.status < 300) {
        if (isObject(reply.json) && reply.json.success === true) return { outcome: "recorded", attempts };
        throw new PlatformError(
          `the output reply (HTTP ${reply.status}) is not {"success": true}${isObject(reply.json) ? errorText(reply.json) : ""}`,
          "invalid-reply",
          reply.status,
          attempts,
        );
      }
      if (reply.status === 409) {
        const detail = isObject(reply.json) ? errorText(reply.json).replace(/^: /, "") : "";
        return { outcome: attempts === 1 ? "conflict" : "already-recorded", attempts, detail };
      }
      if (registersOutputs(output) && MAYBE_APPLIED.has(reply.status)) {
        throw new PlatformError(
          `the output request failed: HTTP ${reply.status}${isObject(reply.json) ? errorText(reply.json) : ""}; not retried, because the platform registers each output as a catalog resource before it records the state, and another attempt could register them twice`,
          "unavailable",
          reply.status,
          attempts,
        );
      }
    }
    await retryOrThrow("output", reply, attempts, options);
  }
}

/**
 * Replies after which the API may have done part of the work: its own 500 (save_output registers
 * the outputs, then the metrics, messages and state, in separate steps: data-api
 * src/routes/tasks.py:1369-1450), and a gateway's 504 (the API may still be working). 502, 503,
 * 429 and 408 mean the request was not handled, so they are retried as usual.
 */
const MAYBE_APPLIED = new Set([500, 504]);

/** True when posting `output` creates catalog resources: its `output` map names at least one file. */
function registersOutputs(output: unknown): boolean {
  return isObject(output) && isObject(output.output) && Object.keys(output.output).length > 0;
}

type Reply =
  | { kind: "response"; status: number; json: unknown; retryAfterMs: number | undefined }
  | { kind: "network"; reason: string; cause: unknown };

/** One request with its own timeout. Network failures are returned, not thrown; only an abort by the caller throws. */
async function exchange(url: string, init: FetchInit, options: TaskCallOptions, attempt: number): Promise<Reply> {
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
  const signals = [AbortSignal.timeout(timeoutMs)];
  if (options.signal) {
    if (options.signal.aborted) throw abortedError(attempt - 1);
    signals.push(options.signal);
  }
  const doFetch = options.fetch ?? httpFetch;
  try {
    const response = await doFetch(url, { ...init, signal: AbortSignal.any(signals) });
    const text = await response.text();
    let json: unknown;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      json = undefined;
    }
    return {
      kind: "response",
      status: response.status,
      json,
      retryAfterMs: parseRetryAfter(response.headers.get("retry-after")),
    };
  } catch (err) {
    if (options.signal?.aborted) throw abortedError(attempt);
    // Too large, or not UTF-8: another attempt would get the same reply.
    if (err instanceof ReadLimitError && err.code !== "unreadable") {
      throw new PlatformError(err.message, "invalid-reply", undefined, attempt, { cause: err });
    }
    return { kind: "network", reason: describeNetworkError(err, timeoutMs), cause: err };
  }
}

async function retryOrThrow(
  what: "input" | "output",
  reply: Reply,
  attempts: number,
  options: TaskCallOptions,
): Promise<void> {
  const policy = options.retry ?? DEFAULT_RETRY_POLICY;
  const reason =
    reply.kind === "network"
      ? reply.reason
      : `HTTP ${reply.status}${isObject(reply.json) ? errorText(reply.json) : ""}`;
  const retryable = reply.kind === "network" || isRetryableStatus(reply.status);
  const status = reply.kind === "response" ? reply.status : undefined;
  if (!retryable) {
    throw new PlatformError(
      `the ${what} request was refused: ${reason}`,
      kindOfStatus(reply.kind === "response" ? reply.status : 0),
      status,
      attempts,
    );
  }
  if (attempts > policy.retries) {
    const tries = attempts === 1 ? "1 attempt" : `${attempts} attempts`;
    const cause = reply.kind === "network" ? { cause: reply.cause } : undefined;
    throw new PlatformError(
      `the ${what} request failed after ${tries}: ${reason}`,
      "unavailable",
      status,
      attempts,
      cause,
    );
  }
  const delayMs = backoffDelay(
    attempts - 1,
    policy,
    reply.kind === "response" ? reply.retryAfterMs : undefined,
    options.random,
  );
  options.onRetry?.({ attempt: attempts, delayMs, reason });
  try {
    await sleep(delayMs, options.signal);
  } catch {
    throw abortedError(attempts);
  }
}

function kindOfStatus(status: number): PlatformErrorKind {
  if (status === 401 || status === 403) return "auth";
  if (status === 404) return "not-found";
  return "rejected";
}

function abortedError(attempts: number): PlatformError {
  return new PlatformError("the request was abandoned (cancelled)", "aborted", undefined, attempts);
}

/** The Data API's error envelope, as `": <Type>: message (detail)"`; never its `help` (the URL). */
function errorText(body: Record<string, unknown>): string {
  const error = body.error;
  if (typeof error === "string") return `: ${error}`;
  if (!isObject(error)) return "";
  const type = typeof error.__type === "string" ? `${error.__type}: ` : "";
  const message = typeof error.message === "string" ? error.message : "";
  const detail =
    isObject(error.detail) && Object.keys(error.detail).length > 0 ? ` ${JSON.stringify(error.detail)}` : "";
  return type || message || detail ? `: ${type}${message}${detail}` : "";
}

function describeNetworkError(err: unknown, timeoutMs: number): string {
  if (err instanceof Error && err.name === "TimeoutError") return `no reply within ${timeoutMs / 1000} s`;
  if (err instanceof Error) {
    // The socket's own error (node:http), or fetch's TypeError with the socket's error as cause.
    const own = (err as { code?: unknown }).code;
    const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
    const code = typeof own === "string" ? own : typeof cause?.code === "string" ? cause.code : undefined;
    const detail = typeof cause?.message === "string" ? cause.message : err.message;
    return code ? `network error ${code}` : `network error: ${detail}`;
  }
  return `network error: ${String(err)}`;
}
