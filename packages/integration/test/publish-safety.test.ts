/**
 * What `klms-tool publish` must not break (attack5): catalog data it does not own is kept (F12),
 * a deleted entry is brought back, not called up to date (F4), a bad --tag is refused before
 * anything (F8); and with a real registry (docker-registry) and a real builder (podman): a login
 * that fails leaves no entry (F3), a refused KLMS credential is named as such (F10), and a push
 * failing after a new entry was made says so (F3). The KLMS is the local one, in this process.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { startLocalKlms } from "../../klms-local/src/index.ts";
import { cli } from "../../klms-tool/src/cli/cli.ts";
import { KlmsClient } from "../../klms-tool/src/client/index.ts";
import { startTestRegistry, type TestRegistry } from "../../klms-tool/test/image/registry.ts";

const PROJECT = resolve(import.meta.dirname, "../../../examples/correlations");

/** `klms-tool <argv…>` in this process, in the project, with its output captured. */
async function klmsTool(argv: string[], env: NodeJS.ProcessEnv, stdinText?: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const stdin = Readable.from(stdinText === undefined ? [] : [stdinText]);
  const code = await cli(argv, { env, cwd: PROJECT, stdin, stdout, stderr });
  return { code, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
}

/** A local KLMS, a HOME logged in to it as dev, and a client. */
async function klmsWithLogin(options: Parameters<typeof startLocalKlms>[0], baseEnv: NodeJS.ProcessEnv) {
  const klms = await startLocalKlms({ quiet: true, warn: () => {}, ...options });
  const home = mkdtempSync(join(tmpdir(), "klms-publish-safety-"));
  const env = { ...baseEnv, HOME: home, XDG_CONFIG_HOME: join(home, "config") };
  const login = await klmsTool(["login", klms.apiUrl, "--username", "dev", "--password-stdin"], env, "dev");
  assert.equal(login.code, 0, login.err);
  const client = await KlmsClient.login(klms.apiUrl, "dev", "dev");
  const stop = async () => {
    await klms.stop();
    rmSync(home, { recursive: true, force: true });
  };
  return { klms, env, client, stop };
}

describe("publish keeps what it does not own", () => {
  let k: Awaited<ReturnType<typeof klmsWithLogin>>;
  before(async () => {
    k = await klmsWithLogin({}, { PATH: process.env.PATH });
  });
  after(() => k?.stop());

  it("F12: only profiles.default.image is publish's: other profiles and the default's limits stay", async () => {
    assert.equal((await klmsTool(["publish", "--no-image"], k.env)).code, 0);
    const tool = await k.client.tools.get("correlations");
    const admin = {
      default: { image: "1.0.0", memory_limit: "4Gi", cpu_limit: "2", backoff_limit: 1 },
      big: { image: "1.0.0", memory_limit: "32Gi" },
    };
    await k.client.tools.patch(tool.id, { profiles: admin }); // as an admin would in the console

    const same = await klmsTool(["publish", "--no-image"], k.env);
    assert.equal(same.out, "tool correlations is up to date in the catalog\n", same.err);
    assert.deepEqual((await k.client.tools.get("correlations")).profiles, admin);

    const plan = await klmsTool(["publish", "--no-image", "--tag", "2.0.0", "--dry-run", "--json"], k.env);
    assert.deepEqual(JSON.parse(plan.out).changes, { profiles: { default: { image: "2.0.0" } } });
    const retag = await klmsTool(["publish", "--no-image", "--tag", "2.0.0"], k.env);
    assert.equal(retag.out, "tool correlations was updated: profiles\n", retag.err);
    assert.deepEqual((await k.client.tools.get("correlations")).profiles, {
      default: { image: "2.0.0", memory_limit: "4Gi", cpu_limit: "2", backoff_limit: 1 },
      big: { image: "1.0.0", memory_limit: "32Gi" },
    });
  });

  it("F4: a deleted entry is restored (state active), not reported up to date", async () => {
    const tool = await k.client.tools.get("correlations");
    await k.client.tools.delete(tool.id);
    assert.equal((await k.client.tools.get(tool.id)).state, "deleted");
    const plan = await klmsTool(["publish", "--no-image", "--tag", "2.0.0", "--dry-run", "--json"], k.env);
    assert.equal(JSON.parse(plan.out).action, "update");
    assert.deepEqual(JSON.parse(plan.out).changes, { state: "active" });
    const r = await klmsTool(["publish", "--no-image", "--tag", "2.0.0"], k.env);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out, "tool correlations was restored (it was deleted in the catalog) and updated: state\n");
    const back = await k.client.tools.get(tool.id);
    assert.equal(back.state, "active");
    assert.equal((back.profiles as { big?: unknown }).big !== undefined, true, "its profiles are kept");
  });

  it("F8: --tag is checked with the OCI tag rule before anything (exit 2); nothing is written", async () => {
    const before = await k.client.tools.find("correlations");
    for (const tag of ["bad tag", "a/b", "", ".x", "-x", "x".repeat(129)]) {
      const r = await klmsTool(["publish", "--no-image", `--tag=${tag}`], k.env);
      assert.equal(r.code, 2, `--tag ${tag}: ${r.out}`);
      assert.match(r.err, /an image tag is 1-128 of A-Z a-z 0-9 _ \. -, not starting with \. or -/);
    }
    assert.equal(
      (await klmsTool(["publish", "--no-image", "--tag", `v_1.2-rc${"x".repeat(120)}`, "--dry-run"], k.env)).code,
      0,
      "a 128-character tag is fine",
    );
    assert.deepEqual((await k.client.tools.find("correlations"))?.profiles, before?.profiles);
  });
});

