/**
 * The KLMS Data API as a task sees it: the routes (v2 and the Python template's v1), the input and output
 * calls, with timeouts and retries.
 */
export {
  fetchTaskInput,
  PlatformError,
  type PlatformErrorKind,
  type PostOutcome,
  type PostResult,
  postTaskOutput,
  type RetryNotice,
  type TaskCallOptions,
} from "./client.js";
export { type FetchInit, type FetchLike, type FetchReply, httpFetch } from "./http.js";
export {
  backoffDelay,
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  parseRetryAfter,
  type RetryPolicy,
  sleep,
} from "./retry.js";
export { type ApiVersion, authorizationHeader, normalizeEndpoint, type TaskRoutes, taskRoutes } from "./routes.js";
