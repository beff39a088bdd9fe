/**
 * Every command shown in the READMEs' shell blocks is run, as written: here when it is cheap
 * (`npx klms-tool …` in a freshly scaffolded project, `npx create-klms-tool …` and
 * `npm create klms-tool …` in-process, `npm run demo` with its time measured), or by the test
 * named in COVERED, which this test checks still runs it. A new command in a README that is
 * neither fails here, so the docs cannot promise what no test tries.
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { PassThrough, Writable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { cli as klmsTool } from "klms-tool/cli";
// @ts-expect-error: a JavaScript package without declarations
import { cli as createTool } from "../index.js";

const exec = promisify(execFile);
const repo = fileURLToPath(new URL("../../..", import.meta.url));
const DOCS = [
  "README.md",
  "packages/klms-tool/README.md",
  "packages/create-klms-tool/README.md",
  "packages/create-klms-tool/template/README.md",
  "packages/create-klms-tool/variants/python/README.md",
];

const CLUSTER = "packages/integration/test/cluster.test.ts";
const LOOP = "scripts/loop-e2e.sh";

/** Commands run elsewhere: the line's pattern, the file that runs it, and how that file runs it. */
const COVERED: [RegExp, string, RegExp][] = [
  [/^npm ci && npm run demo$/, ".ci/run", /^npm ci$/m], // npm run demo: below
  [/^npm test$/, "packages/create-klms-tool/test/packed.test.ts", /exec\(npm, \["test"\]/],
  [/^npm install$/, "packages/create-klms-tool/test/packed.test.ts", /Installed, and its tests pass/],
  [/^npm start$/, "packages/create-klms-tool/test/packed.test.ts", /exec\(npm, \["start"\]/],
  [/^npm run dev$/, "packages/klms-tool/test/cli/try.test.ts", /"--watch"\]/],
  [/^npm run manifest$/, "packages/create-klms-tool/test/packed.test.ts", /\["run", "--silent", "manifest"\]/],
  [/^cd my-tool$/, "packages/create-klms-tool/test/scaffold.test.ts", /cd asked-tool/],
  [/^make (build )?IMGTAG=/, "scripts/image-e2e.sh", /make build DOCKER=buildah IMGTAG=/],
  [
    /^TOKEN="Bearer …" SIGNATURE=… make run IMGTAG=/,
    "packages/create-klms-tool/test/packed.test.ts",
    /"run",\s*"DOCKER=true"/,
  ],
  [/^scripts\/image-base\.sh$/, "scripts/image-e2e.sh", /"\$ROOT\/scripts\/image-base\.sh"$/m],
  [/^scripts\/registry\.sh start$/, "scripts/image-e2e.sh", /"\$ROOT\/scripts\/registry\.sh" start$/m],
  [
    /^make build DOCKER=buildah IMGTAG=\S+ BASE_IMAGE=localhost\/klms\/node:24-slim$/,
    "scripts/image-e2e.sh",
    /make build DOCKER=buildah IMGTAG="\$IMAGE" BASE_IMAGE=localhost\/klms\/node:24-slim/,
  ],
  [
    /^make push DOCKER=buildah IMGTAG=\S+ TLS_VERIFY=false$/,
    "scripts/image-e2e.sh",
    /make push DOCKER=buildah IMGTAG="\$IMAGE" TLS_VERIFY=false/,
  ],
  // The KLMS commands need a running KLMS and a login: cluster.test.ts runs them against one.
  [
    /^printf dev \| npx klms-tool login \S+ --username dev --password-stdin$/,
    CLUSTER,
    /"login", klms\.apiUrl, "--username", klms\.username, "--password-stdin"/,
  ],
  [/^npx klms-tool whoami$/, CLUSTER, /run\(\["whoami"\]/],
  // The loop with a registry, an image build and podman: scripts/loop-e2e.sh (run by .ci/run).
  [/^scripts\/registry\.sh start --auth$/, LOOP, /scripts\/registry\.sh start --auth\)/],
  [
    /^npx klms-tool dev --port \d+ --run podman --registry \S+ --registry-auth \S+ &$/,
    LOOP,
    /setsid npx klms-tool dev --port "\$API_PORT" --data-dir "\$WORK\/klms" --run podman \\\n\s+--registry "\$REGISTRY_URL" --registry-auth/,
  ],
  [/^npx klms-tool publish --dry-run$/, LOOP, /^npx klms-tool publish --dry-run$/m],
  [
    /^npx klms-tool publish --base-image \S+$/,
    LOOP,
    /^npx klms-tool publish --base-image localhost\/klms\/node:24-slim /m,
  ],
  [
    /^npx klms-tool task run \S+ (--input \S+ |--param \S+ )*--follow$/,
    CLUSTER,
    /"task",\s*"run",\s*"correlations",\s*"--input",[\s\S]{0,120}"--follow"/,
  ],
  [/^npx klms-tool task outputs <task id> --dir \S+$/, CLUSTER, /"task", "outputs", id, "--dir"/],
];

/** The commands of the shell blocks of a Markdown file, without their comments. */
function commands(file: string): string[] {
  const text = readFileSync(join(repo, file), "utf8");
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1] as string);
  return blocks
    .flatMap((b) => b.split("\n"))
    .map((l) => l.replace(/\s+#\s.*$/, "").trim())
    .filter((l) => l !== "");
}

/** Splits a command line like a shell (quotes, no expansion). */
function words(line: string): string[] {
  return [...line.matchAll(/"([^"]*)"|'([^']*)'|(\S+)/g)].map((m) => m[1] ?? m[2] ?? (m[3] as string));
}

class Collect extends Writable {
  text = "";
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

let work: string;
let project: string;
before(async () => {
  work = await mkdtemp(join(tmpdir(), "klms-readme-"));
  // A tool project as `npm create klms-tool` writes it, with the repository's packages installed.
  project = join(work, "my-tool");
  const code = await createTool([project, "--yes", "--no-install"], { stdout: new PassThrough() });
  assert.equal(code, 0);
  await symlink(join(repo, "node_modules"), join(project, "node_modules"), "dir");
  await exec(process.execPath, [join(repo, "node_modules", "typescript", "bin", "tsc"), "-p", project]);
});
after(() => rm(work, { recursive: true, force: true }));

describe("every command in the READMEs runs", () => {
  for (const doc of DOCS) {
    for (const line of commands(doc)) {
      test(`${doc}: ${line}`, { timeout: 120_000 }, async () => {
        const argv = words(line);
        const elsewhere = COVERED.find(([pattern]) => pattern.test(line));
        if (argv[0] === "npx" && argv[1] === "klms-tool" && !elsewhere) return klmsToolLine(argv.slice(2));
        // The same CLI started by its path (where npx's npm process must not hold the arguments).
        if (argv[0] === "node" && argv[1] === "node_modules/klms-tool/bin/klms-tool.js" && !elsewhere) {
          assert.ok(existsSync(join(project, argv[1])), `${argv[1]} is not in a tool project`);
          return klmsToolLine(argv.slice(2));
        }
        if ((argv[0] === "npx" && argv[1] === "create-klms-tool") || (argv[0] === "npm" && argv[1] === "create")) {
          return createLine(argv);
        }
        const covered = COVERED.find(([pattern]) => pattern.test(line));
        assert.ok(covered, `no test runs "${line}": run it here or name the test that does in COVERED`);
        const [, file, runs] = covered;
        assert.match(await readFile(join(repo, file), "utf8"), runs, `${file} no longer runs "${line}"`);
      });
    }
  }

  test("every relative link of the docs points to a file of the repository", () => {
    for (const doc of [...DOCS, "packages/klms-local/README.md", "docs/troubleshooting.md"]) {
      const text = readFileSync(join(repo, doc), "utf8");
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target as string)) continue;
        const file = join(repo, dirname(doc), target as string);
        assert.ok(existsSync(file), `${doc} links to ${target}, which does not exist`);
      }
    }
  });

  test("npm run demo, as the quick start says, and how long it takes", { timeout: 300_000 }, async (t) => {
    const started = process.hrtime.bigint();
    const { NODE_TEST_CONTEXT: _, ...env } = process.env;
    const demo = await exec("npm", ["run", "demo"], { cwd: repo, env });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    assert.match(demo.stdout, /state {5}succeeded/);
    assert.match(demo.stdout, /Done in [\d.]+ s\./);
    t.diagnostic(`npm run demo took ${seconds.toFixed(1)} s (the build included)`);
  });
});

