import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join, relative, resolve, sep } from "node:path";
import { pipeline as pipelineCallback, type Readable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ListObjectsV2CommandOutput, S3Client } from "@aws-sdk/client-s3";
import type { MinioSettings } from "../contract/minio.js";
import { createS3Client, loadSdk, type S3ClientOptions, type Sdk } from "./client.js";
import type { Operation } from "./errors.js";
import { explain, explainLocal, StorageError } from "./errors.js";
import { uploadFileInParts } from "./parallel-upload.js";
import { formatPath, type ObjectPath, type PathLike, safeBaseName, safeRelativePath, toObjectPath } from "./paths.js";
import type { ProgressListener } from "./progress.js";
import { type RangeAnswer, rangedDownload } from "./ranged-download.js";
import { byteCounter, failOrRelease, linkedAbort, releaseWithOuter } from "./streams.js";
import { resolveTuning, type Tuning, type TuningOptions } from "./tuning.js";

/**
 * Options of {@link createStorage}: the S3 client's, the transfer tuning (see {@link TuningOptions};
 * all defaults: the README's configuration table; a bad value throws `BadOption`), and a
 * progress listener.
 */
export interface StorageOptions extends S3ClientOptions, TuningOptions {
  /** Receives progress events of every transfer (see `progressReporter`). */
  onProgress?: ProgressListener;
}

/** Per-call options of a transfer. */
export interface TransferOptions {
  /** Cancels the transfer; an upload is aborted on the server, a partial download removed. */
  signal?: AbortSignal;
  /** Receives this transfer's progress (besides the storage's own `onProgress`). */
  onProgress?: ProgressListener;
}

/** What the store knows of an object. */
export interface ObjectInfo {
  /** `s3://bucket/key` */
  path: string;
  /** The object's key in its bucket. */
  key: string;
  /** Its size in bytes. */
  size: number;
  /** When it was last written, as the store says. */
  lastModified?: Date;
  /** The store's entity tag (quoted, as S3 sends it). */
  etag?: string;
}

/** Data to put as an object. */
export type ObjectData = string | Uint8Array;

const MiB = 1024 * 1024;
/**
 * Buffer size of the file streams of a transfer (one PUT's reads, one GET's writes). Node's
 * defaults (64 KiB read, 16 KiB write) cost a thread-pool round trip per small chunk. Larger is
 * not better for reads: every chunk is a fresh allocation, and from 1 MiB up glibc hands them out
 * as new pages that the kernel faults in and zeroes on every read (measured on a 128 MiB PUT to
 * radosgw: 29 600 page faults and 0.69 s system time with 1 MiB, 21 800 and 0.49 s with 256 KiB).
 */
const FILE_BUFFER = 256 * 1024;

/**
 * The object store of a task: stream objects in and out with bounded memory, paths as
 * `s3://bucket/key` or `bucket/key`. Errors are {@link StorageError}s that say what to check.
 */
export class Storage {
  /** The endpoint in use. */
  readonly endpoint: string;
  /** Bytes read from the store so far. */
  bytesIn = 0;
  /** Bytes written to the store so far. */
  bytesOut = 0;
  readonly #options: StorageOptions;
  readonly #tuning: Tuning;
  readonly #settings: MinioSettings;
  #client: Promise<S3Client> | undefined;

  /** Throws a {@link StorageError} `BadOption` for a bad tuning option (see {@link TuningOptions}). */
  constructor(settings: MinioSettings, options: StorageOptions = {}) {
    this.endpoint = settings.endpoint;
    this.#settings = settings;
    this.#options = options;
    this.#tuning = resolveTuning(options);
  }

  /** The underlying AWS SDK client, for what this class does not cover (created on first use). */
  client(): Promise<S3Client> {
    this.#client ??= createS3Client(this.#settings, this.#options);
    return this.#client;
  }

