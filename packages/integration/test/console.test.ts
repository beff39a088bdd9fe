/**
 * The local console (GET /, GET /console/task/<id>) over HTTP: a tool task that ran is listed
 * with its state and tool, and its page shows its log, message, metrics, the output's CSV
 * preview as a table and the catalog entries it used; and in a real headless Chromium (Debian's
 * chromium-headless-shell or chromium; CHROMIUM names another), whose screenshot of the task's
 * page is kept in test-artifacts/console-task.png (KLMS_TEST_ARTIFACTS names another folder).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { createStorage, minioSettings } from "klms-tool";
import { type LocalKlms, startLocalKlms } from "../../klms-local/src/index.ts";
import { KlmsClient } from "../../klms-tool/src/client/index.ts";

const PROJECT = resolve(import.meta.dirname, "../../../examples/correlations");
const ARTIFACTS = process.env.KLMS_TEST_ARTIFACTS ?? resolve(import.meta.dirname, "../../../test-artifacts");

/** The headless browser: CHROMIUM, else Debian's chromium-headless-shell or chromium on the PATH. */
function chromium(): string | undefined {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const name of ["chromium-headless-shell", "chromium"]) {
    for (const dir of (process.env.PATH ?? "").split(delimiter)) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  return undefined;
}
const BROWSER = chromium();

describe("the local console", () => {
  let klms: LocalKlms;
  let id: string;
  before(async () => {
    klms = await startLocalKlms({ quiet: true, runner: { project: PROJECT }, backoffLimit: 0 });
    const storage = createStorage(minioSettings(klms.minio, { prefer: "external", env: {} }));
    try {
      await storage.upload("s3://klms-bucket/console/weather.csv", join(PROJECT, "fixtures", "weather.csv"));
    } finally {
      storage.close();
    }
    const client = await KlmsClient.login(klms.apiUrl, klms.username, klms.password);
    await client.tools.create({ name: "correlations", owner_org: "stelar-klms" });
    const output = {
      url: "s3://klms-bucket/console/out.csv",
      dataset: "ctx",
      resource: { name: "matrix", relation: "owned" },
    };
    const spec = {
      process_id: klms.processId,
      name: "console-<run>",
      tool: "correlations",
      datasets: {},
      inputs: { series: ["s3://klms-bucket/console/weather.csv"] },
      outputs: { correlations_file: output },
      parameters: { method: "spearman" },
    };
    id = (await client.tasks.create(spec)).id;
    assert.equal((await client.tasks.wait(id, { minDelayMs: 100 })).exec_state, "succeeded");
  });
  after(async () => {
    await klms?.stop();
  });

  it("GET / lists the task with its state and tool, escaped", async () => {
    const res = await fetch(`${klms.apiUrl}/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
    const html = await res.text();
    assert.ok(
      html.includes(
        `<tr class="succeeded"><td><a href="/console/task/${id}">console-&#60;run&#62;</a></td><td>succeeded</td><td>correlations</td>`,
      ),
      html,
    );
  });

  it("the task's page shows its log, message, metrics, the CSV output as a table and its catalog entries", async () => {
    const res = await fetch(`${klms.apiUrl}/console/task/${id}`);
    assert.equal(res.status, 200);
    const html = await res.text();
    assert.match(html, /<pre class="log">[^<]*spearman correlations of 2 columns over 60 rows/);
    assert.match(html, /<th>message<\/th><td>spearman correlations of 2 columns over 60 rows<\/td>/);
    assert.match(html, /<th>metric rows<\/th><td>60<\/td>/);
    assert.match(html, /<h3>correlations_file <small>s3:\/\/klms-bucket\/console\/out.csv/);
    assert.match(
      html,
      /<table class="csv"><tr><td><\/td><td>[a-z_]+<\/td>/,
      "the matrix's header row (an empty corner cell)",
    );
    assert.match(html, /<td>process<\/td><td>klms-local-dev<\/td>/);
    assert.match(html, /<td>resource<\/td><td>matrix<\/td>/);
    assert.match(html, /<td>tool<\/td><td>correlations<\/td>/);
    assert.ok(!html.includes('http-equiv="refresh"'), "an ended task's page does not reload itself");
  });

  it("headless Chromium renders the task's page: its log, the CSV table; a screenshot is kept", {
    skip: BROWSER ? false : "no Chromium: apt-get install chromium-headless-shell, or set CHROMIUM",
  }, async () => {
    const profile = mkdtempSync(join(tmpdir(), "klms-chromium-"));
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start.
    const flags = [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      `--user-data-dir=${profile}`,
      "--window-size=1200,1400",
    ];
    const url = `${klms.apiUrl}/console/task/${id}`;
    try {
      const { stdout: dom } = await promisify(execFile)(BROWSER as string, [...flags, "--dump-dom", url], {
        maxBuffer: 16 << 20,
      });
      assert.match(dom, /<pre class="log">[^<]*spearman correlations of 2 columns over 60 rows/);
      assert.match(dom, /<table class="csv">/);
      mkdirSync(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, "console-task.png");
      rmSync(shot, { force: true });
      await promisify(execFile)(BROWSER as string, [...flags, `--screenshot=${shot}`, url]);
      assert.ok(statSync(shot).size > 1000, "a screenshot of the page");
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it("an unknown task is a 404 page", async () => {
    const res = await fetch(`${klms.apiUrl}/console/task/nope`);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /No task nope/);
  });
});
