import { Writable } from "node:stream";
import { cli } from "../src/cli/cli.ts";

/** A stream that keeps what is written to it. */
export class Collect extends Writable {
  text = "";
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Runs `klms-tool <args…>` in this process, with its own streams; resolves to what it printed. */
export async function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await cli(args, { stdout, stderr, ...options });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
