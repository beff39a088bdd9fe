/**
 * Where tasks meet the catalog, by the platform's rules: creating a task from a validated spec
 * (`create_task`, `tasks.py:837-945`: process and tool checks, `datasets`, inputs resolved into
 * resource ids and paths, outputs, the Job's image), the input a tool reads (`get_input`,
 * `tasks.py:1076-1216`: resource ids become their current URLs) and the outputs a tool posts
 * (`handle_output_key`, `tasks.py:1264-1329`: new resources registered in the named datasets).
 */
import { randomUUID } from "node:crypto";
import { type Catalog, DEFAULT_ORGANIZATION, type StoredEntity } from "./catalog/catalog.js";
import { checkOutputRows, checkTagRows } from "./db-constraints.js";
import { ApiError, pyMessage } from "./envelope.js";
import { PY_SPACE, pyMatch } from "./py-regex.js";
import { isCanonicalUuid } from "./schema.js";
import { parameterRowsOf, secretRowsOf } from "./task-parameters.js";
import type { OutputSpecBody, ParsedSpec } from "./task-spec.js";
import { EXTERNAL_JOB, type StoredDataset, type StoredOutput, type StoredTask } from "./tasks.js";
import { isoNow } from "./timestamps.js";
import { expandWildcard, isWildcard, type ObjectLister } from "./wildcards.js";

/** The platform's `utils.is_valid_url` (`utils.py:757-765`): what a plain input path must look like. */
export const VALID_URL = new RegExp(`^(s3|https|http|tcp|smb|ftp)://[a-zA-Z0-9.-]+(?:/[^${PY_SPACE}]*)?$`, "u");

/** `is_valid_url` as Python runs it ({@link pyMatch}: a trailing "\n" passes, and the path keeps it). */
export function isValidUrl(text: string): boolean {
  return pyMatch(VALID_URL, text) !== null;
}

/**
 * Builds a new task (state `created`) from a spec that passed `TaskSchema`; throws the platform's
 * 404/409/400/500s. `expansions` holds the wildcard input paths already expanded
 * ({@link wildcardExpansions}); a wildcard path missing from it is kept as written.
 */
export function newTask(
  spec: ParsedSpec,
  creator: string,
  catalog: Catalog,
  expansions: Map<string, string[]> = new Map(),
): StoredTask {
  const process = runningProcess(spec.process_id, catalog);
  const tool = spec.tool ? catalog.get("tool", spec.tool) : undefined;
  const id = randomUUID();
  const datasets = parseDatasets(spec, catalog);
  const { inputs, urls } = parseInputs(spec.inputs, datasets, catalog, expansions);
  const outputs = parseOutputs(spec.outputs, datasets, catalog);
  checkOutputRows(spec.outputs);
  const job = jobOf(spec, tool, catalog);
  const system = [
    "__name__",
    ...("tool" in spec ? ["__tool__"] : []),
    ...(job ? ["__image__", "container_id", "job_id"] : []),
  ];
  checkTagRows(spec.tags ?? {}, system);
  const tags: Record<string, string> = { ...(spec.tags ?? {}) };
  if (job) Object.assign(tags, { container_id: randomUUID(), job_id: `task-${id}` });
  const task: StoredTask = {
    id,
    process_id: process.id,
    name: spec.name,
    creator,
    exec_state: "created",
    start_date: isoNow(),
    end_date: null,
    job_id: job ? `task-${id}` : EXTERNAL_JOB,
    tags,
    datasets,
    inputs,
    input_urls: urls,
    outputs,
    parameter_rows: parameterRowsOf(spec.parameters),
    secrets: secretRowsOf(spec.secrets),
    message: null,
    metrics: null,
    output: {},
    registered: {},
    error: null,
  };
  // The platform keeps `__tool__` when the key was sent, and shows it only when non-empty.
  if (spec.tool) task.tool = spec.tool;
  if (job) {
    task.image = job.image;
    task.job_profile = job.profile;
  }
  return task;
}

