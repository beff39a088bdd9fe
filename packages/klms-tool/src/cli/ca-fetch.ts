/**
 * A {@link FetchLike} for one https server whose certificate a private CA signed (the local KLMS's
 * `--tls` store, its CA in `.klms/dev.json`'s caFile): Node's own fetch trusts only the system's
 * CAs and NODE_EXTRA_CA_CERTS, which is read once, before the process starts.
 */
import { request } from "node:https";
import type { FetchInit, FetchLike, FetchReply } from "../platform/http.js";

/**
 * @param ca the PEM text of the CA to trust (in addition to none: only this CA)
 * @returns a fetch for small requests (the STS call): no redirects, the whole body read as text
 */
export function caFetch(ca: string): FetchLike {
  return (url: string, init: FetchInit = {}) =>
    new Promise<FetchReply>((done, fail) => {
      const req = request(
        url,
        {
          method: init.method ?? "GET",
          headers: init.headers ?? {},
          ca,
          ...(init.signal ? { signal: init.signal } : {}),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("error", fail);
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            const status = res.statusCode ?? 0;
            const headers = { get: (name: string) => String(res.headers[name.toLowerCase()] ?? "") || null };
            done({ status, headers, text: async () => text });
          });
        },
      );
      req.on("error", fail);
      req.end(init.body);
    });
}
