/**
 * The store's data on disk, laid out so that no key can name a path: an object lives in
 * `<dir>/<bucket>/<sha256(key)>.json` (its metadata, key included) and a data file that the
 * metadata names. A new object is written to `<dir>/.tmp`, then its data file is renamed into
 * the bucket and its metadata file renamed over the old one: that rename is the commit, so a
 * reader sees the old object or the new one, never a part. Multipart uploads keep their parts in
 * `<dir>/.uploads/<upload id>/`. Leftovers of a crash (temporary files, unreferenced data files)
 * are removed at start.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, existsSync } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { loadRecords, writeFileDurably } from "../records.js";
import { s3Errors } from "./errors.js";

/** One object's metadata, as kept in its `.json` file. */
export interface ObjectMeta {
  key: string;
  size: number;
  /** Quoted, as S3 sends it. */
  etag: string;
  /** ISO 8601. */
  lastModified: string;
  contentType: string;
  /** `x-amz-meta-*` and the standard headers S3 stores (cache-control, content-disposition, …), by lower-case name. */
  headers: Record<string, string>;
  /** The data file's name in the bucket folder. */
  data: string;
  /** S3 object tags, by key (tagging.ts); absent or empty: none. */
  tags?: Record<string, string>;
}

/** A multipart upload in progress. */
export interface UploadInfo {
  id: string;
  bucket: string;
  key: string;
  initiated: string;
  contentType: string;
  headers: Record<string, string>;
}

/** One uploaded part. */
export interface PartInfo {
  number: number;
  etag: string;
  size: number;
  lastModified: string;
}

/** S3's smallest part but the last (MinIO and AWS: 5 MiB). */
export const MIN_PART_SIZE = 5 * 1024 * 1024;

/** The buckets and objects under one folder. */
export class DiskStore {
  readonly #dir: string;
  readonly #index = new Map<string, Map<string, ObjectMeta>>();
  /** Commits of one key run one after the other. */
  readonly #locks = new Map<string, Promise<unknown>>();

  private constructor(dir: string) {
    this.#dir = dir;
  }

