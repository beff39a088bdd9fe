/**
 * A real OCI registry for the image tests: Debian's docker-registry on 127.0.0.1 at a port the OS
 * chose, plain http, with htpasswd authentication (bcrypt through the C library's crypt, via perl),
 * and a private containers storage (vfs) so that the tests touch neither the user's images nor
 * each other's. `stop()` ends the registry and removes everything.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TestRegistry {
  /** "127.0.0.1:<port>" */
  host: string;
  username: string;
  password: string;
  /** process.env plus CONTAINERS_STORAGE_CONF for the private storage. */
  env: NodeJS.ProcessEnv;
  /** The manifest digest the registry holds for repo:tag (authenticated GET), or undefined (404). */
  digestOf(repo: string, tag: string): Promise<string | undefined>;
  stop(): Promise<void>;
}

/** A port the OS says is free now (also for the integration tests' registries). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/**
 * Starts the registry and the storage; resolves when /v2/ answers (401 without credentials).
 * @param username the one account's user name (default "pusher"; "$app" as a KLMS's registry)
 */
export async function startTestRegistry(username = "pusher"): Promise<TestRegistry> {
  const dir = await mkdtemp(join(tmpdir(), "klms-registry-"));
  const password = `pw-${Math.random().toString(36).slice(2)}-secret`;
  const hash = execFileSync("perl", ["-e", 'print crypt($ENV{P}, "\\$2y\\$05\\$abcdefghijklmnopqrstuu")'], {
    env: { ...process.env, P: password },
  }).toString();
  await writeFile(join(dir, "htpasswd"), `${username}:${hash}\n`);
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  await writeFile(
    join(dir, "config.yml"),
    `version: 0.1
log: { level: warn }
storage: { filesystem: { rootdirectory: ${dir}/data }, delete: { enabled: true } }
http: { addr: ${host} }
auth: { htpasswd: { realm: klms-test, path: ${dir}/htpasswd } }
`,
  );
  await mkdir(join(dir, "storage"));
  await writeFile(
    join(dir, "storage.conf"),
    `[storage]\ndriver = "vfs"\ngraphroot = "${dir}/storage/root"\nrunroot = "${dir}/storage/run"\n`,
  );
  const child: ChildProcess = spawn("docker-registry", ["serve", join(dir, "config.yml")], { stdio: "ignore" });
  const stop = async () => {
    if (child.exitCode === null) {
      const exited = new Promise((done) => child.once("exit", done));
      child.kill();
      await exited;
    }
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilUp(host, child);
  } catch (error) {
    await stop();
    throw error;
  }
  const auth = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  return {
    host,
    username,
    password,
    env: { ...process.env, CONTAINERS_STORAGE_CONF: join(dir, "storage.conf") },
    async digestOf(repo, tag) {
      const response = await fetch(`http://${host}/v2/${repo}/manifests/${tag}`, {
        method: "HEAD",
        headers: {
          authorization: auth,
          accept: "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json",
        },
      });
      return response.ok ? (response.headers.get("docker-content-digest") ?? undefined) : undefined;
    },
    stop,
  };
}

async function waitUntilUp(host: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (child.exitCode !== null) throw new Error(`docker-registry exited (${child.exitCode})`);
    const status = await fetch(`http://${host}/v2/`).then(
      (r) => r.status,
      () => 0,
    );
    if (status === 401) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`docker-registry did not answer on ${host}`);
}