describe("publish: what it is told to publish", () => {
  let k: Awaited<ReturnType<typeof klmsWithLogin>>;
  before(async () => {
    k = await klmsWithLogin({}, { PATH: process.env.PATH });
  });
  after(() => k?.stop());

  it("F17: a module of another project is refused (the image is built from this folder)", async () => {
    const other = resolve(PROJECT, "../sum/dist/main.js");
    for (const main of [other, "../sum/dist/main.js"]) {
      const r = await klmsTool(["publish", "--no-image", main], k.env);
      assert.equal(r.code, 2, r.out);
      assert.match(r.err, /is not in this project \(.*correlations\): publish builds the image from this folder/);
    }
    assert.equal(await k.client.tools.find("sum"), undefined);
    const own = await klmsTool(["publish", "--no-image", "--dry-run", "dist/main.js"], k.env);
    assert.equal(own.code, 0, own.err);
  });

  it("F18: a dry run with --no-build or --image says the image would only be pushed", async () => {
    const registry = ["--registry", "http://127.0.0.1:1", "--dry-run"];
    const noBuild = await klmsTool(["publish", ...registry, "--no-build"], k.env);
    assert.match(noBuild.out, /^image 127\.0\.0\.1:1\/stelar\/correlations:1\.0\.0 \(already built\) would be pushed/);
    const image = await klmsTool(["publish", ...registry, "--image", "127.0.0.1:1/stelar/correlations:1.0.0"], k.env);
    assert.match(image.out, /^image 127\.0\.0\.1:1\/stelar\/correlations:1\.0\.0 \(already built\) would be pushed/);
    const build = await klmsTool(["publish", ...registry], k.env);
    assert.match(build.out, /^image 127\.0\.0\.1:1\/stelar\/correlations:1\.0\.0 would be built and pushed/);
  });
});

