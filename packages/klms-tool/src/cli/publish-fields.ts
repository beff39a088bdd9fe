/**
 * The tool entry `klms-tool publish` writes to the catalog: its fields from the tool's own
 * declaration (`toolManifest`: name, version, description, inputs, outputs, parameters,
 * programming_language), its git repository from package.json, and a `default` profile whose
 * `image` is the tag (`tools.py` ToolSchema; the profile's image is a tag of the tool's
 * repository, `tasks.py:1007-1051`). And how those fields differ from the catalog's.
 *
 * Publish never drops catalog data it does not own (attack5 F12): of `profiles` it owns only
 * `profiles.default.image` (the other profiles, and the default profile's memory_limit,
 * cpu_limit, backoff_limit… that an admin set in the console are kept: read-modify-write), and a
 * field the project does not know (no version, no description, no repository) is not sent at all.
 */
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { ToolRecord } from "../client/index.js";
import { CATALOG_NAME, CATALOG_NAME_RULE } from "../contract/names.js";
import { UsageError } from "./cluster-io.js";
import { loadTool, ToolLoadError } from "./load-tool.js";

/** The catalog fields publish owns. */
export type Fields = Record<string, unknown>;

/** The project's package.json, or `{}` when it has none. */
export function readPackage(cwd: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(resolve(cwd, "package.json"), "utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * The tool entry's fields from the project (its built module `main`, default package.json's
 * "main", else dist/main.js), with `profiles.default.image` = `tag` (default the version, else
 * `latest`). Throws a {@link UsageError} naming the module that cannot give a tool, or a name
 * the catalog refuses.
 */
export async function toolFields(cwd: string, main: string | undefined, tag: string | undefined): Promise<Fields> {
  const pkg = readPackage(cwd);
  const path = main ?? (pkg.main as string | undefined) ?? "dist/main.js";
  let tool: Awaited<ReturnType<typeof loadTool>>;
  try {
    tool = await loadTool(path, cwd);
  } catch (error) {
    if (!(error instanceof ToolLoadError)) throw error;
    // The python template: no JavaScript module, so no declaration to make the entry from (attack5 F14).
    if (main === undefined && existsSync(resolve(cwd, "main.py")))
      throw new UsageError(
        "this is a Python tool (main.py): publish makes the catalog entry from a defineTool declaration, which a " +
          "Python tool has not. Build and push its image with klms-tool image build / image push " +
          "<registry>/stelar/<tool>:<tag>, and create its catalog entry in the KLMS console (or KlmsClient's tools.create)",
      );
    throw new UsageError(`${error.message}: build it first (npm run build), or name it`);
  }
  const { toolManifest } = await import("../manifest/manifest.js");
  const m = toolManifest(tool);
  if (!CATALOG_NAME.test(m.name))
    throw new UsageError(`the tool's name "${m.name}" is not a catalog name: ${CATALOG_NAME_RULE}`);
  const version = m.version ?? (pkg.version as string | undefined);
  const notes = m.description ?? (pkg.description as string | undefined);
  const fields: Fields = {
    name: m.name,
    ...(version !== undefined ? { version } : {}),
    ...(notes !== undefined ? { notes } : {}),
    programming_language: m.programming_language,
    inputs: m.inputs,
    outputs: m.outputs,
    parameters: m.parameters,
    profiles: { default: { image: tag ?? version ?? "latest" } },
  };
  const repository = pkg.repository as string | { url?: string } | undefined;
  const git = typeof repository === "string" ? repository : repository?.url;
  if (git) fields.git_repository = git.replace(/^git\+/, "");
  return fields;
}

/** A tool profile as the catalog keeps it (`JobProfileSchema`: image, memory_limit, cpu_limit, …). */
type Profiles = Record<string, Record<string, unknown>>;

/** The image tag publish writes: `fields.profiles.default.image`. */
export function imageTagOf(fields: Fields): string {
  return (fields.profiles as { default: { image: string } }).default.image;
}

/**
 * What publish changes in the existing entry `current`, as the report shows it: each field whose
 * value differs (compared as JSON with sorted keys: the platform sorts every reply's keys, Flask's
 * `sort_keys`, platform-api §1.2); `profiles` only as `{default: {image}}` when that image
 * differs; and `state: "active"` when the entry is deleted (CKAN's soft delete: publish brings it back).
 * Send {@link patchBody} of it, not the changes themselves.
 */
export function changed(current: ToolRecord, fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (k === "profiles") {
      const image = imageTagOf(fields);
      if (profilesOf(current).default?.image !== image) out.profiles = { default: { image } };
    } else if (canonical(current[k] ?? null) !== canonical(v)) out[k] = v;
  }
  if (current.state === "deleted") out.state = "active";
  return out;
}

/**
 * The PATCH body for {@link changed}'s `changes`: the same fields, but `profiles` as the catalog's
 * with only `default.image` replaced (the platform replaces the whole `profiles` on a PATCH).
 */
export function patchBody(current: ToolRecord, changes: Fields): Fields {
  if (!changes.profiles) return changes;
  const profiles = profilesOf(current);
  const image = imageTagOf(changes);
  return { ...changes, profiles: { ...profiles, default: { ...profiles.default, image } } };
}

/** The entry's profiles; `{}` when it has none (or not an object). */
function profilesOf(current: ToolRecord): Profiles {
  const p = current.profiles;
  return p && typeof p === "object" && !Array.isArray(p) ? (p as Profiles) : {};
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
        )
      : v,
  );
}
