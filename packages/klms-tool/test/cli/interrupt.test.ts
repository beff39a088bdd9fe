/**
 * SIGINT/SIGTERM to the `klms-tool` executable (attack5 F2): the command's external tool is stopped
 * with its whole process group, its private auth folder is removed, and the CLI exits 130/143.
 * The CLI runs as a real process (dist/cli/main.js); the builder is a stand-in `podman` script on
 * PATH (an external program, not our code) that logs in, writes its auth file as podman does, and
 * then pushes "forever" with a child process of its own.
 */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { cli } from "../../src/cli/cli.ts";
import { KlmsClient } from "../../src/client/index.ts";
import { Collect } from "../cli-io.ts";
import { CLI } from "../support.ts";

const FAKE_PODMAN = `#!/bin/sh
# A stand-in podman: login reads the password and writes the auth file; push hangs with a child.
prev=""
for a in "$@"; do
  [ "$prev" = "--authfile" ] && auth="$a"
  prev="$a"
done
case " $* " in
  *" login "*) cat >/dev/null; echo '{"auths":{"x":{"auth":"c2VjcmV0"}}}' >"$auth"; exit 0 ;;
  *" push "*) sleep 300 & echo "$$ $!" >"$STATE/pids.tmp"; mv "$STATE/pids.tmp" "$STATE/pids"; wait; exit 0 ;;
esac
exit 1
`;

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "klms-interrupt-"));
  await mkdir(join(scratch, "bin"));
  await writeFile(join(scratch, "bin", "podman"), FAKE_PODMAN);
  await chmod(join(scratch, "bin", "podman"), 0o755);
});
after(() => rm(scratch, { recursive: true, force: true }));

/** Whether `pid` is a live process (a zombie waiting for its parent counts as ended). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = existsSync(`/proc/${pid}/stat`) ? readFileSync(`/proc/${pid}/stat`, "utf8") : "";
  return !/^\d+ \(.*\) Z/.test(stat);
}

/** Waits until `check` holds, polling: the test's own timeout bounds it. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await sleep(50);
}

for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  test(`${signal} during image push: the builder's process group ends, the auth folder is removed, exit ${code}`, async () => {
    const state = await mkdtemp(join(scratch, "state-"));
    const tmp = await mkdtemp(join(scratch, "tmp-"));
    const child = spawn(
      process.execPath,
      [CLI, "image", "push", "127.0.0.1:1/stelar/t:0.1.0", "--builder", "podman"].concat([
        "--tls-verify",
        "false",
        "--username",
        "$app",
        "--password-stdin",
        "--quiet",
      ]),
      {
        env: { PATH: `${join(scratch, "bin")}:/usr/bin:/bin`, HOME: scratch, TMPDIR: tmp, STATE: state },
        stdio: ["pipe", "pipe", "pipe"],
      },
    );
    child.stdin.end("the-registry-password");
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((done) => child.on("close", (c) => done(c)));
    await until(() => existsSync(join(state, "pids")));
    const [podman, grandchild] = (await readFile(join(state, "pids"), "utf8")).trim().split(" ").map(Number);
    assert.deepEqual((await readdir(tmp)).length, 1, "the private folder exists while the push runs");
    child.kill(signal); // the CLI only, as `timeout -s INT` or a CI runner does: not the group
    assert.equal(await exited, code, stderr);
    assert.match(stderr, new RegExp(`klms-tool image: ${signal}: stopping`));
    assert.deepEqual(await readdir(tmp), [], "no klms-push-* folder (with the auth file) is left");
    await until(() => !alive(podman as number) && !alive(grandchild as number));
    assert.doesNotMatch(stderr, /the-registry-password/);
  });
}

test("a reader that closes stdout early (| head -1): exit 141 quietly, no EPIPE stack trace", async () => {
  for (const argv of [["--help"], ["try", "--list"], ["publish", "--help"]]) {
    const child = spawn(process.execPath, [CLI, ...argv], { cwd: scratch, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy(); // closed before the CLI writes: its first write meets EPIPE
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const code = await new Promise<number | null>((done) => child.on("close", (c) => done(c)));
    assert.equal(code, 141, `${argv.join(" ")}: ${stderr}`);
    assert.equal(stderr, "", argv.join(" "));
  }
});

/** A tool that says it started (a file next to it) and then waits for its task to be cancelled. */
const WAITING_TOOL = (started: string) => `import { writeFileSync } from "node:fs";
import { defineTool, main } from ${JSON.stringify(new URL("../../dist/index.js", import.meta.url).href)};
const tool = defineTool({
  name: "waits",
  async run(task) {
    writeFileSync(${JSON.stringify(started)}, "started");
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, 600000); // keeps the process alive until cancelled
      task.signal.addEventListener("abort", () => { clearTimeout(timer); reject(new Error("stopped")); });
    });
    return {};
  },
});
export default tool;
main(import.meta, tool);
`;

