/**
 * `klms-tool try`, in-process through cli(argv, io): a real local KLMS (klms-local), the real
 * entrypoint and a fixture tool; `--watch` stopped through io.signal.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { cli } from "../../src/cli/cli.ts";
import { KlmsClient } from "../../src/client/index.ts";
import { fixture } from "../support.ts";

const TOOL = fixture("try-tool.mjs");
const SECRET = "tok-0123456789-secret";
let dir: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "klms-try-"));
  await writeFile(join(dir, "a.txt"), "first\n");
  await writeFile(join(dir, "b.txt"), "second\n");
  await writeFile(join(dir, ".env"), `# local secrets\nexport token="${SECRET}"\n`);
});
after(() => rm(dir, { recursive: true, force: true }));

/** A stream that keeps what is written and wakes whoever waits for a text to appear. */
class Watched extends Writable {
  text = "";
  #waiters: { test: (text: string) => boolean; done: () => void }[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    const ready = this.#waiters.filter((w) => w.test(this.text));
    this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
    for (const w of ready) w.done();
    done();
  }
  until(test: (text: string) => boolean): Promise<void> {
    if (test(this.text)) return Promise.resolve();
    return new Promise((done) => this.#waiters.push({ test, done }));
  }
}

const base = ["try", "--tool", TOOL, "--worker", `node ${TOOL}`];

describe("klms-tool try", () => {
  test("local files, parameters and a .env: the task succeeds, outputs downloaded, no secret shown", async () => {
    const stdout = new Watched();
    const stderr = new Watched();
    const code = await cli(
      [...base, "--input", "docs=./a.txt", "--input", "docs=b.txt", "--param", "n=3", "--param", "greeting=hi"],
      { stdout, stderr, cwd: dir },
    );
    assert.equal(code, 0, stdout.text + stderr.text);
    assert.match(stdout.text, /state {5}succeeded/);
    assert.match(stdout.text, /metrics\n[\s\S]*docs +2/);
    assert.match(
      stdout.text,
      /▸ Output echo: s3:\/\/klms-bucket\/outputs\/.*\/echo\n {2}downloaded to try-output\/echo\n {2}hi 3: first\|second/,
    );
    assert.equal(await readFile(join(dir, "try-output", "echo"), "utf8"), "hi 3: first|second\n");

    const withSecret = new Watched();
    const code2 = await cli([...base, "--param", "n=1", "--secret-file", ".env"], { stdout: withSecret, cwd: dir });
    assert.equal(code2, 0, withSecret.text);
    assert.match(withSecret.text, new RegExp(`message {3}secret of ${SECRET.length} characters`));
    assert.match(withSecret.text, /tool: the token is \*+/, "the tool's print is masked in the logs");
    assert.doesNotMatch(withSecret.text, new RegExp(SECRET));
  });

  test("--from a task input in the platform's shape, local paths uploaded", async () => {
    await writeFile(
      join(dir, "input.json"),
      JSON.stringify({
        input: { docs: ["a.txt"] },
        output: { echo: "s3://klms-bucket/mine/echo.txt" },
        parameters: { n: 7 },
      }),
    );
    const stdout = new Watched();
    const code = await cli([...base, "--from", "input.json", "--out-dir", "out"], { stdout, cwd: dir });
    assert.equal(code, 0, stdout.text);
    assert.match(stdout.text, /▸ Output echo: s3:\/\/klms-bucket\/mine\/echo\.txt/);
    assert.equal(await readFile(join(dir, "out", "echo.txt"), "utf8"), "hello 7: first\n");
  });

  test("mistakes are usage errors that say what to fix", async () => {
    const cases: [string[], RegExp][] = [
      [
        ["--input", "docs=./missing.csv"],
        /input group "docs": \.\/missing\.csv is neither a local file nor an s3:\/\/ path/,
      ],
      [["--param", "novalue"], /--param takes name=value, got "novalue"/],
      [
        ["--secret-file", "nope.env"],
        /--secret-file nope\.env: ENOENT.*: create it with one KEY=VALUE line a secret \(e\.g\. api_key=…\), or leave --secret-file out/,
      ],
      [["--watch", "--watch-dir", "nowhere"], /--watch follows .*nowhere, which does not exist/],
    ];
    for (const [args, message] of cases) {
      const stderr = new Watched();
      const code = await cli([...base, ...args], { stdout: new Watched(), stderr, cwd: dir });
      assert.equal(code, 2, args.join(" "));
      assert.match(stderr.text, message);
    }
  });

  test("--json: the run as one JSON object on stdout, the report on stderr; not with --watch", async () => {
    const stdout = new Watched();
    const stderr = new Watched();
    const code = await cli([...base, "--input", "docs=a.txt", "--param", "n=2", "--json"], {
      stdout,
      stderr,
      cwd: dir,
    });
    assert.equal(code, 0, stderr.text);
    const run = JSON.parse(stdout.text);
    assert.equal(run.state, "succeeded");
    assert.match(run.task, /^[0-9a-f-]{36}$/);
    assert.equal(run.klms, "embedded");
    assert.equal(run.outDir, join(dir, "try-output"));
    assert.deepEqual(run.outputs.echo.files, [join(dir, "try-output", "echo")]);
    assert.match(run.outputs.echo.path, /^s3:\/\/klms-bucket\/outputs\/.*\/echo$/);
    assert.match(stderr.text, /▸ Logs of task/);
    const failed = new Watched();
    assert.equal(
      await cli([...base, "--param", "n=x", "--json"], { stdout: failed, stderr: new Watched(), cwd: dir }),
      1,
    );
    assert.deepEqual([JSON.parse(failed.text).state, JSON.parse(failed.text).outputs], ["failed", {}]);
    const watchErr = new Watched();
    assert.equal(await cli([...base, "--json", "--watch"], { stdout: new Watched(), stderr: watchErr, cwd: dir }), 2);
    assert.match(watchErr.text, /--json does not go with --watch/);
  });

  test("a failing task exits 1 with the reason", async () => {
    const stdout = new Watched();
    const code = await cli([...base, "--param", "n=not-a-number"], { stdout, cwd: dir });
    assert.equal(code, 1);
    assert.match(stdout.text, /state {5}failed\n {2}message {3}invalid parameters:\n {12}- n: /);
  });

  test("--watch: a change of the watched folder rebuilds and runs a new task; io.signal stops it", async () => {
    const project = join(dir, "watched");
    await mkdir(join(project, "src"), { recursive: true });
    await writeFile(
      join(project, "package.json"),
      JSON.stringify({ scripts: { build: "node -e \"console.log('built')\"" } }),
    );
    const stdout = new Watched();
    const stop = new AbortController();
    const { npm_execpath: _, ...env } = process.env;
    const running = cli([...base, "--param", "n=1", "--watch"], { stdout, cwd: project, env, signal: stop.signal });
    await stdout.until((t) => t.includes("Watching"));
    await writeFile(join(project, "src", "main.ts"), "// changed\n");
    await stdout.until((t) => t.split("Watching").length === 3);
    stop.abort();
    assert.equal(await running, 0);
    assert.match(stdout.text, /change in .*src: rebuilding[\s\S]*built/);
    const tasks = [...stdout.text.matchAll(/▸ Logs of task ([0-9a-f-]+)/g)].map((m) => m[1]);
    assert.equal(tasks.length, 2);
    assert.notEqual(tasks[0], tasks[1], "every run is a new task");
  });
});

