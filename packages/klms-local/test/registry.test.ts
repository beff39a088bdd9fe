/**
 * The registry routes against a real OCI registry: Debian's docker-registry on 127.0.0.1 (a port
 * the OS chose) with an htpasswd login for `$app` (bcrypt through the C library's crypt, via
 * perl), an image pushed to it over the distribution API (a config and a layer blob, then the
 * manifest), and a local KLMS started with `registry`. Skipped, with the reason, where
 * docker-registry or perl's bcrypt is missing (`apt-get install docker-registry`).
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { type LocalKlms, startLocalKlms } from "../src/index.ts";
import { assertError, assertSuccess, call } from "./helpers.ts";

/** Why the registry cannot run here, or undefined. */
function missing(): string | undefined {
  try {
    execFileSync("docker-registry", ["--version"], { stdio: "ignore" });
  } catch {
    return "docker-registry is not installed (apt-get install docker-registry)";
  }
  const hash = execFileSync("perl", ["-e", 'print crypt("x", "\\$2y\\$05\\$abcdefghijklmnopqrstuu")']).toString();
  return hash.startsWith("$2y$") ? undefined : "perl's crypt() has no bcrypt here";
}
const SKIP = missing();

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

const PASSWORD = `pw-${Math.random().toString(36).slice(2)}`;
const AUTH = `Basic ${Buffer.from(`$app:${PASSWORD}`).toString("base64")}`;

/** Uploads a blob (monolithic POST then PUT); returns its descriptor. */
async function blob(registry: string, name: string, data: Buffer, mediaType: string) {
  const digest = `sha256:${createHash("sha256").update(data).digest("hex")}`;
  const start = await fetch(`${registry}/v2/${name}/blobs/uploads/`, {
    method: "POST",
    headers: { authorization: AUTH },
  });
  assert.equal(start.status, 202, await start.text());
  const location = new URL(start.headers.get("location") as string, registry);
  location.searchParams.set("digest", digest);
  const put = await fetch(location, {
    method: "PUT",
    headers: { authorization: AUTH, "content-type": "application/octet-stream" },
    body: data,
  });
  assert.equal(put.status, 201, await put.text());
  return { mediaType, digest, size: data.length };
}

/** Pushes a one-layer OCI image as `name:tag`; returns its manifest digest and size (config + layer). */
async function pushImage(registry: string, name: string, tag: string, created: string) {
  const config = await blob(
    registry,
    name,
    Buffer.from(
      JSON.stringify({ created, architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }),
    ),
    "application/vnd.oci.image.config.v1+json",
  );
  const layer = await blob(registry, name, Buffer.alloc(2048, 7), "application/vnd.oci.image.layer.v1.tar+gzip");
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config,
      layers: [layer],
    }),
  );
  const res = await fetch(`${registry}/v2/${name}/manifests/${tag}`, {
    method: "PUT",
    headers: { authorization: AUTH, "content-type": "application/vnd.oci.image.manifest.v1+json" },
    body: manifest,
  });
  assert.equal(res.status, 201, await res.text());
  return { digest: `sha256:${createHash("sha256").update(manifest).digest("hex")}`, size: config.size + layer.size };
}