  /**
   * Opens (creating) the store in `dir`, loads its index and removes crash leftovers; creates
   * `buckets`. An unreadable metadata file is set aside (records.ts) and reported through `warn`.
   */
  static async open(dir: string, buckets: string[] = [], warn: (line: string) => void = () => {}): Promise<DiskStore> {
    const store = new DiskStore(dir);
    await rm(store.tmpDir, { recursive: true, force: true });
    await mkdir(store.tmpDir, { recursive: true, mode: 0o700 });
    await mkdir(join(dir, ".uploads"), { recursive: true, mode: 0o700 });
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.isDirectory() && !entry.name.startsWith(".")) await store.#load(entry.name, warn);
    }
    for (const name of buckets) if (!store.#index.has(name)) await store.createBucket(name);
    return store;
  }

  /** Where request bodies are received before they are committed. */
  get tmpDir(): string {
    return join(this.#dir, ".tmp");
  }

  /** A fresh temporary file name. */
  tmpPath(): string {
    return join(this.tmpDir, randomBytes(12).toString("hex"));
  }

  async #load(bucket: string, warn: (line: string) => void): Promise<void> {
    const objects = new Map<string, ObjectMeta>();
    const folder = join(this.#dir, bucket);
    // The one rule for unreadable records (set aside, named in a warning) lives in records.ts.
    const warnStore = (line: string) => warn(`object store: ${line}`);
    for (const meta of loadRecords<ObjectMeta>(folder, checkMeta, warnStore)) objects.set(meta.key, meta);
    const names = await readdir(folder);
    const used = new Set([...objects.values()].map((m) => m.data));
    for (const name of names)
      if (name.endsWith(".data") && !used.has(name)) await rm(join(folder, name), { force: true });
    this.#index.set(bucket, objects);
  }

  /** Bucket names and creation times, sorted. */
  async listBuckets(): Promise<{ name: string; created: Date }[]> {
    const names = [...this.#index.keys()].sort();
    return Promise.all(names.map(async (name) => ({ name, created: (await stat(join(this.#dir, name))).birthtime })));
  }

  /** The bucket's objects; throws NoSuchBucket. */
  objects(bucket: string): Map<string, ObjectMeta> {
    const objects = this.#index.get(bucket);
    if (!objects) throw s3Errors.noSuchBucket();
    return objects;
  }

  async createBucket(bucket: string): Promise<void> {
    if (this.#index.has(bucket)) throw s3Errors.bucketAlreadyOwnedByYou();
    await mkdir(join(this.#dir, bucket), { mode: 0o700 });
    this.#index.set(bucket, new Map());
  }

  async deleteBucket(bucket: string): Promise<void> {
    if (this.objects(bucket).size > 0 || (await this.listUploads(bucket)).length > 0) throw s3Errors.bucketNotEmpty();
    await rm(join(this.#dir, bucket), { recursive: true, force: true });
    this.#index.delete(bucket);
  }

  /** The object's metadata; throws NoSuchBucket or NoSuchKey. */
  head(bucket: string, key: string): ObjectMeta {
    const meta = this.objects(bucket).get(key);
    if (!meta) throw s3Errors.noSuchKey();
    return meta;
  }

  /** The path of the object's data file. */
  dataPath(bucket: string, meta: ObjectMeta): string {
    return join(this.#dir, bucket, meta.data);
  }

  /**
   * Makes the temporary file `tmp` the object `key`, atomically (see the module's doc). `check`
   * runs under the key's lock against the object being replaced (a conditional write's
   * If-Match / If-None-Match, conditions.ts); when it throws nothing is committed.
   */
  commit(
    bucket: string,
    key: string,
    tmp: string,
    meta: Omit<ObjectMeta, "key" | "data" | "lastModified">,
    check?: (old: ObjectMeta | undefined) => void,
  ): Promise<ObjectMeta> {
    const objects = this.objects(bucket);
    return this.#locked(`${bucket}/${key}`, async () => {
      check?.(objects.get(key));
      const base = hashOf(key);
      const data = `${base}-${randomBytes(6).toString("hex")}.data`;
      const full: ObjectMeta = { ...meta, key, data, lastModified: new Date().toISOString() };
      const folder = join(this.#dir, bucket);
      // Crash-safe: the data is on disk before its metadata names it; writeFileDurably then
      // fsyncs the metadata, renames it over the old one and fsyncs the folder (both renames).
      await fsyncFile(tmp);
      await rename(tmp, join(folder, data));
      await this.#writeMeta(bucket, full);
      const old = objects.get(key);
      objects.set(key, full);
      if (old) await rm(join(folder, old.data), { force: true });
      return full;
    });
  }

  /** Writes the object's metadata file durably (records.ts). */
  async #writeMeta(bucket: string, meta: ObjectMeta): Promise<void> {
    writeFileDurably(join(this.#dir, bucket, `${hashOf(meta.key)}.json`), JSON.stringify(meta));
  }

  /** Replaces the object's tags (its data untouched); throws NoSuchKey. */
  setTags(bucket: string, key: string, tags: Record<string, string>): Promise<void> {
    const objects = this.objects(bucket);
    return this.#locked(`${bucket}/${key}`, async () => {
      const old = objects.get(key);
      if (!old) throw s3Errors.noSuchKey();
      const meta: ObjectMeta = { ...old, tags };
      await this.#writeMeta(bucket, meta);
      objects.set(key, meta);
    });
  }

  /** Removes the object; no error when it does not exist (S3's DeleteObject). */
  delete(bucket: string, key: string): Promise<void> {
    const objects = this.objects(bucket);
    return this.#locked(`${bucket}/${key}`, async () => {
      const old = objects.get(key);
      if (!old) return;
      const folder = join(this.#dir, bucket);
      await rm(join(folder, `${hashOf(key)}.json`), { force: true });
      objects.delete(key);
      await rm(join(folder, old.data), { force: true });
    });
  }

  async #locked<T>(name: string, work: () => Promise<T>): Promise<T> {
    const before = this.#locks.get(name) ?? Promise.resolve();
    const run = before.then(work, work);
    const settled = run.catch(() => undefined);
    this.#locks.set(name, settled);
    try {
      return await run;
    } finally {
      if (this.#locks.get(name) === settled) this.#locks.delete(name);
    }
  }

  // --- multipart uploads

  #uploadDir(id: string): string {
    if (!/^[0-9a-f]{32}$/.test(id)) throw s3Errors.noSuchUpload();
    return join(this.#dir, ".uploads", id);
  }

  async createUpload(
    bucket: string,
    key: string,
    contentType: string,
    headers: Record<string, string>,
  ): Promise<string> {
    this.objects(bucket);
    const id = randomBytes(16).toString("hex");
    const info: UploadInfo = { id, bucket, key, initiated: new Date().toISOString(), contentType, headers };
    await mkdir(this.#uploadDir(id), { mode: 0o700 });
    await writeFile(join(this.#uploadDir(id), "upload.json"), JSON.stringify(info), { mode: 0o600 });
    return id;
  }

  /** The upload, checked to belong to `bucket`/`key`; throws NoSuchUpload. */
  async upload(bucket: string, key: string, id: string): Promise<UploadInfo> {
    try {
      const info = JSON.parse(await readFile(join(this.#uploadDir(id), "upload.json"), "utf8")) as UploadInfo;
      if (info.bucket === bucket && info.key === key) return info;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT" && (error as Error).name !== "S3Error") throw error;
    }
    throw s3Errors.noSuchUpload();
  }

  async putPart(upload: UploadInfo, number: number, tmp: string, md5: string, size: number): Promise<PartInfo> {
    const dir = this.#uploadDir(upload.id);
    const part: PartInfo = { number, etag: `"${md5}"`, size, lastModified: new Date().toISOString() };
    if (!existsSync(dir)) throw s3Errors.noSuchUpload();
    await rename(tmp, join(dir, `${number}.part`));
    await writeFile(join(dir, `${number}.json`), JSON.stringify(part), { mode: 0o600 });
    return part;
  }

  async listParts(upload: UploadInfo): Promise<PartInfo[]> {
    const dir = this.#uploadDir(upload.id);
    const names = (await readdir(dir)).filter((n) => /^\d+\.json$/.test(n));
    const parts = await Promise.all(
      names.map(async (n) => JSON.parse(await readFile(join(dir, n), "utf8")) as PartInfo),
    );
    return parts.sort((a, b) => a.number - b.number);
  }

  /** Joins the listed parts into the object (S3's CompleteMultipartUpload rules) and removes the upload. */
  async completeUpload(
    upload: UploadInfo,
    wanted: { number: number; etag: string }[],
    check?: (old: ObjectMeta | undefined) => void,
  ): Promise<ObjectMeta> {
    const have = new Map((await this.listParts(upload)).map((p) => [p.number, p]));
    if (wanted.length === 0) throw s3Errors.malformedXml();
    // S3 checks the order of the whole list before any part (MinIO too): InvalidPartOrder first.
    if (wanted.some((w, i) => i > 0 && w.number <= (wanted[i - 1] as { number: number }).number)) {
      throw s3Errors.invalidPartOrder();
    }
    const md5s: Buffer[] = [];
    let size = 0;
    wanted.forEach((w, i) => {
      const part = have.get(w.number);
      if (!part || part.etag.replace(/"/g, "") !== w.etag.replace(/"/g, "")) throw s3Errors.invalidPart();
      if (i < wanted.length - 1 && part.size < MIN_PART_SIZE) throw s3Errors.entityTooSmall();
      md5s.push(Buffer.from(part.etag.replace(/"/g, ""), "hex"));
      size += part.size;
    });
    const tmp = this.tmpPath();
    const dir = this.#uploadDir(upload.id);
    try {
      const out = createWriteStream(tmp, { flags: "wx", mode: 0o600 });
      await pipeline(async function* () {
        for (const w of wanted) yield* createReadStream(join(dir, `${w.number}.part`));
      }, out);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
    const etag = `"${createHash("md5").update(Buffer.concat(md5s)).digest("hex")}-${wanted.length}"`;
    const fields = { size, etag, contentType: upload.contentType, headers: upload.headers };
    const meta = await this.commit(upload.bucket, upload.key, tmp, fields, check).catch(async (error: unknown) => {
      await rm(tmp, { force: true });
      throw error;
    });
    await rm(dir, { recursive: true, force: true });
    return meta;
  }

  async abortUpload(upload: UploadInfo): Promise<void> {
    await rm(this.#uploadDir(upload.id), { recursive: true, force: true });
  }

  /** The bucket's uploads in progress, by key then initiation time. */
  async listUploads(bucket: string): Promise<UploadInfo[]> {
    const root = join(this.#dir, ".uploads");
    const uploads: UploadInfo[] = [];
    for (const id of await readdir(root)) {
      try {
        const info = JSON.parse(await readFile(join(root, id, "upload.json"), "utf8")) as UploadInfo;
        if (info.bucket === bucket) uploads.push(info);
      } catch {
        // An upload being aborted or completed right now: not listed.
      }
    }
    return uploads.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.initiated < b.initiated ? -1 : 1));
  }

  /** Removes the folder's temporary area (at stop). */
  async close(): Promise<void> {
    await rm(this.tmpDir, { recursive: true, force: true });
  }
}

/** Why a metadata record cannot be used, or undefined (for records.ts's loadAll). */
function checkMeta(value: unknown): string | undefined {
  const m = value as Partial<ObjectMeta> | null;
  if (typeof m !== "object" || m === null) return "not a JSON object";
  if (typeof m.key !== "string" || typeof m.data !== "string" || typeof m.size !== "number") {
    return "no key, data file or size";
  }
  return undefined;
}

/** Flushes a file's bytes to disk. */
async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function hashOf(key: string): string {
  return createHash("sha256").update(key).digest("hex");
}
