/**
 * The image module against the real builders: detection over real PATHs, build-context checks,
 * real FROM-scratch builds with buildah and podman in a private storage, and real logins and
 * pushes to a docker-registry with htpasswd on a free port (test/image/registry.ts). Docker is
 * covered by detection only: no Docker daemon runs on the test hosts.
 */
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { cli } from "../../src/cli/cli.ts";
import { KlmsError } from "../../src/errors.ts";
import {
  buildArgs,
  buildImage,
  checkBuildContext,
  detectBuilder,
  ImageError,
  projectBuild,
  pushImage,
  registryOf,
  requireBuilder,
  runArgs,
} from "../../src/image/index.ts";
import { Collect } from "../cli-io.ts";
import { startTestRegistry, type TestRegistry } from "./registry.ts";

let scratch: string;
before(async () => {
  scratch = await mkdtemp(join(tmpdir(), "klms-image-"));
});
after(() => rm(scratch, { recursive: true, force: true }));

/** A folder holding links to the named real executables: a PATH with exactly those. */
async function pathWith(...commands: string[]): Promise<string> {
  const dir = await mkdtemp(join(scratch, "bin-"));
  for (const c of commands)
    await symlink(
      execFileSync("sh", ["-c", `command -v ${c}`])
        .toString()
        .trim(),
      join(dir, c),
    );
  return dir;
}

describe("detectBuilder", () => {
  test("the first installed of podman and buildah; undefined when none is", async () => {
    assert.equal(await detectBuilder({ PATH: await pathWith("podman", "buildah") }), "podman");
    assert.equal(await detectBuilder({ PATH: await pathWith("buildah") }), "buildah");
    assert.equal(await detectBuilder({ PATH: await pathWith() }), undefined);
  });

  test("docker counts only when its daemon answers", async (t) => {
    if (!existsSync("/usr/local/bin/docker") && !existsSync("/usr/bin/docker")) t.skip("no docker CLI installed");
    // DOCKER_HOST points at a socket nobody listens on: the CLI is there, the daemon is not.
    const env = { PATH: await pathWith("docker", "buildah"), DOCKER_HOST: `unix://${scratch}/none.sock` };
    assert.equal(await detectBuilder(env), "buildah");
  });

  test("KLMS_BUILDER wins, and must name an installed builder", async () => {
    const PATH = await pathWith("podman", "buildah");
    assert.equal(await detectBuilder({ PATH, KLMS_BUILDER: "buildah" }), "buildah");
    await assert.rejects(detectBuilder({ PATH, KLMS_BUILDER: "kaniko" }), {
      name: "ImageError",
      message: "KLMS_BUILDER=kaniko is not a builder: set it to docker, podman or buildah, or unset it",
    });
    await assert.rejects(detectBuilder({ PATH: await pathWith("buildah"), KLMS_BUILDER: "podman" }), {
      message: "KLMS_BUILDER=podman, but podman is not installed (not on PATH): install it, or unset KLMS_BUILDER",
    });
  });

  test("with none installed, requireBuilder says what to install", async () => {
    await assert.rejects(requireBuilder({ PATH: await pathWith() }), {
      name: "ImageError",
      message:
        "no image builder found: install docker (with its daemon running), podman or buildah, or set KLMS_BUILDER to one that is installed",
    });
  });
});

test("ImageError is a KlmsError with the code Image", () => {
  const error = new ImageError("m", ["line"]);
  assert.ok(error instanceof KlmsError);
  assert.deepEqual([error.name, error.code, error.output], ["ImageError", "Image", ["line"]]);
});

describe("settings", () => {
  test("the registry of a tag", () => {
    assert.equal(registryOf("127.0.0.1:5000/stelar/tool:1"), "127.0.0.1:5000");
    assert.equal(registryOf("localhost/klms/node:24-slim"), "localhost");
    assert.equal(registryOf("registry.example.org/a/b"), "registry.example.org");
    assert.equal(registryOf("stelar/tool:1"), "docker.io");
    assert.equal(registryOf("tool"), "docker.io");
  });

  test("the template's Makefile passes the same builder settings as the module", () => {
    const makefile = readFileSync(
      fileURLToPath(new URL("../../../create-klms-tool/template/Makefile", import.meta.url)),
      "utf8",
    );
    for (const args of [buildArgs("podman"), buildArgs("buildah"), runArgs("podman"), runArgs("docker")])
      assert.ok(makefile.includes(args.join(" ")), `the Makefile lacks "${args.join(" ")}"`);
    assert.match(makefile, /--runtime runc/);
  });
});

