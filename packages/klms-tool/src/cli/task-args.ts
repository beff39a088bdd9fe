/**
 * `klms-tool task run`'s options into the platform's task body (`TaskSchema`, `tasks.py:110-295`),
 * as stelar_client's TaskSpec builds it (`sc:task_spec.py:165-184`: the four dicts always sent).
 * Local files given as inputs are uploaded to the object store and registered as resources of the
 * task's process, so that the task reads them by resource id as any catalog input.
 */
import { randomUUID } from "node:crypto";
import { statSync } from "node:fs";
import { basename, extname, resolve } from "node:path";
import type { KlmsClient, ProcessRecord, TaskSpecBody, ToolRecord } from "../client/index.js";
import { UsageError } from "./cluster-io.js";
import { objectStorage } from "./object-storage.js";

/** `k=v` pairs into a map; `what` names the option in the error (`--param`). */
export function pairs(values: string[], what: string): Array<[string, string]> {
  return values.map((item) => {
    const eq = item.indexOf("=");
    if (eq <= 0) throw new UsageError(`${what} "${item}" is not <name>=<value> (e.g. ${what} method=spearman)`);
    return [item.slice(0, eq), item.slice(eq + 1)];
  });
}

/**
 * A parameter's value: JSON when it parses (`n=3`, `flag=true`, `cols=["a","b"]`), else the text
 * as is (`method=spearman`). The platform also turns Python-literal strings into values (KC §2.5).
 */
export function parameterValue(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** What a task run needs besides the tool. */
export interface RunArgs {
  params: string[];
  inputs: string[];
  outputs: string[];
  datasets: string[];
  secrets: string[];
  name?: string;
  image?: string;
  bucket: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/** The task body for `tool` in `process`, uploading local input files (see the module's comment). */
export async function buildTaskBody(
  client: KlmsClient,
  tool: ToolRecord,
  process: ProcessRecord,
  args: RunArgs,
): Promise<TaskSpecBody> {
  const name =
    args.name ?? `${tool.name}-${new Date().toISOString().replace(/[-:]/g, "").replace(/\..*/, "").toLowerCase()}`;
  const body: TaskSpecBody = {
    process_id: process.id,
    name,
    tool: tool.name,
    datasets: {},
    inputs: {},
    outputs: {},
    parameters: {},
  };
  if (args.image) body.image = args.image;
  for (const [alias, ref] of pairs(args.datasets, "--dataset")) {
    body.datasets[alias] = (await client.datasets.get(ref)).id;
  }
  for (const [k, v] of pairs(args.params, "--param")) body.parameters[k] = parameterValue(v);
  if (args.secrets.length > 0) body.secrets = Object.fromEntries(pairs(args.secrets, "--secret"));
  let uploader: Uploader | undefined;
  try {
    for (const [group, item] of pairs(args.inputs, "--input")) {
      let value = item;
      const file = localFile(args.cwd, item);
      if (file) {
        uploader ??= await makeUploader(client, process, args);
        value = await uploader.upload(file);
      }
      body.inputs[group] = [...(body.inputs[group] ?? []), value];
    }
  } finally {
    uploader?.close();
  }
  const given = new Map(pairs(args.outputs, "--output"));
  const names = new Set([...declaredOutputs(tool), ...given.keys()]);
  for (const out of names) {
    const url = given.get(out) ?? `s3://${args.bucket}/klms-tool/outputs/${name}/${out}`;
    if (!url.startsWith("s3://")) throw new UsageError(`--output ${out}=${url}: the target must be an s3:// path`);
    // Registered as a resource of the process (`ctx`), so the task record lists it (platform-api §4.7).
    body.outputs[out] = { url, dataset: "ctx", resource: { name: out, relation: "owned" } };
  }
  return body;
}

/**
 * The output names a tool's catalog entry declares: the keys of `outputs`, or of its
 * `properties` when it is a JSON Schema (as `klms-tool manifest` and `publish` write it).
 */
export function declaredOutputs(tool: ToolRecord): string[] {
  const outputs = (tool.outputs ?? {}) as Record<string, unknown>;
  const properties = outputs.properties;
  if (outputs.type === "object" && properties && typeof properties === "object") return Object.keys(properties);
  return Object.keys(outputs);
}

/** The absolute path when `item` names an existing local file (s3 paths and catalog references never do). */
function localFile(cwd: string, item: string): string | undefined {
  if (item.startsWith("s3://")) return undefined;
  const path = resolve(cwd, item);
  try {
    return statSync(path).isFile() ? path : undefined;
  } catch {
    return undefined;
  }
}

/** Uploads a file under `s3://<bucket>/klms-tool/uploads/<uuid>/` and registers it as a resource of the process; returns its id. */
interface Uploader {
  upload(file: string): Promise<string>;
  close(): void;
}

async function makeUploader(client: KlmsClient, process: ProcessRecord, args: RunArgs): Promise<Uploader> {
  const storage = await objectStorage(client, args.env);
  const upload = async (file: string) => {
    const url = await storage.upload(`s3://${args.bucket}/klms-tool/uploads/${randomUUID()}/${basename(file)}`, file);
    const format = extname(file).slice(1) || undefined;
    const resource = await client.resources.create({
      package_id: process.id,
      name: basename(file),
      url,
      format,
      relation: "owned",
    });
    return resource.id;
  };
  return { upload, close: () => storage.close() };
}
