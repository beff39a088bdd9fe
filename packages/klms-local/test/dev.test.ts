import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
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
  ["an unknown runner", ["--run", "docker:x"], /cannot read the runner "docker:x": use project\[:DIR\], command:CMD/],
  ["a runner with an open quote", ["--run", "command:python3 'x"], /a quote is not closed/],
  ["--run-tool without a name", ["--run-tool", "podman"], /--run-tool needs NAME=SPEC/],
  ["a --user without a password", ["--user", "alice"], /--user takes NAME:PASSWORD/],
  [
    "a --registry that is not a URL",
    ["--registry", "127.0.0.1:5000"],
    /--registry takes the registry's URL, e\.g\. http:/,
  ],
  ["--registry-auth without --registry", ["--registry-auth", "/x"], /--registry-auth needs --registry URL/],
  [
    "an unreadable --registry-auth",
    ["--registry", "http://127.0.0.1:5000", "--registry-auth", "/nonexistent/auth"],
    /cannot read --registry-auth \/nonexistent\/auth/,
  ],
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
  assert.ok(lines.out.includes(`console       ${klms.apiUrl}/ `), "the console's address is printed");
  const page = await fetch(`${klms.apiUrl}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get("content-type") ?? "", /^text\/html/);
  assert.ok(lines.out.includes(klms.token), "the dev token is printed for the developer");
  assert.ok(klms.s3Url && lines.out.includes(klms.s3Url));
  assert.match(lines.out, /access key id +KLT[0-9A-F]{22}\n/);
  assert.match(lines.out, /session token +\S+\.\S+\n/);
  assert.match(lines.out, /curl -s -X POST http:\/\/127\.0\.0\.1:\d+\/api\/v2\/task/);
  // The printed user and password log in as stelar_client does.
  const user = /user +(\S+) +password (\S+)/.exec(lines.out);
  const login = await call(klms.apiUrl, "POST", "/stelar/api/v1/users/token", {
    body: { username: user?.[1], password: user?.[2] },
  });
  assertSuccess(login);
  assert.ok(lines.out.includes(klms.processId), "the dev process is printed");

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

test("--registry and --registry-auth: /help names the registry, credentials carry its password, never printed", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "klms-local-dev-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "bad-auth"), "no-colon\n");
  const bad = capture();
  assert.equal(
    await devMain(["--registry", "http://127.0.0.1:1", "--registry-auth", join(dir, "bad-auth")], bad.io),
    2,
  );
  assert.match(bad.lines.err, /must hold one line USER:PASSWORD/);
  writeFileSync(join(dir, "auth"), "$app:s3cret-registry-pw\n", { mode: 0o600 });
  const { lines, io } = capture();
  const controller = new AbortController();
  let ready: (klms: LocalKlms) => void = () => {};
  const started = new Promise<LocalKlms>((resolve) => {
    ready = resolve;
  });
  const argv = ["--quiet", "--registry", "http://127.0.0.1:1", "--registry-auth", join(dir, "auth")];
  const exit = devMain(argv, { ...io, signal: controller.signal, onReady: ready });
  const klms = await started;
  try {
    assert.match(
      lines.out,
      /image registry http:\/\/127\.0\.0\.1:1 {2}\(tool images: stelar\/<tool>:<tag>; login from/,
    );
    assert.equal(lines.out.includes("s3cret-registry-pw"), false, "the registry's password is not printed");
    const help = assertSuccess(await call(klms.apiUrl, "GET", "/help")) as Record<string, unknown>;
    assert.equal(help.image_registry, "http://127.0.0.1:1");
    const made = await call(klms.apiUrl, "POST", "/api/v2/registry/credentials", {
      token: klms.token,
      body: { title: "t" },
    });
    assert.equal((assertSuccess(made) as { token_code: string }).token_code, "s3cret-registry-pw");
  } finally {
    controller.abort();
  }
  assert.equal(await exit, 0);
});

test("--user and --seed: more accounts, a shared catalog fixture", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), "klms-local-dev-"));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const seed = join(dir, "catalog.json");
  writeFileSync(seed, JSON.stringify({ datasets: [{ name: "team-data" }] }));
  const { io } = capture();
  const controller = new AbortController();
  let ready: (klms: LocalKlms) => void = () => {};
  const started = new Promise<LocalKlms>((resolve) => {
    ready = resolve;
  });
  const argv = ["--quiet", "--seed", seed, "--user", "alice:alice-pw", "-u", "root:r00t:admin"];
  const exit = devMain(argv, { ...io, signal: controller.signal, onReady: ready });
  const klms = await started;
  try {
    for (const [username, password, admin] of [
      ["alice", "alice-pw", false],
      ["root", "r00t", true],
    ] as const) {
      const login = await call(klms.apiUrl, "POST", "/api/v1/users/token", { body: { username, password } });
      const token = `Bearer ${(assertSuccess(login) as { token: string }).token}`;
      const me = await call(klms.apiUrl, "GET", "/api/v1/users/me", { token });
      assert.equal((assertSuccess(me) as { is_admin: boolean }).is_admin, admin);
    }
    assertSuccess(await call(klms.apiUrl, "GET", "/api/v2/dataset/team-data", { token: klms.token }));
  } finally {
    controller.abort();
  }
  assert.equal(await exit, 0);
});

test("a bad seed file: exit 1 with the file and the problem", async () => {
  const { lines, io } = capture();
  assert.equal(await devMain(["--seed", "/nonexistent/seed.json", "--quiet"], io), 1);
  assert.match(lines.err, /could not start the local KLMS: seed file \/nonexistent\/seed.json: ENOENT/);
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

/** Starts `klms-tool dev` in-process with `argv`; returns it and a stop function. */
async function startDev(argv: string[], cwd: string) {
  const { lines, io } = capture();
  const controller = new AbortController();
  let ready: (klms: LocalKlms) => void = () => {};
  const started = new Promise<LocalKlms>((resolve) => {
    ready = resolve;
  });
  const exit = devMain(argv, { ...io, cwd, signal: controller.signal, onReady: ready });
  const klms = await Promise.race([started, exit.then(() => Promise.reject(new Error(lines.err)))]);
  return {
    klms,
    lines,
    stop: async () => {
      controller.abort();
      assert.equal(await exit, 0);
    },
  };
}

test("started in a tool project, a task created over HTTP for a tool runs its built worker by itself", async (t) => {
  const project = fileURLToPath(new URL("../../../examples/sum", import.meta.url));
  assert.ok(existsSync(join(project, "dist", "main.js")), "examples/sum is built (npm run build)");
  const dev = await startDev(["--quiet"], project);
  t.after(dev.stop);
  assert.match(
    dev.lines.out,
    new RegExp(`every tool and image: the tool project ${project} \\(klms-tool exec, node dist/main\\.js\\)\n`),
  );
  const { klms } = dev;
  await addTool(klms, "sum");
  const reply = await call(klms.apiUrl, "POST", "/api/v2/task", {
    token: klms.token,
    body: {
      process_id: klms.processId,
      name: "sum-by-itself",
      tool: "sum",
      datasets: {},
      inputs: {},
      outputs: {},
      parameters: { x: 2, y: 3 },
    },
  });
  const { id } = assertSuccess(reply) as { id: string };
  const task = await waitFor(async () => {
    const record = await klms.getTask(id);
    return record.exec_state === "succeeded" || record.exec_state === "failed" ? record : undefined;
  });
  assert.equal(task.exec_state, "succeeded", JSON.stringify(klms.pods(id)));
  assert.equal(task.messages, "Tool executed successfully");
  assert.equal((task.metrics as { z?: number }).z, 5);
  await waitFor(async () => klms.job(id)?.condition);
  assert.deepEqual(klms.job(id), { active: 0, succeeded: 1, failed: 0, condition: "Complete" });
});

test("--run command:CMD and --run-tool NAME=SPEC choose what runs; elsewhere than a tool project, pods stay Pending", async (t) => {
  const tool = fileURLToPath(new URL("./fixtures/tool.mjs", import.meta.url));
  const elsewhere = mkdtempSync(join(tmpdir(), "klms-local-dev-cwd-"));
  t.after(() => rmSync(elsewhere, { recursive: true, force: true }));
  const dev = await startDev(["--quiet", "--run-tool", `echo=command:'${process.execPath}' '${tool}'`], elsewhere);
  t.after(dev.stop);
  assert.match(dev.lines.out, /every tool and image: nothing \(their pods stay Pending\)/);
  assert.match(dev.lines.out, /tool echo: the command .*tool\.mjs/);
  const { klms } = dev;
  const create = async (tool: string) => {
    await addTool(klms, tool);
    const body = {
      process_id: klms.processId,
      name: "t",
      tool,
      datasets: {},
      inputs: {},
      outputs: { report: { url: "s3://klms-bucket/r.csv" } },
      parameters: {},
    };
    return (
      assertSuccess(await call(klms.apiUrl, "POST", "/api/v2/task", { token: klms.token, body })) as { id: string }
    ).id;
  };
  const echo = await create("echo");
  const other = await create("other");
  assert.equal(await waitFor(async () => klms.job(echo)?.condition), "Complete");
  assert.equal((await klms.getTask(echo)).messages, "echo done");
  assert.deepEqual(
    klms.pods(other).map((p) => p.phase),
    ["Pending"],
  );
  assert.equal((await klms.getTask(other)).exec_state, "created");
});

/** Adds a tool to the catalog, as a task for a tool the catalog lacks gets the platform's 404. */
async function addTool(klms: LocalKlms, name: string) {
  assertSuccess(
    await call(klms.apiUrl, "POST", "/api/v2/tool", { token: klms.token, body: { name, owner_org: "stelar-klms" } }),
  );
}

/** Polls until `check` returns a value (a guard against hanging, not a timing assertion). */
async function waitFor<T>(check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 1500; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error("gave up waiting");
}

test("a second dev in a project where a live one wrote .klms/dev.json leaves it alone and says so", async (t) => {
  const project = mkdtempSync(join(tmpdir(), "klms-dev-two-"));
  t.after(() => rmSync(project, { recursive: true, force: true }));
  writeFileSync(join(project, "package.json"), "{}");
  mkdirSync(join(project, ".klms"));
  // The first dev server: another live process of this machine (the test runner that started us).
  const first = `${JSON.stringify({ apiUrl: "http://127.0.0.1:18437", pid: process.ppid }, null, 2)}\n`;
  writeFileSync(join(project, ".klms", "dev.json"), first);
  const second = await startDev(["--quiet"], project);
  assert.equal(readFileSync(join(project, ".klms", "dev.json"), "utf8"), first, "not taken over");
  assert.match(
    second.lines.err,
    new RegExp(
      `klms-tool dev already runs in this project \\(pid ${process.ppid}, http://127\\.0\\.0\\.1:18437\\): klms-tool try keeps using that one; this one \\(${second.klms.apiUrl.replace(/\./g, "\\.")}\\) is not written`,
    ),
  );
  await second.stop();
  assert.equal(readFileSync(join(project, ".klms", "dev.json"), "utf8"), first, "not removed by the second's stop");

  // A file left by a dev that is gone (a crash) is taken over, and removed by its stop.
  writeFileSync(join(project, ".klms", "dev.json"), JSON.stringify({ apiUrl: "http://x", pid: 2 ** 22 + 1 }));
  const third = await startDev(["--quiet"], project);
  assert.equal(JSON.parse(readFileSync(join(project, ".klms", "dev.json"), "utf8")).apiUrl, third.klms.apiUrl);
  await third.stop();
  assert.equal(existsSync(join(project, ".klms", "dev.json")), false);
});