/** Whether podman and docker-registry are installed (the tests with a real registry need both). */
function haveRegistryTools(): boolean {
  try {
    execFileSync("sh", ["-c", "command -v podman && command -v docker-registry"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("publish with a real registry and podman: login first, failures named", { skip: !haveRegistryTools() }, () => {
  let registry: TestRegistry;
  before(async () => {
    registry = await startTestRegistry("$app");
  });
  after(() => registry?.stop());

  /** A KLMS whose registry account has `password`; the builder podman in the registry's private storage. */
  const withKlms = (url: string, password: string) =>
    klmsWithLogin({ registry: { url, password } }, { ...registry.env, KLMS_BUILDER: "podman" });

  it("F3: a registry that does not answer: publish fails at the login and leaves no entry", async () => {
    const k = await withKlms("http://127.0.0.1:1", registry.password);
    try {
      const r = await klmsTool(["publish", "--no-build", "--quiet"], k.env);
      assert.equal(r.code, 1, r.out);
      assert.match(r.err, /podman login to 127\.0\.0\.1:1 failed/);
      assert.equal(await k.client.tools.find("correlations"), undefined, "no entry without an image");
    } finally {
      await k.stop();
    }
  });

  it("F10: the registry refuses the KLMS's credential: the message names it and the fix; no entry", async () => {
    const k = await withKlms(`http://${registry.host}`, "not-the-registry-password");
    try {
      const r = await klmsTool(["publish", "--no-build", "--quiet"], k.env);
      assert.equal(r.code, 1, r.out);
      assert.match(
        r.err,
        /the registry refused the push credential the KLMS issued \(\$app, token "klms-tool publish"\)/,
      );
      assert.match(r.err, /klms-tool dev --registry-auth/);
      assert.doesNotMatch(r.err, /klms-tool login/, "the user's KLMS login is not the problem");
      assert.doesNotMatch(r.err, /not-the-registry-password/);
      assert.equal(await k.client.tools.find("correlations"), undefined);
    } finally {
      await k.stop();
    }
  });

  it("F3: login accepted, push failed after the new entry was made: the error says the entry has no image", async () => {
    const k = await withKlms(`http://${registry.host}`, registry.password);
    try {
      // --no-build, and no such image in this private storage: the push itself fails.
      const r = await klmsTool(["publish", "--no-build", "--quiet"], k.env);
      assert.equal(r.code, 1, r.out);
      assert.match(r.err, /podman push of .*correlations:1\.0\.0 failed/);
      assert.match(
        r.err,
        /The catalog entry correlations was created before the push .* names 1\.0\.0, which the registry does not have: run klms-tool publish again/s,
      );
      assert.equal((await k.client.tools.get("correlations")).state, "active");
      assert.doesNotMatch(r.err, new RegExp(registry.password));
    } finally {
      await k.stop();
    }
  });

  it("F10: image push with a wrong password names --username and stdin", async () => {
    const r = await klmsTool(
      [
        "image",
        "push",
        `${registry.host}/stelar/x:1`,
        "--tls-verify",
        "false",
        "--username",
        "$app",
        "--password-stdin",
        "--quiet",
      ],
      registry.env,
      "wrong-password",
    );
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /refused the username or password: check --username \$app and the password given on stdin/);
  });
});

describe("publish in a Python project (attack5 F14)", () => {
  it("says that a Python tool has no declaration to publish, and what to do instead", async () => {
    const project = mkdtempSync(join(tmpdir(), "klms-publish-python-"));
    try {
      writeFileSync(join(project, "package.json"), JSON.stringify({ name: "py-tool", version: "0.1.0" }));
      writeFileSync(join(project, "main.py"), "print('hi')\n");
      const stderr = new PassThrough();
      const err: Buffer[] = [];
      stderr.on("data", (c: Buffer) => err.push(c));
      const env = { PATH: process.env.PATH, HOME: project, XDG_CONFIG_HOME: join(project, "config") };
      const code = await cli(["publish", "--no-image", "--dry-run"], {
        env,
        cwd: project,
        stdout: new PassThrough(),
        stderr,
      });
      assert.equal(code, 2);
      assert.match(
        Buffer.concat(err).toString(),
        /this is a Python tool \(main\.py\): publish makes the catalog entry from a defineTool declaration.*image build \/ image push/s,
      );
    } finally {
      rmSync(project, { recursive: true, force: true });
    }
  });
});
