/**
 * The local KLMS as one object: the task API server, the object store its task inputs point at,
 * the task store under a data dir, and a runner that plays the cluster's Job.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage, minioSettings, type Storage } from "klms-tool";
import { Accounts, type UserSpec } from "./accounts.js";
import {
  DEV_USERNAME,
  issueDevToken,
  issueToken,
  loadServerSecret,
  nameUuid,
  signatureOf,
  verifyToken,
} from "./auth.js";
import { Catalog } from "./catalog/catalog.js";
import { applySeed, checkSeedShape, readSeed, type Seed } from "./catalog/seed.js";
import { ApiError } from "./envelope.js";
import { type Fault, FaultList } from "./faults.js";
import { DEFAULT_BACKOFF_LIMIT, DEFAULT_RETRY_DELAY_MS, type JobStatus, Jobs } from "./jobs.js";
import { type ObjectStore, startObjectStore } from "./object-store.js";
import { type RunOptions, type RunResult, type StartedRun, TERMINATION_GRACE_MS } from "./runner.js";
import { launcherFor, type Runner } from "./runners.js";
import { createApp, listen, type MinioInput, type PodView, type RunningServer } from "./server.js";
import { ensureTls } from "./store/tls.js";
import { newTask, wildcardExpansions } from "./task-catalog.js";
import { parseTaskSpec, type TaskSpec } from "./task-spec.js";
import { EXTERNAL_JOB, type StoredTask, type TaskRecord, TaskStore, taskRecordOf } from "./tasks.js";
import type { ObjectLister } from "./wildcards.js";

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
  /** Stops runs, the server and the object store; removes the data dir if it was a temp one. */
  stop(): Promise<void>;
}

/** The lifetime the platform asks STS for (DurationSeconds, data-api mutils.py:33-111), seconds. */
export const MINIO_DURATION_SECONDS = 86000;

/** The bucket the embedded object store creates. */
export const DEFAULT_BUCKET = "klms-bucket";

/** Where the CA and the server certificate of `tls` live: `<dataDir>/tls`. */
const TLS_DIR = (dataDir: string): string => join(dataDir, "tls");

