/**
 * A folder of JSON records, one file per record, written so that a crash never leaves a half
 * record: write a temp file, fsync it, rename it over the old one, fsync the folder (off the
 * event loop and coalesced per file, by a {@link DurableWriter}). A file that cannot be read
 * back (truncated by a disk that lied, edited by hand) is set aside as `<name>.corrupt-<time>`
 * with a warning naming it, and the rest still loads.
 */
import { randomUUID } from "node:crypto";
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { dirname, join } from "node:path";
import type { DurableWriter } from "./durable-writer.js";

/** A folder of `<id>.json` records. */
export class RecordDir<T> {
  readonly dir: string;
  readonly #writer: DurableWriter;

  /**
   * Creates `dir` (mode 0700: records may hold secrets) if needed. Its records are written by
   * `writer`, which the owner flushes before it stops (so that every write is on disk).
   */
  constructor(dir: string, writer: DurableWriter) {
    this.dir = dir;
    this.#writer = writer;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  }

  /** Reads every record (see {@link loadRecords}). */
  loadAll(check: (value: unknown) => string | undefined, warn: (message: string) => void): T[] {
    return loadRecords<T>(this.dir, check, warn);
  }

  /**
   * Writes the record crash-safely (mode 0600), off the event loop: resolves once it (or a later
   * version) is on disk. The file may still hold the previous version until then; a failure is
   * reported through the writer's `warn` and its `flush()`.
   */
  write(id: string, record: T): Promise<void> {
    return this.#writer.write(join(this.dir, `${id}.json`), `${JSON.stringify(record, null, 2)}\n`);
  }

  /** Removes the record, if it is there, after its pending writes; settles like {@link RecordDir.write}. */
  remove(id: string): Promise<void> {
    return this.#writer.remove(join(this.dir, `${id}.json`));
  }
}

/**
 * Reads every `<id>.json` record of `dir`. Left-over temp files of an interrupted write are
 * removed; a record that is not valid JSON, or that `check` refuses (it returns why), is renamed
 * aside and reported through `warn`.
 */
export function loadRecords<T>(
  dir: string,
  check: (value: unknown) => string | undefined,
  warn: (message: string) => void,
): T[] {
  const records: T[] = [];
  for (const file of readdirSync(dir).sort()) {
    const path = join(dir, file);
    if (file.endsWith(".tmp")) {
      rmSync(path, { force: true });
      continue;
    }
    if (!file.endsWith(".json")) continue;
    let problem: string | undefined;
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, "utf8"));
      problem = check(value);
    } catch (e) {
      problem = (e as Error).message;
    }
    if (problem === undefined) {
      records.push(value as T);
      continue;
    }
    const aside = `${path}.corrupt-${Date.now()}`;
    renameSync(path, aside);
    warn(`set aside unreadable record ${path} (${problem}); it is now ${aside}`);
  }
  return records;
}

/**
 * Replaces `file` with `text` so that a crash leaves either the old or the new content: a temp
 * file beside it (mode 0600), fsync, rename, fsync of the folder. Synchronous: for files written
 * rarely (the server secret, app tokens) or that must be on disk before the answer (the embedded
 * store's object metadata); records written on every task change go through a {@link DurableWriter}.
 */
export function writeFileDurably(file: string, text: string): void {
  const temp = `${file}.${process.pid}.${randomUUID()}.tmp`;
  const fd = openSync(temp, "w", 0o600);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, file);
  syncDir(dirname(file));
}

/** A rename is durable only once the folder's entry is on disk. */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, "r");
    fsyncSync(fd);
  } catch {
    // Some platforms (Windows) cannot open or fsync a folder; the rename is atomic anyway.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
