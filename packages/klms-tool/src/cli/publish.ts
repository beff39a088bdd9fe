/**
 * `klms-tool publish`: the project's image built and pushed to the KLMS's registry with the push
 * credential the KLMS issues, then the tool's catalog entry created or updated from its own
 * declaration with a `default` profile naming the pushed tag. `--dry-run` prints what would
 * happen and changes nothing (no build, no credential, no entry).
 *
 * Order, so that a failure leaves nothing half-done that a task could meet: the build first (it
 * changes nothing remote); then the push credential and the registry login; a new entry is created
 * after the login and before the push (the platform creates the tool's registry repository with the
 * entry, `tools.py:91-98`, and refuses one that exists; a push failing after it says so); an
 * existing entry is patched only after the push, so that its profile never names a missing tag.
 */
import { isAbsolute, relative, resolve } from "node:path";
import type { ToolRecord } from "../client/index.js";
import { ExitCode } from "../exit-codes.js";
import { ImageError } from "../image/errors.js";
import { BUILDERS, type Builder } from "../image/settings.js";
import {
  type ClusterIO,
  type ClusterStreams,
  clusterStreams,
  guarded,
  parseFor,
  say,
  sayJson,
  UsageError,
} from "./cluster-io.js";
import { changed, type Fields, imageTagOf, patchBody, toolFields } from "./publish-fields.js";
import {
  type BuildPush,
  buildProjectImage,
  type ImageTarget,
  imageTarget,
  pushProjectImage,
  registryLogin,
} from "./publish-image.js";
import { connect } from "./session.js";

const HELP = `usage: klms-tool publish [<main.js>] [--tag <tag>] [--registry <url>] [--dry-run] [--json]
                         [--builder docker|podman|buildah] [--base-image <image>]
                         [--no-build | --image <reference> | --no-image] [--quiet | --verbose]

Publishes this tool project to the KLMS you are logged in to (klms-tool login), as a platform
tool that tasks can run by name:
  1. builds the project's image (its Dockerfile, as \`make build\` does: the build arguments
     TOOL_NAME and TOOL_VERSION, the tool's manifest as a label) with docker, podman or buildah;
  2. gets a push credential from the KLMS (POST /api/v2/registry/credentials, titled
     "klms-tool publish", made once and reused) and pushes the image to the KLMS's registry as
     <registry>/stelar/<tool name>:<tag>, logging in as $app with it (never printed);
  3. creates the tool's catalog entry, or updates the fields that differ (PATCH), from its
     declaration (defineTool: name, version, description, inputs, outputs, parameters),
     programming_language, git_repository (package.json's repository) and a default profile
     whose image is the tag, so that \`klms-tool task run <tool name>\` runs that image. Of the
     profiles only default.image is written: other profiles and limits set in the console stay.
     A deleted entry is restored. A new entry is made once the registry accepted the login.

<main.js> is the built tool module, in this project (the image is built from this folder);
default: package.json's "main" (e.g. dist/main.js). Build it first (npm run build).

options:
  --tag <tag>           the image tag (1-128 of A-Z a-z 0-9 _ . -, not starting with . or -);
                        default the tool's version, else latest
  --registry <url>      the registry to push to; default KLMS_REGISTRY, else the one the KLMS's
                        /help names (klms-tool dev --registry), else https://img.<its domain>
  --dry-run             print the image, the registry and the entry's changes; change nothing
  --json                print {action, dryRun, tool, id, changes, image} (image: {reference,
                        registry, built, pushed, digest} or null)
  --builder <b>         docker, podman or buildah (default KLMS_BUILDER, else the first found)
  --base-image <image>  the BASE_IMAGE build argument (default the Dockerfile's node:24-slim),
                        e.g. localhost/klms/node:24-slim (scripts/image-base.sh)
  --no-build            push the image already built as <registry>/stelar/<tool>:<tag>
  --image <reference>   the same for a prebuilt <registry>/stelar/<tool>:<tag>; its tag is used
  --no-image            no image: the catalog entry alone (its profile names --tag)
  --quiet               no progress lines on stderr
  --verbose             the builder's own output on stderr even when it is not a terminal

Progress goes to stderr: the steps, and the builder's output on a terminal.
Then run it: klms-tool task run <tool name> --input <group>=<file> --follow (see its --help).
Locally: scripts/registry.sh start --auth, then klms-tool dev --run podman --registry
http://127.0.0.1:5000 --registry-auth .klms/registry/auth, and klms-tool login to it.
exit codes: 0 published (or the dry run printed); 1 the build, push or KLMS refused (the message
says why); 2 usage (not logged in, not built, no registry known).`;

const OPTIONS = {
  tag: { type: "string" },
  registry: { type: "string" },
  "dry-run": { type: "boolean" },
  json: { type: "boolean" },
  builder: { type: "string" },
  "base-image": { type: "string" },
  "no-build": { type: "boolean" },
  image: { type: "string" },
  "no-image": { type: "boolean" },
  quiet: { type: "boolean" },
  verbose: { type: "boolean" },
} as const;

