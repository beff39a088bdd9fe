/**
 * create-klms-tool, in-process (cli(argv, io): flags, prompts, errors) and the way users start it:
 * through npx and npm create, from the repository and from packed tarballs.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
// @ts-expect-error: a JavaScript package without declarations
import { cli } from "../index.js";

const exec = promisify(execFile);
const repo = fileURLToPath(new URL("../../..", import.meta.url));
const npm = process.platform === "win32" ? "npm.cmd" : "npm";
// Without NODE_TEST_CONTEXT: it would make a project's own test runner report to this one.
const { NODE_TEST_CONTEXT: _, ...outer } = process.env;
const env = {
  ...outer,
  npm_config_audit: "false",
  npm_config_fund: "false",
  npm_config_update_notifier: "false",
  // The registry is reachable, but its packages are in npm's cache after the repository's npm ci.
  npm_config_prefer_offline: "true",
};
let work: string;

before(async () => {
  work = await mkdtemp(join(tmpdir(), "klms-scaffold-"));
});
after(() => rm(work, { recursive: true, force: true }));

class Collect extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

/** Runs create-klms-tool in this process; `answers` are typed on its stdin as on a terminal. */
async function create(args: string[], answers?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Collect();
  const stderr = new Collect();
  const stdin = new PassThrough();
  if (answers !== undefined) stdin.end(answers);
  const code = await cli(args, { stdin, stdout, stderr, cwd: work, env, interactive: answers !== undefined });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

describe("create-klms-tool, in-process", () => {
  test("--help, a bad name, an unknown template, a non-empty folder, no folder", async () => {
    const help = await create(["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: npm create klms-tool \[<dir>\]/);
    assert.match(help.stdout, /--template <t>\s+minimal: [\s\S]*csv: [\s\S]*python: /);
    const bad = await create(["x-tool", "--name", "Bad Name", "--no-install"]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /"Bad Name" is not a valid tool name: use 2 to 100 of a-z/);
    const unknown = await create(["y-tool", "--template", "rust", "--no-install"]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /unknown template "rust": choose one of minimal, csv, python/);
    const full = await create([repo, "--no-install"]);
    assert.equal(full.code, 1);
    assert.match(full.stderr, /is not empty: choose a new folder/);
    // A file: spec naming nothing: said before anything is written (attack6 F13).
    const missing = await create(["z-tool", "--klms-tool", "file:../nowhere.tgz", "--no-install"]);
    assert.equal(missing.code, 1);
    assert.match(
      missing.stderr,
      /--klms-tool file:\.\.\/nowhere\.tgz: \S*nowhere\.tgz does not exist \(a file: path is read from the new project's folder/,
    );
    assert.ok(!existsSync(join(work, "z-tool")), "no half-made project");
    const none = await create([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /give the folder to create the tool in/);
  });

  test("a folder a shell would split is quoted in the next steps; a catalog name unlike the folder's is said (attack6 F7)", async () => {
    const r = await create(["My Tool's", "--no-install"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^ {2}cd 'My Tool'\\''s'$/m);
    assert.match(
      r.stdout,
      /The tool's name in the catalog is "my-tool-s" \(made from the folder's; --name sets another\)\./,
    );
    assert.equal(JSON.parse(await readFile(join(work, "My Tool's", "package.json"), "utf8")).name, "my-tool-s");
    const plain = await create(["plain-tool", "--no-install"]);
    assert.match(plain.stdout, /^ {2}cd plain-tool$/m);
    assert.doesNotMatch(plain.stdout, /name in the catalog is/);
  });

  test("on a terminal it asks: folder, name (asked again when invalid), description, template", async () => {
    const r = await create(["--no-install"], "asked-tool\nNot Valid\nasked_tool\nCounts words\n2\n");
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Project folder \(my-tool\): /);
    assert.match(r.stdout, /Tool name in the catalog \(asked-tool\): +"Not Valid" is not a valid tool name/);
    assert.match(r.stdout, /1\. minimal: [\s\S]*2\. csv: [\s\S]*3\. python: /);
    assert.match(r.stdout, /Created \d+ files in asked-tool \(template: csv\)/);
    const dir = join(work, "asked-tool");
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    assert.equal(pkg.name, "asked_tool");
    assert.equal(pkg.description, "Counts words");
    assert.equal(pkg.dependencies["csv-parse"], "^7.0.3");
    const main = await readFile(join(dir, "src", "main.ts"), "utf8");
    assert.match(main, /name: "asked_tool",\n[\s\S]*description: "Counts words",/);
    assert.equal(existsSync(join(dir, "fixtures", "data.txt")), false, "the csv variant removes the base's sample");
    // Next steps without an install: install, test, start.
    assert.match(r.stdout, /Next:\n {2}cd asked-tool\n {2}npm install\n {2}npm test .*\n {2}npm start /);
  });

  test("run from the kit's checkout, it vendors the checkout's own packages (they are not on the npm registry)", async () => {
    // npm install and npm test of the new project are not this test's subject: a stand-in npm
    // (npm_execpath, as `npm create` sets it) records them; the packing runs the real npm.
    const fakeNpm = join(work, "npm-cli.js");
    await writeFile(
      fakeNpm,
      `require("node:fs").appendFileSync(${JSON.stringify(join(work, "npm-calls"))}, process.argv.slice(2).join(" ") + "\\n");\n`,
    );
    const stdout = new Collect();
    const stderr = new Collect();
    const code = await cli(["from-checkout", "--yes"], {
      stdin: new PassThrough(),
      stdout,
      stderr,
      cwd: work,
      env: { ...env, npm_execpath: fakeNpm },
      interactive: false,
    });
    assert.equal(code, 0, stderr.text);
    assert.match(
      stdout.text,
      /Vendoring klms-tool and klms-local from the kit's checkout .* \(npm pack; as --kit does\)/,
    );
    const dir = join(work, "from-checkout");
    const version = JSON.parse(await readFile(join(repo, "packages", "klms-tool", "package.json"), "utf8")).version;
    assert.deepEqual((await readdir(join(dir, "vendor"))).sort(), [
      `klms-local-${version}.tgz`,
      `klms-tool-${version}.tgz`,
    ]);
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    assert.equal(pkg.dependencies["klms-tool"], `file:vendor/klms-tool-${version}.tgz`);
    assert.equal(pkg.devDependencies["klms-local"], `file:vendor/klms-local-${version}.tgz`);
    assert.equal(await readFile(join(work, "npm-calls"), "utf8"), "install --no-audit --no-fund\ntest\n");
    // With a spec of its own, or without installing, the registry specs stay (the user's choice).
    const spec = await create(["with-spec", "--yes", "--no-install"]);
    assert.equal(spec.code, 0, spec.stderr);
    assert.doesNotMatch(spec.stdout, /Vendoring/);
  });

  test("--kit vendors the kit's tarballs into the project, inside the image's build context", async () => {
    const kit = join(work, "kit");
    await mkdir(kit);
    await writeFile(join(kit, "klms-tool-0.1.0.tgz"), "tool tarball bytes");
    await writeFile(join(kit, "klms-local-0.1.0.tgz"), "local tarball bytes");
    await writeFile(join(kit, "create-klms-tool-0.1.0.tgz"), "not vendored");
    const r = await create(["kit-tool", "--yes", "--no-install", "--kit", "kit"]);
    assert.equal(r.code, 0, r.stderr);
    const dir = join(work, "kit-tool");
    assert.deepEqual((await readdir(join(dir, "vendor"))).sort(), ["klms-local-0.1.0.tgz", "klms-tool-0.1.0.tgz"]);
    assert.equal(await readFile(join(dir, "vendor", "klms-tool-0.1.0.tgz"), "utf8"), "tool tarball bytes");
    const pkg = JSON.parse(await readFile(join(dir, "package.json"), "utf8"));
    assert.equal(pkg.dependencies["klms-tool"], "file:vendor/klms-tool-0.1.0.tgz");
    assert.equal(pkg.devDependencies["klms-local"], "file:vendor/klms-local-0.1.0.tgz");
    assert.deepEqual(pkg.overrides, { "klms-tool": "file:vendor/klms-tool-0.1.0.tgz" });
    // Nothing in .dockerignore keeps vendor/ out of the build context.
    assert.doesNotMatch(await readFile(join(dir, ".dockerignore"), "utf8"), /vendor/);

    await writeFile(join(kit, "klms-local-0.2.0.tgz"), "a second version");
    const two = await create(["kit-two", "--yes", "--no-install", "--kit", "kit"]);
    assert.equal(two.code, 1);
    assert.match(
      two.stderr,
      /--kit .*kit must hold one klms-local-<version>\.tgz \(found 2: klms-local-0\.1\.0\.tgz, klms-local-0\.2\.0\.tgz\): npm pack -w packages\/klms-local --pack-destination/,
    );
    const both = await create(["kit-both", "--yes", "--no-install", "--kit", "kit", "--klms-tool", "^0.1.0"]);
    assert.match(both.stderr, /give --kit or --klms-tool\/--klms-local, not both/);
    const missing = await create(["kit-none", "--yes", "--no-install", "--kit", "no-such-dir"]);
    assert.match(missing.stderr, /--kit .*no-such-dir does not exist: give the folder holding the packed tarballs/);
  });

  test("input that ends before the answers is a usage error, not a hang", async () => {
    const r = await create(["--no-install"], "half-tool\n");
    assert.equal(r.code, 2);
    assert.match(r.stderr, /no answer \(the input ended\)/);
  });

  test("the python template: main.py keeps the worker contract, as the entrypoint runs it", async () => {
    const r = await create(["py-tool", "--template", "python", "--no-install", "--description", "Sums x and y"]);
    assert.equal(r.code, 0, r.stderr);
    const dir = join(work, "py-tool");
    assert.equal(existsSync(join(dir, "src")), false);
    assert.match(await readFile(join(dir, "run.sh"), "utf8"), /--worker "python3 -u main\.py"/);
    await writeFile(join(dir, "output.json"), "");
    await exec("python3", ["-u", "main.py", "fixtures/input.json", "output.json"], { cwd: dir });
    assert.deepEqual(JSON.parse(await readFile(join(dir, "output.json"), "utf8")), {
      status: "succeeded",
      message: "x + y = 5; 0 input files",
      metrics: { z: 5, files: 0 },
    });
    assert.match(await readFile(join(dir, "main.py"), "utf8"), /^"""Sums x and y\n/);
    // make build (dry run): the image is built without a manifest label, which needs dist/main.js.
    const build = await exec("make", ["-n", "build", "DOCKER=buildah", "IMGTAG=x/py-tool:1"], { cwd: dir });
    assert.match(build.stdout, /buildah bud .*--build-arg TOOL_NAME=py-tool --build-arg TOOL_VERSION=0\.1\.0/);
    assert.doesNotMatch(build.stdout, /klms\.tool\.manifest|dist\/main\.js/);
  });
});

describe("create-klms-tool in the repository, started as users start it", () => {
  // npm links the workspace's bin into node_modules/.bin: these go through that symlink, the path
  // on which the old scaffolder silently did nothing.
  test("npx create-klms-tool and npm create klms-tool write a project", async () => {
    const viaNpx = join(work, "via-npx");
    const a = await exec("npx", ["create-klms-tool", viaNpx, "--yes", "--no-install"], { cwd: repo, env });
    assert.match(a.stdout, /Created \d+ files in .*via-npx \(template: minimal\)/);
    assert.equal(JSON.parse(await readFile(join(viaNpx, "package.json"), "utf8")).name, "via-npx");
    // The dev data folder holds the local KLMS's server secret; task files hold credentials.
    const ignored = (await readFile(join(viaNpx, ".gitignore"), "utf8")).split("\n");
    for (const entry of [".klms/", "/input.json", ".env", ".env.*", "*.env", "try-output/"])
      assert.ok(ignored.includes(entry), entry);
    // The local secrets file the README's `try --secret-file .env` reads: there, and kept out of the image too.
    assert.match(await readFile(join(viaNpx, ".env"), "utf8"), /^api_key=replace-me$/m);
    assert.ok(!existsSync(join(viaNpx, "env")));
    const notInImage = (await readFile(join(viaNpx, ".dockerignore"), "utf8")).split("\n");
    for (const entry of [".env", ".env.*", "*.env", "**/.env"]) assert.ok(notInImage.includes(entry), entry);
    const viaCreate = join(work, "via-create");
    const b = await exec(npm, ["create", "klms-tool", viaCreate, "--", "--template", "csv", "--no-install"], {
      cwd: repo,
      env,
    });
    assert.match(b.stdout, /Created \d+ files in .*via-create \(template: csv\)/);
    assert.ok(existsSync(join(viaCreate, "fixtures", "readings.csv")));
  });

  test("npx klms-tool at the repository's root", async () => {
    const r = await exec("npx", ["klms-tool", "--version"], { cwd: repo, env });
    const pkg = JSON.parse(await readFile(join(repo, "packages", "klms-tool", "package.json"), "utf8"));
    assert.equal(r.stdout, `${pkg.version}\n`);
  });
});

describe("create-klms-tool: the steps it names fit the project (attack5 F14, F16)", () => {
  test("the python template's next steps name main.py, not src/main.ts", async () => {
    const r = await create(["py-next", "--template", "python", "--yes", "--no-install"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Edit main\.py to make the tool yours/);
    assert.doesNotMatch(r.stdout, /src\//);
    const ts = await create(["ts-next", "--yes", "--no-install"]);
    assert.match(ts.stdout, /Edit src\/main\.ts to make the tool yours/);
  });

  test("npm install meeting a 404 for klms-tool/klms-local says to scaffold with --kit", async () => {
    // A stand-in npm (an external program) that fails as the registry does for unpublished packages.
    const bin = join(work, "fake-npm-bin");
    await mkdir(bin, { recursive: true });
    await writeFile(
      join(bin, "npm"),
      "#!/bin/sh\necho 'npm error 404 Not Found - GET https://registry.npmjs.org/klms-local - Not found' >&2\nexit 1\n",
      { mode: 0o755 },
    );
    const stdout = new Collect();
    const stderr = new Collect();
    const { npm_execpath: _exec, ...rest } = env;
    // A dependency spec given: no vendoring from this clone, npm asked for it as a user outside a clone would.
    const code = await cli(["npm-404", "--yes", "--klms-tool", "^0.1.0"], {
      stdin: new PassThrough(),
      stdout,
      stderr,
      cwd: work,
      env: { ...rest, PATH: `${bin}:${process.env.PATH}` },
      interactive: false,
    });
    assert.equal(code, 1);
    assert.match(
      stderr.text,
      /klms-tool and klms-local are not on the npm registry \(yet\): scaffold from the kit's tarballs/,
    );
    assert.match(stderr.text, /npm pack -w packages\/klms-tool -w packages\/klms-local --pack-destination kit/);
    assert.match(stderr.text, /--kit <that kit folder>/);
  });
});
