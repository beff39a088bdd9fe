/**
 * The local KLMS as one object (`LocalKlmsServer`, made by `startLocalKlms`): the task API server,
 * the object store its task inputs point at, the task store under a data dir, and the Jobs that
 * play the cluster's. Its state is the parts of local-klms-parts.ts plus the listening server.
 */

import { join } from "node:path";
import { Accounts, type UserSpec } from "./accounts.js";
import { DEV_USERNAME, issueDevToken, issueToken, signatureOf } from "./auth.js";
import type { Seed } from "./catalog/seed.js";
import { ApiError } from "./envelope.js";
import { type Fault, FaultList } from "./faults.js";
import { DEFAULT_BACKOFF_LIMIT, DEFAULT_RETRY_DELAY_MS, type JobStatus, Jobs } from "./jobs.js";
import {
  type DataDir,
  type KlmsState,
  type ObjectSide,
  openDataDir,
  openObjectStore,
  openState,
  seedOf,
  tlsDirOf,
} from "./local-klms-parts.js";
import { toJsValue } from "./python-json.js";
import { AppTokens } from "./registry/app-tokens.js";
import { RegistryImages } from "./registry/images.js";
import { OciRegistry, type RegistryOptions } from "./registry/oci.js";
import { POD_NICENESS, type RunOptions, type RunResult, type StartedRun, TERMINATION_GRACE_MS } from "./runner.js";
import { launcherFor, type Runner } from "./runners.js";
import { createApp, listen, type MinioInput, type PodView, type RunningServer } from "./server.js";
import { ensureTls } from "./store/tls.js";
import { newTask, wildcardExpansions } from "./task-catalog.js";
import { parseTaskSpec, type TaskSpec } from "./task-spec.js";
import { EXTERNAL_JOB, type StoredTask, type TaskRecord, taskRecordOf } from "./tasks.js";

export { DEFAULT_BUCKET, MINIO_DURATION_SECONDS } from "./local-klms-parts.js";

