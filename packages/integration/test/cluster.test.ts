/**
 * The KLMS client and the commands that use it (login, logout, whoami, task …) against a real
 * local KLMS (in-process, its tasks run by examples/correlations' built worker): a session saved
 * 0600 and never printed, a task run with a local file uploaded as a resource and its logs
 * followed, its output downloaded, and the platform's error envelope in errors.
 */
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { type LocalKlms, startLocalKlms } from "../../klms-local/src/index.ts";
import { clusterCommands } from "../../klms-tool/src/cli/cluster.ts";
import type { ClusterIO } from "../../klms-tool/src/cli/cluster-io.ts";
import { credentialsPath } from "../../klms-tool/src/cli/credentials.ts";
import { KlmsApiError, KlmsClient, login, resolveApiBase } from "../../klms-tool/src/client/index.ts";

const PROJECT = resolve(import.meta.dirname, "../../../examples/correlations");
const FIXTURES = join(PROJECT, "fixtures");

/** Runs one KLMS command in-process; returns its exit code and what it printed. */
async function klmsTool(argv: string[], io: ClusterIO & { stdinText?: string }) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { out: [] as Buffer[], err: [] as Buffer[] };
  stdout.on("data", (c: Buffer) => chunks.out.push(c));
  stderr.on("data", (c: Buffer) => chunks.err.push(c));
  const [name, ...rest] = argv;
  const command = clusterCommands.find((c) => c.name === name);
  assert.ok(command, `no command ${name}`);
  const stdin = Readable.from(io.stdinText === undefined ? [] : [io.stdinText]);
  const code = await command.run(rest, { ...io, stdin, stdout, stderr });
  return { code, out: Buffer.concat(chunks.out).toString(), err: Buffer.concat(chunks.err).toString() };
}

