/**
 * `klms-tool image build|push`: the tool project's image built and pushed with docker, podman or
 * buildah, through this module (the same settings and labels as the template's `make build`).
 */
import type { Readable } from "node:stream";
import { type Command, type CommandIO, line, parse } from "../cli/command.js";
import { ExitCode } from "../exit-codes.js";
import { buildImage } from "./build.js";
import { ImageError } from "./errors.js";
import { projectBuild } from "./project.js";
import { pushImage } from "./push.js";
import { BUILDERS, type Builder } from "./settings.js";

const HELP = `usage: klms-tool image build <tag> [options]
       klms-tool image push <tag> [options]

build: builds this project's image (its Dockerfile) as <tag>, as \`make build\` does: the build
arguments TOOL_NAME and TOOL_VERSION from package.json, the tool's manifest (from the built
dist/main.js: run npm run build first) as the label klms.tool.manifest.
push: pushes <tag> to the registry it names.

The builder is KLMS_BUILDER when set, else docker (when its daemon answers), podman or buildah,
the first installed; the settings they need on hosts with hybrid cgroups (podman with runc, host
network) are applied.

options:
  --builder <b>             docker, podman or buildah (default: as above)
  --base-image <image>      build: the BASE_IMAGE build argument (default the Dockerfile's,
                            node:24-slim), e.g. localhost/klms/node:24-slim
  --tls-verify <bool>       push: false for a plain-http registry such as 127.0.0.1:5000
                            (podman, buildah; default true)
  --username <name>         push: log in first as <name>, the password read from stdin
  --password-stdin          push: read the password from standard input (with --username);
                            it is never put on a command line or printed
  --quiet                   build, push: do not pass the builder's progress on (stderr)
  --json                    print {builder, tag} (build) or {tag, digest} (push)
  -h, --help                this help

exit codes: 0 done; 1 the build or push failed (the message says why and what to do); 2 usage.`;

const OPTIONS = {
  builder: { type: "string" },
  "base-image": { type: "string" },
  "tls-verify": { type: "string" },
  username: { type: "string" },
  "password-stdin": { type: "boolean" },
  quiet: { type: "boolean" },
  json: { type: "boolean" },
} as const;

type Values = Record<string, string | boolean | undefined>;

/** `klms-tool image`. */
export const imageCommand: Command = {
  name: "image",
  summary: "build or push this project's image with docker, podman or buildah",
  help: HELP,
  async run(argv, io) {
    const args = parse(argv, OPTIONS, HELP, { min: 2, max: 2 }, io);
    if ("exit" in args) return args.exit;
    const [action, tag] = args.positionals as [string, string];
    const v = args.values;
    const usage = usageProblem(action, v);
    if (usage) {
      line(io.stderr, `klms-tool image: ${usage}\n\n${HELP}`);
      return ExitCode.Usage;
    }
    try {
      const result = action === "build" ? await build(tag, v, io) : await push(tag, v, io);
      if (v.json) line(io.stdout, JSON.stringify(result, null, 2));
      else line(io.stdout, action === "build" ? `built ${tag}` : `pushed ${tag}${digestText(result)}`);
      return ExitCode.Success;
    } catch (error) {
      if (!(error instanceof ImageError)) throw error;
      line(io.stderr, `klms-tool image: ${error.message}`);
      return ExitCode.Failure;
    }
  },
};

/** What is wrong with the arguments, or undefined. */
function usageProblem(action: string, v: Values): string | undefined {
  if (action !== "build" && action !== "push") return `"${action}" is not an action: build or push`;
  if (v.builder !== undefined && !(BUILDERS as readonly unknown[]).includes(v.builder))
    return `--builder ${v.builder}: choose docker, podman or buildah`;
  if (v["tls-verify"] !== undefined && v["tls-verify"] !== "true" && v["tls-verify"] !== "false")
    return `--tls-verify ${v["tls-verify"]}: give true or false`;
  if (Boolean(v.username) !== Boolean(v["password-stdin"]))
    return "--username and --password-stdin go together (the password is read from standard input)";
  return undefined;
}

async function build(tag: string, v: Values, io: CommandIO) {
  const project = await projectBuild(io.cwd, v["base-image"] ? { baseImage: v["base-image"] as string } : {});
  return buildImage({ dir: io.cwd, tag, ...project, ...common(v, io) });
}

async function push(tag: string, v: Values, io: CommandIO) {
  const credentials = v.username
    ? { username: v.username as string, password: (await readAll(io.stdin)).replace(/\r?\n$/, "") }
    : undefined;
  const digest = await pushImage({
    tag,
    tlsVerify: v["tls-verify"] !== "false",
    ...(credentials
      ? { credentials, refusedLoginFix: `check --username ${credentials.username} and the password given on stdin` }
      : {}),
    ...common(v, io),
  });
  return { tag, ...digest };
}

/** The options build and push share: builder, progress on stderr, environment, Ctrl-C. */
function common(v: Values, io: CommandIO) {
  return {
    env: io.env,
    signal: io.signal,
    ...(v.builder ? { builder: v.builder as Builder } : {}),
    ...(v.quiet ? {} : { onLine: (text: string) => line(io.stderr, text) }),
  };
}

function digestText(result: object): string {
  return "digest" in result && result.digest ? ` (${result.digest})` : "";
}

async function readAll(input: Readable): Promise<string> {
  let text = "";
  for await (const chunk of input) text += chunk.toString();
  return text;
}