type Values = Record<string, string | string[] | boolean | undefined>;

/** An image tag (the OCI distribution spec's rule): 1-128 of A-Z a-z 0-9 _ . -, not starting with . or -. */
const OCI_TAG = "[\\w][\\w.-]{0,127}";

/** What publish did (or would do) with the image. */
interface ImageReport {
  reference: string;
  registry: string;
  built: boolean;
  pushed: boolean;
  digest: string | null;
}

/** `klms-tool publish`. */
export const publishCommand = {
  name: "publish",
  summary: "build and push the tool's image to the KLMS registry, create or update its catalog entry (--dry-run)",
  help: HELP,
  async run(argv: string[], cio?: ClusterIO): Promise<number> {
    const io = clusterStreams(cio);
    const args = parseFor(argv, OPTIONS, HELP, { min: 0, max: 1 }, io);
    if ("exit" in args) return args.exit;
    return guarded(io, async () => {
      try {
        return await publish(args.values, args.positionals[0], io);
      } catch (error) {
        if (!(error instanceof ImageError)) throw error;
        say(io.stderr, `klms-tool publish: ${error.message}`);
        return ExitCode.Failure;
      }
    });
  },
};

async function publish(v: Values, main: string | undefined, io: ClusterStreams): Promise<number> {
  const prebuilt = checkOptions(v);
  checkMain(main, io.cwd);
  const fields = await toolFields(io.cwd, main, (v.tag as string | undefined) ?? prebuilt?.tag);
  const name = fields.name as string;
  const tag = imageTagOf(fields);
  const { client } = await connect(io.env);
  const target = v["no-image"]
    ? undefined
    : await imageTarget(client, { flag: v.registry as string | undefined, env: io.env.KLMS_REGISTRY }, name, tag);
  if (prebuilt && target && prebuilt.reference !== target.reference)
    throw new UsageError(
      `--image ${prebuilt.reference} is not the KLMS's name for this tool's image: build or tag it as ${target.reference}`,
    );
  const current = await client.tools.find(name);
  const changes = current ? changed(current, fields) : fields;
  const action = !current ? "create" : Object.keys(changes).length === 0 ? "none" : "update";
  const dry = Boolean(v["dry-run"]);
  const image: ImageReport | null = target
    ? { reference: target.reference, registry: target.registry, built: false, pushed: false, digest: null }
    : null;
  let tool: ToolRecord | undefined = current;
  if (!dry) {
    const steps = target ? stepsOf(v, io, target, main) : undefined;
    if (steps && image && !prebuilt && !v["no-build"]) {
      steps.builder = await buildProjectImage(steps);
      image.built = true;
    }
    const entry = (when: "before" | "after") => async () => {
      if (when === entryTime(action)) tool = (await apply(client, current, fields, changes)) ?? tool;
    };
    if (steps && image) {
      const pushed = await pushAfterLogin(steps, client, entry("before"), action === "create" ? name : undefined);
      Object.assign(image, { pushed: true, digest: pushed.digest ?? null });
    } else await entry("before")();
    await entry("after")();
  }
  const build = !prebuilt && !v["no-build"];
  report(io, { action, dry, build, name, changes, image, id: tool?.id ?? null, target, json: Boolean(v.json) });
  return ExitCode.Success;
}

/**
 * The push, the new entry `create` made once the registry accepted the login (a registry that is
 * down or refuses the credential leaves no entry, attack5 F3). When the push then fails, the error
 * says that the entry `created` exists without its image.
 */
async function pushAfterLogin(
  steps: BuildPush,
  client: Awaited<ReturnType<typeof connect>>["client"],
  create: () => Promise<void>,
  created: string | undefined,
): Promise<{ digest?: string }> {
  let made = false;
  const afterLogin = async () => {
    await create();
    made = created !== undefined;
  };
  try {
    return await pushProjectImage(steps, await registryLogin(client), afterLogin);
  } catch (error) {
    if (!made || !(error instanceof ImageError)) throw error;
    throw new ImageError(
      `${error.message}\n  The catalog entry ${created} was created before the push (the platform makes the ` +
        `image repository with it) and names ${steps.target.reference.split(":").pop()}, which the registry does ` +
        "not have: run klms-tool publish again once the push can succeed (it pushes and keeps the entry).",
      error.output,
    );
  }
}

/**
 * The image is built from this folder (its Dockerfile and code), so the module that names the tool
 * must be this project's: a module of another project would put this code under its name (attack5 F17).
 */
function checkMain(main: string | undefined, cwd: string): void {
  if (main === undefined) return;
  const inside = relative(cwd, resolve(cwd, main));
  if (inside.startsWith("..") || isAbsolute(inside))
    throw new UsageError(
      `${main} is not in this project (${cwd}): publish builds the image from this folder, so run it in the ` +
        "module's own project (cd there; klms-tool publish)",
    );
}

