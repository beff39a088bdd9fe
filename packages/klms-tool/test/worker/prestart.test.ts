// The runtime's side of --worker-module (src/worker/prestart.ts), driven over a real pipe: the
// tool module runs as its own Node process, as the entrypoint starts it ahead of the input.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, describe, it } from "node:test";
import { WORKER_START_FD_ENV } from "../../src/worker/start-pipe.ts";

const TOOL = resolve(import.meta.dirname, "../fixtures/tools/thread-ok.mjs");
const dir = mkdtempSync(join(tmpdir(), "klms-prestart-"));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Starts the tool ahead of its input; `send` is written on the start pipe once it says ready (undefined: close it). */
function startAhead(send: string | undefined) {
  const child = spawn(process.execPath, [TOOL], {
    env: { PATH: process.env.PATH, [WORKER_START_FD_ENV]: "3" },
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  const pipe = child.stdio[3] as Socket;
  let said = "";
  let stderr = "";
  let stdout = "";
  child.stderr.on("data", (c: Buffer) => {
    stderr += c;
  });
  child.stdout.on("data", (c: Buffer) => {
    stdout += c;
  });
  pipe.on("data", (c: Buffer) => {
    said += c;
    if (said.includes("\n")) {
      if (send === undefined) pipe.end();
      else pipe.end(send);
    }
  });
  return new Promise<{ code: number | null; said: string; stderr: string; stdout: string }>((done) =>
    child.once("close", (code) => done({ code, said, stderr, stdout })),
  );
}

describe("a tool process started ahead of its input (--worker-module)", () => {
  it("says ready, runs on the paths sent, and hides the pipe's variable from the tool", async () => {
    const inputPath = join(dir, "input.json");
    const outputPath = join(dir, "output.json");
    writeFileSync(
      inputPath,
      JSON.stringify({
        input: {},
        output: {},
        parameters: {},
        secrets: {},
        minio: { endpoint_url: "http://127.0.0.1:9" },
      }),
    );
    const run = await startAhead(`${JSON.stringify({ type: "start", inputPath, outputPath })}\n`);
    assert.equal(run.said, '{"type":"ready"}\n');
    assert.equal(run.code, 0, run.stderr);
    const output = JSON.parse(readFileSync(outputPath, "utf8"));
    assert.equal(output.status, "succeeded");
    assert.equal(output.metrics.main_thread, true);
    assert.match(run.stdout, /tool: start pipe variable: none/);
  });

  it("exits without running when the pipe closes before a start line", async () => {
    const run = await startAhead(undefined);
    assert.equal(run.code, 0);
    assert.doesNotMatch(run.stdout, /tool: started/);
  });

  it("refuses a start line it cannot read, with exit code 2, and runs nothing", async () => {
    const outputPath = join(dir, "never.json");
    const run = await startAhead(`{"type":"start","inputPath":1,"outputPath":${JSON.stringify(outputPath)}}\n`);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /unexpected start line from the entrypoint/);
    assert.ok(!existsSync(outputPath));
  });
});
