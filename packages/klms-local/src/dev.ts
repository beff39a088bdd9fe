/**
 * `klms-tool dev`: starts a local KLMS on 127.0.0.1 for hands-on work and prints what a tool
 * or a user needs to talk to it. Runs until SIGINT or SIGTERM.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import type { UserSpec } from "./accounts.js";
import { DEV_TOKEN_TTL_SECONDS } from "./auth.js";
import { type DevRunners, devRunners } from "./dev-runners.js";
import { writeDevState } from "./dev-state.js";
import {
  DEFAULT_BUCKET,
  type LocalKlms,
  type LocalKlmsOptions,
  MINIO_DURATION_SECONDS,
  startLocalKlms,
} from "./local-klms.js";
import type { RegistryOptions } from "./registry/oci.js";

/** The help text of `klms-tool dev`. */
export const DEV_HELP = `Usage: klms-tool dev [--port N] [--data-dir DIR] [--seed FILE] [--user NAME:PASSWORD]… [--tls | --tls-api]
                      [--run SPEC] [--run-tool NAME=SPEC]… [--registry URL [--registry-auth FILE]] [--quiet]

Starts a local STELAR KLMS: the platform's Data API for tasks (same routes, envelopes and rules:
accounts, a catalog of organizations, datasets, resources, processes and tools, tasks) on
127.0.0.1, also under /stelar like the public deployment, with an embedded S3 object store
(bucket "${DEFAULT_BUCKET}"). Prints the API URL, the dev user and password, a bearer token,
the object-store credentials and an example request, then runs until Ctrl-C (SIGINT) or SIGTERM.
In a tool project it leaves .klms/dev.json while it runs, so that \`klms-tool try\` there uses it.

Options:
  -p, --port N          API port (default: a free port)
  -d, --data-dir DIR    keep tasks, the catalog, logs, objects and the server secret in DIR, so
                        they survive a restart (default: a temporary directory, removed on exit)
  -s, --seed FILE       add the users and catalog entities of this JSON file when absent (ids
                        stable across restarts; format in klms-local's README)
  -u, --user NAME:PASS  one more user (repeatable); add ":admin" for an admin
      --tls             serve the object store over https, with a CA made at the first start and
                        kept in DIR/tls/ca.pem; prints the lines that make Python, the AWS CLI and
                        Node trust it
      --tls-api         --tls, and the Data API over https too (same CA), as the public deployment
  --run SPEC            what runs a task created for a tool or an image, as the cluster's Job
                        does (with the four arguments "Bearer <jwt>" <api url>/ <id> <signature>):
                          project[:DIR]    the tool project's built worker through klms-tool exec,
                                           as its image's run.sh (default: this folder, when it
                                           is a tool project)
                          command:CMD      CMD, split like a shell (no expansion); the four
                                           arguments stay on its command line (ps) for the run
                          podman[:IMAGE]   the task's image (or IMAGE) with podman --runtime runc,
                                           host network (create, then start --attach: the four
                                           arguments only on the short create's command line)
                          none             nothing: the task's pod stays Pending
                        A pod that exits non-zero is retried up to 3 times (the Job's backoffLimit).
  --run-tool NAME=SPEC
                        the same for the tool NAME only (repeatable)
  --registry URL        an OCI registry in the place of the platform's Quay (scripts/registry.sh
                        start prints it, e.g. http://127.0.0.1:5000): tools' images are its
                        stelar/<tool> tags, GET/POST/DELETE /api/v2/registry/credentials hand
                        out its login (what klms-tool publish pushes with), and --run podman
                        runs <host>/stelar/<tool>:<tag> as the cluster's Job does
  --registry-auth FILE  the registry's account, one line USER:PASSWORD (scripts/registry.sh
                        start --auth writes it); default: a registry without a login
  -q, --quiet           do not log requests
  -h, --help            show this help
`;

/** Where {@link devMain} writes, and how a test stops it without a signal. */
export interface DevIo {
  out?: (text: string) => void;
  err?: (text: string) => void;
  /** Stops the server like SIGINT does. */
  signal?: AbortSignal;
  /** Called once the server is up, with it. */
  onReady?: (klms: LocalKlms) => void;
  /** The folder it was started in (the default tool project); default `process.cwd()`. */
  cwd?: string;
}