/** Starts a local KLMS; resolves once the API and the object store listen. */
export async function startLocalKlms(options: LocalKlmsOptions = {}): Promise<LocalKlms> {
  // Bad users or a bad seed fail here, before anything is made on disk.
  const seed = seedOf(options.seed);
  const accounts = new Accounts([...(seed?.users ?? []), ...(options.users ?? [])]);
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "klms-local-"));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const warn = options.warn ?? ((line: string) => process.stderr.write(`klms-local: warning: ${line}\n`));
  let state: ReturnType<typeof openState>;
  try {
    state = openState(dataDir, options, seed, warn);
  } catch (error) {
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
  const { secret, store, catalog, processId } = state;
  const faults = new FaultList();
  const log = options.quiet ? undefined : (line: string) => process.stderr.write(`klms-local: ${line}\n`);
  const jobs = new Jobs(join(dataDir, "logs"), {
    backoffLimit: options.backoffLimit ?? DEFAULT_BACKOFF_LIMIT,
    retryDelayMs: options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS,
    graceMs: options.terminationGraceMs ?? TERMINATION_GRACE_MS,
    log,
  });
  const currentUrl = (id: string) => catalog.find(id)?.url as string | undefined;
  const taskOf = (id: string) => {
    if (!store.has(id)) throw new Error(`task ${id} not found in this local KLMS`);
    return store.get(id);
  };

  let objectStore: ObjectStore | undefined;
  // The `minio` block for a user: on the embedded store, STS credentials minted for that user.
  let minio: (username: string) => MinioInput = () => ({});
  let server: RunningServer | undefined;
  try {
    if (options.objectStore === undefined) {
      const started = await startObjectStore({
        directory: join(dataDir, "objects"),
        buckets: [DEFAULT_BUCKET],
        secret,
        verifyWebIdentity: (jwt) => verifyToken(jwt, secret),
        ...(options.tls ? { tlsDir: TLS_DIR(dataDir) } : {}),
        log: (line) => process.stderr.write(`klms-local: ${line}\n`),
      });
      objectStore = started;
      // As the platform: credentials minted by STS for the task's user on every input (mutils.py:33-111).
      minio = (username) => {
        const c = started.mint(username, MINIO_DURATION_SECONDS);
        return minioBlock(started.url, c.accessKeyId, c.secretAccessKey, c.sessionToken);
      };
    } else if (options.objectStore !== false) {
      const s = options.objectStore;
      const block = minioBlock(s.url, s.accessKeyId, s.secretAccessKey, s.sessionToken);
      minio = () => ({ ...block });
    }

    const runnerOf = (task: StoredTask): Runner | undefined =>
      (task.tool !== undefined ? options.toolRunners?.[task.tool] : undefined) ?? options.runner;
    // The pod's container gets what the Job passes, and its log hides what the entrypoint hides.
    // The token is the task creator's, as the platform passes the creating request's token (tasks.py:880-890, KC §4).
    const podTemplate = (task: StoredTask, run: RunOptions = {}) => {
      const token = `Bearer ${issueToken(secret, task.creator)}`;
      // The cluster's API URL ends with a slash (http://stelarapi/); tools must cope with it.
      const jobArgs =
        run.args === 3
          ? [token, klms.apiUrl, task.id]
          : [token, `${klms.apiUrl}/`, task.id, signatureOf(task.id, secret)];
      // A local store over https: the run trusts its CA as a pod trusts MinIO's certificate.
      const env = trustEnv(objectStore?.caFile);
      return { jobArgs, env, secrets: [task.secrets], timeoutMs: run.timeoutMs };
    };

    const startTask = (id: string, run: RunOptions = {}) => {
      const task = taskOf(id);
      const configured = runnerOf(task);
      let runner: Runner;
      if (run.command) {
        const base = configured && "command" in configured ? configured : undefined;
        runner = { command: run.command, cwd: run.cwd ?? base?.cwd, env: { ...base?.env, ...run.env } };
      } else if (configured && !("none" in configured)) {
        runner = "command" in configured || "project" in configured ? withRun(configured, run) : configured;
      } else {
        throw new Error("no command to run: pass options.command or start the local KLMS with a runner");
      }
      return jobs.runOnce(task.id, jobNameOf(task), launcherFor(runner, task), podTemplate(task, run));
    };

    // Like the cluster: a task with a tool or an image gets a Job; one with neither is external.
    const launch = (task: StoredTask) => {
      const runner = runnerOf(task);
      if (!runner || (task.tool === undefined && task.image === undefined)) return;
      // The tool's job profile may set the Job's backoffLimit (job.py:95-110, 198-202).
      const limit = task.job_profile?.backoff_limit;
      const backoffLimit = typeof limit === "number" ? limit : undefined;
      jobs.start(task.id, jobNameOf(task), launcherFor(runner, task), podTemplate(task), backoffLimit);
    };

    const lister = options.objectStore === false ? undefined : objectLister(() => minio(DEV_USERNAME), objectStore?.ca);
    const podsOf = (task: StoredTask) =>
      task.tool === undefined && task.image === undefined ? [] : jobs.pods(task.id);

    server = await listen(
      createApp({
        store,
        catalog,
        accounts,
        secret,
        faults,
        ...(objectStore ? { s3Url: objectStore.url } : options.objectStore ? { s3Url: options.objectStore.url } : {}),
        minio: (username) => minio(username),
        ...(lister ? { listObjects: lister.list } : {}),
        ...(objectStore?.ca ? { storeCa: objectStore.ca } : {}),
        podsOf,
        onCreated: launch,
        onTerminated: (task) => jobs.delete(task.id),
        log,
      }),
      faults,
      options.port ?? 0,
      log,
      // The store made the CA and server certificate first: the API reuses them.
      typeof options.tls === "object" && options.tls.api ? await ensureTls(TLS_DIR(dataDir)) : undefined,
    );
    const running = server;
    const store_ = objectStore;
    let stopping: Promise<void> | undefined;

    const klms: LocalKlms = {
      apiUrl: `${running.tls ? "https" : "http"}://127.0.0.1:${running.port}`,
      ...(objectStore ? { s3Url: objectStore.url } : options.objectStore ? { s3Url: options.objectStore.url } : {}),
      token: `Bearer ${issueDevToken(secret)}`,
      username: DEV_USERNAME,
      password: accounts.byName(DEV_USERNAME)?.password ?? "",
      dataDir,
      processId,
      minio: minio(DEV_USERNAME),
      ...(objectStore?.ca ? { ca: objectStore.ca, caFile: objectStore.caFile } : {}),
      ...(objectStore ? { storeFailed: objectStore.failed } : {}),
      async createTask(spec) {
        const parsed = asError(() => parseTaskSpec(spec), "task spec");
        const expansions = await wildcardExpansions(parsed.inputs, lister?.list);
        const task = asError(() => newTask(parsed, DEV_USERNAME, catalog, expansions), "task spec");
        store.save(task);
        launch(task);
        return { id: task.id, job_id: task.job_id, signature: signatureOf(task.id, secret) };
      },
      async createProcess(fields = {}) {
        const body = { owner_org: "stelar-klms", ...fields };
        return catalog.view(asError(() => catalog.create("process", body, DEV_USERNAME), "process"));
      },
      async getTask(id) {
        return taskRecordOf(taskOf(id), currentUrl);
      },
      async getOutcome(id) {
        const task = taskOf(id);
        return {
          exec_state: task.exec_state,
          output: { ...task.output },
          metrics: { ...task.metrics },
          message: task.message,
          error: task.error,
        };
      },
      faults: {
        add(fault) {
          try {
            faults.add(fault);
          } catch (e) {
            if (!(e instanceof ApiError)) throw e;
            throw new Error(`invalid fault: ${JSON.stringify(e.detail.json)}`);
          }
        },
        clear: () => faults.clear(),
      },
      startTask,
      runTask: (id, run) => startTask(id, run).done,
      pods: (id) => jobs.pods(taskOf(id).id),
      job: (id) => jobs.status(taskOf(id).id),
      stop() {
        stopping ??= (async () => {
          await jobs.stopAll();
          await running.close();
          await store_?.stop();
          if (temporary) rmSync(dataDir, { recursive: true, force: true });
        })();
        return stopping;
      },
    };
    return klms;
  } catch (error) {
    await server?.close();
    await objectStore?.stop();
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** The Job's name: the task's `job_id` (the platform's `task-<id>[-<tool>]`), or `task-<id>` for a hand run. */
function jobNameOf(task: StoredTask): string {
  return task.job_id !== EXTERNAL_JOB ? task.job_id : `task-${task.id}`;
}

/** A command or project runner with a hand run's directory and environment on top. */
function withRun<R extends { cwd?: string; env?: Record<string, string> }>(runner: R, run: RunOptions): R {
  return { ...runner, ...(run.cwd !== undefined ? { cwd: run.cwd } : {}), env: { ...runner.env, ...run.env } };
}

/** The server secret, the tasks and the catalog kept in the data dir, the seed applied, the dev process. */
function openState(dataDir: string, options: LocalKlmsOptions, seed: Seed | undefined, warn: (line: string) => void) {
  const secret = loadServerSecret(dataDir, options.secret);
  const store = new TaskStore(dataDir, warn);
  const catalog = new Catalog(dataDir, { warn, tasksOf: (pid) => taskSummaries(store, pid) });
  if (seed) applySeed(catalog, seed, typeof options.seed === "string" ? `seed file ${options.seed}` : "seed");
  return { secret, store, catalog, processId: devProcess(catalog) };
}

/**
 * Lists the object store the tasks' `minio` block points at (wildcard inputs), with a block
 * fresh for each listing (minted credentials expire), its client closed at the end.
 */
function objectLister(block: () => MinioInput, ca: string | undefined): { list: ObjectLister } {
  return {
    list: (prefix) =>
      (async function* () {
        const settings = minioSettings(block(), { prefer: "external", env: {} });
        const storage: Storage = createStorage(settings, ca === undefined ? {} : { ca });
        try {
          for await (const o of storage.list(prefix)) yield o.path;
        } finally {
          storage.close();
        }
      })(),
  };
}

/** The seed as given: a file to read, or its content to check. */
function seedOf(seed: string | Seed | undefined): Seed | undefined {
  if (seed === undefined) return undefined;
  return typeof seed === "string" ? readSeed(seed) : checkSeedShape(seed);
}

/** The process `klms-local-dev` (stable id), made when missing, so that tasks have one to belong to. */
function devProcess(catalog: Catalog): string {
  const id = nameUuid("process:klms-local-dev");
  if (!catalog.find(id)) {
    catalog.create(
      "process",
      { name: "klms-local-dev", title: "Local KLMS dev process", owner_org: "stelar-klms" },
      DEV_USERNAME,
      {
        id,
      },
    );
  }
  return id;
}

/** The summaries a process record lists, by start date (`utils.py:262-284`). */
function taskSummaries(store: TaskStore, processId: string) {
  return store
    .all()
    .filter((t) => t.process_id === processId)
    .sort((a, b) => a.start_date.localeCompare(b.start_date))
    .map((t) => ({
      id: t.id,
      creator: t.creator,
      exec_state: t.exec_state,
      start_date: t.start_date,
      end_date: t.end_date,
      image: t.image ?? null,
      name: t.name,
    }));
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

function minioBlock(url: string, id: string, key: string, sessionToken: string | undefined): MinioInput {
  const block: MinioInput = { endpoint_url: url, internal_url: url, id, key };
  if (sessionToken !== undefined) block.skey = sessionToken;
  return block;
}

/** With the store over https: what makes a tool's Node, Python and AWS CLI trust its CA. */
function trustEnv(caFile: string | undefined): Record<string, string> {
  if (caFile === undefined) return {};
  return { NODE_EXTRA_CA_CERTS: caFile, SSL_CERT_FILE: caFile, REQUESTS_CA_BUNDLE: caFile, AWS_CA_BUNDLE: caFile };
}