  /** Sends a command built from the SDK's classes. */
  async #send<T>(build: (sdk: Sdk) => object, options: { abortSignal?: AbortSignal } = {}): Promise<T> {
    const [sdk, client] = await Promise.all([loadSdk(), this.client()]);
    // Each command class has its own input type; the client's union of them is not worth spelling out here.
    return (await client.send(build(sdk) as never, options)) as T;
  }

  /** The object's size and date, or undefined when it does not exist. */
  async stat(path: PathLike, options: { signal?: AbortSignal } = {}): Promise<ObjectInfo | undefined> {
    const p = toObjectPath(path, { requireKey: true });
    try {
      const head = await this.#send<{ ContentLength?: number; LastModified?: Date; ETag?: string }>(
        (sdk) => new sdk.HeadObjectCommand({ Bucket: p.bucket, Key: p.key }),
        { abortSignal: options.signal },
      );
      return {
        path: formatPath(p),
        key: p.key,
        size: head.ContentLength ?? 0,
        lastModified: head.LastModified,
        etag: head.ETag,
      };
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404) return undefined;
      throw this.#explain(error, "stat", p);
    }
  }

  /** True when the object exists. */
  async exists(path: PathLike, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    return (await this.stat(path, options)) !== undefined;
  }

  /**
   * Opens an object as a stream: nothing is held in memory beyond the stream's buffer. Destroy
   * the stream (or leave a `for await` loop) to stop early: its connection is released. A stream
   * left unread without being destroyed holds its connection until the idle timeout
   * (`idleTimeoutMs`) releases it. A stream that ends short of the announced size fails
   * (`IncompleteBody`).
   */
  async open(path: PathLike, options: TransferOptions = {}): Promise<Readable> {
    const p = toObjectPath(path, { requireKey: true });
    let body: Readable;
    let total: number | undefined;
    try {
      const res = await this.#send<{ Body?: unknown; ContentLength?: number }>(
        (sdk) => new sdk.GetObjectCommand({ Bucket: p.bucket, Key: p.key }),
        { abortSignal: options.signal },
      );
      body = res.Body as Readable;
      total = res.ContentLength;
    } catch (error) {
      throw this.#explain(error, "download", p);
    }
    const counter = this.#counter(
      options,
      "download",
      p,
      total,
      (done, expected) =>
        new StorageError(
          "IncompleteBody",
          `download ${formatPath(p)} at ${this.endpoint} failed: the object store's answer ${done > expected ? "went on past" : `ended after ${done} of`} the ${expected} bytes it announced; run the task again`,
        ),
    );
    body.on("error", (error) => failOrRelease(counter, this.#explain(error, "download", p)));
    releaseWithOuter(counter, body);
    // The signal also ends a stream being read (the SDK watches it only until the answer's headers).
    const signal = options.signal;
    if (signal) {
      const onAbort = () => counter.destroy(this.#explain(cancelled(), "download", p));
      signal.addEventListener("abort", onAbort, { once: true });
      counter.once("close", () => signal.removeEventListener("abort", onAbort));
    }
    return body.pipe(counter);
  }

  /** Reads a whole object into memory; refuses objects over `maxBytes` (default 64 MiB): stream those. */
  async getBuffer(path: PathLike, options: TransferOptions & { maxBytes?: number } = {}): Promise<Buffer> {
    const max = options.maxBytes ?? 64 * MiB;
    const p = toObjectPath(path, { requireKey: true });
    const chunks: Buffer[] = [];
    let size = 0;
    const tooLarge = () =>
      new StorageError(
        "TooLarge",
        `${formatPath(p)} is over the ${max}-byte limit for reading into memory: use open() or download()`,
      );
    // A GET, not a HEAD first: error answers to HEAD have no body, so no error code to explain.
    const stream = await this.open(p, options);
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > max) {
        stream.destroy();
        throw tooLarge();
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  /** Reads a whole object as UTF-8 text (same limit as {@link Storage.getBuffer}). */
  async getText(path: PathLike, options: TransferOptions & { maxBytes?: number } = {}): Promise<string> {
    return (await this.getBuffer(path, options)).toString("utf8");
  }

  /**
   * Downloads an object to a local file, streaming. The file appears only when complete: a
   * failed or cancelled download leaves nothing behind.
   */
  async download(path: PathLike, file: string, options: TransferOptions = {}): Promise<string> {
    const p = toObjectPath(path, { requireKey: true });
    const target = resolve(file);
    const partial = `${target}.part-${process.pid}-${Date.now()}`;
    // Errors of the local side (mkdir, the file, the rename) are told apart from the store's and
    // the network's: a full disk is this machine's problem, not something the store answered.
    let local: unknown;
    const onLocal = (error: unknown) => {
      local ??= error;
      throw error;
    };
    try {
      await mkdir(dirname(target), { recursive: true }).catch(onLocal);
      // The strategy: parallel ranges (ranged-download.ts), or one stream when downloadConcurrency is 1.
      if (this.#tuning.downloadConcurrency > 1) {
        await this.#rangedDownload(p, partial, options, (error) => {
          local ??= error;
          return error;
        });
      } else {
        const source = await this.open(p, options);
        const sink = createWriteStream(partial, { highWaterMark: FILE_BUFFER });
        sink.once("error", (error) => {
          // The pipeline also destroys the file with the source's (already explained) error.
          if (!(error instanceof StorageError)) local ??= error;
        });
        await pipeline(source, sink, options.signal ? { signal: options.signal } : {});
      }
      await rename(partial, target).catch(onLocal);
      return target;
    } catch (error) {
      await rm(partial, { force: true });
      if (options.signal?.aborted) throw this.#explain(cancelled(), "download", p);
      if (local !== undefined) throw explainLocal(local, { ...this.#op("download", p), file: target });
      throw this.#explain(error, "download", p);
    }
  }

  /**
   * Downloads an object into a folder under its own base name (`s3://b/x/data.csv` →
   * `<dir>/data.csv`). A key whose last segment is unsafe (`..`, empty) is refused: no key can
   * write outside the folder.
   */
  async downloadInto(path: PathLike, dir: string, options: TransferOptions = {}): Promise<string> {
    const p = toObjectPath(path, { requireKey: true });
    const name = safeBaseName(p.key);
    if (!name) {
      throw new StorageError(
        "BadPath",
        `${formatPath(p)} has no usable file name to download it under (its last segment is empty, "." or ".."): ` +
          "name an object like s3://bucket/folder/file.csv, or use downloadFolder() for a prefix",
      );
    }
    return this.download(p, join(dir, name), options);
  }

  /**
   * Downloads every object under a prefix into a folder, keeping the relative paths; returns the
   * files written. The folder is created even when the prefix holds nothing. Zero-byte folder
   * markers (keys ending in "/", as consoles create for an empty folder) become folders; a key
   * ending in "/" that holds data, or any key that would land outside the folder, is refused.
   */
  async downloadFolder(prefix: PathLike, dir: string, options: TransferOptions = {}): Promise<string[]> {
    const p = toObjectPath(prefix);
    const base = p.key === "" || p.key.endsWith("/") ? p.key : `${p.key}/`;
    const root = resolve(dir);
    const local = (error: unknown, file: string) => {
      throw explainLocal(error, { ...this.#op("download", p), file });
    };
    await mkdir(root, { recursive: true }).catch((e) => local(e, root));
    const files: string[] = [];
    for await (const object of this.list({ bucket: p.bucket, key: base }, { signal: options.signal })) {
      const marker = object.key.endsWith("/");
      if (marker && object.size > 0) {
        throw new StorageError(
          "BadPath",
          `s3://${p.bucket}/${object.key} ends with "/" like a folder but holds ${object.size} bytes: it cannot be written as a file; rename the object`,
        );
      }
      const key = marker ? object.key.slice(0, -1) : object.key;
      if (marker && `${key}/` === base) continue; // the marker of the prefix itself: the root
      const rel = safeRelativePath(key, base);
      const target = rel === undefined ? undefined : resolve(root, rel);
      if (!target?.startsWith(root + sep)) {
        throw new StorageError(
          "BadPath",
          `s3://${p.bucket}/${object.key} cannot be written under ${dir}: its key is not a safe relative path`,
        );
      }
      if (marker) await mkdir(target, { recursive: true }).catch((e) => local(e, target));
      else files.push(await this.download({ bucket: p.bucket, key: object.key }, target, options));
    }
    return files;
  }

  /** Puts data (a string or bytes) as an object. */
  async put(
    path: PathLike,
    data: ObjectData,
    options: TransferOptions & { contentType?: string } = {},
  ): Promise<string> {
    const p = toObjectPath(path, { requireKey: true });
    const body = typeof data === "string" ? Buffer.from(data) : data;
    try {
      await this.#send(
        (sdk) =>
          new sdk.PutObjectCommand({ Bucket: p.bucket, Key: p.key, Body: body, ContentType: options.contentType }),
        {
          abortSignal: options.signal,
        },
      );
    } catch (error) {
      throw this.#explain(error, "upload", p);
    }
    this.bytesOut += body.byteLength;
    this.#progress(options, "upload", formatPath(p), body.byteLength)(body.byteLength);
    return formatPath(p);
  }

  /**
   * Uploads a local file or a stream (of unknown length) as an object: a file under
   * `singlePutMaxBytes` in one streamed PUT, a larger file or a stream in parts sent
   * concurrently, with memory bounded by partSize × uploadConcurrency. On failure or
   * cancellation the multipart upload is aborted on the server, so no partial object remains.
   */
  async upload(
    path: PathLike,
    source: string | Readable,
    options: TransferOptions & { contentType?: string } = {},
  ): Promise<string> {
    const p = toObjectPath(path, { requireKey: true });
    if (typeof source === "string") {
      const total = await stat(source).then(
        (s) => s.size,
        (error) => {
          throw explainLocal(error, { ...this.#op("upload", p), file: source, source: true });
        },
      );
      // An empty file too: a multipart upload needs at least one part, and one of zero bytes is refused by some stores.
      if (total < this.#tuning.singlePutMaxBytes || total === 0) return this.#putFile(p, source, total, options);
      // A larger file: its parts read from the file and sent concurrently (parallel-upload.ts).
      return this.#uploadParts(p, source, total, options);
    }
    // A stream: lib-storage's multipart upload, which buffers parts as the stream gives them.
    const checked = byteCounter({
      expected: undefined,
      mismatch: (done, expected) => sourceChanged(this.#op("upload", p), "", done, expected),
    });
    const feed = this.#feed(p, source, checked, undefined, options.signal);
    if (options.signal?.aborted) throw feed.fail(cancelled());
    const [{ Upload }, client] = await Promise.all([loadSdk(), this.client()]);
    const upload = new Upload({
      client,
      params: { Bucket: p.bucket, Key: p.key, Body: feed.data, ContentType: options.contentType },
      partSize: this.#tuning.partSize,
      queueSize: this.#tuning.uploadConcurrency,
      leavePartsOnError: false,
      abortController: feed.controller,
    });
    const report = this.#progress(options, "upload", formatPath(p), undefined);
    let sent = 0;
    upload.on("httpUploadProgress", (e) => {
      const loaded = e.loaded ?? 0;
      if (loaded > sent) {
        this.bytesOut += loaded - sent;
        sent = loaded;
      }
      report(sent);
    });
    try {
      await upload.done();
      feed.dispose();
      return formatPath(p);
    } catch (error) {
      const failed = feed.fail(error);
      await abortMultipart(upload, client, p);
      throw failed;
    }
  }

  /**
   * Pipes an upload's source through `through` (a byte counter), which the SDK then reads. The
   * pipe is set up before anything is awaited, so a source that fails at once (the read stream
   * of a missing file fails on the next tick) has a listener: its error becomes the reported
   * cause and aborts the request, instead of an uncaught exception and a request that waits
   * for data that never comes. `fail(error)` ends the transfer and returns the error that names
   * the real cause: the cancellation, else the source's failure, else the store's `error`.
   */
  #feed(p: ObjectPath, source: Readable, through: Transform, file: string | undefined, signal?: AbortSignal) {
    const { controller, dispose } = linkedAbort(signal);
    let failure: unknown;
    pipelineCallback(source, through, (error: NodeJS.ErrnoException | null) => {
      if (!error) return;
      failure ??= error;
      controller.abort();
    });
    const fail = (error: unknown): StorageError => {
      const cause = failure;
      through.destroy();
      dispose();
      if (signal?.aborted) return this.#explain(cancelled(), "upload", p);
      if (cause !== undefined) return explainLocal(cause, { ...this.#op("upload", p), file, source: true });
      return this.#explain(error, "upload", p);
    };
    return { data: through as Readable, controller, dispose, fail };
  }

  /**
   * A file of known size in one streamed PUT: no part is buffered, the data crosses once, and the
   * object appears whole or not at all. (The servers assemble multipart uploads again at the end.)
   */
  async #putFile(
    p: ObjectPath,
    file: string,
    size: number,
    options: TransferOptions & { contentType?: string },
  ): Promise<string> {
    // The request announces the file's size (Content-Length), so the bytes read must match it:
    // a file that shrinks would leave the request waiting for bytes that never come, one that
    // grows would send more than announced. The counter fails the stream; the request is aborted.
    const counted = this.#counter(options, "upload", p, size, (done, expected) =>
      sourceChanged(this.#op("upload", p), file, done, expected),
    );
    const feed = this.#feed(p, createReadStream(file, { highWaterMark: FILE_BUFFER }), counted, file, options.signal);
    try {
      await this.#send(
        (sdk) =>
          new sdk.PutObjectCommand({
            Bucket: p.bucket,
            Key: p.key,
            Body: feed.data,
            ContentLength: size,
            ContentType: options.contentType,
          }),
        { abortSignal: feed.controller.signal },
      );
    } catch (error) {
      throw feed.fail(error);
    }
    feed.dispose();
    return formatPath(p);
  }

  /** Downloads an object into `file` as parallel ranges (see ranged-download.ts). */
  async #rangedDownload(p: ObjectPath, file: string, options: TransferOptions, local: (error: unknown) => unknown) {
    let report: ((done: number) => void) | undefined;
    let done = 0;
    await rangedDownload({
      get: (range, etag, signal) =>
        this.#send<RangeAnswer>(
          (sdk) => new sdk.GetObjectCommand({ Bucket: p.bucket, Key: p.key, Range: range, IfMatch: etag }),
          { abortSignal: signal },
        ),
      file,
      partSize: this.#tuning.downloadRangeSize,
      concurrency: this.#tuning.downloadConcurrency,
      minBytes: this.#tuning.rangedGetMinBytes,
      ...(options.signal ? { signal: options.signal } : {}),
      onTotal: (total) => {
        report = this.#progress(options, "download", formatPath(p), total);
      },
      onBytes: (bytes) => {
        done += bytes;
        this.bytesIn += bytes;
        report?.(done);
      },
      incomplete: (got, expected) =>
        new StorageError(
          "IncompleteBody",
          `download ${formatPath(p)} at ${this.endpoint} failed: a range of the object store's answer ${got > expected ? "went on past" : `ended after ${got} of`} the ${expected} bytes it announced; run the task again`,
        ),
      local,
    });
  }

  /** Uploads a file in parts sent concurrently (see parallel-upload.ts); the store's errors explained. */
  async #uploadParts(
    p: ObjectPath,
    file: string,
    size: number,
    options: TransferOptions & { contentType?: string },
  ): Promise<string> {
    const [sdk, client] = await Promise.all([loadSdk(), this.client()]);
    const report = this.#progress(options, "upload", formatPath(p), size);
    const Bucket = p.bucket;
    const Key = p.key;
    let sent = 0;
    let local: unknown;
    try {
      await uploadFileInParts({
        calls: {
          create: (abortSignal) =>
            client.send(new sdk.CreateMultipartUploadCommand({ Bucket, Key, ContentType: options.contentType }), {
              abortSignal,
            }),
          part: (UploadId, PartNumber, Body, abortSignal) =>
            client.send(new sdk.UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body }), { abortSignal }),
          complete: (UploadId, Parts, abortSignal) =>
            client.send(new sdk.CompleteMultipartUploadCommand({ Bucket, Key, UploadId, MultipartUpload: { Parts } }), {
              abortSignal,
            }),
          abort: (UploadId) => client.send(new sdk.AbortMultipartUploadCommand({ Bucket, Key, UploadId })),
        },
        file,
        size,
        partSize: this.#tuning.partSize,
        concurrency: this.#tuning.uploadConcurrency,
        ...(options.signal ? { signal: options.signal } : {}),
        onBytes: (bytes) => {
          sent += bytes;
          this.bytesOut += bytes;
          report(sent);
        },
        changed: (done, expected) => sourceChanged(this.#op("upload", p), file, done, expected),
        local: (error) => {
          local ??= error;
          return error;
        },
      });
    } catch (error) {
      if (options.signal?.aborted) throw this.#explain(cancelled(), "upload", p);
      if (error instanceof StorageError) throw error;
      if (local !== undefined) throw explainLocal(local, { ...this.#op("upload", p), file, source: true });
      throw this.#explain(error, "upload", p);
    }
    return formatPath(p);
  }

  /** Uploads every file of a local folder under a prefix; returns the paths written. */
  async uploadFolder(dir: string, prefix: PathLike, options: TransferOptions = {}): Promise<string[]> {
    const p = toObjectPath(prefix);
    const base = p.key === "" || p.key.endsWith("/") ? p.key : `${p.key}/`;
    const root = resolve(dir);
    const written: string[] = [];
    for (const file of await listFiles(root)) {
      const key = base + relative(root, file).split(sep).join("/");
      written.push(await this.upload({ bucket: p.bucket, key }, file, options));
    }
    return written;
  }

  /**
   * Lists the objects under a prefix, page after page. Each page is checked: a page marked
   * truncated without a continuation token, a token given twice, or a key outside the prefix
   * fails with `BadListing` instead of returning a silently short or wrong listing.
   */
  async *list(prefix: PathLike, options: { signal?: AbortSignal; pageSize?: number } = {}): AsyncGenerator<ObjectInfo> {
    const p = toObjectPath(prefix);
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      let page: ListObjectsV2CommandOutput;
      try {
        page = await this.#send<ListObjectsV2CommandOutput>(
          (sdk) =>
            new sdk.ListObjectsV2Command({
              Bucket: p.bucket,
              Prefix: p.key || undefined,
              ContinuationToken: token,
              MaxKeys: options.pageSize,
            }),
          { abortSignal: options.signal },
        );
      } catch (error) {
        throw this.#explain(error, "list", p);
      }
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        if (!o.Key.startsWith(p.key))
          this.#badListing(p, `it returned the key ${JSON.stringify(o.Key)}, outside the prefix`);
        yield {
          path: `s3://${p.bucket}/${o.Key}`,
          key: o.Key,
          size: o.Size ?? 0,
          lastModified: o.LastModified,
          etag: o.ETag,
        };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      if (page.IsTruncated && !token) {
        this.#badListing(p, `page ${seen.size + 1} is marked truncated but has no continuation token to read the rest`);
      }
      if (token !== undefined && seen.has(token)) this.#badListing(p, "it gave the same continuation token twice");
      if (token !== undefined) seen.add(token);
    } while (token);
  }

  #badListing(p: ObjectPath, what: string): never {
    throw new StorageError(
      "BadListing",
      `list ${formatPath(p)} at ${this.endpoint} failed: the object store's listing is inconsistent (${what}); ` +
        "the listing would be incomplete, so it is refused: check the object store (its version, a proxy in front of it)",
    );
  }

  /** Deletes an object (no error when it does not exist). */
  async delete(path: PathLike, options: { signal?: AbortSignal } = {}): Promise<void> {
    const p = toObjectPath(path, { requireKey: true });
    try {
      await this.#send((sdk) => new sdk.DeleteObjectCommand({ Bucket: p.bucket, Key: p.key }), {
        abortSignal: options.signal,
      });
    } catch (error) {
      throw this.#explain(error, "delete", p);
    }
  }

  /** Closes the client's connections. */
  close(): void {
    // A client that could not be created (a bad option) has nothing to close.
    void this.#client?.then(
      (c) => c.destroy(),
      () => {},
    );
  }

  #explain(error: unknown, action: string, p: ObjectPath): StorageError {
    return explain(error, this.#op(action, p));
  }

  #op(action: string, p: ObjectPath): Operation {
    return { action, bucket: p.bucket, key: p.key || undefined, endpoint: this.endpoint };
  }

  /**
   * A pass-through that counts the bytes of one transfer, reports its progress, and fails with
   * `mismatch` when the count cannot match the announced `total`.
   */
  #counter(
    options: TransferOptions,
    direction: "upload" | "download",
    p: ObjectPath,
    total: number | undefined,
    mismatch: (done: number, expected: number) => Error,
  ): Transform {
    const report = this.#progress(options, direction, formatPath(p), total);
    return byteCounter({
      expected: total,
      mismatch,
      onBytes: (done, chunk) => {
        if (direction === "upload") this.bytesOut += chunk;
        else this.bytesIn += chunk;
        report(done);
      },
    });
  }

  #progress(options: TransferOptions, direction: "upload" | "download", path: string, total: number | undefined) {
    const listeners = [this.#options.onProgress, options.onProgress].filter((l): l is ProgressListener => Boolean(l));
    return (done: number) => {
      for (const l of listeners) l({ direction, path, done, ...(total !== undefined ? { total } : {}) });
    };
  }
}

