/**
 * The platform's database constraints that a valid task spec can still break. On the platform
 * the failed `INSERT` raises `BackendError("Error in executing SQL command", …)`, whose first
 * argument is not a service name, so `validate_service` raises `ValueError` instead
 * (`backend/pgsql.py:147`, `exceptions.py:276-281`): a 500 `InternalException`. Here the same
 * status, type and message, with a `hint` in `detail` naming the constraint and what to send.
 */
import { ApiError } from "./envelope.js";
import { PyFloat, PyInt } from "./python-json.js";

/** The message the platform's 500 carries: `repr()` of that `ValueError`. */
const SQL_ERROR_MESSAGE = "ValueError('Internal Error: bad backend', 'Error in executing SQL command')";

/** `output_name varchar(100)` of `klms.task_output_spec` (`schemas/30_custom_schemata.sql:344`). */
export const MAX_OUTPUT_NAME = 100;

/** `tskx_action_enum` (`schemas/30_custom_schemata.sql:38`), the `resource_action` of an output to an existing resource. */
export const RESOURCE_ACTIONS = ["REPLACE", "KEEP", "TRUNCATE", "UPDATE", "COPY"];

function sqlError(hint: string): ApiError {
  return new ApiError(500, SQL_ERROR_MESSAGE, { format_exc: "", hint }, "InternalException");
}

/**
 * The rows `parse_outputs` inserts (`tasks.py:785-835`): each output's name fits `varchar(100)`
 * (counted in characters, as PostgreSQL does), and an output to an existing resource (a UUID
 * `resource`) has a `resource_action` of the enum, `REPLACE` when absent, or null.
 */
export function checkOutputRows(outputs: Record<string, unknown>): void {
  for (const [name, spec] of Object.entries(outputs)) {
    if ([...name].length > MAX_OUTPUT_NAME) {
      throw sqlError(`output name "${name.slice(0, 20)}…" is longer than ${MAX_OUTPUT_NAME} characters: shorten it`);
    }
    const { resource, resource_action: action } = (spec ?? {}) as Record<string, unknown>;
    if (typeof resource !== "string" || action === undefined || action === null) continue;
    if (typeof action !== "string" || !RESOURCE_ACTIONS.includes(action)) {
      throw sqlError(`outputs.${name}.resource_action must be one of ${RESOURCE_ACTIONS.join(", ")}`);
    }
  }
}

/**
 * The tags `create_task` inserts after the user's (`tasks.py:928-938`) share the key space of
 * `klms.task_tag` (primary key `task_uuid, key`): a user tag named like one of them breaks it.
 * `system` lists the keys the platform adds for this task (`__name__`, `__tool__`, `__image__`,
 * `container_id`, `job_id`).
 */
export function checkTagRows(userTags: Record<string, unknown>, system: string[]): void {
  const clash = system.find((key) => key in userTags);
  if (clash !== undefined) {
    throw sqlError(`the tag "${clash}" is reserved by the platform (${system.join(", ")}): rename it`);
  }
}

/**
 * `klms.parameters.value` is `jsonb` (`schemas/30_custom_schemata.sql:407-413`), which refuses
 * what Python's `json.dumps` writes for a float `inf`/`nan` (`Infinity`, `NaN`: a JSON `1e999`)
 * and a `\u0000` in any string or key (also `klms.metrics.value`, `:391-400`). `value` is the
 * parameter (or metric) as Python holds it.
 */
export function checkParameterRows(name: string, value: unknown, what: "parameter" | "metric" = "parameter"): void {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (v instanceof PyFloat && !Number.isFinite(v.value)) {
      throw sqlError(
        `${what} "${name}" holds a float jsonb cannot store (inf or nan): send a finite number or a string`,
      );
    }
    if (typeof v === "string" && v.includes("\u0000")) {
      throw sqlError(`${what} "${name}" holds a \\u0000 character, which jsonb cannot store: remove it`);
    }
    if (v !== null && typeof v === "object" && !(v instanceof PyFloat)) {
      for (const [k, child] of Object.entries(v)) stack.push(k, child);
    }
  }
}

/**
 * `klms.task_secret.value` is `text` (`schemas/30_custom_schemata.sql:332-338`): psycopg2 cannot
 * bind a dict there, an array does not fit a text column, and PostgreSQL text holds no NUL.
 */
export function checkSecretRows(name: string, value: unknown): void {
  if (typeof value === "string" && value.includes("\u0000")) {
    throw sqlError(`secret "${name}" holds a \\u0000 character, which a text column cannot store: remove it`);
  }
  if (typeof value !== "object" || value === null || value instanceof PyFloat || value instanceof PyInt) return;
  const type = Array.isArray(value) ? "list" : "dict";
  throw sqlError(`secret "${name}" is a ${type}: the platform stores secrets as text; send a string`);
}
