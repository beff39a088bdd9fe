/**
 * The start pipe between `klms-tool exec --worker-module` and the tool's runtime
 * (worker/prestart.ts): its variable and its two lines. A module of its own so that the
 * entrypoint can name them without loading the runtime.
 */

/** The environment variable that names the start pipe's descriptor. */
export const WORKER_START_FD_ENV = "KLMS_WORKER_START_FD";

/** What the entrypoint sends on the start pipe. */
export interface StartLine {
  type: "start";
  inputPath: string;
  outputPath: string;
}

/** What the process sends on the start pipe. */
export interface ReadyLine {
  type: "ready";
}

/** The start pipe's descriptor when the entrypoint started this process ahead of its input, else undefined. */
export function startPipe(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const value = env[WORKER_START_FD_ENV];
  if (value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}