for (const [signal, code] of [
  ["SIGTERM", 143],
  ["SIGINT", 130],
] as const) {
  test(`${signal} to try alone (reusing a running KLMS): the entrypoint is told, reports the task, try exits ${code}`, async () => {
    const project = await mkdtemp(join(scratch, "try-"));
    const started = join(project, "started");
    await writeFile(join(project, "waits.mjs"), WAITING_TOOL(started));
    const devOut = new Collect();
    const stopDev = new AbortController();
    const dev = cli(["dev", "--quiet"], {
      stdout: devOut,
      stderr: new Collect(),
      cwd: scratch,
      signal: stopDev.signal,
    });
    try {
      await until(() => devOut.text.includes("Local KLMS running"));
      const apiUrl = /API URL +(\S+)/.exec(devOut.text)?.[1] as string;
      const child = spawn(
        process.execPath,
        [CLI, "try", "--tool", "waits.mjs", "--worker", "node waits.mjs", "--url", apiUrl],
        { cwd: project, env: { PATH: process.env.PATH, HOME: scratch }, stdio: ["ignore", "pipe", "pipe"] },
      );
      const run = watched(child);
      const exited = run.exited;
      await until(() => existsSync(started));
      child.kill(signal);
      assert.equal(await exited, code, run.text());
      const id = /▸ Logs of task ([0-9a-f-]+)/.exec(run.text())?.[1] as string;
      assert.ok(id, run.text());
      const client = await KlmsClient.login(apiUrl, "dev", "dev");
      const task = await client.tasks.get(id);
      assert.equal(task.exec_state, "failed", "the entrypoint posted the outcome before try ended");
      assert.match(String(task.messages), /cancel|SIGTERM|stopped/i);
    } finally {
      stopDev.abort();
      await dev;
    }
  });
}

test("SIGTERM to try --fresh: its own local KLMS is stopped and its temporary folder removed, exit 143", async () => {
  const project = await mkdtemp(join(scratch, "fresh-"));
  const tmp = await mkdtemp(join(scratch, "fresh-tmp-"));
  const started = join(project, "started");
  await writeFile(join(project, "waits.mjs"), WAITING_TOOL(started));
  const child = spawn(process.execPath, [CLI, "try", "--tool", "waits.mjs", "--worker", "node waits.mjs", "--fresh"], {
    cwd: project,
    env: { PATH: process.env.PATH, HOME: scratch, TMPDIR: tmp },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const run = watched(child);
  const exited = run.exited;
  await until(() => existsSync(started));
  assert.ok(
    (await readdir(tmp)).some((f) => f.startsWith("klms-local-")),
    "the run's KLMS keeps its data there",
  );
  child.kill("SIGTERM");
  assert.equal(await exited, 143, run.text());
  assert.deepEqual(
    (await readdir(tmp)).filter((f) => f.startsWith("klms-local-")),
    [],
    "no temporary KLMS (its secret, task records) is left",
  );
  assert.doesNotMatch(run.text(), /\n\s+at /, "no stack trace");
});

/** A started CLI process: what it printed on stdout and stderr, in order, and its exit code. */
function watched(child: import("node:child_process").ChildProcessWithoutNullStreams) {
  let out = "";
  const collect = (d: Buffer) => {
    out += d.toString();
  };
  child.stdout.on("data", collect);
  child.stderr.on("data", collect);
  return {
    text: () => out,
    exited: new Promise<number | null>((done) => child.on("close", (c) => done(c))),
  };
}
