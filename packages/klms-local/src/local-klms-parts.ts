/**
 * What a local KLMS is made of, opened in this order by `startLocalKlms`: the data dir, the state
 * kept in it (the server secret, the tasks, the catalog with the seed applied and the dev
 * process), and the object store the tasks' `minio` block points at. Each is a plain value;
 * `LocalKlmsServer` (local-klms.ts) holds them and undoes them on stop.
 */
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createStorage, minioSettings, type Storage } from "klms-tool";
import { DEV_USERNAME, loadServerSecret, nameUuid, verifyToken } from "./auth.js";
import { Catalog } from "./catalog/catalog.js";
import { applySeed, checkSeedShape, readSeed, type Seed } from "./catalog/seed.js";
import { DurableWriter } from "./durable-writer.js";
import { type ObjectStore, startObjectStore } from "./object-store.js";
import type { MinioInput } from "./server.js";
import { TaskStore } from "./tasks.js";
import type { ObjectLister } from "./wildcards.js";

/** The lifetime the platform asks STS for (DurationSeconds, data-api mutils.py:33-111), seconds. */
export const MINIO_DURATION_SECONDS = 86000;

/** The bucket the embedded object store creates. */
export const DEFAULT_BUCKET = "klms-bucket";

/** Where the CA and the server certificate of `tls` live: `<dataDir>/tls`. */
export const tlsDirOf = (dataDir: string): string => join(dataDir, "tls");

/** The data dir of a local KLMS. */
export interface DataDir {
  path: string;
  /** True for a fresh temp dir (no `dataDir` option): {@link DataDir.release} removes it. */
  temporary: boolean;
  /** Removes the folder when it is a temporary one; keeps a folder the caller gave. */
  release(): void;
}

/** The folder asked for (made, mode 0700, when missing), or a fresh temp dir. */
export function openDataDir(dataDir: string | undefined): DataDir {
  const temporary = dataDir === undefined;
  const path = dataDir ?? mkdtempSync(join(tmpdir(), "klms-local-"));
  mkdirSync(path, { recursive: true, mode: 0o700 });
  return {
    path,
    temporary,
    release: () => {
      if (temporary) rmSync(path, { recursive: true, force: true });
    },
  };
}

/** What is kept in the data dir. */
export interface KlmsState {
  /** The server secret behind signatures, tokens and the store's keys. */
  secret: string;
  store: TaskStore;
  catalog: Catalog;
  /** The id of the running process `klms-local-dev` that tasks can belong to. */
  processId: string;
  /**
   * Writes the task, catalog and pod records in the background (crash-safely, coalesced per
   * file); `flush()` it before the data dir is read by anything else or removed.
   */
  writer: DurableWriter;
}

/**
 * The server secret, the tasks and the catalog kept in the data dir, the seed applied, the dev
 * process made. Throws on a record it cannot read or a seed entity the catalog refuses.
 */
export function openState(
  dataDir: string,
  options: { secret?: string; seed?: string | Seed },
  seed: Seed | undefined,
  warn: (line: string) => void,
): KlmsState {
  const secret = loadServerSecret(dataDir, options.secret);
  const writer = new DurableWriter({ warn });
  const store = new TaskStore(dataDir, warn, writer);
  const catalog = new Catalog(dataDir, { warn, writer, tasksOf: (pid) => taskSummaries(store, pid) });
  if (seed) applySeed(catalog, seed, typeof options.seed === "string" ? `seed file ${options.seed}` : "seed");
  return { secret, store, catalog, processId: devProcess(catalog), writer };
}

/** The seed as given: a file to read, or its content to check. Throws naming what is wrong. */
export function seedOf(seed: string | Seed | undefined): Seed | undefined {
  if (seed === undefined) return undefined;
  return typeof seed === "string" ? readSeed(seed) : checkSeedShape(seed);
}

/** An external S3 server's address and keys (`LocalKlmsOptions.objectStore`). */
export interface ExternalStore {
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** The object store side of a local KLMS. */
export interface ObjectSide {
  /** The embedded store, when one was started (it is stopped with the KLMS). */
  embedded?: ObjectStore;
  /** The store's URL (embedded or external); undefined without a store. */
  url?: string;
  /**
   * The `minio` block for a user: on the embedded store, credentials minted by its STS for that
   * user on every call, as the platform mints them for each task input (mutils.py:33-111); on an
   * external store, its keys; `{}` without a store.
   */
  minioFor(username: string): MinioInput;
  /** Lists the store for wildcard inputs (as `dev`); undefined without a store. */
  list?: ObjectLister;
}

/**
 * Starts the embedded store (`objectStore` undefined, over https with `tls`), or describes the
 * external one, or none (`false`). The embedded store reports its failures on stderr even when quiet.
 */
export async function openObjectStore(
  objectStore: false | ExternalStore | undefined,
  dataDir: string,
  secret: string,
  tls: boolean,
): Promise<ObjectSide> {
  if (objectStore === false) return { minioFor: () => ({}) };
  if (objectStore !== undefined) {
    const s = objectStore;
    const block = minioBlock(s.url, s.accessKeyId, s.secretAccessKey, s.sessionToken);
    const minioFor = () => ({ ...block });
    return { url: s.url, minioFor, list: objectLister(() => minioFor(), undefined) };
  }
  const embedded = await startObjectStore({
    directory: join(dataDir, "objects"),
    buckets: [DEFAULT_BUCKET],
    secret,
    verifyWebIdentity: (jwt) => verifyToken(jwt, secret),
    ...(tls ? { tlsDir: tlsDirOf(dataDir) } : {}),
    log: (line) => process.stderr.write(`klms-local: ${line}\n`),
  });
  const minioFor = (username: string) => {
    const c = embedded.mint(username, MINIO_DURATION_SECONDS);
    return minioBlock(embedded.url, c.accessKeyId, c.secretAccessKey, c.sessionToken);
  };
  return { embedded, url: embedded.url, minioFor, list: objectLister(() => minioFor(DEV_USERNAME), embedded.ca) };
}

/**
 * Lists the object store the tasks' `minio` block points at (wildcard inputs), with a block
 * fresh for each listing (minted credentials expire), its client closed at the end.
 */
function objectLister(block: () => MinioInput, ca: string | undefined): ObjectLister {
  return (prefix) =>
    (async function* () {
      const settings = minioSettings(block(), { prefer: "external", env: {} });
      const storage: Storage = createStorage(settings, ca === undefined ? {} : { ca });
      try {
        for await (const o of storage.list(prefix)) yield o.path;
      } finally {
        storage.close();
      }
    })();
}

/** A `minio` block as a task input carries it; `skey` only with a session token. */
function minioBlock(url: string, id: string, key: string, sessionToken: string | undefined): MinioInput {
  const block: MinioInput = { endpoint_url: url, internal_url: url, id, key };
  if (sessionToken !== undefined) block.skey = sessionToken;
  return block;
}

/** The process `klms-local-dev` (stable id), made when missing, so that tasks have one to belong to. */
function devProcess(catalog: Catalog): string {
  const id = nameUuid("process:klms-local-dev");
  if (!catalog.find(id)) {
    const fields = { name: "klms-local-dev", title: "Local KLMS dev process", owner_org: "stelar-klms" };
    catalog.create("process", fields, DEV_USERNAME, { id });
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
