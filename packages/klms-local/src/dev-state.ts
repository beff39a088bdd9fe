/**
 * The state file `klms-tool dev` leaves in the tool project it runs in, so that `klms-tool try`
 * finds and reuses it: `<project>/.klms/dev.json` = `{ apiUrl, pid, caFile? }` (no token, no
 * password, no secret: `try` logs in as a user). Written when the server is up, removed when it
 * stops; only in a folder with a package.json (a project), so that running `dev` elsewhere
 * leaves nothing behind. klms-tool's cli/try-remote.ts reads it.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** The file, relative to the project. */
export const DEV_STATE_FILE = join(".klms", "dev.json");

/** The dev server another live process of this project wrote, if any (a file left by a crash does not count). */
function liveOther(file: string): { apiUrl?: string; pid: number } | undefined {
  try {
    const state = JSON.parse(readFileSync(file, "utf8")) as { apiUrl?: string; pid?: number };
    if (typeof state.pid !== "number" || state.pid === process.pid) return undefined;
    process.kill(state.pid, 0); // signal 0: does it exist
    return state as { apiUrl?: string; pid: number };
  } catch {
    return undefined; // no file, not JSON, or its process is gone
  }
}

/**
 * Writes the state file into `cwd` when it is a project; returns a function that removes it
 * (if it is still this server's), or undefined when nothing was written. When another live
 * `klms-tool dev` already wrote it, it is left to that one (`try` keeps using it, and this
 * server's stop does not remove it) and `warn` is told (attack5 F11).
 */
export function writeDevState(
  cwd: string,
  state: { apiUrl: string; caFile?: string },
  warn: (line: string) => void = () => {},
): (() => void) | undefined {
  if (!existsSync(join(cwd, "package.json"))) return undefined;
  const file = join(cwd, DEV_STATE_FILE);
  const other = liveOther(file);
  if (other) {
    warn(
      `klms-tool dev already runs in this project (pid ${other.pid}, ${other.apiUrl ?? "?"}): klms-tool try keeps ` +
        `using that one; this one (${state.apiUrl}) is not written to ${DEV_STATE_FILE} (try --url ${state.apiUrl} uses it)`,
    );
    return undefined;
  }
  mkdirSync(join(cwd, ".klms"), { recursive: true });
  const body = { apiUrl: state.apiUrl, pid: process.pid, ...(state.caFile ? { caFile: state.caFile } : {}) };
  writeFileSync(file, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600 });
  return () => {
    try {
      // Another dev server started in the project since owns the file now: leave it.
      if ((JSON.parse(readFileSync(file, "utf8")) as { pid?: number }).pid === process.pid) rmSync(file);
    } catch {
      // already gone
    }
  };
}
