/**
 * Reads the body of an output POST the way APIFlask/webargs do before the platform's handler
 * runs: a non-JSON content type counts as a missing body, unparsable JSON is a 400, and the
 * parsed value must pass `schema.Task_Output` (here: `checkTaskOutput` from the kit's contract,
 * whose "error" violations are the platform's rejections) or the reply is a 422.
 */
import { checkTaskOutput, type TaskOutput } from "klms-tool/contract";
import { isObject } from "klms-tool/internal";
import { ApiError } from "./envelope.js";
import { parseJsonText } from "./python-repr.js";
import { validationError } from "./schema.js";

/** True for `application/json` and `application/<x>+json`, as Flask's `is_json`. */
export function isJsonContentType(contentType: string | undefined): boolean {
  const type = (contentType ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  return type === "application/json" || (type.startsWith("application/") && type.endsWith("+json"));
}

/**
 * The deepest nesting of a JSON body the platform parses: Python's `json` recurses per level and
 * fails past the interpreter's recursion limit (`sys.getrecursionlimit()`, 1000 by default, less
 * the frames below the parser), an error Flask does not catch. Measured with Python 3.11 (the
 * platform's image, `Dockerfile.k8s`): 995 levels parse at the top of the stack, 1000 do not;
 * under Flask's frames the bound is lower, so 900 is an approximation. Bodies deeper than this get
 * that 500 here too, before any recursive code of ours sees them.
 */
export const MAX_JSON_DEPTH = 900;

/**
 * Parses a JSON request body as Flask's `request.get_json()` does: a non-JSON content type or an
 * empty body gives `{}` (webargs' "missing"); bytes that are not UTF-8 (Python's
 * `UnicodeDecodeError`) or not JSON give Werkzeug's 400 "Bad Request"; nesting beyond
 * {@link MAX_JSON_DEPTH} gives the platform's 500 `HTTPError` "Internal Server Error" (its
 * `RecursionError`), with no detail. Numbers keep their source text for messages (`python-repr.ts`).
 */
export function parseJsonBody(contentType: string | undefined, body: string | Uint8Array): unknown {
  if (!isJsonContentType(contentType)) return {};
  let parsed: { value: unknown; depth: number };
  try {
    const text = typeof body === "string" ? body : new TextDecoder("utf-8", { fatal: true }).decode(body);
    if (text.trim() === "") return {};
    parsed = parseJsonText(text);
  } catch {
    // Werkzeug's BadRequest, through the platform's error processor (`data_api.py:64-79`).
    throw new ApiError(400, "Bad Request", {}, "HTTPError");
  }
  if (parsed.depth > MAX_JSON_DEPTH) throw new ApiError(500, "Internal Server Error", {}, "HTTPError");
  return parsed.value;
}

/** Validates a parsed output body; throws the platform's 422 with one message list per field. */
export function checkOutputBody(body: unknown): TaskOutput & { outputs?: Record<string, string> } {
  const check = checkTaskOutput(body);
  const fields: Record<string, string[]> = {};
  for (const v of check.violations) {
    // Only what the platform itself rejects: e.g. it accepts a falsy status (0, "") and leaves
    // the task as it is, although the kit's checker flags it because a tool should never send one.
    if (!v.rejected) continue;
    const path = v.path === "(root)" ? "_schema" : v.path;
    fields[path] ??= [];
    fields[path].push(marshmallowMessage(body, v.path, v.message));
  }
  if (Object.keys(fields).length > 0) throw validationError(fields);
  return body as TaskOutput & { outputs?: Record<string, string> };
}

/** The messages marshmallow writes for the failures tools hit most; the checker's words otherwise. */
function marshmallowMessage(body: unknown, path: string, message: string): string {
  if (path === "(root)") return "Invalid input type.";
  if (!isObject(body)) return message;
  if (path === "status" && !("status" in body)) return "Missing data for required field.";
  if (!path.includes(".") && !["status", "message", "error", "metrics", "output", "outputs"].includes(path)) {
    return "Unknown field.";
  }
  return message;
}