/** The task's process: 404 when absent, 400 when the id is another kind of entity, 409 when not running. */
function runningProcess(processId: string, catalog: Catalog) {
  const process = catalog.find(processId);
  if (!process) throw new ApiError(404, "Not found", { entity: "process" });
  if (process.kind !== "process") {
    // `processes.py:331`: DataError("The entity is not a process", process), the id as sent.
    throw new ApiError(400, pyMessage("The entity is not a process", processId), {}, "DataError");
  }
  if (process.exec_state !== "running") {
    throw new ApiError(409, `Process '${processId}' is not running and it may not accept tasks`);
  }
  return process;
}

/** `parse_datasets`: `ctx` is the process; a UUID of no package, or a bad dict, is skipped silently. */
function parseDatasets(spec: ParsedSpec, catalog: Catalog): Record<string, StoredDataset> {
  const out: Record<string, StoredDataset> = { ctx: { package_uuid: spec.process_id } };
  for (const [alias, value] of Object.entries(spec.datasets)) {
    if (alias === "ctx") continue;
    if (isCanonicalUuid(value) && isPackage(catalog.find(value))) out[alias] = { package_uuid: value };
    else if (typeof value === "object" && value !== null && "name" in value && "owner_org" in value) {
      out[alias] = { package_details: value };
    }
  }
  return out;
}

function isPackage(e: StoredEntity | undefined): boolean {
  return e !== undefined && (e.kind === "dataset" || e.kind === "process" || e.kind === "tool");
}

/**
 * `parse_inputs` (`tasks.py:533-648`), item by item: a dataset UUID becomes its resources (with
 * `::relation` only those), a resource UUID stays, a valid URL stays, an alias (or `ctx`) becomes
 * its package's resources; anything else is dropped silently, like on the platform.
 */
function parseInputs(
  groups: Record<string, string[]>,
  datasets: Record<string, StoredDataset>,
  catalog: Catalog,
  expansions: Map<string, string[]>,
): { inputs: Record<string, string[]>; urls: Record<string, string> } {
  const inputs: Record<string, string[]> = {};
  const urls: Record<string, string> = {};
  for (const [group, items] of Object.entries(groups)) {
    const rows: string[] = [];
    for (const item of items) rows.push(...resolveItem(item, datasets, catalog, expansions));
    for (const row of rows) {
      const resource = catalog.find(row);
      if (resource?.kind === "resource") urls[row] = String(resource.url ?? "");
    }
    // Groups are read back from the rows: a group whose items all dropped does not exist.
    if (rows.length > 0) inputs[group] = rows;
  }
  return { inputs, urls };
}

function resolveItem(
  item: string,
  datasets: Record<string, StoredDataset>,
  catalog: Catalog,
  expansions: Map<string, string[]>,
): string[] {
  const cut = item.indexOf("::");
  const key = cut < 0 ? item : item.slice(0, cut);
  const filter = cut < 0 ? undefined : item.slice(cut + 2);
  if (isCanonicalUuid(key)) {
    const e = catalog.find(key);
    if (e && isPackage(e)) return resourceIds(asDataset(e), filter, catalog);
    return e?.kind === "resource" ? [key] : [];
  }
  // A wildcard path becomes the objects it matches (none: dropped), or stays when it could not be listed.
  if (isValidUrl(item)) return expansions.get(item) ?? [item];
  const alias = datasets[key];
  if (!alias || !("package_uuid" in alias)) return [];
  const pkg = key === "ctx" ? catalog.get("process", alias.package_uuid) : asDataset(catalog.find(alias.package_uuid));
  return resourceIds(pkg, filter, catalog);
}

/** `DATASET.get_entity`: another package type is a 404 (`entity.py:421-423`). */
function asDataset(e: StoredEntity | undefined): StoredEntity {
  if (!e) throw new ApiError(404, "Not found", { entity: "dataset" });
  if (e.kind !== "dataset") throw new ApiError(404, "", { entity: `dataset not found, ID belongs to ${e.kind}` });
  return e;
}

