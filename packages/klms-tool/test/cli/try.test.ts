/**
 * `klms-tool try`, in-process through cli(argv, io): a real local KLMS (klms-local), the real
 * entrypoint and a fixture tool; `--watch` stopped through io.signal.
 */
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { cli } from "../../src/cli/cli.ts";
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
      [["--secret-file", "nope.env"], /--secret-file nope\.env: ENOENT/],
      [["--watch", "--watch-dir", "nowhere"], /--watch follows .*nowhere, which does not exist/],
    ];
    for (const [args, message] of cases) {
      const stderr = new Watched();
      const code = await cli([...base, ...args], { stdout: new Watched(), stderr, cwd: dir });
      assert.equal(code, 2, args.join(" "));
      assert.match(stderr.text, message);
    }
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
