/**
 * `klms-tool publish` against a local KLMS that names a registry (`registry` option): where the
 * image would go (from `/help`, `--registry`, `KLMS_REGISTRY`), the push credential the KLMS issues
 * (made once, then reused), the options that do not go together, and a failed build that leaves
 * the catalog untouched. The build and push themselves run in scripts/loop-e2e.sh (buildah, a real
 * registry); here no builder is needed.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { type LocalKlms, startLocalKlms } from "../../klms-local/src/index.ts";
import { clusterCommands } from "../../klms-tool/src/cli/cluster.ts";
import { PUBLISH_TOKEN_TITLE, registryLogin } from "../../klms-tool/src/cli/publish-image.ts";
import { KlmsClient } from "../../klms-tool/src/client/index.ts";

const PROJECT = resolve(import.meta.dirname, "../../../examples/correlations");
const REGISTRY = "http://127.0.0.1:1"; // nothing listens: the dry runs and credentials do not reach it
const PASSWORD = "registry-secret-pw";

async function klmsTool(argv: string[], env: NodeJS.ProcessEnv, stdinText?: string) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on("data", (c: Buffer) => out.push(c));
  stderr.on("data", (c: Buffer) => err.push(c));
  const [name, ...rest] = argv;
  const command = clusterCommands.find((c) => c.name === name);
  assert.ok(command, `no command ${name}`);
  const stdin = Readable.from(stdinText === undefined ? [] : [stdinText]);
  const code = await command.run(rest, { env, cwd: PROJECT, stdin, stdout, stderr });
  return { code, out: Buffer.concat(out).toString(), err: Buffer.concat(err).toString() };
}

describe("klms-tool publish with a KLMS that names a registry", () => {
  let klms: LocalKlms;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const warnings: string[] = [];

  before(async () => {
    klms = await startLocalKlms({
      quiet: true,
      registry: { url: REGISTRY, password: PASSWORD },
      warn: (line) => warnings.push(line),
    });
    home = mkdtempSync(join(tmpdir(), "klms-publish-"));
    env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, "config") };
    const login = await klmsTool(["login", klms.apiUrl, "--username", "dev", "--password-stdin"], env, "dev");
    assert.equal(login.code, 0, login.err);
  });
  after(async () => {
    await klms?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it("--dry-run: the image <registry>/stelar/<tool>:<version> from /help, the entry to create; nothing changes", async () => {
    const r = await klmsTool(["publish", "--dry-run", "--json"], env);
    assert.equal(r.code, 0, r.err);
    const plan = JSON.parse(r.out);
    assert.deepEqual(plan.image, {
      reference: "127.0.0.1:1/stelar/correlations:1.0.0",
      registry: REGISTRY,
      built: false,
      pushed: false,
      digest: null,
    });
    assert.equal(plan.action, "create");
    assert.deepEqual(plan.changes.profiles, { default: { image: "1.0.0" } });
    const human = await klmsTool(["publish", "--dry-run"], env);
    assert.equal(
      human.out.split("\n")[0],
      "image 127.0.0.1:1/stelar/correlations:1.0.0 would be built and pushed (registry from /help image_registry)",
    );
    const client = await KlmsClient.login(klms.apiUrl, "dev", "dev");
    assert.equal(await client.tools.find("correlations"), undefined);
    assert.deepEqual(await client.registry.list(), {}, "a dry run asks for no credential");
  });

  it("--registry and KLMS_REGISTRY choose the registry; a bare 127.0.0.1 host is http, another https", async () => {
    const flag = JSON.parse(
      (await klmsTool(["publish", "--dry-run", "--json", "--registry", "127.0.0.1:5000"], env)).out,
    );
    assert.equal(flag.image.reference, "127.0.0.1:5000/stelar/correlations:1.0.0");
    assert.equal(flag.image.registry, "http://127.0.0.1:5000");
    const fromEnv = await klmsTool(["publish", "--dry-run", "--json", "--tag", "2.0"], {
      ...env,
      KLMS_REGISTRY: "img.example.org",
    });
    assert.equal(JSON.parse(fromEnv.out).image.reference, "img.example.org/stelar/correlations:2.0");
    assert.equal(JSON.parse(fromEnv.out).image.registry, "https://img.example.org");
  });

  it("options that do not go together, a bad builder or --image: exit 2 with what to do", async () => {
    const cases: Array<[string[], RegExp]> = [
      [["--no-build", "--no-image"], /--no-build and --no-image do not go together/],
      [["--builder", "kaniko"], /--builder kaniko: choose docker, podman or buildah/],
      [["--image", "my-image"], /--image takes <registry>\/stelar\/<tool>:<tag>/],
      [
        ["--image", "127.0.0.1:9/stelar/correlations:1.0.0"],
        /build or tag it as 127\.0\.0\.1:1\/stelar\/correlations:1\.0\.0/,
      ],
      [["--registry", "http://127.0.0.1:5000", "--no-image"], /--registry and --no-image do not go together/],
    ];
    for (const [args, message] of cases) {
      const r = await klmsTool(["publish", "--dry-run", ...args], env);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.out}${r.err}`);
      assert.match(r.err, message);
    }
  });

  it("the push credential: created once as 'klms-tool publish', then reused; its code is the registry's password", async () => {
    const client = await KlmsClient.login(klms.apiUrl, "dev", "dev");
    const first = await registryLogin(client);
    const second = await registryLogin(client);
    assert.deepEqual(first, { username: "$app", password: PASSWORD });
    assert.deepEqual(second, first);
    const tokens = Object.values(await client.registry.list());
    assert.deepEqual(
      tokens.map((t) => t.title),
      [PUBLISH_TOKEN_TITLE],
    );
  });

  it("a build that cannot run fails with the builder's error and leaves the catalog as it was", async () => {
    const r = await klmsTool(["publish", "--quiet"], {
      ...env,
      PATH: join(home, "no-such-bin"),
      KLMS_BUILDER: "buildah",
    });
    assert.equal(r.code, 1, r.out);
    assert.match(r.err, /^klms-tool publish: .*buildah/m);
    assert.doesNotMatch(r.out + r.err, new RegExp(PASSWORD));
    const client = await KlmsClient.login(klms.apiUrl, "dev", "dev");
    assert.equal(await client.tools.find("correlations"), undefined, "no entry names an image that was not pushed");
  });
});
