/**
 * The local KLMS as one object: the task API server, the object store its task inputs point at,
 * the task store under a data dir, and a runner that plays the cluster's Job.
 */
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { issueDevToken, loadServerSecret, signatureOf, verifyToken } from "./auth.js";
import { ApiError } from "./envelope.js";
import { type Fault, FaultList } from "./faults.js";
import { type ObjectStore, startObjectStore } from "./object-store.js";
import { type RunOptions, type RunResult, type StartedRun, startRun } from "./runner.js";
import { createApp, listen, type RunningServer } from "./server.js";
import { type ParsedSpec, parseTaskSpec, type TaskSpec } from "./task-spec.js";
import { type MinioInput, type StoredTask, type TaskRecord, TaskStore, taskRecordOf } from "./tasks.js";

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
  /** When set, creating a task with a `tool` or `image` runs this command for it, like the cluster's Job. */
  runner?: { command: string[]; cwd?: string; env?: Record<string, string> };
  /** No request log on stderr. */
  quiet?: boolean;
  /**
   * Serve the embedded object store over https, with a CA made at the first start and kept in
   * `<dataDir>/tls/ca.pem` (clients must trust it: see {@link LocalKlms.caFile}). Default false.
   */
  tls?: boolean;
}

/** A running local KLMS. */
export interface LocalKlms {
  /** `http://127.0.0.1:PORT`, no trailing slash. */
  apiUrl: string;
  /** The object store URL, when there is one. */
  s3Url?: string;
  /** `Bearer <jwt>`: a valid dev token. */
  token: string;
  dataDir: string;
  /**
   * A `minio` block as tasks receive it: the object store's endpoint and, for the embedded store,
   * credentials minted by its STS for the dev user at start (each task input gets freshly minted
   * ones, as on the platform). Empty without a store.
   */
  minio: MinioInput;
  /** With `tls`: the CA certificate (PEM) of the embedded store, and its file. */
  ca?: string;
  caFile?: string;
  /** Settles with the error if the embedded store stops serving on its own (never otherwise). */
  storeFailed?: Promise<Error>;
  /** Creates a task with the same rules as `POST /api/v2/task`. */
  createTask(spec: TaskSpec): Promise<{ id: string; job_id: string; signature: string }>;
  /** The same record as `GET /api/v2/task/<id>`. */
  getTask(id: string): Promise<TaskRecord>;
  /** Test-only fault injection, also at `POST`/`DELETE /__klms/faults`. */
  faults: { add(fault: Fault): void; clear(): void };
  /** Starts the task's command with the Job's arguments; its output becomes the task's logs. */
  startTask(id: string, options?: RunOptions): { child: ChildProcess; done: Promise<RunResult> };
  /** {@link LocalKlms.startTask} and wait for the end. */
  runTask(id: string, options?: RunOptions): Promise<RunResult>;
  /** Stops runs, the server and the object store; removes the data dir if it was a temp one. */
  stop(): Promise<void>;
}

/** The lifetime the platform asks STS for (DurationSeconds, data-api mutils.py:33-111), seconds. */
export const MINIO_DURATION_SECONDS = 86000;

/** The bucket the embedded object store creates. */
export const DEFAULT_BUCKET = "klms-bucket";