describe("klms-tool try with a running local KLMS, and the list of runs", () => {
  test("klms-tool dev in the project is reused (its task visible there); --fresh starts one; --list shows each run", async () => {
    const project = join(dir, "with-dev");
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "with-dev", version: "0.1.0" }));
    await writeFile(join(project, "a.txt"), "from dev\n");
    const devOut = new Watched();
    const stop = new AbortController();
    const dev = cli(["dev", "--quiet"], { stdout: devOut, stderr: new Watched(), cwd: project, signal: stop.signal });
    try {
      await devOut.until((t) => t.includes("Local KLMS running"));
      const apiUrl = /API URL +(\S+)/.exec(devOut.text)?.[1] as string;
      const state = JSON.parse(await readFile(join(project, ".klms", "dev.json"), "utf8"));
      assert.deepEqual(state, { apiUrl, pid: process.pid });

      const stdout = new Watched();
      const stderr = new Watched();
      const code = await cli([...base, "--input", "docs=a.txt", "--param", "n=2"], { stdout, stderr, cwd: project });
      assert.equal(code, 0, `${stdout.text}\n${stderr.text}`);
      assert.match(
        stdout.text,
        new RegExp(`^Using the local KLMS of klms-tool dev at ${apiUrl} \\(pid ${process.pid};`),
      );
      assert.equal(await readFile(join(project, "try-output", "echo"), "utf8"), "hello 2: from dev\n");
      const id = /▸ Logs of task ([0-9a-f-]+)/.exec(stdout.text)?.[1] as string;
      // The dev server has the task: its API answers for it, succeeded.
      const client = await KlmsClient.login(apiUrl, "dev", "dev");
      assert.equal((await client.tasks.get(id)).exec_state, "succeeded");

      // A failed task on the reused KLMS: its report, no output downloaded, no stack trace (attack5 F5).
      const failedOut = new Watched();
      const failedErr = new Watched();
      const failed = await cli([...base, "--param", "n=not-a-number"], {
        stdout: failedOut,
        stderr: failedErr,
        cwd: project,
      });
      assert.equal(failed, 1, failedOut.text + failedErr.text);
      assert.match(failedOut.text, /state {5}failed\n {2}message {3}invalid parameters:/);
      assert.doesNotMatch(failedOut.text, /▸ Output/, "a failed task posted no output: none is downloaded");
      assert.equal(failedErr.text, "");

      const fresh = new Watched();
      assert.equal(await cli([...base, "--param", "n=3", "--fresh"], { stdout: fresh, cwd: project }), 0, fresh.text);
      assert.doesNotMatch(fresh.text, /Using the local KLMS/);

      const listed = new Watched();
      assert.equal(await cli(["try", "--list", "--json"], { stdout: listed, cwd: project }), 0);
      const runs = JSON.parse(listed.text);
      assert.equal(runs.length, 3);
      assert.deepEqual(
        runs.map((r: Record<string, unknown>) => [r.state, r.outDir, r.klms]),
        [
          ["succeeded", "try-output", apiUrl],
          ["failed", "try-output", apiUrl],
          ["succeeded", "try-output", "embedded"],
        ],
      );
      assert.equal(runs[0].task, id);
      assert.ok(
        runs.every((r: { started: string; seconds: number }) => !Number.isNaN(Date.parse(r.started)) && r.seconds > 0),
      );
      const table = new Watched();
      await cli(["try", "--list"], { stdout: table, cwd: project });
      assert.match(table.text, /^TASK +STATE +STARTED +SECONDS +OUTPUTS +KLMS\n/);
      assert.match(
        table.text,
        new RegExp(`${id}  succeeded  \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\dZ +\\d+\\.\\d +try-output +${apiUrl}`),
      );
    } finally {
      stop.abort();
      assert.equal(await dev, 0);
    }
    assert.equal(existsSync(join(project, ".klms", "dev.json")), false, "the state file goes with the server");
  });

  test("klms-tool dev --tls in the project is reused: its CA (dev.json's caFile) trusted for the store and the run", async () => {
    const project = join(dir, "with-tls-dev");
    await mkdir(project, { recursive: true });
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "with-tls-dev", version: "0.1.0" }));
    await writeFile(join(project, "a.txt"), "over tls\n");
    const devOut = new Watched();
    const stop = new AbortController();
    const dev = cli(["dev", "--tls", "--quiet"], {
      stdout: devOut,
      stderr: new Watched(),
      cwd: project,
      signal: stop.signal,
    });
    try {
      await devOut.until((t) => t.includes("Local KLMS running"));
      const state = JSON.parse(await readFile(join(project, ".klms", "dev.json"), "utf8"));
      assert.ok(state.caFile, "dev --tls names its CA");
      const stdout = new Watched();
      const stderr = new Watched();
      const { NODE_EXTRA_CA_CERTS: _, ...env } = process.env;
      const code = await cli([...base, "--input", "docs=a.txt", "--param", "n=4"], {
        stdout,
        stderr,
        cwd: project,
        env,
      });
      assert.equal(code, 0, `${stdout.text}\n${stderr.text}`);
      assert.match(stdout.text, /^Using the local KLMS of klms-tool dev at /);
      assert.equal(await readFile(join(project, "try-output", "echo"), "utf8"), "hello 4: over tls\n");
      // Without the CA, the STS call says what is wrong: the certificate, not "no reply".
      const client = await KlmsClient.login(state.apiUrl, "dev", "dev");
      await assert.rejects(
        client.s3({}),
        /the object store https:\/\/127\.0\.0\.1:\d+'s TLS certificate is not trusted \(/,
      );
    } finally {
      stop.abort();
      assert.equal(await dev, 0);
    }
  });

  test("--url naming no KLMS fails and says so; --list without runs says how to make one", async () => {
    const stderr = new Watched();
    const code = await cli([...base, "--param", "n=1", "--url", "http://127.0.0.1:9"], {
      stdout: new Watched(),
      stderr,
      cwd: dir,
    });
    assert.equal(code, 1);
    assert.match(
      stderr.text,
      /klms-tool try: the KLMS at --url http:\/\/127\.0\.0\.1:9 cannot be used \(.+\): start it \(klms-tool dev\) or fix the URL/,
    );
    const empty = await mkdtemp(join(dir, "empty-"));
    const listed = new Watched();
    assert.equal(await cli(["try", "--list"], { stdout: listed, cwd: empty }), 0);
    assert.equal(listed.text, "No runs yet: klms-tool try runs the tool and lists each run here.\n");
  });
});
