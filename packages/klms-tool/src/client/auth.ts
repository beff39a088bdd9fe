/**
 * Finding the Data API under the URL a person gives, and logging in there.
 *
 * The public deployment serves the API under `/stelar` (its ingress strips the prefix; stelar_client
 * joins `stelar` to every base URL, `sc:client.py:310-311`), while inside the cluster the same API
 * answers at the root. {@link resolveApiBase} asks `GET <url>/stelar/help`, then `GET <url>/help`
 * (`data_api.py:171`, no token), and keeps the first that answers the platform's envelope.
 */
import type { FetchLike } from "../platform/http.js";
import { KlmsApiError } from "./errors.js";
import { type SessionTokens, sessionOf, type TokenReply, Transport } from "./transport.js";

/** What `GET /help` says (`data_api.py:171-211`): the object store's URL (`s3_api`) and the others. */
export interface KlmsHelp {
  /** The object store's S3 API URL. */
  s3_api?: string;
  /** The deployment's root URL. */
  klms_root_url?: string;
  /** The API's greeting. */
  message?: string;
  [key: string]: unknown;
}

/**
 * The API base under `url`: `url` itself when its path ends in `/stelar`; else `<url>/stelar` when
 * that serves `/help`, else `url` when it does. Throws a {@link KlmsApiError} (`NetworkError`, or
 * `BadReply` naming both URLs tried) otherwise.
 */
export async function resolveApiBase(url: string, fetch?: FetchLike): Promise<{ apiBase: string; help: KlmsHelp }> {
  let base: URL;
  try {
    base = new URL(url);
  } catch {
    throw new KlmsApiError({
      status: 0,
      code: "BadReply",
      message: `"${url}" is not a URL (e.g. https://klms.example.org or http://127.0.0.1:8080)`,
      request: "login",
    });
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new KlmsApiError({
      status: 0,
      code: "BadReply",
      message: `"${url}" is not an http(s) URL`,
      request: "login",
    });
  }
  const root = `${base.origin}${base.pathname}`.replace(/\/+$/, "");
  const candidates = root.endsWith("/stelar") ? [root] : [`${root}/stelar`, root];
  let last: unknown;
  for (const apiBase of candidates) {
    try {
      const help = await new Transport({ apiBase, fetch }).call<KlmsHelp>("GET", "/help", { auth: false });
      return { apiBase, help };
    } catch (error) {
      if (error instanceof KlmsApiError && error.code === "NetworkError") throw error;
      last = error;
    }
  }
  throw new KlmsApiError({
    status: 0,
    code: "BadReply",
    message: `no KLMS Data API at ${candidates.map((c) => `${c}/help`).join(" nor ")}: check the URL`,
    request: "GET /help",
    cause: last,
  });
}

/**
 * Username and password to a session (`POST /api/v1/users/token`, `routes/users.py:113-160`).
 * Throws a {@link KlmsApiError} `AuthenticationError` (401) on bad credentials.
 */
export async function login(
  apiBase: string,
  username: string,
  password: string,
  fetch?: FetchLike,
): Promise<SessionTokens> {
  const reply = await new Transport({ apiBase, fetch }).call<TokenReply>("POST", "/api/v1/users/token", {
    body: { username, password },
    auth: false,
  });
  return sessionOf(reply);
}

/** A session for a token given as is (e.g. KLMS_TOKEN): "Bearer " dropped, never refreshed. */
export function tokenSession(token: string): SessionTokens {
  return { token: token.replace(/^Bearer\s+/i, "").trim() };
}