describe("registry routes over a local OCI registry", { skip: SKIP ?? false }, () => {
  let dir: string;
  let child: ChildProcess;
  let registry: string;
  let klms: LocalKlms;
  let bare: LocalKlms;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "klms-registry-test-"));
    const hash = execFileSync("perl", ["-e", 'print crypt($ENV{P}, "\\$2y\\$05\\$abcdefghijklmnopqrstuu")'], {
      env: { ...process.env, P: PASSWORD },
    }).toString();
    writeFileSync(join(dir, "htpasswd"), `$app:${hash}\n`);
    const host = `127.0.0.1:${await freePort()}`;
    writeFileSync(
      join(dir, "config.yml"),
      `version: 0.1\nlog: { level: warn }\nstorage: { filesystem: { rootdirectory: ${dir}/data } }\n` +
        `http: { addr: ${host} }\nauth: { htpasswd: { realm: klms-test, path: ${dir}/htpasswd } }\n`,
    );
    child = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" });
    registry = `http://${host}`;
    for (let i = 0; i < 100; i++) {
      const up = await fetch(`${registry}/v2/`).then(
        (r) => r.status,
        () => 0,
      );
      if (up === 401) break;
      await new Promise((done) => setTimeout(done, 100));
    }
    klms = await startLocalKlms({ quiet: true, registry: { url: registry, password: PASSWORD } });
    bare = await startLocalKlms({ quiet: true });
  });

  after(async () => {
    await klms?.stop();
    await bare?.stop();
    if (child && child.exitCode === null) {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill();
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("/help names the registry (image_registry, a local addition)", async () => {
    const help = await call(klms.apiUrl, "GET", "/help");
    assert.equal((help.body.result as Record<string, unknown>).image_registry, registry);
    const none = await call(bare.apiUrl, "GET", "/help");
    assert.equal("image_registry" in (none.body.result as object), false);
  });

  it("credentials: created (uuid renamed id, token_code), listed by uuid without it, shown with it, revoked", async () => {
    const token = klms.token;
    const made = assertSuccess(
      await call(klms.apiUrl, "POST", "/api/v2/registry/credentials", { token, body: { title: "ci" } }),
    ) as Record<string, unknown>;
    assert.deepEqual(Object.keys(made).sort(), ["created", "expiration", "id", "last_accessed", "title", "token_code"]);
    assert.equal(made.title, "ci");
    assert.equal(made.expiration, null);
    assert.match(made.created as string, /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} -0000$/);
    assert.equal(made.token_code, PASSWORD, "the registry's password: podman login -u '$app' works with it");
    const id = made.id as string;

    const list = assertSuccess(await call(klms.apiUrl, "GET", "/api/v2/registry/credentials", { token }));
    assert.deepEqual(list, {
      [id]: { created: made.created, expiration: null, last_accessed: null, title: "ci" },
    });
    const shown = assertSuccess(await call(klms.apiUrl, "GET", `/api/v2/registry/credentials/${id}`, { token }));
    const { id: _id, ...rest } = made;
    assert.deepEqual(shown, { ...rest, uuid: id, token_code: PASSWORD });

    const revoked = await call(klms.apiUrl, "DELETE", `/api/v2/registry/credentials/${id}`, { token });
    assert.deepEqual(assertSuccess(revoked), { id });
    const gone = await call(klms.apiUrl, "GET", `/api/v2/registry/credentials/${id}`, { token });
    assertError(gone, 404, "NotFoundError", "");
    assert.equal(gone.body.error?.detail.error_type, "not_found");
    assertError(
      await call(klms.apiUrl, "DELETE", `/api/v2/registry/credentials/${id}`, { token }),
      404,
      "NotFoundError",
    );
  });

  it("credentials: 422 without a title or with another field; 401 without a token; 500 without a registry", async () => {
    const token = klms.token;
    const none = await call(klms.apiUrl, "POST", "/api/v2/registry/credentials", { token, body: {} });
    assertError(none, 422, "_ValidationError", "Validation error");
    assert.deepEqual(none.body.error?.detail, { json: { title: ["Missing data for required field."] } });
    const extra = await call(klms.apiUrl, "POST", "/api/v2/registry/credentials", {
      token,
      body: { title: "x", expiration: 3600 },
    });
    assert.deepEqual(extra.body.error?.detail, { json: { expiration: ["Unknown field."] } });
    assert.equal((await call(klms.apiUrl, "GET", "/api/v2/registry/credentials")).status, 401);
    const noRegistry = await call(bare.apiUrl, "GET", "/api/v2/registry/credentials", { token: bare.token });
    assertError(noRegistry, 500, "InternalException", "ValueError('Internal Error: bad backend', 500)");
    assert.match(String(noRegistry.body.error?.detail.hint), /--registry http:\/\/127\.0\.0\.1:5000/);
  });

  it("a tool's images are its registry repository's tags; a task for a tool picks among them", async () => {
    const token = klms.token;
    const tool = assertSuccess(
      await call(klms.apiUrl, "POST", "/api/v2/tool", {
        token,
        body: { name: "demo-tool", owner_org: "stelar-klms", profiles: { default: { image: "1.0" } } },
      }),
    ) as Record<string, unknown>;
    assert.deepEqual(tool.images, [], "nothing pushed yet");
    assert.equal(tool.repository, "demo-tool");
    const pushed = await pushImage(registry, "stelar/demo-tool", "1.0", "2026-06-01T19:45:45Z");

    const shown = assertSuccess(await call(klms.apiUrl, "GET", "/api/v2/tool/demo-tool", { token })) as {
      images: unknown[];
    };
    assert.deepEqual(shown.images, [
      {
        name: "1.0",
        reversion: false,
        start_ts: Date.parse("2026-06-01T19:45:45Z") / 1000,
        manifest_digest: pushed.digest,
        is_manifest_list: false,
        size: pushed.size,
        last_modified: "Mon, 01 Jun 2026 19:45:45 -0000",
      },
    ]);
    const manifests = await call(klms.apiUrl, "GET", "/api/v2/tool/demo-tool/manifests", { token });
    assert.deepEqual(assertSuccess(manifests), { "1.0": pushed.digest });

    const spec = {
      process_id: klms.processId,
      name: "demo",
      tool: "demo-tool",
      datasets: {},
      inputs: {},
      outputs: {},
      parameters: {},
    };
    const task = assertSuccess(await call(klms.apiUrl, "POST", "/api/v2/task", { token, body: spec })) as {
      id: string;
    };
    assert.equal((await klms.getTask(task.id)).image, "demo-tool:1.0");
    const missingTag = await call(klms.apiUrl, "POST", "/api/v2/task", { token, body: { ...spec, image: "2.0" } });
    assertError(missingTag, 404, "NotFoundError", "Image '2.0' not found in tool images.");
  });
});
