import { describeType, isObject, keyList, TaskInputError } from "./errors.js";

/**
 * The `minio` block of a task input, as the Data API sends it.
 * `key` is the secret access key and `skey` the STS *session token* (not a secret key),
 * whatever the template's README says.
 */
export interface MinioBlock {
  /** The object store's public URL (used outside the cluster). */
  endpoint_url?: string;
  /** The object store's URL inside the cluster (used in a pod). */
  internal_url?: string;
  /** The access key id (a secret: masked). */
  id?: string;
  /** The secret access key (masked). */
  key?: string;
  /** The STS session token, when the credentials are temporary (masked). */
  skey?: string;
  [extra: string]: unknown;
}

/** A task input, normalised: every spelling the platform ever sent, read into one shape. */
export interface TaskInput {
  /** Input groups: group name to a list of paths (`s3://bucket/key` in practice). */
  input: Record<string, string[]>;
  /** Output targets: output name to the path the tool must write. */
  output: Record<string, string>;
  /** Parameters as sent (after the platform's own literal evaluation of strings). */
  parameters: Record<string, unknown>;
  /** Object store endpoint and temporary credentials. */
  minio: MinioBlock;
  /** Secrets: present only when the signature was verified. */
  secrets: Record<string, unknown>;
  /** True when the platform verified the task signature (and so sent the secrets). */
  signature_verified: boolean;
  /** Top-level keys this reader does not know, kept as they were. */
  extra: Record<string, unknown>;
}

/** The result of reading a task input: the normalised input and what was tolerated on the way. */
export interface ReadResult {
  /** The input, normalised. */
  task: TaskInput;
  /** Things that were accepted but are worth a line in the log (plural keys, envelopes, …). */
  warnings: string[];
}

const KNOWN_KEYS = new Set([
  "input",
  "inputs",
  "output",
  "outputs",
  "parameters",
  "minio",
  "secrets",
  "signature_verified",
]);

/**
 * Reads any task input the platform has ever sent: the v2 shape (`input`, `output`, …), the
 * plural `inputs`/`outputs` of the template's README, the raw `{success, result, help}` envelope,
 * a single path where a list is expected, the v1 flat list and the late-2024 `{path, name}` items.
 * Unknown keys are kept in `extra`. Throws a {@link TaskInputError} naming the offending key.
 */
export function readTaskInput(raw: unknown): ReadResult {
  const warnings: string[] = [];
  const body = unwrapEnvelope(raw, warnings);

  const input = readInputGroups(pick(body, "input", "inputs", warnings), warnings);
  const output = readOutputTargets(pick(body, "output", "outputs", warnings));
  const parameters = readSection(body, "parameters");
  const minio = readSection(body, "minio") as MinioBlock;
  const secrets = readSection(body, "secrets");
  const verifiedRaw = body.signature_verified;
  if (verifiedRaw !== undefined && typeof verifiedRaw !== "boolean") {
    throw new TaskInputError(`"signature_verified" must be a boolean, got ${describeType(verifiedRaw)}`);
  }
  // The platform sends secrets only after verifying the signature; older fixtures omit the flag.
  const signature_verified = verifiedRaw === true || (verifiedRaw === undefined && "secrets" in body);

  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) if (!KNOWN_KEYS.has(k)) extra[k] = v;

  return { task: { input, output, parameters, minio, secrets, signature_verified, extra }, warnings };
}

function unwrapEnvelope(raw: unknown, warnings: string[]): Record<string, unknown> {
  if (!isObject(raw)) {
    throw new TaskInputError(`the task input must be a JSON object, got ${describeType(raw)}`);
  }
  const looksLikeEnvelope = "success" in raw && ("result" in raw || "error" in raw) && !("input" in raw);
  if (!looksLikeEnvelope) return raw;
  if (raw.success !== true) {
    const err = isObject(raw.error) ? raw.error : {};
    const what = typeof err.message === "string" ? `: ${err.message}` : "";
    const code = typeof err.status_code === "number" ? ` (HTTP ${err.status_code})` : "";
    throw new TaskInputError(`the Data API answered with an error instead of a task input${code}${what}`);
  }
  if (!isObject(raw.result)) {
    throw new TaskInputError(`the envelope's "result" must be an object, got ${describeType(raw.result)}`);
  }
  warnings.push('read the task input from a {"success", "result"} envelope');
  return raw.result;
}

function pick(body: Record<string, unknown>, singular: string, plural: string, warnings: string[]): unknown {
  const hasSingular = body[singular] !== undefined && body[singular] !== null;
  const hasPlural = body[plural] !== undefined && body[plural] !== null;
  if (hasSingular && hasPlural) {
    warnings.push(`both "${singular}" and "${plural}" are present; "${singular}" wins, as on the platform`);
  } else if (hasPlural) {
    warnings.push(`read "${plural}" (plural); the platform sends "${singular}"`);
    return body[plural];
  }
  return hasSingular ? body[singular] : undefined;
}

function readSection(body: Record<string, unknown>, key: string): Record<string, unknown> {
  const value = body[key];
  if (value === undefined || value === null) return {};
  if (!isObject(value)) {
    throw new TaskInputError(`"${key}" must be an object, got ${describeType(value)}`);
  }
  return value;
}

function readInputGroups(value: unknown, warnings: string[]): Record<string, string[]> {
  if (value === undefined) return {};
  if (Array.isArray(value)) {
    // v1 (2024): one flat, positional list of paths.
    warnings.push('"input" is a flat list (the v1 shape); read it as the group "default"');
    return { default: value.map((item, i) => readPath(item, `input[${i}]`)) };
  }
  if (typeof value === "string") {
    warnings.push('"input" is a single path; read it as the group "default"');
    return { default: [value] };
  }
  if (!isObject(value)) {
    throw new TaskInputError(`"input" must be an object of groups, got ${describeType(value)}`);
  }
  const groups: Record<string, string[]> = {};
  for (const [group, items] of Object.entries(value)) {
    if (items === null || items === undefined) groups[group] = [];
    else if (typeof items === "string") groups[group] = [items];
    else if (Array.isArray(items)) groups[group] = items.map((item, i) => readPath(item, `input.${group}[${i}]`));
    else if (isObject(items)) groups[group] = [readPath(items, `input.${group}`)];
    else {
      throw new TaskInputError(`input group "${group}" must be a list of paths, got ${describeType(items)}`);
    }
  }
  return groups;
}

/** A path is a string, or (late 2024) an object with a "path" or "url" string. */
function readPath(item: unknown, where: string): string {
  if (typeof item === "string") return item;
  if (isObject(item)) {
    for (const k of ["path", "url"]) if (typeof item[k] === "string") return item[k] as string;
    throw new TaskInputError(`${where} is an object without a "path" or "url" string; its keys: ${keyList(item)}`);
  }
  throw new TaskInputError(`${where} must be a path string, got ${describeType(item)}`);
}

function readOutputTargets(value: unknown): Record<string, string> {
  if (value === undefined) return {};
  if (!isObject(value)) {
    throw new TaskInputError(`"output" must be an object of output name to path, got ${describeType(value)}`);
  }
  const targets: Record<string, string> = {};
  for (const [name, target] of Object.entries(value)) {
    if (target === null || target === undefined) continue;
    targets[name] = readPath(target, `output.${name}`);
  }
  return targets;
}
