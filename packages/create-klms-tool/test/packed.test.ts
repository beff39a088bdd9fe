/**
 * The first hour of a tool author, from the packages as npm would publish them: pack the three
 * packages, scaffold a tool through npx from the tarball (it installs and runs the new tool's
 * tests), run it on a local CSV with `klms-tool try`, run `npm start`, read its manifest.
 * Nothing here uses the repository's node_modules: the project installs from the tarballs and
 * npm's cache (the registry is reachable for what the cache lacks).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const exec = promisify(execFile);
const repo = fileURLToPath(new URL("../../..", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
const npx = process.platform === "win32" ? "npx.cmd" : "npx";
const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
const env = {
  ...outer,
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  npm_config_prefer_offline: "true",
};
let work: string;
const tarballs: Record<string, string> = {};

before(async () => {
  work = await mkdtemp(join(tmpdir(), "klms-packed-"));
  // One npm for the three packages: each npm start-up costs seconds on a busy machine.
  const names = ["klms-tool", "klms-local", "create-klms-tool"];
  const workspaces = names.flatMap((name) => ["-w", `packages/${name}`]);
  const { stdout } = await exec(npm, ["pack", "--json", "--pack-destination", work, ...workspaces], { cwd: repo, env });
  const packed = JSON.parse(stdout.slice(stdout.indexOf("["))) as {
    name: string;
    filename: string;
    files: { path: string }[];
  }[];
  assert.deepEqual(packed.map((p) => p.name).sort(), [...names].sort(), "the three packages are packed");
  for (const info of packed) tarballs[info.name] = join(work, info.filename);
  // The template travels inside the package, the dotless gitignore included (npm drops .gitignore).
  const paths = packed.find((p) => p.name === "create-klms-tool")?.files.map((f) => f.path) ?? [];
  for (const path of ["template/src/main.ts", "template/gitignore", "template/Dockerfile"]) {
    assert.ok(paths.includes(path), `${path} is packed`);
  }
});
after(() => rm(work, { recursive: true, force: true }));

test("from the tarballs: npx create-klms-tool, its tests, klms-tool try on a local CSV, npm start", {
  timeout: 900_000,
}, async () => {
  const created = await exec(
    npx,
    [
      "--yes",
      `--package=${tarballs["create-klms-tool"]}`,
      "create-klms-tool",
      "csv-stats",
      "--template",
      "csv",
      "--description",
      "Column statistics of CSV files",
      "--klms-tool",
      `file:${tarballs["klms-tool"]}`,
      "--klms-local",
      `file:${tarballs["klms-local"]}`,
    ],
    { cwd: work, env, maxBuffer: 64 << 20 },
  );
  // It installed, ran the new tool's tests (3 pass) and printed the next three commands.
  assert.match(created.stdout, /Created \d+ files in csv-stats \(template: csv\)/);
  assert.match(created.stdout, /\$ npm test[\s\S]*(#|ℹ) pass 3[\s\S]*(#|ℹ) fail 0/);
  assert.match(
    created.stdout,
    /Installed, and its tests pass\. Next:\n {2}cd csv-stats\n {2}npm start .*\n {2}npm run dev .*\n {2}make build IMGTAG=/,
  );
  const dir = join(work, "csv-stats");

  // One command on the author's own file.
  await mkdir(join(dir, "data"));
  await writeFile(join(dir, "data", "mine.csv"), "id,value,note\n1,10,a\n2,30,b\n3,20,c\n");
  const tried = await exec(npx, ["klms-tool", "try", "--input", "tables=./data/mine.csv"], { cwd: dir, env });
  assert.match(tried.stdout, /state {5}succeeded/);
  assert.match(tried.stdout, /downloaded to try-output\/summary/);
  assert.equal(
    await readFile(join(dir, "try-output", "summary"), "utf8"),
    "file,column,count,mean,min,max\nmine.csv,id,3,2,1,3\nmine.csv,value,3,20,10,30\n",
  );

  // npm start: the fixture input, in the platform's shape, with its own output path.
  const started = await exec(npm, ["start"], { cwd: dir, env });
  assert.match(started.stdout, /state {5}succeeded/);
  assert.match(started.stdout, /message {3}2 numeric columns summarised/);
  assert.match(
    await readFile(join(dir, "try-output", "summary.csv"), "utf8"),
    /^file,column,count,mean,min,max\nreadings\.csv,temperature,3,/,
  );

  // The manifest: the version from package.json, the description given to the scaffolder.
  const manifest = await exec(npm, ["run", "--silent", "manifest"], { cwd: dir, env });
  const m = JSON.parse(manifest.stdout);
  assert.deepEqual([m.name, m.version, m.description], ["csv-stats", "0.1.0", "Column statistics of CSV files"]);
  const ts = await exec(npx, ["klms-tool", "manifest", "src/main.ts"], { cwd: dir, env }).catch((e) => e);
  assert.equal(ts.code, 2);
  assert.match(
    ts.stderr,
    /src\/main\.ts is TypeScript source; give the compiled JavaScript file instead: dist\/main\.js/,
  );

  // make run shows neither the token nor the signature (DOCKER=true: nothing is started).
  const run = await exec(
    "make",
    [
      "run",
      "DOCKER=true",
      "TOKEN=Bearer tok-SECRET",
      "SIGNATURE=sig-SECRET",
      "API_URL=http://127.0.0.1:1/",
      "TASK_ID=t1",
    ],
    { cwd: dir, env },
  );
  assert.match(
    run.stdout,
    /true create --rm --network host .* "<token>" "http:\/\/127\.0\.0\.1:1\/" "t1" "<signature>", then true start --attach <container>/,
  );
  assert.doesNotMatch(run.stdout + run.stderr, /SECRET/);
});

// The other two templates, scaffolded from the same tarball; their node_modules is the csv
// project's (the same packages but csv-parse), so that a second install is not paid for. The two
// run side by side (each mostly waits on its npm and tool processes), after the csv project.
describe("the other templates, from the same tarballs", { concurrency: 2 }, () => {
  for (const [template, passes, message] of [
    ["minimal", 3, /message {3}x \+ y = 5; 3 lines read/],
    ["python", 3, /message {3}x \+ y = 5; 0 input files/],
  ] as const) {
    test(`from the tarballs: the ${template} template passes its tests and npm start runs its fixture`, {
      timeout: 300_000,
    }, async () => {
      const name = `${template}-tool`;
      await exec(
        npx,
        [
          "--yes",
          `--package=${tarballs["create-klms-tool"]}`,
          "create-klms-tool",
          name,
          "--template",
          template,
          "--no-install",
        ],
        { cwd: work, env },
      );
      const dir = join(work, name);
      await symlink(join(work, "csv-stats", "node_modules"), join(dir, "node_modules"), "dir");
      const tested = await exec(npm, ["test"], { cwd: dir, env });
      assert.match(tested.stdout, new RegExp(`(#|ℹ) pass ${passes}[\\s\\S]*(#|ℹ) fail 0`));
      const started = await exec(npm, ["start"], { cwd: dir, env });
      assert.match(started.stdout, /state {5}succeeded/);
      assert.match(started.stdout, message);
    });
  }
});