/** Runs `klms-tool dev` with its arguments (without the command name); resolves to the exit code. */
export async function devMain(argv: string[], io: DevIo = {}): Promise<number> {
  const out = io.out ?? ((text: string) => process.stdout.write(text));
  const err = io.err ?? ((text: string) => process.stderr.write(text));
  const request = devRequest(argv, io.cwd ?? process.cwd());
  if ("help" in request) {
    out(DEV_HELP);
    return 0;
  }
  if ("usage" in request) {
    err(request.usage);
    return 2;
  }
  let klms: LocalKlms;
  try {
    klms = await startLocalKlms(request.options);
  } catch (e) {
    err(`klms-tool dev: could not start the local KLMS: ${(e as Error).message}\n`);
    return 1;
  }
  out(banner(klms, request.options.dataDir !== undefined, request.runs, request.options.registry));
  // So that `klms-tool try` in this project runs its tasks here (dev-state.ts).
  const removeState = writeDevState(
    io.cwd ?? process.cwd(),
    { apiUrl: klms.apiUrl, ...(klms.caFile ? { caFile: klms.caFile } : {}) },
    (text) => err(`klms-tool dev: ${text}\n`),
  );
  io.onReady?.(klms);
  const exitCode = await untilStopped(klms, io, err);
  out("Stopping the local KLMS…\n");
  removeState?.();
  await klms.stop();
  return exitCode;
}

/** What the command line asks for: the help, a usage error (its message), or the options to start with. */
type DevRequest = { help: true } | { usage: string } | { options: LocalKlmsOptions; runs: string[] };

/** The command line read and checked, in this order: the flags, --help, --port, --user, --run(-tool). */
function devRequest(argv: string[], cwd: string): DevRequest {
  let values: DevFlags;
  try {
    values = parseDevFlags(argv);
  } catch (e) {
    return { usage: `klms-tool dev: ${(e as Error).message}\n\n${DEV_HELP}` };
  }
  if (values.help) return { help: true };
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    return { usage: `klms-tool dev: --port must be a port number (0-65535), got ${JSON.stringify(values.port)}\n` };
  }
  const users: UserSpec[] = [];
  for (const given of values.user ?? []) {
    const match = /^([^:]+):(.+?)(:admin)?$/.exec(given);
    if (!match) {
      return {
        usage: `klms-tool dev: --user takes NAME:PASSWORD (or NAME:PASSWORD:admin), got ${JSON.stringify(given)}\n`,
      };
    }
    users.push({ username: match[1] as string, password: match[2] as string, is_admin: match[3] !== undefined });
  }
  let runners: DevRunners;
  let registry: RegistryOptions | undefined;
  try {
    runners = devRunners(values.run, values["run-tool"] ?? [], cwd);
    registry = registryOption(values.registry, values["registry-auth"]);
  } catch (e) {
    return { usage: `klms-tool dev: ${(e as Error).message}\n` };
  }
  const options: LocalKlmsOptions = {
    ...(registry ? { registry } : {}),
    port,
    dataDir: values["data-dir"],
    quiet: values.quiet ?? false,
    runner: runners.runner,
    toolRunners: runners.toolRunners,
    users,
    ...(values.seed !== undefined ? { seed: values.seed } : {}),
    tls: values["tls-api"] ? { api: true } : (values.tls ?? false),
  };
  return { options, runs: runners.describe };
}

/** The flags of `klms-tool dev`, as parseArgs reads them. */
interface DevFlags {
  port?: string;
  "data-dir"?: string;
  seed?: string;
  user?: string[];
  run?: string;
  "run-tool"?: string[];
  registry?: string;
  "registry-auth"?: string;
  tls?: boolean;
  "tls-api"?: boolean;
  quiet?: boolean;
  help?: boolean;
}

