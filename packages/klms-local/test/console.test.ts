/**
 * The local console (GET /, GET /console/task/<id>) over HTTP: a tool task that ran is listed
 * with its state and tool, and its page shows its log, message, metrics, the output's CSV
 * preview as a table and the catalog entries it used. (Not yet in a headless browser.)
 */
import assert from "node:assert/strict";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { createStorage, minioSettings } from "klms-tool";
import { KlmsClient } from "../../klms-tool/src/client/index.ts";
import { type LocalKlms, startLocalKlms } from "../src/index.ts";

const PROJECT = resolve(import.meta.dirname, "../../../examples/correlations");

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
    assert.ok(!html.includes('http-equiv="refresh"'), "an ended task's page does not reload itself");
  });

  it("an unknown task is a 404 page", async () => {
    const res = await fetch(`${klms.apiUrl}/console/task/nope`);
    assert.equal(res.status, 404);
    assert.match(await res.text(), /No task nope/);
  });
});
