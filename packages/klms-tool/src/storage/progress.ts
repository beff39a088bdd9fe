import type { Logger } from "../log/logger.js";

/** One progress event of a transfer. */
export interface TransferProgress {
  /** `upload` or `download` */
  direction: "upload" | "download";
  /** `s3://bucket/key` */
  path: string;
  /** Bytes moved so far. */
  done: number;
  /** Undefined for a stream of unknown length. */
  total?: number;
}

/** Called with progress events while a transfer runs. */
export type ProgressListener = (progress: TransferProgress) => void;

/**
 * Shows transfer progress the way the place it runs in wants it: on a terminal, one line
 * redrawn in place; elsewhere (a pod's log), a line at most every `intervalMs`, and one at the end.
 */
export function progressReporter(options: {
  log: Logger;
  stream?: NodeJS.WriteStream;
  intervalMs?: number;
}): ProgressListener {
  const stream = options.stream ?? process.stderr;
  const tty = Boolean(stream.isTTY);
  const interval = options.intervalMs ?? (tty ? 100 : 5000);
  let last = 0;
  return (p) => {
    const now = Date.now();
    const finished = p.total !== undefined && p.done >= p.total;
    if (!finished && now - last < interval) return;
    last = now;
    const pct = p.total ? Math.floor((100 * p.done) / p.total) : undefined;
    const text = `${p.direction} ${p.path} ${formatBytes(p.done)}${p.total !== undefined ? ` / ${formatBytes(p.total)}` : ""}`;
    if (tty) {
      const width = 24;
      const bar =
        pct === undefined ? "" : `[${"#".repeat(Math.round((width * pct) / 100)).padEnd(width, ".")}] ${pct}% `;
      stream.write(`\r${bar}${text}\x1b[K${finished ? "\n" : ""}`);
    } else {
      options.log.info(`${text}${pct !== undefined ? ` (${pct}%)` : ""}`);
    }
  };
}

/** `1.5 MiB` */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v.toFixed(1)} ${units[i]}`;
}
