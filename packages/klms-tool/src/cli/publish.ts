/**
 * `klms-tool publish`: the tool's catalog entry created or updated from its own declaration
 * (`toolManifest`: name, version, description, inputs, outputs, parameters, programming_language),
 * its git repository from package.json, and a default profile naming the image tag (its version).
 * `--dry-run` prints what would change and changes nothing.
 *
 * Not done here (yet): building and pushing the image to the KLMS registry; the entry names the
 * tag the image is expected under (`make` / podman push it, as the template's Makefile does).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { KlmsClient, ToolRecord } from "../client/index.js";
import { ExitCode } from "../exit-codes.js";
import { isToolDefinition } from "../tool/define.js";
import { type ClusterIO, clusterStreams, guarded, parseFor, say, sayJson, UsageError } from "./cluster-io.js";
import { connect } from "./session.js";

const HELP = `usage: klms-tool publish [<main.js>] [--tag <tag>] [--dry-run] [--json]

Registers the tool of this project in the KLMS catalog you are logged in to: creates its tool
entry, or updates the fields that differ (PATCH), from the tool's declaration (defineTool: name,
version, description, inputs, outputs, parameters), programming_language, git_repository (from
package.json's repository) and a default profile whose image is the tag (default: the version).

<main.js> is the built tool module; default: package.json's "main" (e.g. dist/main.js).

options:
  --tag <tag>   the image tag the default profile names; default the tool's version, else latest
  --dry-run     print what would be created or changed, change nothing
  --json        print {action, tool, changes}

Not done by this command yet: building the image and pushing it to the KLMS registry (use the
template's \`make\`, or podman build/push); the entry names the tag the image is expected under.`;

/** The catalog fields publish owns. */
type Fields = Record<string, unknown>;

/** `klms-tool publish`. */
export const publishCommand = {
  name: "publish",
  summary: "create or update the tool's KLMS catalog entry from its declaration (--dry-run)",
  help: HELP,
  async run(argv: string[], cio?: ClusterIO): Promise<number> {
    const io = clusterStreams(cio);
    const args = parseFor(
      argv,
      { tag: { type: "string" }, "dry-run": { type: "boolean" }, json: { type: "boolean" } },
      HELP,
      { min: 0, max: 1 },
      io,
    );
    if ("exit" in args) return args.exit;
    return guarded(io, async () => {
      const fields = await toolFields(io.cwd, args.positionals[0], args.values.tag as string | undefined);
      const { client } = await connect(io.env);
      const current = await client.tools.find(fields.name as string);
      const changes = current ? changed(current, fields) : fields;
      const action = !current ? "create" : Object.keys(changes).length === 0 ? "none" : "update";
      const dry = Boolean(args.values["dry-run"]);
      const tool = dry ? current : await apply(client, current, fields, changes);
      if (args.values.json)
        sayJson(io.stdout, { action, dryRun: dry, tool: tool?.name ?? fields.name, id: tool?.id ?? null, changes });
      else say(io.stdout, describe(action, dry, fields.name as string, changes));
      return ExitCode.Success;
    });
  },
};

async function apply(
  client: KlmsClient,
  current: ToolRecord | undefined,
  fields: Fields,
  changes: Fields,
): Promise<ToolRecord | undefined> {
  if (!current) return client.tools.create({ ...fields, owner_org: "stelar-klms" });
  if (Object.keys(changes).length === 0) return current;
  return client.tools.patch(current.id, changes);
}

/** The tool entry's fields from the project: its declaration and package.json. */
async function toolFields(cwd: string, main: string | undefined, tag: string | undefined): Promise<Fields> {
  const pkg = readPackage(cwd);
  const path = resolve(cwd, main ?? (pkg.main as string | undefined) ?? "dist/main.js");
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new UsageError(
      `cannot load the tool module ${path} (${(error as Error).message}): build it first (npm run build), or name it`,
    );
  }
  const tool = [mod.default, mod.tool].find(isToolDefinition);
  if (!tool) throw new UsageError(`${path} exports no defineTool(...) tool`);
  const { toolManifest } = await import("../manifest/manifest.js");
  const m = toolManifest(tool);
  if (!/^[a-z0-9_-]{2,100}$/.test(m.name))
    throw new UsageError(`the tool's name "${m.name}" is not a catalog name: 2-100 of a-z, 0-9, _ and -`);
  const repository = pkg.repository as string | { url?: string } | undefined;
  const fields: Fields = {
    name: m.name,
    version: m.version ?? (pkg.version as string | undefined) ?? null,
    notes: m.description ?? (pkg.description as string | undefined) ?? null,
    programming_language: m.programming_language,
    inputs: m.inputs,
    outputs: m.outputs,
    parameters: m.parameters,
    profiles: { default: { image: tag ?? m.version ?? "latest" } },
  };
  const git = typeof repository === "string" ? repository : repository?.url;
  if (git) fields.git_repository = git.replace(/^git\+/, "");
  return fields;
}

function readPackage(cwd: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(resolve(cwd, "package.json"), "utf8")) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/**
 * The fields whose value differs from the catalog's, compared as JSON with sorted keys: the
 * platform sorts every reply's keys (Flask's `sort_keys`, platform-api §1.2).
 */
function changed(current: ToolRecord, fields: Fields): Fields {
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

function describe(action: string, dry: boolean, name: string, changes: Fields): string {
  const verb = dry ? "would be" : "was";
  if (action === "none") return `tool ${name} is up to date in the catalog`;
  const keys = Object.keys(changes).join(", ");
  return action === "create" ? `tool ${name} ${verb} created (${keys})` : `tool ${name} ${verb} updated: ${keys}`;
}
