/**
 * `klms-tool dev --tls`: the store over https with a CA made at start and kept in the data dir; a
 * Python tool that builds its client the template's way (scheme stripped from minio.endpoint_url,
 * secure, session token from minio.skey) reads and writes through it with Debian's boto3,
 * trusting the CA with the lines dev prints.
 */
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { devMain, type LocalKlms, runToolTask } from "../src/index.js";
import { assertSuccess, call } from "./helpers.js";

const PYTHON = "/usr/bin/python3";
const hasBoto3 = existsSync(PYTHON) && spawnSync(PYTHON, ["-c", "import boto3"]).status === 0;
const skip = hasBoto3 ? false : "boto3 is not installed: apt-get install python3-boto3 (.ci/run does)";
const SCRIPT = fileURLToPath(new URL("./fixtures/template_client.py", import.meta.url));

test("dev --tls: a template-style Python client reads and writes over https with the printed CA", {
  skip,
}, async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "klms-tls-"));
  const controller = new AbortController();
  let out = "";
  let ready: (k: LocalKlms) => void = () => {};
  const started = new Promise<LocalKlms>((resolve) => {
    ready = resolve;
  });
  const exit = devMain(["--tls", "--quiet", "--data-dir", dataDir], {
    out: (t) => {
      out += t;
    },
    err: () => {},
    signal: controller.signal,
    onReady: (k) => ready(k),
  });
  try {
    const klms = await started;
    const caFile = join(dataDir, "tls", "ca.pem");
    assert.match(klms.s3Url ?? "", /^https:\/\/127\.0\.0\.1:\d+$/);
    for (const name of ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE", "NODE_EXTRA_CA_CERTS"]) {
      assert.ok(out.includes(`${name}=${caFile}`), `dev prints ${name}=<ca>`);
    }
    const { id, signature } = await klms.createTask({
      process_id: klms.processId,
      name: "t",
      datasets: {},
      inputs: {},
      outputs: {},
    });
    const input = assertSuccess(
      await call(klms.apiUrl, "GET", `/api/v2/task/${id}/${signature}/input`, { token: klms.token }),
    ) as { minio: Record<string, string> };
    assert.equal(input.minio.endpoint_url, klms.s3Url, "minio.endpoint_url starts with https://, as on the platform");
    const file = join(dataDir, "input.json");
    await writeFile(file, JSON.stringify(input));
    const env = { PATH: process.env.PATH ?? "", AWS_CA_BUNDLE: caFile, SSL_CERT_FILE: caFile, HOME: dataDir };
    const { stdout } = await promisify(execFile)(PYTHON, [SCRIPT, file], { env });
    assert.deepEqual(JSON.parse(stdout), { got: "hello from python", keys: ["py/hello.txt"] });

    // Without the CA, the same client refuses the store's certificate.
    const untrusted = await promisify(execFile)(PYTHON, [SCRIPT, file], {
      env: { PATH: process.env.PATH ?? "", HOME: dataDir },
    }).then(
      () => "",
      (e: { stderr: string }) => e.stderr,
    );
    assert.match(untrusted, /SSL|certificate/i);
  } finally {
    controller.abort();
    assert.equal(await exit, 0);
    await rm(dataDir, { recursive: true, force: true });
  }
});

test("runToolTask({ tls: true }): a Node tool reads and writes the store over https, trusting the CA the runner hands it", async (t) => {
  const cwd = fileURLToPath(new URL("../../../examples/correlations", import.meta.url));
  const run = await runToolTask({
    cwd,
    tls: true,
    files: { series: ["fixtures/field.csv"] },
    outputNames: ["correlations_file"],
  });
  t.after(() => run.stop());
  assert.match(run.klms.s3Url ?? "", /^https:\/\//);
  assert.equal(run.state, "succeeded", run.logs);
  assert.match(await run.readText(run.output.correlations_file as string), /,/);
});

test("startLocalKlms({ tls: { api: true } }): the Data API over https too; the real entrypoint fetches and posts through it", async (t) => {
  const cwd = fileURLToPath(new URL("../../../examples/correlations", import.meta.url));
  const run = await runToolTask({
    cwd,
    tls: { api: true },
    files: { series: ["fixtures/weather.csv"] },
    outputNames: ["correlations_file"],
  });
  t.after(() => run.stop());
  assert.match(run.klms.apiUrl, /^https:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(run.state, "succeeded", run.logs);
  assert.match(await run.readText(run.output.correlations_file as string), /temperature/);

  // Clients see https in /help, and must trust the CA: without it the TLS handshake fails.
  const help = await httpsJson(`${run.klms.apiUrl}/stelar/help`, run.klms.ca);
  assert.equal(help.help, `${run.klms.apiUrl}/stelar/help`);
  assert.match(String((help.result as Record<string, unknown>).s3_api), /^https:\/\//);
  await assert.rejects(httpsJson(`${run.klms.apiUrl}/help`, undefined), /self-signed|unable to verify|certificate/i);
});

function httpsJson(url: string, ca: string | undefined): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, ca === undefined ? {} : { ca }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => resolve(JSON.parse(body) as Record<string, unknown>));
    });
    req.on("error", reject);
  });
}
