/**
 * The one bounded reader for everything the kit reads from outside its control: the input reply
 * over HTTP, the input.json a worker is given, the output.json a worker leaves. The limit is
 * checked before reading starts (the Content-Length, the file's size and kind) and again while
 * reading (a reply without a length, a file that grows), so that a 1 GiB reply ends in a clear
 * {@link ReadLimitError} instead of a crash (`ERR_STRING_TOO_LONG`) or a gigabyte of memory. Text
 * is decoded strictly: invalid UTF-8 is an error, never silently repaired with U+FFFD.
 */

import { constants } from "node:fs";
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import { KlmsError } from "../errors.js";

/** Why a read was refused. */
export type ReadLimitCode = "too-large" | "not-a-file" | "not-utf8" | "unreadable" | "missing";

/** A read the kit refused, or could not make; the message names the thing, the limit and the fix. */
export class ReadLimitError extends KlmsError<ReadLimitCode> {
  override name = "ReadLimitError";
  constructor(message: string, code: ReadLimitCode, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** What is read, for the messages ("the input reply", "output.json"), and its limit in bytes. */
export interface ReadBounds {
  what: string;
  maxBytes: number;
  /**
   * Follow a symbolic link (a file a person names on the command line); default false: a file a
   * worker leaves (output.json) may not point elsewhere on the machine.
   */
  followSymlinks?: boolean;
}

/**
 * Reads a stream whole, up to `maxBytes`: `declaredBytes` (a Content-Length) over the limit is
 * refused before anything is read; past the limit the stream is destroyed and the read rejected.
 */
export function readStreamBounded(stream: Readable, bounds: ReadBounds, declaredBytes?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (declaredBytes !== undefined && declaredBytes > bounds.maxBytes) {
      stream.destroy();
      reject(tooLarge(bounds, `${declaredBytes} bytes`));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    stream.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > bounds.maxBytes) {
        stream.destroy();
        reject(tooLarge(bounds, `more than ${bounds.maxBytes} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    stream.once("error", reject);
    stream.once("end", () => resolve(Buffer.concat(chunks, size)));
    // A close without an end (the connection dropped mid-body): a no-op after the end.
    stream.once("close", () => reject(new ReadLimitError(`${bounds.what} ended before it was complete`, "unreadable")));
  });
}

/**
 * Reads a regular file whole, up to `maxBytes`. Its kind is checked before it is read (a FIFO
 * would block the reader forever, a device never ends, a symlink may point anywhere), its size
 * too, and the read stops past the limit should the file grow meanwhile.
 */
export async function readFileBounded(path: string, bounds: ReadBounds): Promise<Buffer> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer; O_NOFOLLOW: a symlink is refused.
    const noFollow = bounds.followSymlinks ? 0 : constants.O_NOFOLLOW;
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | noFollow);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new ReadLimitError(`${bounds.what} does not exist`, "missing");
    if (code === "ELOOP")
      throw new ReadLimitError(`${bounds.what} is a symbolic link; write a regular file`, "not-a-file");
    throw new ReadLimitError(`${bounds.what} could not be opened (${code ?? (err as Error).message})`, "unreadable");
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) {
      throw new ReadLimitError(`${bounds.what} is ${kindOf(stat)}, not a regular file`, "not-a-file");
    }
    if (stat.size > bounds.maxBytes) throw tooLarge(bounds, `${stat.size} bytes`);
    // One byte more than the size: filling it means the file grew while being read.
    const buffer = Buffer.alloc(Math.min(bounds.maxBytes, stat.size) + 1);
    let size = 0;
    while (size < buffer.length) {
      const { bytesRead } = await handle.read(buffer, size, buffer.length - size, size);
      if (bytesRead === 0) break;
      size += bytesRead;
    }
    if (size === buffer.length) {
      throw size > bounds.maxBytes
        ? tooLarge(bounds, "larger than its size said (it grew while being read)")
        : new ReadLimitError(`${bounds.what} grew while being read; write it whole before exiting`, "unreadable");
    }
    return buffer.subarray(0, size);
  } catch (err) {
    if (err instanceof ReadLimitError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    throw new ReadLimitError(`${bounds.what} could not be read (${code ?? (err as Error).message})`, "unreadable");
  } finally {
    await handle.close();
  }
}

/** Decodes UTF-8 strictly: invalid bytes are an error naming the first bad byte's offset, not U+FFFD. */
export function decodeUtf8(buffer: Uint8Array, what: string): string {
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(buffer);
  } catch {
    throw new ReadLimitError(
      `${what} is not valid UTF-8 text (first bad byte at offset ${firstInvalidUtf8(buffer)}); ` +
        "write it as UTF-8 (Python: open(path, 'w', encoding='utf-8'), or json.dump's default ensure_ascii)",
      "not-utf8",
    );
  }
}

/** The offset of the first byte that does not start or continue a valid UTF-8 sequence. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  const lossy = new TextDecoder("utf-8").decode(bytes);
  let offset = 0;
  let counted = 0;
  for (let i = lossy.indexOf("\uFFFD"); i >= 0; i = lossy.indexOf("\uFFFD", i + 1)) {
    offset += Buffer.byteLength(lossy.slice(counted, i));
    counted = i;
    // A U+FFFD the text really holds is EF BF BD; anything else is where the decoder gave up.
    if (!(bytes[offset] === 0xef && bytes[offset + 1] === 0xbf && bytes[offset + 2] === 0xbd)) return offset;
  }
  return offset;
}

function tooLarge(bounds: ReadBounds, size: string): ReadLimitError {
  return new ReadLimitError(
    `${bounds.what} is ${size}, over the limit of ${bounds.maxBytes} bytes, so it was not read`,
    "too-large",
  );
}

function kindOf(stat: import("node:fs").Stats): string {
  if (stat.isDirectory()) return "a directory";
  if (stat.isFIFO()) return "a named pipe (FIFO)";
  if (stat.isSocket()) return "a socket";
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return "a device";
  return "not a regular file";
}