/**
 * Makes sure a failed or cancelled upload leaves no multipart upload on the server. lib-storage
 * aborts it itself, but only once its part uploads have settled, after `done()` has already
 * rejected on cancellation; so the upload is aborted here too (a second abort is harmless).
 */
async function abortMultipart(upload: object, client: S3Client, p: ObjectPath): Promise<void> {
  // Fields of lib-storage's Upload (public in JavaScript, not in its types).
  const internal = upload as { uploadId?: string; createMultiPartPromise?: Promise<{ UploadId?: string }> };
  const id = internal.uploadId ?? (await internal.createMultiPartPromise?.catch(() => undefined))?.UploadId;
  if (!id) return;
  const { AbortMultipartUploadCommand } = await loadSdk();
  await client.send(new AbortMultipartUploadCommand({ Bucket: p.bucket, Key: p.key, UploadId: id })).catch(() => {});
}

/** The error of a file that changed size while it was uploaded (the request announced its old size). */
function sourceChanged(op: Operation, file: string, done: number, expected: number): StorageError {
  const how = done > expected ? `grew: more than ${expected} bytes` : `shrank: ${done} of ${expected} bytes`;
  return new StorageError(
    "SourceChanged",
    `upload s3://${op.bucket}/${op.key ?? ""} failed: the local file ${file ? `${file} ` : ""}changed while it was being uploaded (it ${how} were read); ` +
      "nothing was stored: upload a file no other process is writing (wait until it is complete, or upload a copy)",
  );
}

/** The error a cancelled transfer is explained from (its name selects the "cancelled" message). */
function cancelled(): Error {
  return Object.assign(new Error("aborted"), { name: "AbortError" });
}

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  const files: string[] = [];
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await listFiles(full)));
    else if (e.isFile()) files.push(full);
  }
  return files;
}

/** Creates the {@link Storage} of a task from its MinIO settings (see `minioSettings`). */
export function createStorage(settings: MinioSettings, options: StorageOptions = {}): Storage {
  return new Storage(settings, options);
}