/** Options of {@link startLocalKlms}. */
export interface LocalKlmsOptions {
  /** 0 or undefined: a free port. */
  port?: number;
  /** Where tasks, logs, objects and the server secret live; default: a fresh temp dir, removed on stop(). */
  dataDir?: string;
  /** The server secret behind signatures and dev tokens; default: the one kept in the data dir. */
  secret?: string;
  /** The object store the task inputs point at: default the embedded one, `false` none, or an external S3 server. */
  objectStore?: false | { url: string; accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /**
   * When set, a task created with a `tool` or `image` (by the API or {@link LocalKlms.createTask})
   * gets a Job that runs its pods this way, as the cluster's Job does: a command
   * (`{command, cwd?, env?}`), a tool project's built worker (`{project, worker?}`), its image with
   * podman (`{podman: {image?, command?}}`), or nothing (`{none: reason}`: the pod stays Pending).
   * Default: none, tasks wait for {@link LocalKlms.startTask}.
   */
  runner?: Runner;
  /** Runners for some tools by name (the task's `tool`); the others use `runner`. */
  toolRunners?: Record<string, Runner>;
  /** Failed pods a Job retries (`backoffLimit`) unless the tool's job profile sets it; default 3, the platform's default profile. */
  backoffLimit?: number;
  /** Delay before a Job's first retry, doubled per failure up to 6 min; default 10 000 ms (Kubernetes). */
  retryDelayMs?: number;
  /** A pod's termination grace period, SIGTERM to SIGKILL; default 30 000 ms (Kubernetes). */
  terminationGraceMs?: number;
  /**
   * The niceness of the pods' processes (command and project runners), 0 to 19: default 19, the
   * lowest CPU priority, so that the local KLMS keeps answering while its pods use every core (on
   * the cluster the API server has its own node). 0 runs them at the server's priority.
   */
  podNiceness?: number;
  /** No request log on stderr. */
  quiet?: boolean;
  /** Users besides the default `dev` / `dev` (an admin); a user named `dev` replaces the default. */
  users?: UserSpec[];
  /** A seed file's path, or its content: users and catalog entities to add when absent (see the README). */
  seed?: string | Seed;
  /** Where warnings go (e.g. a record set aside); default stderr, even when quiet. */
  warn?: (message: string) => void;
  /**
   * Serve the embedded object store over https, with a CA made at the first start and kept in
   * `<dataDir>/tls/ca.pem` (clients must trust it: see {@link LocalKlms.caFile}); `{ api: true }`
   * serves the Data API over https too, with the same CA (as the public deployment does).
   * Default false: both over plain http.
   */
  tls?: boolean | { api: boolean };
  /**
   * An OCI registry (e.g. `{ url: "http://127.0.0.1:5000" }`, scripts/registry.sh) in the place of
   * the platform's Quay: tools' `images` are its `stelar/<tool>` tags, the registry credential
   * routes hand out its account (`username`, default `$app`, and `password`, when it has a login),
   * a podman runner pulls `<host>/stelar/<tool>:<tag>` as the cluster's Job does, and `/help`
   * names it (`image_registry`). Default: none (images from the seed and the profiles).
   */
  registry?: RegistryOptions;
}

/** What the tool posted last for a task: the paths it reported, its metrics, message and error. */
export interface TaskOutcome {
  exec_state: TaskRecord["exec_state"];
  output: Record<string, string>;
  metrics: Record<string, unknown>;
  message: string | null;
  error: string | null;
}

/** A running local KLMS. */
export interface LocalKlms {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  apiUrl: string;
  /** The object store URL, when there is one. */
  s3Url?: string;
  /** `Bearer <jwt>`: a valid token of the default `dev` user. */
  token: string;
  /** The default user's name and password (`POST /api/v1/users/token`). */
  username: string;
  password: string;
  dataDir: string;
  /** A running process that tasks can belong to: `klms-local-dev`, made at the first start (stable id). */
  processId: string;
  /**
   * A `minio` block as tasks receive it: the object store's endpoint and, for the embedded store,
   * credentials minted by its STS for the dev user at start (each task input gets freshly minted
   * ones for the task's creator, as on the platform). Empty without a store.
   */
  minio: MinioInput;
  /** With `tls`: the CA certificate (PEM) of the embedded store, and its file. */
  ca?: string;
  caFile?: string;
  /** Settles with the error if the embedded store stops serving on its own (never otherwise). */
  storeFailed?: Promise<Error>;
  /** Creates a task for the `dev` user with the same rules as `POST /api/v2/task` (a process, `datasets`, … are required). */
  createTask(spec: TaskSpec): Promise<{ id: string; job_id: string; signature: string }>;
  /** Creates a running process (`POST /api/v2/process` as `dev`; the body's fields are optional here) and returns its record. */
  createProcess(fields?: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** The same record as `GET /api/v2/task/<id>`. */
  getTask(id: string): Promise<TaskRecord>;
  /** What the tool posted: every output path (registered or not), metrics, message, error. */
  getOutcome(id: string): Promise<TaskOutcome>;
  /** Test-only fault injection, also at `POST`/`DELETE /__klms/faults`. */
  faults: { add(fault: Fault): void; clear(): void };
  /**
   * Starts one pod of the task by hand (no retry): `options.command`, else the configured runner,
   * with the Job's arguments. Its output becomes that pod's log. Throws when there is nothing to run.
   */
  startTask(id: string, options?: RunOptions): StartedRun;
  /**
   * Every pod of the task, oldest first (hand-started runs of an external task included, which
   * the API does not list, as the platform has no pod for such a task).
   */
  pods(id: string): PodView[];
  /** The task's Job status (pods active, succeeded, failed; `Complete`/`Failed`); undefined when it has none. */
  job(id: string): JobStatus | undefined;
  /** {@link LocalKlms.startTask} and wait for the end. */
  runTask(id: string, options?: RunOptions): Promise<RunResult>;
  /**
   * Stops runs, the server and the object store; waits until every task, pod and catalog record
   * is on disk; removes the data dir if it was a temp one. Rejects, after all that, naming the
   * records that could not be written.
   */
  stop(): Promise<void>;
}

/** Starts a local KLMS; resolves once the API and the object store listen. */
export function startLocalKlms(options: LocalKlmsOptions = {}): Promise<LocalKlms> {
  return LocalKlmsServer.start(options);
}

/** The parts a {@link LocalKlmsServer} holds, each made once by {@link LocalKlmsServer.start}. */
interface Parts {
  options: LocalKlmsOptions;
  dir: DataDir;
  state: KlmsState;
  accounts: Accounts;
  objects: ObjectSide;
  /** The test-only faults the server applies (also `POST`/`DELETE /__klms/faults`). */
  faults: FaultList;
  /** The cluster's Jobs: the pods of every task. */
  jobs: Jobs;
  /** The request log; undefined when quiet. */
  log?: (line: string) => void;
  /** The image registry and its tags, with the `registry` option. */
  registry?: { oci: OciRegistry; images: RegistryImages };
}

/**
 * A running local KLMS: its state is {@link Parts} (made before the HTTP server starts, since the
 * routes use them) and the HTTP server, set once by {@link LocalKlmsServer.start} before the
 * object is handed out. The Jobs it starts pass the API's URL to their pods, so they read it from
 * the listening server.
 */
class LocalKlmsServer implements LocalKlms {
  readonly s3Url?: string;
  readonly token: string;
  readonly username = DEV_USERNAME;
  readonly password: string;
  readonly dataDir: string;
  readonly processId: string;
  readonly minio: MinioInput;
  readonly ca?: string;
  readonly caFile?: string;
  readonly storeFailed?: Promise<Error>;
  readonly faults: LocalKlms["faults"];
  readonly #parts: Parts;
  #server: RunningServer | undefined;
  #stopping: Promise<void> | undefined;