/** `extract_resources`: the package's resources, only those whose `relation` is the filter when there is one. */
function resourceIds(pkg: StoredEntity, filter: string | undefined, catalog: Catalog): string[] {
  return catalog
    .resourcesOf(pkg.id)
    .filter((r) => filter === undefined || r.relation === filter)
    .map((r) => r.id);
}

/** `parse_outputs` (`tasks.py:764-835`). */
function parseOutputs(
  outputs: Record<string, OutputSpecBody>,
  datasets: Record<string, StoredDataset>,
  catalog: Catalog,
): Record<string, StoredOutput> {
  const out: Record<string, StoredOutput> = {};
  for (const [name, spec] of Object.entries(outputs)) {
    if (!spec.url) {
      throw new ApiError(400, `Output spec must contain a URL as an output path for file: ${name}`, {}, "DataError");
    }
    const resource = spec.resource;
    if (!resource) {
      out[name] = { url: spec.url };
    } else if (typeof resource === "string") {
      // A UUID the schema took but that is not canonical matches neither branch: the output is dropped.
      if (!isCanonicalUuid(resource)) continue;
      if (catalog.find(resource)?.kind !== "resource") {
        throw new ApiError(
          500,
          `ForeignKeyViolation: output '${name}' names resource ${resource}, which does not exist`,
          {},
          "InternalException",
        );
      }
      out[name] = { url: spec.url, resource_id: resource, resource_action: spec.resource_action ?? "REPLACE" };
    } else if (spec.dataset) {
      if (!(spec.dataset in datasets)) {
        throw new ApiError(409, `Dataset friendly name \`${spec.dataset}\` not found in declared datasets.`);
      }
      out[name] = {
        url: spec.url,
        dataset: spec.dataset,
        resource_name: String(resource.name ?? ""),
        resource_label: String(resource.relation ?? ""),
      };
    }
  }
  return out;
}

/**
 * `get_job_spec` (`tasks.py:950-1050`): no tool and no image: external; an image alone: that
 * image; a tool: its profile (named by `image`, else `default`) and one of its image tags, as
 * `<repository>:<tag>`; 404 when the tag cannot be chosen or is not among the tool's images.
 */
function jobOf(
  spec: ParsedSpec,
  tool: StoredEntity | undefined,
  catalog: Catalog,
): { image: string; profile: Record<string, unknown> } | undefined {
  if (!tool) return spec.image ? { image: spec.image, profile: {} } : undefined;
  const images = catalog.imagesOf(tool).map((i) => i.name);
  const profiles = (tool.profiles as Record<string, Record<string, unknown>> | undefined) ?? {};
  const fallback = profiles.default ?? {};
  let image: string;
  let profile: Record<string, unknown>;
  if (spec.image) {
    profile = { ...(profiles[spec.image] ?? fallback) };
    image = spec.image in profiles ? ((profile.image as string | undefined) ?? spec.image) : spec.image;
  } else {
    profile = { ...fallback };
    if (typeof profile.image === "string") image = profile.image;
    else if (images.length === 1) image = images[0] as string;
    else {
      throw new ApiError(404, `Could not determine default image for tool (${images.length} images).`, {
        entity: spec.tool,
      });
    }
  }
  if (!images.includes(image))
    throw new ApiError(404, `Image '${image}' not found in tool images.`, { entity: spec.tool });
  return { image: `${(tool.repository as string | undefined) ?? tool.name}:${image}`, profile };
}

/**
 * The wildcard `s3://` input paths of a spec, expanded with `list` (`parse_inputs`,
 * `tasks.py:606-620`): item → matching paths. A path whose listing fails is left out of the map
 * (the task keeps it as written). No lister (no object store): nothing is expanded.
 */