/** The flags; throws parseArgs' error for an unknown flag, a missing value or a positional. */
function parseDevFlags(argv: string[]): DevFlags {
  return parseArgs({
    args: argv,
    options: {
      port: { type: "string", short: "p" },
      "data-dir": { type: "string", short: "d" },
      seed: { type: "string", short: "s" },
      user: { type: "string", short: "u", multiple: true },
      run: { type: "string" },
      "run-tool": { type: "string", multiple: true },
      registry: { type: "string" },
      "registry-auth": { type: "string" },
      tls: { type: "boolean" },
      "tls-api": { type: "boolean" },
      quiet: { type: "boolean", short: "q" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

/**
 * Waits for SIGINT, SIGTERM, `io.signal`, or the object store dying on its own; resolves to the
 * exit code (1 when the store died: a dead store leaves half a server).
 */
function untilStopped(klms: LocalKlms, io: DevIo, err: (text: string) => void): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = (exitCode: number) => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      io.signal?.removeEventListener("abort", onSignal);
      resolve(exitCode);
    };
    const onSignal = () => stop(0);
    void klms.storeFailed?.then((error) => {
      err(`klms-tool dev: the object store stopped (${error.message}); stopping the local KLMS.\n`);
      stop(1);
    });
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
    if (io.signal?.aborted) onSignal();
    else io.signal?.addEventListener("abort", onSignal);
  });
}

/**
 * `--registry URL` and `--registry-auth FILE` (one line `USER:PASSWORD`); throws naming what is wrong.
 * The password is read from a file, never from the command line (where `ps` would show it).
 */
function registryOption(url: string | undefined, authFile: string | undefined): RegistryOptions | undefined {
  if (url === undefined) {
    if (authFile !== undefined) throw new Error("--registry-auth needs --registry URL");
    return undefined;
  }
  if (!/^https?:\/\/[^/]+\/?$/.test(url))
    throw new Error(`--registry takes the registry's URL, e.g. http://127.0.0.1:5000, got ${JSON.stringify(url)}`);
  if (authFile === undefined) return { url };
  let line: string;
  try {
    line = readFileSync(authFile, "utf8").trim();
  } catch (e) {
    throw new Error(`cannot read --registry-auth ${authFile}: ${(e as Error).message}`);
  }
  const colon = line.indexOf(":");
  if (colon <= 0 || colon === line.length - 1 || line.includes("\n"))
    throw new Error(`--registry-auth ${authFile} must hold one line USER:PASSWORD`);
  return { url, username: line.slice(0, colon), password: line.slice(colon + 1) };
}

function banner(klms: LocalKlms, kept: boolean, runs: string[], registry?: RegistryOptions): string {
  const lines = [
    "Local KLMS running. Press Ctrl-C to stop.",
    "",
    `  API URL       ${klms.apiUrl}  (also ${klms.apiUrl}/stelar, as stelar_client calls it)`,
    `  console       ${klms.apiUrl}/  (the tasks, their logs, metrics and outputs, in a browser)`,
    `  data dir      ${klms.dataDir}${kept ? "" : " (temporary: removed on exit; keep it with --data-dir)"}`,
    `  user          ${klms.username}  password ${klms.password}  (POST /api/v1/users/token)`,
    `  bearer token  ${klms.token}`,
    `                (valid ${DEV_TOKEN_TTL_SECONDS / 3600} h; send it as the Authorization header)`,
    `  process       ${klms.processId}  (klms-local-dev, running: tasks can belong to it)`,
  ];
  lines.push("", "  tasks run by themselves (a Job per tool or image task); what runs them:");
  for (const line of runs) lines.push(`    ${line}`);
  if (registry)
    lines.push(
      "",
      `  image registry ${registry.url}  (tool images: stelar/<tool>:<tag>; ${registry.password === undefined ? "no login" : "login from /api/v2/registry/credentials"})`,
    );
  if (klms.s3Url) lines.push(...storeLines(klms));
  lines.push(
    "",
    "Python, with the platform's SDK:",
    `  from stelar.client import Client; c = Client(base_url="${klms.apiUrl}", username="${klms.username}", password="${klms.password}")`,
    "",
    "Create a task (neither tool nor image: an external task you run yourself):",
    `  ${curlOf(klms)} -s -X POST ${klms.apiUrl}/api/v2/task \\`,
    `    -H 'Authorization: ${klms.token}' -H 'Content-Type: application/json' \\`,
    `    -d '${JSON.stringify(exampleSpec(klms.processId))}'`,
    "Then run a tool against it with: <token> <api url>/ <task id> <signature>",
    "",
  );
  return lines.join("\n");
}

/** curl, told to trust the local CA when there is one (the https store, and the API with --tls-api). */
function curlOf(klms: LocalKlms): string {
  return klms.caFile ? `curl --cacert ${klms.caFile}` : "curl";
}

/** The store's part of the banner: endpoint, STS credentials for the dev user, how to mint more, the CA. */
function storeLines(klms: LocalKlms): string[] {
  const m = klms.minio;
  const jwt = klms.token.slice("Bearer ".length);
  const lines = [
    "",
    `  object store  ${klms.s3Url}  (S3 and STS, bucket "${DEFAULT_BUCKET}", path-style, SigV4 required)`,
    `    access key id      ${m.id}`,
    `    secret access key  ${m.key}`,
    `    session token      ${m.skey}`,
    `                       (STS credentials of the dev user, valid ${MINIO_DURATION_SECONDS} s, as a task's minio block)`,
    "  More credentials (AssumeRoleWithWebIdentity with the bearer token, as the platform mints them):",
    `    ${curlOf(klms)} -s -X POST '${klms.s3Url}/?Action=AssumeRoleWithWebIdentity&Version=2011-06-15&DurationSeconds=3600&WebIdentityToken=${jwt}'`,
  ];
  if (klms.caFile) {
    lines.push(
      "  TLS: the store's certificate is signed by a local CA. Trust it with:",
      `    export SSL_CERT_FILE=${klms.caFile} REQUESTS_CA_BUNDLE=${klms.caFile}   # Python (minio, requests, boto3)`,
      `    export AWS_CA_BUNDLE=${klms.caFile}                                     # AWS CLI, boto3`,
      `    export NODE_EXTRA_CA_CERTS=${klms.caFile}                               # Node (set before node starts)`,
    );
  }
  return lines;
}

/** The example task body the banner prints: one the platform accepts (`TaskSchema`). */
export function exampleSpec(processId: string): Record<string, unknown> {
  return {
    process_id: processId,
    name: "try-me",
    datasets: {},
    inputs: { data: [`s3://${DEFAULT_BUCKET}/input.csv`] },
    outputs: { result: { url: `s3://${DEFAULT_BUCKET}/output.csv` } },
    parameters: { threshold: 0.5 },
  };
}