describe("checkBuildContext", () => {
  test("a project without a Dockerfile", async () => {
    const dir = await mkdtemp(join(scratch, "ctx-"));
    assert.throws(() => checkBuildContext(dir), {
      message: `no Dockerfile in ${dir}: build from a tool project (npm create klms-tool makes one)`,
    });
  });

  test("file: dependencies outside the project are named, with the fix; vendored ones pass", async () => {
    const dir = await mkdtemp(join(scratch, "ctx-"));
    await writeFile(join(dir, "Dockerfile"), "FROM scratch\n");
    const pkg = (deps: Record<string, string>) =>
      writeFile(join(dir, "package.json"), JSON.stringify({ dependencies: { zod: "^4.0.0", ...deps } }));
    await pkg({ "klms-tool": "file:../klms-tool-0.1.0.tgz", "klms-local": "file:/tmp/klms-local-0.1.0.tgz" });
    assert.throws(
      () => checkBuildContext(dir),
      (error: Error) => {
        assert.ok(error instanceof ImageError);
        assert.match(
          error.message,
          /klms-tool@file:\.\.\/klms-tool-0\.1\.0\.tgz, klms-local@file:\/tmp\/klms-local-0\.1\.0\.tgz/,
        );
        assert.match(
          error.message,
          /depend on "file:vendor\/<name>\.tgz" \(npm create klms-tool --kit <folder of tarballs>/,
        );
        return true;
      },
    );
    await pkg({ "klms-tool": "file:vendor/klms-tool-0.1.0.tgz" });
    assert.doesNotThrow(() => checkBuildContext(dir));
  });
});

/** A FROM-scratch project: one file, one label, one build argument. */
async function scratchProject(): Promise<string> {
  const dir = await mkdtemp(join(scratch, "project-"));
  await writeFile(join(dir, "hello.txt"), "hello\n");
  await writeFile(
    join(dir, "Dockerfile"),
    "FROM scratch\nARG GREETING=none\nLABEL greeting=$GREETING\nCOPY hello.txt /\n",
  );
  return dir;
}

/** The image's labels, read back from the builder's own storage. */
function labels(builder: "buildah" | "podman", tag: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const args = builder === "buildah" ? ["inspect", "--type", "image", tag] : ["image", "inspect", tag];
  const out = JSON.parse(execFileSync(builder, args, { env }).toString());
  const config = builder === "buildah" ? out.OCIv1.config : out[0].Config;
  return config.Labels ?? {};
}

for (const builder of ["buildah", "podman"] as const) {
  describe(`${builder}: build, login, push to a registry with htpasswd`, () => {
    let registry: TestRegistry;
    let tag: string;
    before(async () => {
      registry = await startTestRegistry();
      tag = `${registry.host}/klms-test/${builder}:1`;
    });
    after(() => registry?.stop());

    test("builds the Dockerfile with build arguments and labels", async () => {
      const lines: string[] = [];
      const result = await buildImage({
        dir: await scratchProject(),
        tag,
        builder,
        buildArgs: { GREETING: "hi" },
        labels: { "klms.tool.manifest": '{"name":"t"}' },
        onLine: (l) => lines.push(l),
        env: registry.env,
      });
      assert.deepEqual(result, { builder, tag });
      const got = labels(builder, tag, registry.env);
      assert.equal(got.greeting, "hi");
      assert.equal(got["klms.tool.manifest"], '{"name":"t"}');
      assert.ok(
        lines.some((l) => l.includes("COPY hello.txt")),
        `no progress lines: ${lines.join("\n")}`,
      );
    });

    test("a push without credentials is refused, and says so", async () => {
      await assert.rejects(pushImage({ tag, builder, tlsVerify: false, env: registry.env }), (error: Error) => {
        assert.ok(error instanceof ImageError);
        assert.match(
          error.message,
          new RegExp(`^${builder} push of ${tag} failed \\(exit code \\d+\\): ${registry.host} refused the push`),
        );
        return true;
      });
    });

    test("a wrong password is refused without showing it", async () => {
      const password = "wrong-password-0123";
      const lines: string[] = [];
      await assert.rejects(
        pushImage({
          tag,
          builder,
          tlsVerify: false,
          credentials: { username: registry.username, password },
          onLine: (l) => lines.push(l),
          env: registry.env,
        }),
        (error: Error) => {
          assert.match(error.message, new RegExp(`${registry.host} refused the username or password`));
          assert.ok(!error.message.includes(password) && !lines.join("\n").includes(password));
          return true;
        },
      );
    });

    test("https against a plain-http registry names the fix", async () => {
      const credentials = { username: registry.username, password: registry.password };
      await assert.rejects(pushImage({ tag, builder, credentials, env: registry.env }), {
        message: new RegExp(`${registry.host} speaks plain http: push with tlsVerify false`),
      });
    });

    test("with credentials: pushed, the registry's digest returned, no login left behind", async () => {
      const credentials = { username: registry.username, password: registry.password };
      const lines: string[] = [];
      const { digest } = await pushImage({
        tag,
        builder,
        tlsVerify: false,
        credentials,
        onLine: (l) => lines.push(l),
        env: registry.env,
      });
      assert.match(digest ?? "", /^sha256:[0-9a-f]{64}$/);
      assert.equal(digest, await registry.digestOf(`klms-test/${builder}`, "1"));
      assert.ok(!lines.join("\n").includes(registry.password));
      // The login lived in a private auth file: the builder's own login state does not know the registry.
      const loggedIn = spawnSync(builder, ["login", "--get-login", registry.host], { env: registry.env });
      assert.equal(loggedIn.stdout.toString(), "");
      assert.match(loggedIn.stderr.toString(), /not logged into/);
    });

    test("klms-tool image build and push: package.json's name as TOOL_NAME, login through stdin, --json", async () => {
      const dir = await scratchProject();
      await writeFile(join(dir, "package.json"), JSON.stringify({ name: "cli-tool", version: "2.0.0" }));
      await writeFile(
        join(dir, "Dockerfile"),
        "FROM scratch\nARG TOOL_NAME\nLABEL title=$TOOL_NAME\nCOPY hello.txt /\n",
      );
      const cliTag = `${registry.host}/klms-test/cli-${builder}:2`;
      const io = { cwd: dir, env: registry.env };
      const built = await run(["image", "build", cliTag, "--builder", builder, "--quiet", "--json"], io);
      assert.equal(built.code, 0, built.stderr);
      assert.deepEqual(JSON.parse(built.stdout), { builder, tag: cliTag });
      assert.equal(built.stderr, "", "--quiet passes no progress on");
      assert.equal(labels(builder, cliTag, registry.env).title, "cli-tool");
      const pushArgs = ["image", "push", cliTag, "--builder", builder, "--tls-verify", "false"];
      const login = ["--username", registry.username, "--password-stdin"];
      const pushed = await run([...pushArgs, ...login, "--json"], { ...io, stdin: `${registry.password}\n` });
      assert.equal(pushed.code, 0, pushed.stderr);
      const digest = await registry.digestOf(`klms-test/cli-${builder}`, "2");
      assert.deepEqual(JSON.parse(pushed.stdout), { tag: cliTag, digest });
      assert.ok(!(pushed.stdout + pushed.stderr).includes(registry.password));
      const refused = await run(pushArgs, io);
      assert.equal(refused.code, 1);
      assert.match(
        refused.stderr,
        new RegExp(`^klms-tool image: ${builder} push of .* ${registry.host} refused the push`, "m"),
      );
    });
  });
}

describe("build failures name their cause and the fix", () => {
  test("a base image that is in no storage and no registry", async () => {
    const dir = await mkdtemp(join(scratch, "nobase-"));
    await writeFile(join(dir, "Dockerfile"), "FROM localhost/klms/no-such-base:1\nCOPY . /\n");
    const env = await privateStorage();
    await assert.rejects(
      buildImage({ dir, tag: "localhost/klms-test/nobase:1", builder: "buildah", env }),
      (error: Error) => {
        assert.ok(error instanceof ImageError);
        assert.match(
          error.message,
          /^buildah build of localhost\/klms-test\/nobase:1 failed \(exit code \d+\): the base image could not be found/,
        );
        assert.match(error.message, /scripts\/image-base\.sh puts localhost\/klms\/node:24-slim there/);
        assert.match(error.message, /buildah said:\n {4}/);
        return true;
      },
    );
  });

  test("docker without its daemon", async (t) => {
    if (!existsSync("/usr/local/bin/docker") && !existsSync("/usr/bin/docker")) t.skip("no docker CLI installed");
    const env = { ...process.env, DOCKER_HOST: `unix://${scratch}/none.sock` };
    await assert.rejects(buildImage({ dir: await scratchProject(), tag: "x/y:1", builder: "docker", env }), {
      message:
        /^docker build of x\/y:1 failed \(exit code 1\): docker cannot reach its daemon: start it, or set KLMS_BUILDER=podman or KLMS_BUILDER=buildah/,
    });
  });

  test("a builder that is not installed", async () => {
    const env = { PATH: await pathWith() };
    await assert.rejects(buildImage({ dir: await scratchProject(), tag: "x/y:1", builder: "podman", env }), {
      message: "podman build of x/y:1 failed: podman is not installed: install it, or set KLMS_BUILDER to one that is",
    });
  });
});

/** process.env with a fresh, empty containers storage (vfs) under the test's folder. */
async function privateStorage(): Promise<NodeJS.ProcessEnv> {
  const dir = await mkdtemp(join(scratch, "storage-"));
  await writeFile(
    join(dir, "storage.conf"),
    `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/root"\nrunroot = "${dir}/run"\n`,
  );
  return { ...process.env, CONTAINERS_STORAGE_CONF: join(dir, "storage.conf") };
}

test("a push of an image that was never built names the fix", async () => {
  const dir = await mkdtemp(join(scratch, "empty-"));
  await mkdir(join(dir, "s"));
  await writeFile(
    join(dir, "storage.conf"),
    `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/s/root"\nrunroot = "${dir}/s/run"\n`,
  );
  const env = { ...process.env, CONTAINERS_STORAGE_CONF: join(dir, "storage.conf") };
  await assert.rejects(pushImage({ tag: "127.0.0.1:9/none/never:1", builder: "buildah", tlsVerify: false, env }), {
    message: /there is no image 127\.0\.0\.1:9\/none\/never:1 in buildah's storage: build it first/,
  });
});

describe("klms-tool image: usage, and the project's build options", () => {
  test("usage mistakes exit 2 and say what is wrong", async () => {
    const cases: [string[], RegExp][] = [
      [["image", "frob", "x:1"], /"frob" is not an action: build or push/],
      [["image", "push", "x:1", "--username", "u"], /--username and --password-stdin go together/],
      [["image", "build", "x:1", "--builder", "kaniko"], /--builder kaniko: choose docker, podman or buildah/],
      [["image", "push", "x:1", "--tls-verify", "no"], /--tls-verify no: give true or false/],
      [["image", "build"], /expected 2 argument\(s\), got 1/],
    ];
    for (const [args, message] of cases) {
      const r = await run(args, { cwd: scratch });
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, message);
    }
  });

  test("projectBuild: TOOL_NAME, TOOL_VERSION, BASE_IMAGE and the manifest label from the built module", async () => {
    const dir = await mkdtemp(join(scratch, "proj-"));
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "try-tool", version: "1.2.3" }));
    const main = fileURLToPath(new URL("../fixtures/tools/try-tool.mjs", import.meta.url));
    const got = await projectBuild(dir, { baseImage: "localhost/klms/node:24-slim", main });
    assert.deepEqual(got.buildArgs, {
      BASE_IMAGE: "localhost/klms/node:24-slim",
      TOOL_NAME: "try-tool",
      TOOL_VERSION: "1.2.3",
    });
    const manifest = JSON.parse(got.labels["klms.tool.manifest"] as string);
    assert.equal(manifest.name, "try-tool");
    assert.equal(manifest.version, "1.2.3");
    assert.deepEqual(Object.keys(manifest.outputs.properties), ["echo"]);
  });

  test("projectBuild: a TypeScript project not built yet is told to build; a Python one has no label", async () => {
    const dir = await mkdtemp(join(scratch, "proj-"));
    await writeFile(join(dir, "package.json"), JSON.stringify({ name: "py-tool", version: "0.1.0" }));
    assert.deepEqual(await projectBuild(dir), {
      buildArgs: { TOOL_NAME: "py-tool", TOOL_VERSION: "0.1.0" },
      labels: {},
    });
    await mkdir(join(dir, "src"));
    await writeFile(join(dir, "src", "main.ts"), "export {};\n");
    await assert.rejects(projectBuild(dir), {
      name: "ImageError",
      message: "dist/main.js is not built: run npm run build first (the image's manifest label is read from it)",
    });
  });
});

/** `klms-tool <args>` in this process; `stdin` is what it reads. */
async function run(
  args: string[],
  o: { cwd: string; env?: NodeJS.ProcessEnv; stdin?: string },
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new Collect();
  const stderr = new Collect();
  const code = await cli(args, {
    stdout,
    stderr,
    stdin: Readable.from([o.stdin ?? ""]),
    cwd: o.cwd,
    env: o.env ?? process.env,
  });
  return { code, stdout: stdout.text, stderr: stderr.text };
}
