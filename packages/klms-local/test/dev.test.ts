import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { DEV_HELP, devMain } from "../src/dev.js";
import type { LocalKlms } from "../src/index.js";
import { assertSuccess, call } from "./helpers.js";

function capture() {
  const lines = { out: "", err: "" };
  const io = {
    out: (s: string) => {
      lines.out += s;
    },
    err: (s: string) => {
      lines.err += s;
    },
  };
  return { lines, io };
}

test("--help prints the help and exits 0", async () => {
  const { lines, io } = capture();
  assert.equal(await devMain(["--help"], io), 0);
  assert.equal(lines.out, DEV_HELP);
  assert.match(lines.out, /--port/);
  assert.match(lines.out, /--data-dir/);
});

const usage: Array<[string, string[], RegExp]> = [
  ["an unknown option", ["--nope"], /Unknown option '--nope'/],
  ["a stray argument", ["extra"], /positional/],
  ["a bad port", ["--port", "http"], /--port must be a port number/],
  ["a port out of range", ["--port", "70000"], /--port must be a port number/],
];
for (const [what, argv, message] of usage) {
  test(`${what} exits 2 with a message`, async () => {
    const { lines, io } = capture();
    assert.equal(await devMain(argv, io), 2);
    assert.match(lines.err, message);
  });
}

test("starts, prints what a tool needs, serves the API, and stops on abort", async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), "klms-local-dev-"));
  t.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const { lines, io } = capture();
  const controller = new AbortController();
  let ready: (klms: LocalKlms) => void = () => {};
  const started = new Promise<LocalKlms>((resolve) => {
    ready = resolve;
  });
  const exit = devMain(["--data-dir", dataDir, "--quiet"], { ...io, signal: controller.signal, onReady: ready });
  const klms = await started;
  assert.ok(lines.out.includes(`API URL       ${klms.apiUrl}`));
  assert.ok(lines.out.includes(klms.token), "the dev token is printed for the developer");
  assert.ok(klms.s3Url && lines.out.includes(klms.s3Url));
  assert.match(lines.out, /access key id +KLT[0-9A-F]{22}\n/);
  assert.match(lines.out, /session token +\S+\.\S+\n/);
  assert.match(lines.out, /curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/api\/v2\/task/);

  const curlBody = /-d '(.+)'/.exec(lines.out)?.[1];
  const reply = await call(klms.apiUrl, "POST", "/api/v2/task", {
    token: klms.token,
    body: JSON.parse(curlBody ?? ""),
  });
  assert.equal((assertSuccess(reply) as { job_id: string }).job_id, "__external__", "the example request works");

  controller.abort();
  assert.equal(await exit, 0);
  assert.equal(lines.err, "");
  await assert.rejects(fetch(klms.apiUrl), TypeError, "the server is down");
  assert.ok(existsSync(join(dataDir, "tasks")), "a given data dir is kept");
});

test("as a process: prints the API URL, then stops cleanly on SIGINT and SIGTERM", async () => {
  const dev = fileURLToPath(new URL("../src/dev.ts", import.meta.url));
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        "--input-type=module",
        "-e",
        `process.exitCode = await (await import(${JSON.stringify(dev)})).devMain(["--quiet"]);`,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const apiUrl = await new Promise<string>((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.on("line", (line) => {
        const m = /API URL\s+(\S+)/.exec(line);
        if (m?.[1]) resolve(m[1]);
      });
      child.once("exit", () => reject(new Error(`dev exited early: ${stderr}`)));
    });
    const reply = await call(apiUrl, "GET", "/api/v2/task/unknown", {});
    assert.equal(reply.status, 401);
    child.kill(signal);
    assert.equal(await exited, 0, stderr);
  }
});
