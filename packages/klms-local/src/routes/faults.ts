/**
 * The test-only `/__klms/faults` routes: list, add and clear injected faults. They need the dev
 * token like every API route (a fault can make a tool fail, so not anyone on the machine may arm one).
 */
import type { Fault, FaultList } from "../faults.js";
import { jsonBody, ok, type RouteGroup } from "../http.js";

/** Registers the fault routes on a token-guarded route group. */
export function faultRoutes(authed: RouteGroup, faults: FaultList): void {
  authed.get("/__klms/faults", (c) => ok(c, faults.list()));
  authed.post("/__klms/faults", async (c) => {
    const body = await jsonBody(c);
    for (const fault of Array.isArray(body) ? body : [body]) faults.add(fault as Fault);
    return ok(c, faults.list());
  });
  authed.delete("/__klms/faults", (c) => {
    faults.clear();
    return ok(c, null);
  });
}