/** A new entry goes in before the push (it makes the repository on the platform); a change after it. */
function entryTime(action: string): "before" | "after" | "never" {
  return action === "create" ? "before" : action === "update" ? "after" : "never";
}

/** Checks the options that go together; returns the prebuilt `--image`'s reference and tag. */
function checkOptions(v: Values): { reference: string; tag: string } | undefined {
  if (v.builder !== undefined && !(BUILDERS as readonly unknown[]).includes(v.builder))
    throw new UsageError(`--builder ${String(v.builder)}: choose docker, podman or buildah`);
  const exclusive = ["no-build", "image", "no-image"].filter((k) => v[k] !== undefined);
  if (exclusive.length > 1) throw new UsageError(`--${exclusive.join(" and --")} do not go together: choose one`);
  if (v["no-image"] && v.registry) throw new UsageError("--registry and --no-image do not go together");
  if (v.quiet && v.verbose) throw new UsageError("--quiet and --verbose do not go together");
  // Before anything: the tag becomes the image's name and the catalog profile's image (attack5 F8).
  if (v.tag !== undefined && !new RegExp(`^${OCI_TAG}$`).test(v.tag as string))
    throw new UsageError(
      `--tag ${JSON.stringify(v.tag)}: an image tag is 1-128 of A-Z a-z 0-9 _ . -, not starting with . or -`,
    );
  const ref = v.image as string | undefined;
  if (ref === undefined) return undefined;
  const match = new RegExp(`^[^/]+/stelar/[a-z0-9_-]+:(${OCI_TAG})$`).exec(ref);
  if (!match)
    throw new UsageError(
      `--image takes <registry>/stelar/<tool>:<tag>, e.g. 127.0.0.1:5000/stelar/my-tool:0.1.0, got ${ref}`,
    );
  if (v.tag !== undefined && v.tag !== match[1])
    throw new UsageError(`--tag ${String(v.tag)} differs from --image's tag ${match[1]}`);
  return { reference: ref, tag: match[1] as string };
}

/** The build and push settings: progress lines on stderr (the builder's own on a terminal or with --verbose). */
function stepsOf(
  v: Values,
  io: ClusterStreams,
  target: ImageTarget,
  main: string | undefined,
): BuildPush & { builder?: Builder } {
  const quiet = Boolean(v.quiet);
  const terminal = Boolean((io.stderr as { isTTY?: boolean }).isTTY);
  const show = !quiet && (terminal || Boolean(v.verbose));
  return {
    dir: io.cwd,
    target,
    env: io.env,
    signal: io.signal,
    onStep: (text) => {
      if (!quiet) say(io.stderr, `▸ ${text}`);
    },
    ...(show ? { onLine: (text: string) => say(io.stderr, `  │ ${text}`) } : {}),
    ...(v.builder ? { builder: v.builder as Builder } : {}),
    ...(v["base-image"] ? { baseImage: v["base-image"] as string } : {}),
    ...(main ? { main } : {}),
  };
}

async function apply(
  client: Awaited<ReturnType<typeof connect>>["client"],
  current: ToolRecord | undefined,
  fields: Fields,
  changes: Fields,
): Promise<ToolRecord | undefined> {
  if (!current) return client.tools.create({ ...fields, owner_org: "stelar-klms" });
  if (Object.keys(changes).length === 0) return current;
  return client.tools.patch(current.id, patchBody(current, changes));
}

interface Outcome {
  action: string;
  dry: boolean;
  /** Whether publish builds the image (not with --no-build or --image). */
  build: boolean;
  name: string;
  changes: Fields;
  image: ImageReport | null;
  id: string | null;
  target: ImageTarget | undefined;
  json: boolean;
}

function report(io: ClusterStreams, o: Outcome): void {
  if (o.json) {
    sayJson(io.stdout, { action: o.action, dryRun: o.dry, tool: o.name, id: o.id, changes: o.changes, image: o.image });
    return;
  }
  if (o.image && o.target) say(io.stdout, describeImage(o.image, o.target, o.dry, o.build));
  say(io.stdout, describeEntry(o.action, o.dry, o.name, o.changes));
}

function describeImage(image: ImageReport, target: ImageTarget, dry: boolean, build: boolean): string {
  const what = build ? "would be built and pushed" : "(already built) would be pushed";
  if (dry) return `image ${image.reference} ${what} (registry from ${target.source})`;
  const digest = image.digest ? ` (${image.digest})` : "";
  return `image ${image.reference} ${image.built ? "built and " : ""}pushed${digest}`;
}

function describeEntry(action: string, dry: boolean, name: string, changes: Fields): string {
  const verb = dry ? "would be" : "was";
  if (action === "none") return `tool ${name} is up to date in the catalog`;
  const keys = Object.keys(changes).join(", ");
  if (changes.state === "active")
    return `tool ${name} ${verb} restored (it was deleted in the catalog) and updated: ${keys}`;
  return action === "create" ? `tool ${name} ${verb} created (${keys})` : `tool ${name} ${verb} updated: ${keys}`;
}