  /**
   * Makes the parts in order (users and seed checked before anything touches the disk), then
   * listens; on failure undoes what was made (the store stopped, a temp data dir removed).
   */
  static async start(options: LocalKlmsOptions): Promise<LocalKlmsServer> {
    checkNiceness(options.podNiceness);
    const seed = seedOf(options.seed);
    const accounts = new Accounts([...(seed?.users ?? []), ...(options.users ?? [])]);
    const dir = openDataDir(options.dataDir);
    const warn = options.warn ?? ((line: string) => process.stderr.write(`klms-local: warning: ${line}\n`));
    let objects: ObjectSide | undefined;
    let state: KlmsState | undefined;
    try {
      state = openState(dir.path, options, seed, warn);
      const log = options.quiet ? undefined : (line: string) => process.stderr.write(`klms-local: ${line}\n`);
      const jobs = new Jobs(join(dir.path, "logs"), {
        backoffLimit: options.backoffLimit ?? DEFAULT_BACKOFF_LIMIT,
        retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
        graceMs: options.terminationGraceMs ?? TERMINATION_GRACE_MS,
        log,
        writer: state.writer,
      });
      const registry = openRegistry(options.registry, state, warn);
      objects = await openObjectStore(options.objectStore, dir.path, state.secret, Boolean(options.tls));
      const parts = { options, dir, state, accounts, objects, faults: new FaultList(), jobs, log };
      const klms = new LocalKlmsServer(registry ? { ...parts, registry } : parts);
      await klms.#listen();
      return klms;
    } catch (error) {
      await objects?.embedded?.stop();
      // The records written so far land before the folder goes (a temp one is removed).
      await state?.writer.flush().catch(() => undefined);
      dir.release();
      throw error;
    }
  }

  private constructor(parts: Parts) {
    this.#parts = parts;
    const { state, objects, accounts } = parts;
    const embedded = objects.embedded;
    if (objects.url !== undefined) this.s3Url = objects.url;
    this.token = `Bearer ${issueDevToken(state.secret)}`;
    this.password = accounts.byName(DEV_USERNAME)?.password ?? "";
    this.dataDir = parts.dir.path;
    this.processId = state.processId;
    this.minio = objects.minioFor(DEV_USERNAME);
    if (embedded?.ca !== undefined) {
      this.ca = embedded.ca;
      this.caFile = embedded.caFile;
    }
    if (embedded) this.storeFailed = embedded.failed;
    this.faults = {
      add: (fault: Fault) => {
        try {
          parts.faults.add(fault);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          throw new Error(`invalid fault: ${JSON.stringify(e.detail.json)}`);
        }
      },
      clear: () => parts.faults.clear(),
    };
  }

  /** `http(s)://127.0.0.1:PORT` of the listening server. */
  get apiUrl(): string {
    const server = this.#server;
    if (!server) throw new Error("the local KLMS is not listening yet");
    return `${server.tls ? "https" : "http"}://127.0.0.1:${server.port}`;
  }