describe("klms-tool login, whoami, task … against a local KLMS", () => {
  let klms: LocalKlms;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const printed: string[] = [];
  const run = async (argv: string[], extra: ClusterIO & { stdinText?: string } = {}) => {
    const r = await klmsTool(argv, { env, cwd: home, ...extra });
    printed.push(r.out, r.err);
    return r;
  };

  before(async () => {
    // No retries of a failed pod and a short grace: the failing and terminated tasks end at once.
    klms = await startLocalKlms({
      quiet: true,
      runner: { project: PROJECT },
      backoffLimit: 0,
      terminationGraceMs: 2000,
    });
    home = mkdtempSync(join(tmpdir(), "klms-cluster-"));
    // No AWS variables: uploads and downloads get S3 credentials from the store's STS with the
    // user's token, as on the platform.
    env = { PATH: process.env.PATH, HOME: home, XDG_CONFIG_HOME: join(home, "config") };
  });
  after(async () => {
    await klms?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it("finds the API under /stelar, as on a public deployment", async () => {
    const { apiBase, help } = await resolveApiBase(`${klms.apiUrl}/`);
    assert.equal(apiBase, `${klms.apiUrl}/stelar`);
    assert.equal(typeof help.s3_api, "string");
  });

  it("login refuses a wrong password with the platform's 401 envelope, and saves nothing", async () => {
    const r = await run(["login", klms.apiUrl, "--username", klms.username, "--password-stdin"], {
      stdinText: "wrong-pass-Zq81\n",
    });
    assert.equal(r.code, 1);
    assert.match(r.err, /POST \/api\/v1\/users\/token: 401 AuthenticationError: /);
    assert.throws(() => statSync(credentialsPath(env)), { code: "ENOENT" });
  });

  it("login with the dev user saves a 0600 session without the password; whoami reads it", async () => {
    const r = await run(["login", klms.apiUrl, "--username", klms.username, "--password-stdin"], {
      stdinText: `${klms.password}\n`,
    });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, new RegExp(`Logged in to ${klms.apiUrl} as ${klms.username} \\(session saved in `));
    const path = credentialsPath(env);
    assert.equal(path, join(home, "config", "klms-tool", "credentials.json"));
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(home, "config", "klms-tool")).mode & 0o777, 0o700);
    const saved = JSON.parse(readFileSync(path, "utf8"));
    assert.equal(saved.username, "dev");
    assert.equal(saved.apiBase, `${klms.apiUrl}/stelar`);
    assert.ok(saved.session.token.length > 20 && saved.session.refreshToken.length > 20);
    // The session and where it is; the password is not among them.
    assert.deepEqual(Object.keys(saved).sort(), ["apiBase", "session", "url", "username"]);
    assert.deepEqual(Object.keys(saved.session).sort(), [
      "expiresAt",
      "refreshAt",
      "refreshExpiresAt",
      "refreshToken",
      "token",
    ]);

    const who = await run(["whoami", "--json"]);
    assert.equal(who.code, 0, who.err);
    assert.deepEqual(JSON.parse(who.out), {
      username: "dev",
      url: klms.apiUrl,
      apiBase: `${klms.apiUrl}/stelar`,
      source: "login",
    });
  });

  it("publish --no-image --dry-run shows the tool entry it would create; publish creates it; then it is up to date", async () => {
    // This KLMS has no registry: the catalog entry alone (scripts/loop-e2e.sh builds and pushes).
    const noRegistry = await run(["publish", "--dry-run"], { cwd: PROJECT });
    assert.equal(noRegistry.code, 2);
    assert.match(noRegistry.err, /this KLMS names no image registry: give --registry URL .* --no-image/);
    const dry = await run(["publish", "--no-image", "--dry-run", "--json"], { cwd: PROJECT });
    assert.equal(dry.code, 0, dry.err);
    const plan = JSON.parse(dry.out);
    assert.equal(plan.action, "create");
    assert.equal(plan.dryRun, true);
    assert.equal(plan.image, null);
    assert.deepEqual(Object.keys(plan.changes).sort(), [
      "inputs",
      "name",
      "notes",
      "outputs",
      "parameters",
      "profiles",
      "programming_language",
      "version",
    ]);
    const client = await KlmsClient.login(klms.apiUrl, klms.username, klms.password);
    assert.equal(await client.tools.find("correlations"), undefined, "a dry run changes nothing");

    const done = await run(["publish", "--no-image"], { cwd: PROJECT });
    assert.equal(done.code, 0, done.err);
    assert.equal(
      done.out,
      "tool correlations was created (name, version, notes, programming_language, inputs, outputs, parameters, profiles)\n",
    );
    const tool = await client.tools.get("correlations");
    assert.equal(tool.programming_language, "TypeScript");
    assert.deepEqual(tool.profiles, { default: { image: "1.0.0" } });
    assert.deepEqual(Object.keys((tool.outputs as { properties: object }).properties), ["correlations_file"]);

    const again = await run(["publish", "--no-image", "--dry-run"], { cwd: PROJECT });
    assert.equal(again.out, "tool correlations is up to date in the catalog\n");
    const retag = await run(["publish", "--no-image", "--tag", "2.0.0", "--dry-run", "--json"], { cwd: PROJECT });
    assert.deepEqual(JSON.parse(retag.out).changes, { profiles: { default: { image: "2.0.0" } } });
  });

  it("task run uploads a local file as a resource, follows the logs, succeeds; task outputs downloads the output", async () => {
    const r = await run([
      "task",
      "run",
      "correlations",
      "--input",
      "series=" + join(FIXTURES, "weather.csv"),
      "--param",
      "method=spearman",
      "--follow",
    ]);
    assert.equal(r.code, 0, r.err + r.out);
    assert.match(r.out, /spearman correlations/, "the tool's log lines are followed");
    const id = /task ([0-9a-f-]{36}) succeeded/.exec(r.out)?.[1];
    assert.ok(id, r.out);
    assert.match(
      r.out,
      /output {4}correlations_file {2}s3:\/\/klms-bucket\/klms-tool\/outputs\/correlations-[0-9t]+\/correlations_file {2}\(resource [0-9a-f-]{36}\)/,
    );

    const got = await run(["task", "get", id, "--json"]);
    assert.equal(got.code, 0);
    const task = JSON.parse(got.out);
    assert.equal(task.exec_state, "succeeded");
    assert.equal(task.tool, "correlations");
    assert.deepEqual(task.parameters, { method: "spearman" });
    // The uploaded file went in as a resource id, registered in the task's process.
    const [resourceId] = task.inputs.series;
    const client = await KlmsClient.login(klms.apiUrl, klms.username, klms.password);
    const resource = await client.resources.get(resourceId);
    assert.equal(resource.name, "weather.csv");
    assert.equal(resource.package_id, task.process_id);
    assert.equal((await client.processes.get(task.process_id)).name, "klms-tool-dev");

    const dir = join(home, "out");
    const out = await run(["task", "outputs", id, "--dir", dir, "--json"]);
    assert.equal(out.code, 0, out.err);
    const files = JSON.parse(out.out);
    assert.deepEqual(Object.keys(files), ["correlations_file"]);
    const csv = readFileSync(files.correlations_file, "utf8");
    assert.match(csv.split("\n")[0] ?? "", /^,/, "a correlation matrix: its header row starts with an empty cell");

    const listed = await run(["task", "list", "--state", "succeeded", "--json"]);
    assert.ok(JSON.parse(listed.out).some((t: { id: string }) => t.id === id));
    const logs = await run(["task", "logs", id]);
    assert.match(logs.out, /spearman correlations/);
  });

  it("task run --wait exits 1 when the task fails, and says why", async () => {
    const input = `series=${join(FIXTURES, "field.csv")}`;
    const r = await run([
      "task",
      "run",
      "correlations",
      "--input",
      input,
      "--param",
      "method=kendall",
      "--wait",
      "--json",
    ]);
    assert.equal(r.code, 1, r.err);
    const task = JSON.parse(r.out);
    assert.equal(task.exec_state, "failed");
    assert.match(task.messages, /method/);
  });

  it("task terminate stops a task that has not ended: it fails", async () => {
    const created = await run([
      "task",
      "run",
      "correlations",
      "--input",
      `series=${join(FIXTURES, "field.csv")}`,
      "--json",
    ]);
    assert.equal(created.code, 0, created.err);
    const { id, signature } = JSON.parse(created.out);
    assert.equal(signature, undefined, "the signature is not printed");
    const r = await run(["task", "terminate", id, "--json"]);
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).exec_state, "failed");
    const again = await run(["task", "terminate", id]);
    assert.equal(again.code, 1);
    assert.match(again.err, /409 ConflictError: Task '.*' is already terminated/);
  });

  it("login asks for the username and, without echo, the password on a terminal", async () => {
    const stdin = Object.assign(new PassThrough(), { isTTY: true, rawModes: [] as boolean[] });
    Object.assign(stdin, { setRawMode: (raw: boolean) => stdin.rawModes.push(raw) });
    const stderr = new PassThrough();
    let shown = "";
    stderr.on("data", (c: Buffer) => {
      shown += c.toString();
      if (shown.endsWith("Username: ")) stdin.write(`${klms.username}\n`);
      if (shown.endsWith("Password: ")) stdin.write(`${klms.password}\r`);
    });
    const stdout = new PassThrough();
    const login = clusterCommands.find((c) => c.name === "login");
    const code = await login?.run([klms.apiUrl], {
      env: { ...env, XDG_CONFIG_HOME: join(home, "tty") },
      stdin,
      stdout,
      stderr,
    });
    assert.equal(code, 0, shown);
    // readline sets raw mode for the username too; the password is read in raw mode, so the
    // terminal echoes nothing, and nothing of it is written back.
    assert.deepEqual(stdin.rawModes.slice(-2), [true, false]);
    assert.equal(shown.slice(shown.lastIndexOf("Password: ")), "Password: \n");
    assert.match(String(stdout.read()), /as dev/);
  });

  it("errors carry the platform's envelope: a missing tool, a missing task, a refused spec", async () => {
    const tool = await run(["task", "run", "no-such-tool"]);
    assert.equal(tool.code, 1);
    assert.match(tool.err, /GET \/api\/v2\/tool\/no-such-tool: 404 NotFoundError/);
    const task = await run(["task", "get", "00000000-0000-4000-8000-000000000000"]);
    assert.equal(task.code, 1);
    assert.match(task.err, /404 NotFoundError/);

    const client = await KlmsClient.login(klms.apiUrl, klms.username, klms.password);
    const error = await client.tasks
      .create({ name: "x", datasets: {}, inputs: {}, outputs: {}, parameters: {} } as never)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    assert.ok(error instanceof KlmsApiError);
    assert.equal(error.status, 422);
    assert.equal(error.code, "_ValidationError");
    assert.deepEqual(error.detail, { json: { process_id: ["Missing data for required field."] } });
    assert.match(error.explain(), /process_id: \["Missing data for required field\."\]/);
  });

  it("refreshes the token when it is due, with the refresh token, and hands the new one over", async () => {
    const { apiBase } = await resolveApiBase(klms.apiUrl);
    const session = await login(apiBase, klms.username, klms.password);
    const refreshed: string[] = [];
    const client = new KlmsClient({
      apiBase,
      session: { ...session, refreshAt: Date.now() - 1 },
      onRefresh: (s) => {
        refreshed.push(s.token);
      },
    });
    assert.equal((await client.me()).username, "dev");
    assert.equal(refreshed.length, 1);
    assert.equal(client.session?.token, refreshed[0]);
    assert.ok((client.session?.refreshAt ?? 0) > Date.now());
  });

  it("KLMS_URL and KLMS_TOKEN replace the login (CI)", async () => {
    const who = await run(["whoami"], {
      env: { ...env, XDG_CONFIG_HOME: join(home, "none"), KLMS_URL: klms.apiUrl, KLMS_TOKEN: klms.token },
    });
    assert.equal(who.code, 0, who.err);
    assert.equal(who.out, `dev on ${klms.apiUrl} (KLMS_TOKEN)\n`);
  });

  it("logout forgets the session; then whoami says to log in (exit 2)", async () => {
    const r = await run(["logout"]);
    assert.equal(r.code, 0);
    assert.match(r.out, /^Logged out of /);
    assert.throws(() => statSync(credentialsPath(env)), { code: "ENOENT" });
    const who = await run(["whoami"]);
    assert.equal(who.code, 2);
    assert.match(who.err, /not logged in: run `klms-tool login <url>`/);
  });

  it("printed neither the password nor a token", () => {
    const all = printed.join("");
    assert.ok(!all.includes("wrong-pass-Zq81"), "a password printed");
    assert.ok(!all.includes(klms.token.replace(/^Bearer /, "")), "token printed");
    assert.ok(!/eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}/.test(all), "a JWT printed");
  });
});

describe("the KLMS commands' help and the README agree", () => {
  const readme = readFileSync(resolve(import.meta.dirname, "../../../README.md"), "utf8");
  for (const command of clusterCommands) {
    it(`klms-tool ${command.name}: a README row whose arguments and options are in its --help`, async () => {
      const row = new RegExp(`^\\| \`klms-tool ${command.name}( [^\`]*)?\` \\|`, "m").exec(readme);
      assert.ok(row, `no README row for ${command.name}`);
      const r = await klmsTool([command.name, "--help"], { env: {} });
      assert.equal(r.code, 0);
      assert.match(r.out, new RegExp(`^usage: klms-tool ${command.name}`));
      for (const word of row[1]?.match(/<[^>]+>|--[a-z-]+/g) ?? [])
        assert.ok(r.out.includes(word), `${word} is not in the help`);
    });
  }
});
