/**
 * The body of `POST /api/v2/task`, checked exactly as the platform's `TaskSchema` checks it
 * (`tasks.py:110-295`): the field rules first, each with marshmallow's message; then, only when
 * no field is wrong, the three schema validators in their order (datasets, inputs, outputs),
 * each stopping at its own first error, their errors merged. The 422 detail is the platform's,
 * key for key (`klms-platform-api.md` §4.2).
 */
import { isObject } from "klms-tool/internal";
import { ApiError } from "./envelope.js";
import { pyStr } from "./python-repr.js";
import {
  checkFields,
  type FieldErrors,
  isCanonicalUuid,
  isPythonUuid,
  type Schema,
  validationError,
} from "./schema.js";

/** The body of `POST /api/v2/task`, as stelar_client's `TaskSpec.spec()` writes it. */
export interface TaskSpec {
  process_id: string;
  name: string;
  inputs: Record<string, string[]>;
  outputs: Record<string, OutputSpecBody>;
  datasets: Record<string, string | { name: string; owner_org: string; [k: string]: unknown }>;
  tool?: string;
  image?: string;
  parameters?: Record<string, unknown> | null;
  secrets?: Record<string, unknown> | null;
  tags?: Record<string, string> | null;
  exec_state?: "running" | "failed" | "succeeded";
}

/** One output of a task spec: where the tool writes it, and what the catalog makes of it. */
export interface OutputSpecBody {
  url: string;
  /** An existing resource's UUID, or a new resource in `dataset`. */
  resource?: string | { name: string; relation: string; [k: string]: unknown };
  /** A `datasets` alias or `ctx` (the process). */
  dataset?: string;
  resource_action?: string;
  [k: string]: unknown;
}

/** A task spec that passed the schema, `process_id` in canonical form. */
export type ParsedSpec = TaskSpec;

/** `TaskSchema`'s fields (`tasks.py:124-151`). */
const TASK_SCHEMA: Schema = {
  id: { type: "raw", dumpOnly: true },
  process_id: { type: "uuid", required: true },
  secrets: { type: "dict", nullable: true },
  inputs: { type: "dict", required: true, nullable: true },
  outputs: { type: "dict", required: true, nullable: true },
  datasets: { type: "dict", required: true, nullable: true },
  parameters: { type: "dict", nullable: true },
  name: { type: "string", required: true },
  tool: { type: "string" },
  image: { type: "string" },
  exec_state: { type: "string", oneOf: ["running", "failed", "succeeded"] },
  creator: { type: "raw", dumpOnly: true },
  start_date: { type: "raw", dumpOnly: true },
  end_date: { type: "raw", dumpOnly: true },
  tags: { type: "dict", nullable: true, values: "string" },
};

/** Validates a task spec; throws the platform's 422 (or its 500 for a null `inputs`/`outputs`/`datasets`). */
export function parseTaskSpec(body: unknown): ParsedSpec {
  const fieldErrors = checkFields(body, TASK_SCHEMA);
  if (Object.keys(fieldErrors).length > 0) throw validationError(fieldErrors);
  const spec = body as Record<string, unknown>;
  for (const key of ["datasets", "inputs", "outputs"]) {
    if (spec[key] === null) {
      // The platform's validators call `.items()` on it: an unhandled error, HTTP 500. Same status
      // here, with a detail that says what to send instead.
      throw new ApiError(
        500,
        "Internal Server Error",
        { hint: `"${key}" is null: send {} when the task has none (the platform fails on null)` },
        "HTTPError",
      );
    }
  }
  const errors: FieldErrors = {};
  mergeInto(errors, checkDatasets(spec.datasets as Record<string, unknown>));
  mergeInto(errors, checkInputs(spec.inputs as Record<string, unknown>, spec.datasets as Record<string, unknown>));
  mergeInto(errors, checkOutputs(spec.outputs as Record<string, unknown>, spec.datasets as Record<string, unknown>));
  if (Object.keys(errors).length > 0) throw validationError(errors);
  return { ...(spec as unknown as TaskSpec), process_id: canonicalUuid(spec.process_id as string) };
}

