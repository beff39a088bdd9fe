/**
 * Crash-safe file writes that do not block the event loop. The local KLMS saves a task record
 * and its pods' `pods.json` on every state change of every task; done synchronously (write,
 * fsync, rename, folder fsync) that stalled every request while the disk flushed: with 50
 * concurrent tasks the event loop spent about a quarter of the batch in `fsyncSync` (see
 * packages/klms-local/README.md, "State on disk"). Here each write runs on libuv's thread pool,
 * and writes are coalesced:
 * - one write in flight per file; a write asked for meanwhile waits, and a later one replaces
 *   it (only the last content is written: every record is written whole, so nothing is lost);
 * - one folder fsync in flight per folder; the renames done meanwhile share the next one;
 * - at most {@link DurableWriterOptions.concurrency} files written or folders synced at once, so
 *   the thread pool (4 threads by default) keeps room for the object store's file I/O and crypto.
 * Each write still leaves the old or the new content after a crash: a temp file beside the
 * target (mode 0600), fsync, rename over the target, fsync of the folder.
 */
import { randomUUID } from "node:crypto";
import { mkdir, open, rename, rm, unlink } from "node:fs/promises";
import { dirname } from "node:path";

/** Settings of {@link DurableWriter}. */
export interface DurableWriterOptions {
  /** Where a failed write is reported (the file and the reason); default stderr. */
  warn?: (message: string) => void;
  /** Files written or folders synced at the same time, at most; default 2. */
  concurrency?: number;
}

/**
 * A job run on request: at most one run at a time; a request during a run queues one more run,
 * and the requests made meanwhile join that queued run. `onIdle` is called when a run ends with
 * none queued.
 */
class Coalesced {
  #running: Promise<void> | undefined;
  #queued: Promise<void> | undefined;
  readonly #job: () => Promise<void>;
  readonly #onIdle: () => void;

  constructor(job: () => Promise<void>, onIdle: () => void) {
    this.#job = job;
    this.#onIdle = onIdle;
  }

