/**
 * Werkzeug's 405: a request whose path matches a route, but not with its method, is answered
 * "Method Not Allowed" before anything else runs (no body check, no token check). The platform's
 * error processor turns it into `HTTPError` 405 `{detail: {}}` (`data_api.py:64-79`; APIFlask maps
 * every Werkzeug HTTPException to its reason phrase), and, since that processor returns only body
 * and status, without Werkzeug's `Allow` header.
 */
import type { Hono } from "hono";
import { PatternRouter } from "hono/router/pattern-router";
import type { Env } from "./http.js";

/**
 * Returns `allows(method, path)`: the methods other than `method` that some route of `app`
 * answers at `path` (empty when none does, i.e. a true 404). The route table is read at the first
 * call, once every group has been declared; middleware (`app.use`, method `ALL`) is not a route.
 */
export function otherMethods(app: Hono<Env>): (method: string, path: string) => string[] {
  let router: PatternRouter<string> | undefined;
  let methods: string[] = [];
  return (method, path) => {
    if (!router) {
      router = new PatternRouter<string>();
      const seen = new Set<string>();
      for (const route of app.routes) {
        if (route.method === "ALL") continue;
        router.add(route.method, route.path, route.method);
        seen.add(route.method);
      }
      methods = [...seen];
    }
    const asked = method === "HEAD" ? "GET" : method;
    const table = router;
    return methods.filter((m) => m !== asked && table.match(m, path)[0].length > 0);
  };
}