/** `npx klms-tool …` in the project; a line that would run until Ctrl-C is checked by its help. */
async function klmsToolLine(args: string[]): Promise<void> {
  const stdout = new Collect();
  const stderr = new Collect();
  const longRunning = args.includes("--watch") || args[0] === "dev";
  if (longRunning || args.some((a) => /[<…]/.test(a))) {
    const code = await klmsTool([args[0] as string, "--help"], { stdout, stderr, cwd: project });
    assert.equal(code, 0, stderr.text);
    for (const flag of args.filter((a) => a.startsWith("--"))) assert.match(stdout.text, new RegExp(`${flag}\\b`));
    return;
  }
  const code = await klmsTool(args, { stdout, stderr, cwd: project });
  assert.equal(code, 0, stdout.text + stderr.text);
}

/** `npx create-klms-tool …` / `npm create klms-tool … -- …`, in-process, without the install. */
async function createLine(argv: string[]): Promise<void> {
  const args = argv[0] === "npm" ? argv.slice(3).filter((a) => a !== "--") : argv.slice(2);
  const dir = await mkdtemp(join(work, "create-"));
  const stdout = new Collect();
  const stderr = new Collect();
  const noInstall = args.includes("--no-install") ? [] : ["--no-install"];
  const code = await createTool([...args, ...noInstall], { stdout, stderr, cwd: dir });
  assert.equal(code, 0, stderr.text);
  assert.match(stdout.text, /Created \d+ files in my-tool/);
}