/** Python's `str(uuid.UUID(s))`: lowercase, hyphenated. */
export function canonicalUuid(text: string): string {
  const hex = text
    .replace(/^urn:uuid:/i, "")
    .replace(/[{}-]/g, "")
    .toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/** marshmallow merges a string error into `_schema` and a dict error key by key. */
function mergeInto(errors: FieldErrors, error: string | FieldErrors | undefined): void {
  if (error === undefined) return;
  if (typeof error === "string") {
    errors._schema = [...((errors._schema as string[] | undefined) ?? []), error];
  } else Object.assign(errors, error);
}

const DATASET_NAME = /^[a-z0-9_-]+$/;
const DATASET_OWNER = /^[a-z0-9-]+$/;

/** `validate_datasets` (`tasks.py:155-172`). */
function checkDatasets(datasets: Record<string, unknown>): string | FieldErrors | undefined {
  for (const [key, value] of Object.entries(datasets)) {
    if (typeof value === "string") {
      if (!isCanonicalUuid(value)) return `Dataset '${key}' has a string value but it's not a valid UUID.`;
    } else if (isObject(value)) {
      const messages = checkFields(
        value,
        {
          name: { type: "string", required: true, pattern: DATASET_NAME, lambda: true },
          owner_org: { type: "string", required: true, pattern: DATASET_OWNER, lambda: true },
        },
        { unknown: "include" },
      );
      if (Object.keys(messages).length > 0) return { [`datasets.${key}`]: messages };
    } else {
      return `Dataset '${key}' must be either a UUID string or a valid dataset dictionary.`;
    }
  }
  return undefined;
}

/** The patterns of `validate_inputs` (`tasks.py:179-184`). */
export const INPUT_PATTERNS = {
  uuid: /^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12})(::[a-zA-Z0-9_-]+)?$/,
  ctx: /^(ctx)(::[a-zA-Z0-9_-]+)?$/,
  s3: /^s3:\/\/[^\s]+$/,
  datasetRef: /^([a-zA-Z0-9_-]+)(::[a-zA-Z0-9_-]+)?$/,
};

/** `validate_inputs` (`tasks.py:174-216`). */
function checkInputs(inputs: Record<string, unknown>, datasets: Record<string, unknown>): FieldErrors | undefined {
  for (const [group, items] of Object.entries(inputs)) {
    const at = `inputs.${group}`;
    if (!Array.isArray(items)) return { [at]: "Must be a list." };
    for (const [index, item] of items.entries()) {
      if (typeof item !== "string") {
        return { [at]: `Item '${pyStr(item, { parent: items, key: index })}' must be a string.` };
      }
      if (INPUT_PATTERNS.uuid.test(item) || INPUT_PATTERNS.ctx.test(item) || INPUT_PATTERNS.s3.test(item)) continue;
      const ref = INPUT_PATTERNS.datasetRef.exec(item);
      if (ref) {
        if (!((ref[1] as string) in datasets)) {
          return { [at]: `Invalid dataset reference '${ref[1]}' not found in datasets.` };
        }
        continue;
      }
      return {
        [at]: `Invalid item '${item}'. Must be a UUID (::filter), an s3:// path, 'ctx' (::filter) or a key from datasets.`,
      };
    }
  }
  return undefined;
}

/** `validate_outputs` (`tasks.py:218-295`). */
function checkOutputs(outputs: Record<string, unknown>, datasets: Record<string, unknown>): FieldErrors | undefined {
  const aliases = new Set([...Object.keys(datasets), "ctx"]);
  for (const [key, value] of Object.entries(outputs)) {
    if (!isObject(value)) return { [`outputs.${key}`]: "Each output must be a dictionary." };
    if (typeof value.url !== "string") {
      return { [`outputs.${key}.url`]: "Missing or invalid 'url'. Must be a string." };
    }
    const resource = value.resource;
    if (resource !== undefined && resource !== null) {
      const problem = checkOutputResource(key, value, resource, aliases);
      if (problem) return problem;
    } else if ("dataset" in value) {
      return { [`outputs.${key}.resource`]: "'resource' is required when 'dataset' is provided." };
    }
  }
  return undefined;
}

function checkOutputResource(
  key: string,
  value: Record<string, unknown>,
  resource: unknown,
  aliases: Set<string>,
): FieldErrors | undefined {
  if (typeof resource === "string") {
    return isPythonUuid(resource)
      ? undefined
      : { [`outputs.${key}.resource`]: "'resource' string must be a valid UUID." };
  }
  if (!isObject(resource)) {
    return {
      [`outputs.${key}.resource`]: "'resource' must be a UUID string or a dict with 'name' and 'relation'.",
    };
  }
  const missing = ["name", "relation"].filter((f) => !(f in resource));
  if (missing.length > 0) return { [`outputs.${key}.resource`]: `Missing fields in 'resource': ${missing.join(", ")}` };
  if (!("dataset" in value)) return { [`outputs.${key}.dataset`]: "'dataset' is required when 'resource' is a dict." };
  if (typeof value.dataset !== "string") return { [`outputs.${key}.dataset`]: "'dataset' must be a string." };
  if (!aliases.has(value.dataset)) return { [`outputs.${key}.dataset`]: `'${value.dataset}' not found in datasets.` };
  return undefined;
}
