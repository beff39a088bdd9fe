/**
 * A running local KLMS (`klms-tool dev`, in another terminal) for `klms-tool try`, over its HTTP
 * API, in the shape klms-local's `runToolTask` takes as its `klms`: so that `try` reuses it
 * instead of starting an embedded one, and its tasks stay visible in its console.
 *
 * Found through `--url <api url>`, or the state file `klms-tool dev` writes while it runs in a
 * tool project: `.klms/dev.json`, `{ apiUrl, pid, caFile? }` (klms-local's dev-state.ts; no
 * secret in it). The user: KLMS_TOKEN when set, else KLMS_USERNAME/KLMS_PASSWORD, else the dev
 * server's default user `dev` / `dev`.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { KlmsClient } from "../client/index.js";
import type { MinioBlock } from "../contract/index.js";
import { caFetch } from "./ca-fetch.js";
import { spawnGroup } from "./interrupt.js";

/** Where `klms-tool dev` leaves its state in the project it runs in (relative to the project). */
export const DEV_STATE_FILE = join(".klms", "dev.json");

/** What `.klms/dev.json` holds. */
export interface DevState {
  apiUrl: string;
  pid: number;
  /** The local CA's certificate file when the dev server runs with --tls. */
  caFile?: string;
}

/** The running dev server named by `<cwd>/.klms/dev.json`, when the file is there and its process lives. */
export function runningDevServer(cwd: string): DevState | undefined {
  const file = join(cwd, DEV_STATE_FILE);
  if (!existsSync(file)) return undefined;
  let state: DevState;
  try {
    state = JSON.parse(readFileSync(file, "utf8")) as DevState;
  } catch {
    return undefined;
  }
  if (typeof state.apiUrl !== "string" || !Number.isInteger(state.pid)) return undefined;
  try {
    process.kill(state.pid, 0); // signal 0: does the process exist (a leftover file after a crash does not count)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EPERM") return undefined;
  }
  return state;
}

/** The part of klms-local's LocalKlms that runToolTask uses, over HTTP. */
export interface RunningKlms {
  apiUrl: string;
  token: string;
  minio: MinioBlock;
  ca?: string;
  createProcess(fields?: Record<string, unknown>): Promise<Record<string, unknown>>;
  createTask(spec: Record<string, unknown>): Promise<{ id: string; job_id: string; signature: string }>;
  runTask(
    id: string,
    options?: { command?: string[]; cwd?: string; env?: Record<string, string> },
  ): Promise<RunResultLike>;
  getTask(id: string): Promise<{ exec_state: string; [key: string]: unknown }>;
  getOutcome(
    id: string,
  ): Promise<{ output: Record<string, string>; metrics: Record<string, unknown>; message: string | null }>;
  stop(): Promise<void>;
}

interface RunResultLike {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  logs: string;
}

/**
 * Connects to the KLMS at `apiUrl` as a user (see the module's comment) and mints S3 credentials
 * for its store. Throws the client's error (naming the URL) when it does not answer or refuses.
 */
export async function connectRunningKlms(
  apiUrl: string,
  env: NodeJS.ProcessEnv,
  caFile?: string,
  signal?: AbortSignal,
): Promise<RunningKlms> {
  const client = env.KLMS_TOKEN
    ? await KlmsClient.withToken(apiUrl, env.KLMS_TOKEN)
    : await KlmsClient.login(apiUrl, env.KLMS_USERNAME ?? "dev", env.KLMS_PASSWORD ?? "dev");
  // The store of `klms-tool dev --tls` has a certificate of the dev server's own CA: trusted here
  // for the STS call, and handed to the entrypoint as the local KLMS's own runs get it (attack5 F13).
  const ca = caFile && existsSync(caFile) ? readFileSync(caFile, "utf8") : undefined;
  const s3 = await client.s3(env, ca ? caFetch(ca) : undefined);
  const caEnv = caFile && ca ? caEnvironment(caFile) : {};
  const token = `Bearer ${client.session?.token ?? ""}`;
  const tasks = new Map<string, { signature: string; outputs: Record<string, string> }>();
  const base = apiUrl.replace(/\/+$/, "");
  return {
    apiUrl: base,
    token,
    minio: { endpoint_url: s3.endpoint, id: s3.accessKeyId, key: s3.secretAccessKey, skey: s3.sessionToken ?? "" },
    ...(ca ? { ca } : {}),
    createProcess: (fields = {}) => client.processes.create({ owner_org: "stelar-klms", ...fields }),
    async createTask(spec) {
      const created = await client.tasks.create(spec as never);
      const outputs = Object.fromEntries(
        Object.entries((spec.outputs ?? {}) as Record<string, { url: string }>).map(([n, o]) => [n, o.url]),
      );
      tasks.set(created.id, { signature: created.signature, outputs });
      return created;
    },
    async runTask(id, options = {}) {
      const signature = tasks.get(id)?.signature ?? (await client.tasks.signature(id));
      const env = { ...caEnv, ...options.env };
      return runJob([...(options.command ?? []), token, `${base}/`, id, signature], { ...options, env, signal });
    },
    getTask: (id) => client.tasks.get(id) as Promise<{ exec_state: string }>,
    async getOutcome(id) {
      const record = (await client.tasks.get(id)) as {
        exec_state?: string;
        messages?: string | null;
        metrics?: Record<string, unknown> | null;
      };
      // The API shows registered outputs only; the paths asked for are where the tool wrote, when
      // it succeeded. A failed task posted no output (as the embedded KLMS reports it: none; attack5 F5).
      const output = record.exec_state === "succeeded" ? (tasks.get(id)?.outputs ?? {}) : {};
      return { output, metrics: record.metrics ?? {}, message: record.messages ?? null };
    },
    stop: async () => {},
  };
}

/** The variables that make Node, Python (requests, boto3) and OpenSSL trust `caFile`, as klms-local sets for its runs. */
function caEnvironment(caFile: string): Record<string, string> {
  return { NODE_EXTRA_CA_CERTS: caFile, SSL_CERT_FILE: caFile, REQUESTS_CA_BUNDLE: caFile, AWS_CA_BUNDLE: caFile };
}

/** The entrypoint with the Job's four arguments, as a pod runs it: its output captured as the log. */
function runJob(
  argv: string[],
  options: { cwd?: string; env?: Record<string, string>; signal?: AbortSignal | undefined },
): Promise<RunResultLike> {
  const [program, ...args] = argv as [string, ...string[]];
  return new Promise((done) => {
    // Its own process group: an interrupted try sends it SIGTERM, as a terminated pod gets, so the
    // entrypoint reports the task cancelled before try ends (attack5 F15); killed if the CLI exits first.
    const child = spawnGroup(program, args, {
      cwd: options.cwd,
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "", ...options.env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const text = { stdout: "", stderr: "", logs: "" };
    for (const name of ["stdout", "stderr"] as const) {
      child[name]?.on("data", (chunk: Buffer) => {
        text[name] += chunk.toString();
        text.logs += chunk.toString();
      });
    }
    child.on("error", (error) => {
      text.logs += `klms-tool try: could not start ${program}: ${error.message}\n`;
    });
    child.on("close", (exitCode, signal) => done({ exitCode, signal, ...text }));
  });
}
