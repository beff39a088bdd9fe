/**
 * What `klms-tool try` asks the local KLMS for, built from its options: local files to upload by
 * input group, paths passed as they are, output names, parameters and secrets.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { readTaskInput } from "../contract/input.js";
import { loadTool } from "./load-tool.js";

/** The parsed options of `klms-tool try`. */
export interface TryOptions {
  /** A task input in the platform's shape (e.g. fixtures/input.json) to take the task from. */
  from?: string;
  /** `group=path` pairs of `--input`. */
  inputs: string[];
  /** `name=value` pairs of `--param`. */
  params: string[];
  /** A `.env` file of secrets. */
  secretFile?: string;
  /** Output names of `--output`. */
  outputs: string[];
  /** The tool's built module, for its declared outputs (default dist/main.js when it exists). */
  tool?: string;
}

/** The task `try` creates, in the terms of klms-local's `runToolTask`. */
export interface TryRequest {
  files: Record<string, string[]>;
  inputs: Record<string, string[]>;
  outputs: Record<string, string>;
  outputNames: string[];
  parameters: Record<string, unknown>;
  secrets?: Record<string, unknown>;
}

/** A mistake in `try`'s options or files, said so that it can be fixed. */
export class TryUsageError extends Error {
  override name = "TryUsageError";
}

const REMOTE = /^[a-z][a-z0-9+.-]*:\/\//i;

/** Builds the request: `--from` first, then the options on top of it. */
export async function buildTryRequest(options: TryOptions, cwd: string): Promise<TryRequest> {
  const request: TryRequest = { files: {}, inputs: {}, outputs: {}, outputNames: [], parameters: {} };
  if (options.from) await applyInputFile(request, options.from, cwd);
  for (const pair of options.inputs) {
    const [group, path] = split(pair, "--input", "group=./file.csv");
    addInput(request, group, path, cwd);
  }
  for (const pair of options.params) {
    const [name, value] = split(pair, "--param", "name=value");
    request.parameters[name] = parseValue(value);
  }
  if (options.secretFile) request.secrets = { ...request.secrets, ...(await readEnvFile(options.secretFile, cwd)) };
  const declared = await declaredOutputs(options.tool, cwd);
  for (const name of [...declared, ...options.outputs]) {
    if (!(name in request.outputs) && !request.outputNames.includes(name)) request.outputNames.push(name);
  }
  return request;
}

async function applyInputFile(request: TryRequest, path: string, cwd: string): Promise<void> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(resolve(cwd, path), "utf8"));
  } catch (error) {
    throw new TryUsageError(`--from ${path}: ${(error as Error).message}`);
  }
  const { task } = readTaskInput(raw);
  for (const [group, paths] of Object.entries(task.input)) for (const p of paths) addInput(request, group, p, cwd);
  for (const [name, target] of Object.entries(task.output)) {
    // A path in the store is kept; anything else only names the output (the local KLMS picks the path).
    if (/^s3:\/\//.test(target)) request.outputs[name] = target;
    else request.outputNames.push(name);
  }
  Object.assign(request.parameters, task.parameters);
  if (Object.keys(task.secrets).length > 0) request.secrets = { ...task.secrets };
}

function addInput(request: TryRequest, group: string, path: string, cwd: string): void {
  if (REMOTE.test(path)) {
    request.inputs[group] = [...(request.inputs[group] ?? []), path];
    return;
  }
  if (!existsSync(resolve(cwd, path))) {
    throw new TryUsageError(`input group "${group}": ${path} is neither a local file nor an s3:// path`);
  }
  request.files[group] = [...(request.files[group] ?? []), path];
}

function split(pair: string, option: string, example: string): [string, string] {
  const at = pair.indexOf("=");
  if (at <= 0) throw new TryUsageError(`${option} takes ${example}, got "${pair}"`);
  return [pair.slice(0, at), pair.slice(at + 1)];
}

/** A parameter's value: JSON when it reads as JSON (2, true, [1,2], {"a":1}), else the string. */
function parseValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Reads `KEY=VALUE` lines (dotenv's common subset: `#` comments, blank lines, an `export `
 * prefix, single or double quotes around the value). Values are never printed.
 */
export async function readEnvFile(path: string, cwd: string): Promise<Record<string, string>> {
  let text: string;
  try {
    text = await readFile(resolve(cwd, path), "utf8");
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    const fix = missing
      ? ": create it with one KEY=VALUE line a secret (e.g. api_key=…), or leave --secret-file out"
      : "";
    throw new TryUsageError(`--secret-file ${path}: ${(error as Error).message}${fix}`);
  }
  const secrets: Record<string, string> = {};
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match) throw new TryUsageError(`${path}, line ${index + 1}: expected KEY=VALUE`);
    const value = match[2] as string;
    const quoted = /^(["'])(.*)\1$/.exec(value);
    secrets[match[1] as string] = quoted ? (quoted[2] as string) : value.replace(/\s+#.*$/, "");
  });
  return secrets;
}

/** The output names the tool declares (when its built module is found), so every one gets a path. */
async function declaredOutputs(tool: string | undefined, cwd: string): Promise<string[]> {
  const path = tool ?? "dist/main.js";
  if (tool === undefined && !existsSync(resolve(cwd, path))) return [];
  try {
    return Object.keys((await loadTool(path, cwd)).outputs ?? {});
  } catch (error) {
    // A plain run(json) module declares nothing: its outputs come from --output and --from.
    if ((error as { loadedWithoutTool?: boolean }).loadedWithoutTool) return [];
    throw new TryUsageError((error as Error).message);
  }
}