  /** A run that starts after this call (the queued one if there is one); settles with it. */
  request(): Promise<void> {
    if (this.#queued) return this.#queued;
    if (!this.#running) return this.#start();
    const next = () => {
      this.#queued = undefined;
      return this.#start();
    };
    this.#queued = this.#running.then(next, next);
    return this.#queued;
  }

  /** Settles when the run in progress and the queued one, if any, have ended (never rejects). */
  idle(): Promise<void> {
    return (this.#queued ?? this.#running ?? Promise.resolve()).then(
      () => undefined,
      () => undefined,
    );
  }

  #start(): Promise<void> {
    const run = this.#job();
    this.#running = run;
    // Registered before any queued run's callback: `#queued` is still set when this runs.
    const ended = () => {
      this.#running = undefined;
      if (!this.#queued) this.#onIdle();
    };
    run.then(ended, ended);
    return run;
  }
}

/** What is to be on disk for one file: its latest content, or `null` for "removed". */
interface FileState {
  latest: string | null;
  job: Coalesced;
}

/**
 * Writes files crash-safely off the event loop (see the module comment). Reading the file back
 * right after {@link DurableWriter.write} may still give the old content: readers that need the
 * new one keep it in memory (the task and catalog stores do) or wait for the returned promise or
 * {@link DurableWriter.flush}.
 */
export class DurableWriter {
  readonly #files = new Map<string, FileState>();
  readonly #folders = new Map<string, Coalesced>();
  readonly #warn: (message: string) => void;
  readonly #slots: Slots;
  /** Writes that failed since the last {@link DurableWriter.flush}: file → reason. */
  readonly #failed = new Map<string, string>();

  constructor(options: DurableWriterOptions = {}) {
    this.#warn = options.warn ?? ((m) => process.stderr.write(`klms-local: warning: ${m}\n`));
    this.#slots = new Slots(options.concurrency ?? 2);
  }

  /**
   * Replaces `file` with `text` (mode 0600; the folder is made, mode 0700, when missing). Resolves
   * once `text`, or a later content of the same file, is on disk; rejects when that write failed
   * (the failure is also reported through `warn` and by {@link DurableWriter.flush}, so the promise
   * may be left unawaited).
   */
  write(file: string, text: string): Promise<void> {
    return this.#schedule(file, text);
  }

  /** Removes `file` (nothing when it is not there), after the writes asked for before; settles like {@link DurableWriter.write}. */
  remove(file: string): Promise<void> {
    return this.#schedule(file, null);
  }

  /**
   * Waits until every write and removal asked for so far is on disk. Rejects, naming the files,
   * when any of them failed since the last flush (later writes of a file that failed heal it).
   */
  async flush(): Promise<void> {
    // A file that settles may have been asked for again meanwhile: wait until none is left.
    while (this.#files.size > 0) await Promise.all([...this.#files.values()].map((s) => s.job.idle()));
    const failed = [...this.#failed];
    this.#failed.clear();
    if (failed.length > 0) {
      const list = failed.map(([file, reason]) => `${file} (${reason})`).join("; ");
      throw new Error(`${failed.length} file(s) of the local KLMS could not be written to disk: ${list}`);
    }
  }

  #schedule(file: string, content: string | null): Promise<void> {
    let state = this.#files.get(file);
    if (!state) {
      const fresh: FileState = {
        latest: content,
        // Nothing more asked for: forget the file (a server writes thousands over its life).
        job: new Coalesced(
          () => this.#commit(file, fresh),
          () => this.#files.delete(file),
        ),
      };
      state = fresh;
      this.#files.set(file, state);
    }
    state.latest = content;
    const done = state.job.request();
    // Handled here: a caller may leave the promise unawaited; failures go to warn and flush.
    done.catch(() => undefined);
    return done;
  }

  /** One run for `file`: writes (or removes) its latest content, then syncs its folder. */
  async #commit(file: string, state: FileState): Promise<void> {
    const content = state.latest;
    try {
      await this.#slots.use(() => (content === null ? removeFile(file) : replaceFile(file, content)));
      await this.#syncFolder(dirname(file));
      this.#failed.delete(file);
    } catch (error) {
      const reason = (error as Error).message;
      this.#failed.set(file, reason);
      this.#warn(`could not write ${file} to disk: ${reason}`);
      throw error;
    }
  }

  /** A folder fsync that starts after this call; the renames done while one runs share the next. */
  #syncFolder(folder: string): Promise<void> {
    let job = this.#folders.get(folder);
    if (!job) {
      job = new Coalesced(
        () => this.#slots.use(() => syncFolder(folder)),
        () => this.#folders.delete(folder),
      );
      this.#folders.set(folder, job);
    }
    return job.request();
  }
}

/** A counting semaphore: at most `size` jobs at once, the others wait in order. */
class Slots {
  #free: number;
  readonly #waiting: Array<() => void> = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new Error(`concurrency must be a whole number >= 1, not ${size}`);
    this.#free = size;
  }

  async use<T>(job: () => Promise<T>): Promise<T> {
    if (this.#free > 0) this.#free--;
    else await new Promise<void>((resolve) => this.#waiting.push(resolve));
    try {
      return await job();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    }
  }
}

/** Temp file beside `file`, fsync, rename over it (the folder's fsync is the caller's). */
async function replaceFile(file: string, text: string): Promise<void> {
  // The temp name ends in ".tmp": RecordDir.loadAll removes such left-overs of a crash.
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const handle = await open(temp, "w", 0o600).catch(async (error: NodeJS.ErrnoException) => {
    if (error.code !== "ENOENT") throw error;
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    return open(temp, "w", 0o600);
  });
  try {
    try {
      await handle.writeFile(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function removeFile(file: string): Promise<void> {
  try {
    await unlink(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
  }
}

/** A rename is durable only once the folder's entry is on disk. */
async function syncFolder(folder: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(folder, "r");
    await handle.sync();
  } catch {
    // Some platforms (Windows) cannot open or fsync a folder; the rename is atomic anyway.
  } finally {
    await handle?.close();
  }
}