/** Starts a local KLMS; resolves once the API and the object store listen. */
export async function startLocalKlms(options: LocalKlmsOptions = {}): Promise<LocalKlms> {
  const temporary = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "klms-local-"));
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = loadServerSecret(dataDir, options.secret);
  const store = new TaskStore(dataDir);
  const faults = new FaultList();
  const runs = new Map<string, StartedRun>();
  const log = options.quiet ? undefined : (line: string) => process.stderr.write(`klms-local: ${line}\n`);
  const logFile = (id: string) => join(dataDir, "logs", `${id}.log`);

  let objectStore: ObjectStore | undefined;
  let minio: () => MinioInput = () => ({});
  let server: RunningServer | undefined;
  try {
    if (options.objectStore === undefined) {
      const started = await startObjectStore({
        directory: join(dataDir, "objects"),
        buckets: [DEFAULT_BUCKET],
        secret,
        verifyWebIdentity: (jwt) => verifyToken(jwt, secret),
        ...(options.tls ? { tlsDir: join(dataDir, "tls") } : {}),
        log: (line) => process.stderr.write(`klms-local: ${line}\n`),
      });
      objectStore = started;
      // As the platform: credentials minted by STS for the task's user on every input (mutils.py:33-111).
      minio = () => {
        const c = started.mint("dev", MINIO_DURATION_SECONDS);
        return minioBlock(started.url, c.accessKeyId, c.secretAccessKey, c.sessionToken);
      };
    } else if (options.objectStore !== false) {
      const s = options.objectStore;
      const block = minioBlock(s.url, s.accessKeyId, s.secretAccessKey, s.sessionToken);
      minio = () => ({ ...block });
    }

    const startTask = (id: string, run: RunOptions = {}): StartedRun => {
      const task = store.get(id);
      const command = run.command ?? options.runner?.command;
      if (!command || command.length === 0) {
        throw new Error("no command to run: pass options.command or start the local KLMS with runner.command");
      }
      const token = klms.token;
      const signature = signatureOf(task.id, secret);
      // The cluster's API URL ends with a slash (http://stelarapi/); tools must cope with it.
      const jobArgs = run.args === 3 ? [token, klms.apiUrl, task.id] : [token, `${klms.apiUrl}/`, task.id, signature];
      const started = startRun(command, jobArgs, {
        cwd: run.cwd ?? options.runner?.cwd,
        env: { ...trustEnv(objectStore?.caFile), ...options.runner?.env, ...run.env },
        timeoutMs: run.timeoutMs,
        logFile: logFile(task.id),
      });
      runs.set(task.id, started);
      void started.done.then(() => {
        if (runs.get(task.id) === started) runs.delete(task.id);
      });
      return started;
    };

    // Like the cluster: a task with a tool or an image gets a Job; one with neither is external.
    const launch = (task: StoredTask) => {
      if (!options.runner || (task.tool === undefined && task.image === undefined)) return;
      const { done } = startTask(task.id);
      void done.then((r) => log?.(`task ${task.id} run ended (exit ${r.exitCode ?? r.signal})`));
    };

    server = await listen(
      createApp({
        store,
        secret,
        faults,
        minio,
        logsOf: (task: StoredTask) => (existsSync(logFile(task.id)) ? readFileSync(logFile(task.id), "utf8") : ""),
        onCreated: launch,
        onTerminated: (task) => {
          runs.get(task.id)?.child.kill("SIGTERM");
        },
        log,
      }),
      faults,
      options.port ?? 0,
      log,
    );
    const running = server;
    const store_ = objectStore;
    let stopping: Promise<void> | undefined;

    const klms: LocalKlms = {
      apiUrl: `http://127.0.0.1:${running.port}`,
      ...(objectStore ? { s3Url: objectStore.url } : options.objectStore ? { s3Url: options.objectStore.url } : {}),
      token: `Bearer ${issueDevToken(secret)}`,
      dataDir,
      minio: minio(),
      ...(objectStore?.ca ? { ca: objectStore.ca, caFile: objectStore.caFile } : {}),
      ...(objectStore ? { storeFailed: objectStore.failed } : {}),
      async createTask(spec) {
        let parsed: ParsedSpec;
        try {
          parsed = parseTaskSpec(spec);
        } catch (e) {
          if (!(e instanceof ApiError)) throw e;
          throw new Error(`invalid task spec (the API would answer 422): ${JSON.stringify(e.detail.json)}`);
        }
        const task = store.create(parsed);
        launch(task);
        return { id: task.id, job_id: task.job_id, signature: signatureOf(task.id, secret) };
      },
      async getTask(id) {
        return taskRecordOf(store.get(id));
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
      stop() {
        stopping ??= (async () => {
          for (const { child } of runs.values()) child.kill("SIGKILL");
          await Promise.all([...runs.values()].map((r) => r.done));
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