  /** Builds the routes over the parts and listens (https too with `tls: { api: true }`, reusing the store's CA). */
  async #listen(): Promise<void> {
    const { options, state, accounts, objects, faults, jobs, log, dir, registry } = this.#parts;
    const app = createApp({
      store: state.store,
      catalog: state.catalog,
      accounts,
      secret: state.secret,
      faults,
      ...(objects.url !== undefined ? { s3Url: objects.url } : {}),
      minio: (username) => objects.minioFor(username),
      ...(objects.list ? { listObjects: objects.list } : {}),
      ...(objects.embedded?.ca ? { storeCa: objects.embedded.ca } : {}),
      handedOut: (task, credentials) => jobs.hide(task.id, credentials),
      podsOf: (task) => (task.tool === undefined && task.image === undefined ? [] : jobs.pods(task.id)),
      onCreated: (task) => this.#launch(task),
      onTerminated: (task) => jobs.delete(task.id),
      log,
      tokens: new AppTokens(
        dir.path,
        options.warn ?? ((line) => process.stderr.write(`klms-local: warning: ${line}\n`)),
      ),
      ...(registry ? { registry: registry.oci, images: registry.images } : {}),
    });
    // The store made the CA and server certificate first: the API reuses them.
    const tls = typeof options.tls === "object" && options.tls.api ? await ensureTls(tlsDirOf(dir.path)) : undefined;
    this.#server = await listen(app, faults, options.port ?? 0, log, tls);
  }

  async createTask(spec: TaskSpec): Promise<{ id: string; job_id: string; signature: string }> {
    const { state, objects } = this.#parts;
    const parsed = asError(() => parseTaskSpec(spec), "task spec");
    const expansions = await wildcardExpansions(parsed.inputs, objects.list);
    const task = asError(() => newTask(parsed, DEV_USERNAME, state.catalog, expansions), "task spec");
    state.store.save(task);
    this.#launch(task);
    return { id: task.id, job_id: task.job_id, signature: signatureOf(task.id, state.secret) };
  }

  async createProcess(fields: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const { catalog } = this.#parts.state;
    const body = { owner_org: "stelar-klms", ...fields };
    return catalog.view(asError(() => catalog.create("process", body, DEV_USERNAME), "process"));
  }

  async getTask(id: string): Promise<TaskRecord> {
    const { catalog } = this.#parts.state;
    const record = taskRecordOf(this.#taskOf(id), (entity) => catalog.find(entity)?.url as string | undefined);
    return {
      ...record,
      parameters: toJsValue(record.parameters) as TaskRecord["parameters"],
      ...("metrics" in record ? { metrics: toJsValue(record.metrics) as TaskRecord["metrics"] } : {}),
    };
  }

  async getOutcome(id: string): Promise<TaskOutcome> {
    const task = this.#taskOf(id);
    return {
      exec_state: task.exec_state,
      output: { ...task.output },
      metrics: { ...task.metrics },
      message: task.message,
      error: task.error,
    };
  }

  startTask(id: string, run: RunOptions = {}): StartedRun {
    const task = this.#taskOf(id);
    const configured = this.#runnerOf(task);
    let runner: Runner;
    if (run.command) {
      const base = configured && "command" in configured ? configured : undefined;
      runner = { command: run.command, cwd: run.cwd ?? base?.cwd, env: { ...base?.env, ...run.env } };
    } else if (configured && !("none" in configured)) {
      runner = "command" in configured || "project" in configured ? withRun(configured, run) : configured;
    } else {
      throw new Error("no command to run: pass options.command or start the local KLMS with a runner");
    }
    const template = this.#podTemplate(task, run);
    return this.#parts.jobs.runOnce(task.id, jobNameOf(task), launcherFor(runner, this.#pulled(task)), template);
  }

  runTask(id: string, run?: RunOptions): Promise<RunResult> {
    return this.startTask(id, run).done;
  }

  pods(id: string): PodView[] {
    return this.#parts.jobs.pods(this.#taskOf(id).id);
  }

  job(id: string): JobStatus | undefined {
    return this.#parts.jobs.status(this.#taskOf(id).id);
  }

  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      await this.#parts.jobs.stopAll();
      await this.#server?.close();
      // Every record on disk before stop() resolves (a failed write is reported after the rest stopped).
      const flushed = this.#parts.state.writer.flush().then(
        () => undefined,
        (error: Error) => error,
      );
      const failure = await flushed;
      await this.#parts.objects.embedded?.stop();
      this.#parts.dir.release();
      if (failure) throw failure;
    })();
    return this.#stopping;
  }

  #taskOf(id: string): StoredTask {
    const { store } = this.#parts.state;
    if (!store.has(id)) throw new Error(`task ${id} not found in this local KLMS`);
    return store.get(id);
  }

  /** The task's tool's own runner, else the default one. */
  #runnerOf(task: StoredTask): Runner | undefined {
    const { options } = this.#parts;
    return (task.tool !== undefined ? options.toolRunners?.[task.tool] : undefined) ?? options.runner;
  }

  /** Like the cluster: a task with a tool or an image gets a Job; one with neither is external. */
  #launch(task: StoredTask): void {
    const runner = this.#runnerOf(task);
    if (!runner || (task.tool === undefined && task.image === undefined)) return;
    // The tool's job profile may set the Job's backoffLimit (job.py:95-110, 198-202).
    const limit = task.job_profile?.backoff_limit;
    const backoffLimit = typeof limit === "number" ? limit : undefined;
    const launcher = launcherFor(runner, this.#pulled(task));
    this.#parts.jobs.start(task.id, jobNameOf(task), launcher, this.#podTemplate(task), backoffLimit);
  }

  /**
   * The task with the image its pods pull: a tool's `<repository>:<tag>` prefixed with the
   * registry and its namespace, as the cluster's execution engine does (`kubernetes.py:183-198`).
   */
  #pulled(task: StoredTask): StoredTask {
    const oci = this.#parts.registry?.oci;
    if (!oci || task.tool === undefined || task.image === undefined) return task;
    return { ...task, image: oci.reference(task.image) };
  }

  /**
   * The pod's container gets what the Job passes, and its log hides what the entrypoint hides.
   * The token is the task creator's, as the platform passes the creating request's token
   * (tasks.py:880-890, KC §4).
   */
  #podTemplate(task: StoredTask, run: RunOptions = {}) {
    const { secret } = this.#parts.state;
    const token = `Bearer ${issueToken(secret, task.creator)}`;
    // The cluster's API URL ends with a slash (http://stelarapi/); tools must cope with it.
    const jobArgs =
      run.args === 3
        ? [token, this.apiUrl, task.id]
        : [token, `${this.apiUrl}/`, task.id, signatureOf(task.id, secret)];
    // A local store over https: the run trusts its CA as a pod trusts MinIO's certificate.
    const env = trustEnv(this.#parts.objects.embedded?.caFile);
    const niceness = this.#parts.options.podNiceness ?? POD_NICENESS;
    return { jobArgs, env, secrets: [task.secrets], timeoutMs: run.timeoutMs, niceness };
  }
}

