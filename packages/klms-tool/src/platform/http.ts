/**
 * The subset of `fetch` the Data API client needs, on `node:http`/`node:https`. Node's global
 * fetch (undici) costs a task about 70 ms to load on Node 20, and compiles its WebAssembly HTTP
 * parser in the background, which holds a worker thread's exit ~150 ms more: the entrypoint makes
 * two requests per task, and starts every task (see BENCHMARKS.md).
 */
import type { Agent as HttpAgent, IncomingMessage } from "node:http";
import { decodeUtf8, readStreamBounded } from "../contract/bounded-read.js";
import { MAX_INPUT_BYTES } from "../contract/limits.js";

/** What the client reads of a reply. */
export interface FetchReply {
  status: number;
  headers: { get(name: string): string | null };
  text(): Promise<string>;
}

/** What the client asks of a request. */
export interface FetchInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
  /**
   * The largest reply body read, in bytes; a larger one (by its Content-Length, or as it
   * arrives) rejects with a {@link ReadLimitError} before it is read whole. Default 64 MiB.
   */
  maxBytes?: number;
  /** What the reply is, for the error messages ("the input reply"). Default "the reply". */
  what?: string;
}

/** A fetch-like function: the global `fetch` fits, and so does {@link httpFetch}. */
export type FetchLike = (url: string, init: FetchInit) => Promise<FetchReply>;

/** How many redirects are followed, as fetch does. */
const MAX_REDIRECTS = 20;

/**
 * node:http or node:https, each on first use, through `process.getBuiltinModule` rather than
 * `import`: an ESM import of a built-in reads all of its exports, and on Node 24 some of
 * node:http's are getters that load undici (40 ms a task, measured); node:https loads TLS, which
 * a cluster-internal `http://` endpoint never needs.
 */
function transport(protocol: "http:" | "https:"): Transport {
  let t = transports[protocol];
  if (!t) {
    const module = process.getBuiltinModule(protocol === "http:" ? "node:http" : "node:https");
    // Kept-alive connections: the input GET and the output POST share one (a TLS handshake less).
    t = { request: module.request, agent: new module.Agent({ keepAlive: true }) };
    transports[protocol] = t;
  }
  return t;
}
interface Transport {
  request: typeof import("node:http").request;
  agent: HttpAgent;
}
const transports: Partial<Record<"http:" | "https:", Transport>> = {};

/**
 * Sends one request, follows redirects like fetch (303, and 301/302 after a POST, become a GET
 * without a body; the Authorization header is dropped when the redirect leaves the origin), and
 * reads the whole reply. Rejects with the signal's reason when it aborts, and with the socket's
 * error (its `code`, e.g. ECONNREFUSED) when the network fails.
 */
export async function httpFetch(url: string, init: FetchInit = {}): Promise<FetchReply> {
  let target = new URL(url);
  let method = (init.method ?? "GET").toUpperCase();
  let body = init.body;
  const headers = { ...(init.headers ?? {}) };
  for (let redirects = 0; ; redirects++) {
    const response = await sendRetryingStale(target, method, headers, body, init.signal);
    const location = response.headers.location;
    if (![301, 302, 303, 307, 308].includes(response.statusCode ?? 0) || !location) {
      return reply(response, init);
    }
    response.resume();
    if (redirects >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects`);
    const next = new URL(location, target);
    if (next.origin !== target.origin) {
      for (const name of Object.keys(headers)) if (name.toLowerCase() === "authorization") delete headers[name];
    }
    if (
      response.statusCode === 303 ||
      (method === "POST" && response.statusCode !== 307 && response.statusCode !== 308)
    ) {
      if (method !== "HEAD") method = "GET";
      body = undefined;
      for (const name of Object.keys(headers)) if (name.toLowerCase() === "content-type") delete headers[name];
    }
    target = next;
  }
}

/** Methods a server may see twice with the same effect (RFC 9110 §9.2.2). */
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/**
 * {@link send}, once more on a new connection when a kept-alive one turns out closed: the server
 * closed it while idle (Node's servers do after 5 s, e.g. the local KLMS while a task ran) just as
 * this request was written on it, which fails with ECONNRESET or EPIPE before any reply. Only for
 * idempotent methods: whether a POST was processed cannot be known.
 */
async function sendRetryingStale(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  try {
    return await send(url, method, headers, body, signal);
  } catch (error) {
    const e = error as NodeJS.ErrnoException & { reusedSocket?: boolean };
    const stale = e.reusedSocket === true && (e.code === "ECONNRESET" || e.code === "EPIPE");
    if (!stale || !IDEMPOTENT.has(method) || signal?.aborted) throw error;
    return send(url, method, headers, body, signal);
  }
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | undefined,
  signal: AbortSignal | undefined,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const protocol = url.protocol;
    if (protocol !== "http:" && protocol !== "https:") {
      reject(new Error(`unsupported protocol ${protocol} in ${url.origin}`));
      return;
    }
    const { request, agent } = transport(protocol);
    const outgoing = { ...headers };
    if (body !== undefined) outgoing["Content-Length"] = String(Buffer.byteLength(body));
    const req = request(url, { method, headers: outgoing, agent });
    const onAbort = () => req.destroy(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    req.once("response", (response) => {
      // The reply's body is read under the same signal by reply().
      signal?.removeEventListener("abort", onAbort);
      resolve(response);
    });
    req.once("error", (err: NodeJS.ErrnoException & { reusedSocket?: boolean }) => {
      signal?.removeEventListener("abort", onAbort);
      // Whether the request went out on a kept-alive connection (see sendRetryingStale).
      err.reusedSocket = req.reusedSocket;
      reject(signal?.aborted ? signal.reason : err);
    });
    req.end(body);
  });
}

async function reply(response: IncomingMessage, init: FetchInit): Promise<FetchReply> {
  const { signal } = init;
  const onAbort = () => response.destroy(signal?.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const what = init.what ?? "the reply";
  let body: Buffer;
  try {
    const declared = Number(response.headers["content-length"]);
    body = await readStreamBounded(
      response,
      { what, maxBytes: init.maxBytes ?? MAX_INPUT_BYTES },
      Number.isFinite(declared) ? declared : undefined,
    );
  } catch (err) {
    throw signal?.aborted ? signal.reason : err;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  // Decoded when read: invalid UTF-8 is refused (ReadLimitError), never repaired.
  let text: string | undefined;
  return {
    status: response.statusCode ?? 0,
    headers: {
      get: (name) => {
        const value = response.headers[name.toLowerCase()];
        return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
      },
    },
    text: async () => {
      text ??= decodeUtf8(body, what);
      return text;
    },
  };
}
