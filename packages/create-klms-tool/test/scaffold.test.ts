import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);
const repo = fileURLToPath(new URL("../../..", import.meta.url));
const create = join(repo, "packages", "create-klms-tool", "index.js");
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "klms-scaffold-"));
});
after(() => rm(work, { recursive: true, force: true }));

/** Packs a workspace package as npm would publish it; returns the tarball's path. */
async function pack(workspace: string): Promise<string> {
  const { stdout } = await run(npm, ["pack", "--json", "--pack-destination", work, "-w", workspace], { cwd: repo });
  const [info] = JSON.parse(stdout.slice(stdout.indexOf("["))) as { filename: string }[];
  return join(work, info!.filename);
}

test("--help, a bad name and a non-empty folder are handled", async () => {
  const help = await run(process.execPath, [create, "--help"]);
  assert.match(help.stdout, /^usage: npm create klms-tool <dir>/);
  await assert.rejects(
    run(process.execPath, [create, join(work, "x"), "--name", "Bad Name"]),
    (e: { stderr: string; code: number }) => {
      assert.equal(e.code, 1);
      assert.match(e.stderr, /"Bad Name" is not a valid tool name/);
      return true;
    },
  );
  await assert.rejects(run(process.execPath, [create, repo]), /is not empty: choose a new folder/);
});

test("a scaffolded tool installs, passes its own tests and builds, out of the box", { timeout: 600_000 }, async () => {
  const [tool, local] = await Promise.all([pack("packages/klms-tool"), pack("packages/klms-local")]);
  const dir = join(work, "sensor-stats");
  const created = await run(process.execPath, [
    create,
    dir,
    "--klms-tool",
    `file:${tool}`,
    "--klms-local",
    `file:${local}`,
  ]);
  assert.match(created.stdout, /Created \d+ files in .*sensor-stats[\s\S]*npm test/);

  const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
  assert.equal(pkg.name, "sensor-stats");
  assert.match(await readFile(join(dir, "src", "main.ts"), "utf8"), /name: "sensor-stats"/);
  assert.match(await readFile(join(dir, ".gitignore"), "utf8"), /\/input\.json/);

  // Without NODE_TEST_CONTEXT: it would make the project's own test runner report to this one.
  const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
  const env = { ...outer, npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" };
  await run(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund"], { cwd: dir, env });
  const tested = await run(npm, ["test"], { cwd: dir, env });
  // TAP ("# pass 2") on Node 20, the spec reporter ("ℹ pass 2") on Node 24.
  assert.match(tested.stdout, /(#|ℹ) pass 2/);
  assert.match(tested.stdout, /(#|ℹ) fail 0/);
  await run(npm, ["run", "build"], { cwd: dir, env });
  const manifest = await run(
    process.execPath,
    [join(dir, "node_modules", "klms-tool", "dist", "cli", "main.js"), "manifest", "dist/main.js"],
    { cwd: dir },
  );
  assert.equal(JSON.parse(manifest.stdout).name, "sensor-stats");
});
