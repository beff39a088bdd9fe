/**
 * The platform's generic entity routes (`generate_endpoints`, `routes/generic.py:175-545`) for
 * the kinds the local catalog keeps: list, fetch, show, create, update, patch and delete, each
 * where the platform has it (resources: no list or fetch; processes: no PUT).
 */
import type { Context } from "hono";
import type { Catalog, Kind } from "../catalog/catalog.js";
import { ApiError } from "../envelope.js";
import { type Env, jsonBody, ok, param, type RouteGroup } from "../http.js";
import { checkFields } from "../schema.js";

type Operation = "list" | "fetch" | "show" | "create" | "update" | "patch" | "delete";

/** Each kind, its collection name and its operations (`catalog.py:48-50`, `workflows.py:27-28`). */
const ENTITIES: Array<[Kind, string, Operation[]]> = [
  ["organization", "organizations", ["list", "fetch", "show", "create", "update", "patch", "delete"]],
  ["dataset", "datasets", ["list", "fetch", "show", "create", "update", "patch", "delete"]],
  ["resource", "resources", ["show", "create", "update", "patch", "delete"]],
  ["process", "processes", ["list", "fetch", "show", "create", "patch", "delete"]],
  ["tool", "tools", ["list", "fetch", "show", "create", "update", "patch", "delete"]],
];

/**
 * Registers the entity routes under `/api/v2` in `authed`: each one checks its query or body first
 * (as APIFlask's `@input` does), then the token (`authed`'s middleware).
 */
export function catalogRoutes(authed: RouteGroup, catalog: Catalog): void {
  const page = { input: pageOf };
  const body = (kind: Kind, mode: "create" | "update" | "patch") => ({
    input: async (c: Context<Env>) => catalog.check(kind, await jsonBody(c), mode),
  });
  for (const [kind, coll, ops] of ENTITIES) {
    const one = `/api/v2/${kind}/:id`;
    if (ops.includes("list")) {
      authed.get(`/api/v2/${coll}`, (c) => ok(c, listed(c, catalog, kind)), page);
    }
    if (ops.includes("fetch")) {
      const fetch = (c: Context<Env>) => listed(c, catalog, kind).map((name) => catalog.view(catalog.get(kind, name)));
      authed.get(`/api/v2/${coll}.fetch`, (c) => ok(c, fetch(c)), page);
    }
    authed.get(one, (c) => ok(c, catalog.view(catalog.get(kind, param(c, "id")))));
    const user = (c: Context<Env>) => c.var.user.preferred_username;
    authed.post(
      `/api/v2/${kind}`,
      (c) => ok(c, catalog.view(catalog.create(kind, c.var.input, user(c)))),
      body(kind, "create"),
    );
    if (ops.includes("update")) {
      const update = (c: Context<Env>) => catalog.modify(kind, param(c, "id"), c.var.input, "update");
      authed.put(one, (c) => ok(c, catalog.view(update(c))), body(kind, "update"));
    }
    // Without `update` (processes) a PUT is Werkzeug's 405, answered by the server's fallback.
    const patch = (c: Context<Env>) => catalog.modify(kind, param(c, "id"), c.var.input, "patch");
    authed.patch(one, (c) => ok(c, catalog.view(patch(c))), body(kind, "patch"));
    authed.delete(
      one,
      (c) => {
        catalog.remove(kind, param(c, "id"), c.var.input as boolean);
        return ok(c, null);
      },
      { input: purgeOf },
    );
  }
}

function listed(c: Context<Env>, catalog: Catalog, kind: Kind): string[] {
  const { limit, offset } = c.var.input as ReturnType<typeof pageOf>;
  return catalog.list(kind, limit, offset);
}

/** `PaginationParameters` (`schema.py:87-89`): `limit` ≥ 1, `offset` ≥ 0; a 422 `{"query": …}` otherwise. */
function pageOf(c: Context<Env>): { limit?: number; offset?: number } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, unknown> = {};
  for (const key of ["limit", "offset"]) {
    const raw = c.req.query(key);
    if (raw === undefined) continue;
    if (/^\s*[+-]?\d+\s*$/.test(raw)) values[key] = Number(raw);
    else errors[key] = ["Not a valid integer."];
  }
  Object.assign(
    errors,
    checkFields(values, { limit: { type: "integer", min: 1 }, offset: { type: "integer", min: 0 } }),
  );
  if (Object.keys(errors).length > 0) throw new ApiError(422, "Validation error", { query: errors });
  return values as { limit?: number; offset?: number };
}

/** The `purge` query flag (webargs' Boolean: true/false, 1/0, yes/no, on/off…); default false. */
function purgeOf(c: Context<Env>): boolean {
  const raw = c.req.query("purge");
  if (raw === undefined) return false;
  const value = raw.toLowerCase();
  if (["true", "t", "1", "yes", "y", "on"].includes(value)) return true;
  if (["false", "f", "0", "no", "n", "off", ""].includes(value)) return false;
  throw new ApiError(422, "Validation error", { query: { purge: ["Not a valid boolean."] } });
}
