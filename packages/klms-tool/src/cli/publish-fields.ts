/**
 * The tool entry `klms-tool publish` writes to the catalog: its fields from the tool's own
 * declaration (`toolManifest`: name, version, description, inputs, outputs, parameters,
 * programming_language), its git repository from package.json, and a `default` profile whose
 * `image` is the tag (`tools.py` ToolSchema; the profile's image is a tag of the tool's
 * repository, `tasks.py:1007-1051`). And how those fields differ from the catalog's.
 */
import { readFileSync } from "node:fs";
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
    if (error instanceof ToolLoadError)
      throw new UsageError(`${error.message}: build it first (npm run build), or name it`);
    throw error;
  }
  const { toolManifest } = await import("../manifest/manifest.js");
  const m = toolManifest(tool);
  if (!CATALOG_NAME.test(m.name))
    throw new UsageError(`the tool's name "${m.name}" is not a catalog name: ${CATALOG_NAME_RULE}`);
  const version = m.version ?? (pkg.version as string | undefined);
  const fields: Fields = {
    name: m.name,
    version: version ?? null,
    notes: m.description ?? (pkg.description as string | undefined) ?? null,
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

/**
 * The fields whose value differs from the catalog's, compared as JSON with sorted keys: the
 * platform sorts every reply's keys (Flask's `sort_keys`, platform-api §1.2).
 */
export function changed(current: ToolRecord, fields: Fields): Fields {
  const out: Fields = {};
  for (const [k, v] of Object.entries(fields)) {
    if (canonical(current[k] ?? null) !== canonical(v)) out[k] = v;
  }
  return out;
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
