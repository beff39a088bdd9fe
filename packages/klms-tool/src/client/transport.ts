/**
 * One Data API call: the URL under the API base, the bearer token (refreshed before it expires,
 * and once more on a 401 as stelar_client does, `sc:base.py:199-205`), the platform's envelopes
 * unwrapped (`{"success": true, "result"}`) or turned into a {@link KlmsApiError}.
 */
import { type FetchLike, httpFetch } from "../platform/http.js";
import { KlmsApiError } from "./errors.js";

/**
 * A session's tokens. `expiresAt`/`refreshAt`/`refreshExpiresAt` are epoch milliseconds; a token
 * given as is (KLMS_TOKEN) has none of them and is never refreshed.
 */
export interface SessionTokens {
  /** The access JWT, without "Bearer ". */
  token: string;
  /** The refresh JWT, when the login gave one. */
  refreshToken?: string;
  /** When the access token expires. */
  expiresAt?: number;
  /** When to refresh it: at 90 % of its life, as stelar_client does (`sc:base.py:71-94`). */
  refreshAt?: number;
  /** When the refresh token expires. */
  refreshExpiresAt?: number;
}

/** The token reply of `POST`/`PUT /api/v1/users/token` (`routes/users.py:113-202`). */
export interface TokenReply {
  /** The access JWT. */
  token: string;
  /** The refresh JWT. */
  refresh_token: string;
  /** Seconds. */
  expires_in: number;
  /** Seconds. */
  refresh_expires_in: number;
  /** `Bearer`. */
  token_type: string;
}

/** The session a token reply starts, its times counted from `now` (epoch ms). */
export function sessionOf(reply: TokenReply, now = Date.now()): SessionTokens {
  return {
    token: reply.token,
    refreshToken: reply.refresh_token,
    expiresAt: now + reply.expires_in * 1000,
    refreshAt: now + reply.expires_in * 900,
    refreshExpiresAt: now + reply.refresh_expires_in * 1000,
  };
}

/** Options of a {@link Transport}. */
export interface TransportOptions {
  /** Where `/api/…` lives, e.g. `https://klms.stelar.gr/stelar` or `http://127.0.0.1:8080` (see `resolveApiBase`). */
  apiBase: string;
  /** The session; none for the routes that need no token. */
  session?: SessionTokens;
  /** Called with the new tokens after a refresh (to store them). */
  onRefresh?: (session: SessionTokens) => void | Promise<void>;
  /** The HTTP function; default node:http(s). */
  fetch?: FetchLike;
  /** Each request's time limit, in ms; default 60 000. */
  timeoutMs?: number;
}

/** A call's options. */
export interface CallOptions {
  /** The JSON body (default: none). */
  body?: unknown;
  /** Query parameters; undefined values are left out. */
  query?: Record<string, string | number | boolean | undefined>;
  /** Send the token (default true). */
  auth?: boolean;
  /** Cancels the call. */
  signal?: AbortSignal;
}

/** Calls the Data API under one base URL with one session. */
export class Transport {
  /** The API's base URL (ends in `/stelar` on a deployment), without a trailing slash. */
  readonly apiBase: string;
  #session: SessionTokens | undefined;
  readonly #options: TransportOptions;
  #refreshing: Promise<void> | undefined;

  constructor(options: TransportOptions) {
    this.apiBase = options.apiBase.replace(/\/+$/, "");
    this.#session = options.session;
    this.#options = options;
  }

  /** The current session (after any refresh). */
  get session(): SessionTokens | undefined {
    return this.#session;
  }

  /** `method path` and returns the envelope's `result`; throws a {@link KlmsApiError} on any failure. */
  async call<T>(method: string, path: string, options: CallOptions = {}): Promise<T> {
    const auth = options.auth ?? true;
    if (auth) await this.#freshen(false);
    let reply = await this.#send(method, path, options, auth);
    if (reply.status === 401 && auth && this.#session?.refreshToken) {
      await this.#freshen(true);
      reply = await this.#send(method, path, options, auth);
    }
    return unwrap<T>(reply, `${method} ${path}`);
  }

  async #send(
    method: string,
    path: string,
    options: CallOptions,
    auth: boolean,
  ): Promise<{ status: number; text: string }> {
    const url = new URL(`${this.apiBase}${path}`);
    for (const [k, v] of Object.entries(options.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { Accept: "application/json" };
    if (auth) {
      if (!this.#session) {
        throw new KlmsApiError({
          status: 0,
          code: "SessionExpired",
          message: "not logged in: run `klms-tool login`, or set KLMS_URL and KLMS_TOKEN",
          request: `${method} ${path}`,
        });
      }
      headers.Authorization = `Bearer ${this.#session.token}`;
    }
    let body: string | undefined;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 60_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    try {
      const reply = await (this.#options.fetch ?? httpFetch)(url.href, { method, headers, body, signal });
      return { status: reply.status, text: await reply.text() };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      const e = error as NodeJS.ErrnoException;
      throw new KlmsApiError({
        status: 0,
        code: "NetworkError",
        message: `no reply from ${url.origin} (${e.code ?? e.name}: ${e.message})`,
        request: `${method} ${path}`,
        cause: error,
      });
    }
  }

  /** Refreshes the token when it is due (or `force`), once at a time. */
  async #freshen(force: boolean): Promise<void> {
    const s = this.#session;
    if (!s?.refreshToken || (!force && (s.refreshAt === undefined || Date.now() < s.refreshAt))) return;
    this.#refreshing ??= this.#refresh(s).finally(() => {
      this.#refreshing = undefined;
    });
    await this.#refreshing;
  }

  async #refresh(s: SessionTokens): Promise<void> {
    if (s.refreshExpiresAt !== undefined && Date.now() >= s.refreshExpiresAt) {
      throw new KlmsApiError({
        status: 0,
        code: "SessionExpired",
        message: "the session has expired: run `klms-tool login` again",
        request: "PUT /api/v1/users/token",
      });
    }
    const reply = await this.#send("PUT", "/api/v1/users/token", { body: { refresh_token: s.refreshToken } }, false);
    this.#session = sessionOf(unwrap<TokenReply>(reply, "PUT /api/v1/users/token"));
    await this.#options.onRefresh?.(this.#session);
  }
}

/** The `result` of a success envelope, or the error the failure envelope describes. */
export function unwrap<T>(reply: { status: number; text: string }, request: string): T {
  let body: { success?: unknown; result?: unknown; error?: Record<string, unknown> } | undefined;
  try {
    body = JSON.parse(reply.text);
  } catch {
    body = undefined;
  }
  if (reply.status >= 200 && reply.status < 300 && body?.success === true && "result" in body) return body.result as T;
  const error = body?.success === false ? body.error : undefined;
  if (error && typeof error === "object") {
    throw new KlmsApiError({
      status: reply.status,
      code: String(error.__type ?? "HTTPError"),
      // The two legacy handlers put their text in `name` (platform-api §1.3).
      message: String(error.message ?? error.name ?? ""),
      detail: error.detail,
      request,
    });
  }
  throw new KlmsApiError({
    status: reply.status,
    code: "BadReply",
    message: `not the Data API's JSON envelope: ${JSON.stringify(reply.text.slice(0, 200))}`,
    request,
  });
}
