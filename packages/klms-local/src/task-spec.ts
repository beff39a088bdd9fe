/**
 * Reads the body of `POST /api/v2/task` (the platform's `TaskSchema`) into what the local KLMS
 * stores. The rules are the platform's, minus what needs a catalog: input items must be URLs
 * (the platform would also take resource and dataset ids and expand them), and a process is
 * optional.
 */
import { describeType, isObject } from "klms-tool/contract";
import { ApiError } from "./envelope.js";

/** The body of `POST /api/v2/task`, as stelar_client's `TaskSpec.spec()` writes it. */
export interface TaskSpec {
  name?: string;
  process_id?: string;
  tool?: string;
  image?: string;
  inputs?: Record<string, string[]>;
  outputs?: Record<string, string | { url: string; [k: string]: unknown }>;
  parameters?: Record<string, unknown>;
  secrets?: Record<string, unknown>;
  datasets?: Record<string, unknown>;
}

/** A task spec after validation, in the form the store keeps. */
export interface ParsedSpec {
  name?: string;
  process_id?: string;
  tool?: string;
  image?: string;
  inputs: Record<string, string[]>;
  outputs: Record<string, { url: string; [k: string]: unknown }>;
  parameters: Record<string, unknown>;
  secrets: Record<string, string>;
  datasets: Record<string, unknown>;
  tags: Record<string, string>;
}

/** What survives the platform's `is_valid_url` when it hands input paths to a tool. */
export const INPUT_URL = /^(s3|https|http|tcp|smb|ftp):\/\/[a-zA-Z0-9.-]+(?:\/[^\s]*)?$/;

const KNOWN = ["name", "process_id", "tool", "image", "inputs", "outputs", "parameters", "secrets", "datasets", "tags"];

/** Validates a task spec; throws a 422 in the platform's validation shape naming each bad field. */
export function parseTaskSpec(body: unknown): ParsedSpec {
  const errors: Record<string, string[]> = {};
  const fail = (field: string, message: string) => {
    errors[field] ??= [];
    errors[field].push(message);
  };
  if (!isObject(body)) throw validationError({ _schema: ["Invalid input type."] });

  for (const key of Object.keys(body)) if (!KNOWN.includes(key)) fail(key, "Unknown field.");
  const text = (key: string): string | undefined => {
    const v = body[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string") fail(key, "Not a valid string.");
    return typeof v === "string" ? v : undefined;
  };
  const map = (key: string): Record<string, unknown> => {
    const v = body[key];
    if (v === undefined || v === null) return {};
    if (!isObject(v)) {
      fail(key, `Not a valid mapping type (got ${describeType(v)}).`);
      return {};
    }
    return v;
  };

  const spec: ParsedSpec = {
    inputs: {},
    outputs: {},
    parameters: map("parameters"),
    secrets: {},
    datasets: map("datasets"),
    tags: {},
  };
  for (const key of ["name", "process_id", "tool", "image"] as const) {
    const v = text(key);
    if (v !== undefined) spec[key] = v;
  }

  for (const [group, items] of Object.entries(map("inputs"))) {
    if (!Array.isArray(items)) {
      fail(`inputs.${group}`, `Not a valid list (got ${describeType(items)}).`);
      continue;
    }
    spec.inputs[group] = [];
    for (const item of items) {
      if (typeof item !== "string" || !INPUT_URL.test(item)) {
        fail(
          `inputs.${group}`,
          `Not a valid input: ${typeof item === "string" ? JSON.stringify(item) : describeType(item)}. ` +
            "The local KLMS has no catalog: use URLs such as s3://bucket/key.",
        );
      } else spec.inputs[group].push(item);
    }
  }

  for (const [name, target] of Object.entries(map("outputs"))) {
    if (typeof target === "string") spec.outputs[name] = { url: target };
    else if (isObject(target) && typeof target.url === "string") spec.outputs[name] = { ...target, url: target.url };
    else fail(`outputs.${name}`, 'Must be a path string or an object with a string "url".');
  }

  // Secrets live in a text column on the platform: whatever is sent comes back as a string.
  for (const [name, value] of Object.entries(map("secrets"))) {
    spec.secrets[name] = typeof value === "string" ? value : JSON.stringify(value);
  }

  for (const [name, value] of Object.entries(map("tags"))) {
    if (typeof value === "string") spec.tags[name] = value;
    else fail(`tags.${name}`, "Not a valid string.");
  }

  if (Object.keys(errors).length > 0) throw validationError(errors);
  return spec;
}

/** A 422 shaped like APIFlask's request validation error. */
export function validationError(fields: Record<string, string[]>): ApiError {
  return new ApiError(422, "Validation error", { json: fields });
}
