/**
 * The private folder in which the worker receives its input and leaves its output. The input
 * holds MinIO credentials and secrets, so the folder is readable by this user only and removed
 * as soon as the output has been read, whatever happened.
 */
import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The worker's two files, in a fresh folder. */
export interface Workspace {
  dir: string;
  /** Absolute path of input.json (mode 0600). */
  inputPath: string;
  /** Absolute path where the worker must write output.json. */
  outputPath: string;
  /** Removes the folder; safe to call more than once. */
  remove(): Promise<void>;
}

/** Creates the folder (mode 0700) under the system's temporary directory and writes input.json (mode 0600). */
export async function createWorkspace(input: unknown, parent: string = tmpdir()): Promise<Workspace> {
  const dir = await mkdtemp(join(parent, "klms-task-"));
  // mkdtemp already uses 0700; chmod guards against an unusual umask-less platform.
  await chmod(dir, 0o700);
  const inputPath = join(dir, "input.json");
  const outputPath = join(dir, "output.json");
  let removed = false;
  const workspace: Workspace = {
    dir,
    inputPath,
    outputPath,
    async remove() {
      if (removed) return;
      removed = true;
      await rm(dir, { recursive: true, force: true });
    },
  };
  try {
    await writeFile(inputPath, JSON.stringify(input, null, 2), { mode: 0o600, flag: "wx" });
  } catch (err) {
    await workspace.remove();
    throw err;
  }
  return workspace;
}