export async function wildcardExpansions(
  inputs: Record<string, unknown[]>,
  list: ObjectLister | undefined,
): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  if (!list) return out;
  for (const items of Object.values(inputs)) {
    for (const item of items) {
      if (typeof item !== "string" || !isValidUrl(item) || !isWildcard(item) || out.has(item)) continue;
      try {
        out.set(item, await expandWildcard(item, list));
      } catch {
        // `parse_inputs` logs the expansion error and keeps the literal path.
      }
    }
  }
  return out;
}

/**
 * The task's input groups as the tool receives them (`delegate_input_artifacts`): a resource id
 * becomes the resource's current URL (dropped when empty; the creation-time URL when the
 * resource is gone; a wildcard URL expanded, kept when it matches nothing), a path stays when it
 * is still a valid URL.
 */
export async function inputUrlsOf(
  task: StoredTask,
  catalog: Catalog,
  list?: ObjectLister,
): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const [group, rows] of Object.entries(task.inputs)) {
    const urls: string[] = [];
    for (const row of rows) {
      if (isCanonicalUuid(row)) {
        const resource = catalog.find(row);
        const url = resource ? String(resource.url ?? "") : (task.input_urls[row] ?? "");
        if (url) urls.push(...(await expandResourceUrl(url, list)));
      } else if (isValidUrl(row)) urls.push(row);
    }
    out[group] = urls;
  }
  return out;
}

async function expandResourceUrl(url: string, list: ObjectLister | undefined): Promise<string[]> {
  if (!list || !isWildcard(url)) return [url];
  try {
    const found = await expandWildcard(url, list);
    return found.length > 0 ? found : [url];
  } catch {
    return [url];
  }
}

/**
 * `handle_output_key` for each posted `(name, path)`, in the posted order: an output declared
 * with `dataset` + `resource: {name, relation}` becomes a new resource in that dataset (the
 * process for `ctx`; a `datasets` dict is created first unless a dataset of that name exists);
 * one declared with an existing resource's id gets that resource's `url` replaced (see the
 * README: the platform's HEAD fails there with a 500). Returns name → resource id.
 */
export function registerOutputs(
  task: StoredTask,
  posted: Record<string, string>,
  catalog: Catalog,
): Record<string, string> {
  const registered: Record<string, string> = {};
  for (const [name, path] of Object.entries(posted)) {
    const spec = task.outputs[name];
    if (!spec) continue;
    if ("resource_id" in spec) {
      catalog.modify("resource", spec.resource_id, { url: path }, "patch");
      registered[name] = spec.resource_id;
    } else if ("dataset" in spec) {
      const packageId = targetPackage(task, spec.dataset, catalog);
      const resource = catalog.insert(
        "resource",
        { package_id: packageId, name: spec.resource_name, url: path, relation: spec.resource_label },
        task.creator,
      );
      registered[name] = resource.id;
    }
  }
  return registered;
}

/** The package a new output resource goes into; a `datasets` dict is created on first use. */
function targetPackage(task: StoredTask, alias: string, catalog: Catalog): string {
  const stored = task.datasets[alias];
  if (!stored) throw new ApiError(409, `Dataset friendly name \`${alias}\` not found in declared datasets.`);
  if ("package_uuid" in stored) return stored.package_uuid;
  const details = stored.package_details;
  try {
    return catalog.get("dataset", String(details.name)).id;
  } catch {
    // `DatasetSchema` is not applied here on the platform either (`entity.py:1144-1175`).
    const { name, owner_org, title, notes, url, version, maintainer, maintainer_email, tags, extras } = details;
    const input = { name, owner_org: owner_org ?? DEFAULT_ORGANIZATION, title, notes, url, version, maintainer };
    Object.assign(input, { maintainer_email, tags, extras });
    for (const key of Object.keys(input))
      if ((input as Record<string, unknown>)[key] === undefined) delete (input as Record<string, unknown>)[key];
    return catalog.insert("dataset", input, task.creator).id;
  }
}