/** `podNiceness`: a whole number from 0 to 19 (what `setpriority` takes for a lower priority), or absent. */
function checkNiceness(niceness: number | undefined): void {
  if (niceness === undefined || (Number.isInteger(niceness) && niceness >= 0 && niceness <= 19)) return;
  throw new Error(
    `podNiceness must be a whole number from 0 (the server's priority) to 19 (the lowest), not ${JSON.stringify(niceness)}`,
  );
}

/** The registry of the `registry` option, its tags cache, and the catalog reading images from it. */
function openRegistry(
  options: RegistryOptions | undefined,
  state: KlmsState,
  warn: (line: string) => void,
): { oci: OciRegistry; images: RegistryImages } | undefined {
  if (!options) return undefined;
  const oci = new OciRegistry(options);
  const images = new RegistryImages(oci, warn);
  state.catalog.useRegistry((repository) => images.tags(repository));
  return { oci, images };
}

/** The Job's name: the task's `job_id` (the platform's `task-<id>[-<tool>]`), or `task-<id>` for a hand run. */
function jobNameOf(task: StoredTask): string {
  return task.job_id !== EXTERNAL_JOB ? task.job_id : `task-${task.id}`;
}

/** A command or project runner with a hand run's directory and environment on top. */
function withRun<R extends { cwd?: string; env?: Record<string, string> }>(runner: R, run: RunOptions): R {
  return { ...runner, ...(run.cwd !== undefined ? { cwd: run.cwd } : {}), env: { ...runner.env, ...run.env } };
}

/** Runs `fn`; an API error becomes an Error that says what the API would have answered. */
function asError<T>(fn: () => T, what: string): T {
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof ApiError)) throw e;
    const detail = JSON.stringify(e.detail.json ?? e.detail);
    throw new Error(`invalid ${what} (the API would answer ${e.status} ${e.message || e.type}): ${detail}`);
  }
}

/** With the store over https: what makes a tool's Node, Python and AWS CLI trust its CA. */
function trustEnv(caFile: string | undefined): Record<string, string> {
  if (caFile === undefined) return {};
  return { NODE_EXTRA_CA_CERTS: caFile, SSL_CERT_FILE: caFile, REQUESTS_CA_BUNDLE: caFile, AWS_CA_BUNDLE: caFile };
}
