import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { jobManifest, jobName, labelValue, toYaml } from "../../src/job/manifest.ts";
import { authorizationHeader } from "../../src/platform/routes.ts";
import { runCli } from "../cli-io.ts";

// biome-ignore lint/suspicious/noExplicitAny: the test walks a JSON document
type Doc = Record<string, any>;

const id = "3f2a9c1e-7b4d-4e8a-9c10-0123456789ab";
const base = {
  id,
  signature: "a".repeat(64),
  image: "img.stelar.gr/stelar/correlations:1.0.0",
  token: "Bearer eyX.payload.sig",
};

describe("klms-tool job: the Job the platform creates", () => {
  test("the platform's shape, field by field", () => {
    const m = jobManifest({ ...base, tool: "correlations", creator: "alice", processId: "p-1" }) as Doc;
    assert.equal(m.apiVersion, "batch/v1");
    assert.equal(m.kind, "Job");
    assert.equal(m.metadata.name, `task-${id}-correlations`);
    assert.deepEqual(m.metadata.labels, {
      "stelar.metadata.class": "task-execution",
      "stelar.task-id": id,
      "stelar.tool-name": "correlations",
      "stelar.creator": "alice",
      "stelar.process-id": "p-1",
    });
    assert.equal(m.spec.backoffLimit, 3);
    assert.equal(m.spec.ttlSecondsAfterFinished, 86400);
    const pod = m.spec.template;
    assert.deepEqual(pod.metadata.annotations, {
      "stelar/tool-name": "correlations",
      "stelar/image": base.image,
      "stelar/api_url": "http://stelarapi/",
    });
    assert.deepEqual(pod.metadata.labels, m.metadata.labels);
    assert.equal(pod.spec.restartPolicy, "Never");
    assert.deepEqual(pod.spec.imagePullSecrets, [{ name: "stelar-registry-secret" }]);
    assert.equal(pod.spec.containers.length, 1);
    const c = pod.spec.containers[0];
    assert.deepEqual(
      Object.keys(c).sort(),
      ["args", "image", "imagePullPolicy", "name"],
      "no command, no env: the image's ENTRYPOINT runs",
    );
    assert.deepEqual(c.args, ["Bearer eyX.payload.sig", "http://stelarapi/", id, "a".repeat(64)]);
    assert.equal(c.imagePullPolicy, "Always");
  });

  test("a token without Bearer gets it; resources only when given; pull secrets merged", () => {
    const m = jobManifest({
      ...base,
      token: "raw-jwt",
      imagePullSecrets: ["mine", "stelar-registry-secret"],
      resources: { limits: { memory: "2Gi" } },
    }) as Doc;
    const c = m.spec.template.spec.containers[0];
    assert.equal(c.args[0], "Bearer raw-jwt");
    assert.deepEqual(c.resources, { limits: { memory: "2Gi" } });
    assert.deepEqual(m.spec.template.spec.imagePullSecrets, [{ name: "mine" }, { name: "stelar-registry-secret" }]);
    assert.equal(m.metadata.labels["stelar.tool-name"], "external-image");
  });

  test("the token gets the entrypoint's Authorization rule: blanks around it do not double the prefix (was: 'Bearer  Bearer x')", () => {
    for (const [token, arg] of [
      [" Bearer x.y.z ", "Bearer x.y.z"],
      ["bearer x.y.z", "bearer x.y.z"],
      ["\tx.y.z", "Bearer x.y.z"],
    ] as const) {
      const c = (jobManifest({ ...base, token }) as Doc).spec.template.spec.containers[0];
      assert.equal(c.args[0], arg, JSON.stringify(token));
      assert.equal(c.args[0], authorizationHeader(token));
    }
  });

  test("names: task-<id>-<tool>, underscores become dashes, too long or invalid falls back to task-<id>", () => {
    assert.equal(jobName(id, "ts_impute"), `task-${id}-ts-impute`);
    assert.equal(jobName(id, "x".repeat(30)), `task-${id}`);
    assert.equal(jobName(id, "Bad.Name"), `task-${id}`);
    assert.equal(jobName(id), `task-${id}`);
  });

  test("label values are sanitized to 63 characters of the allowed set", () => {
    assert.equal(labelValue("alice@example.org"), "alice-example.org");
    assert.equal(labelValue("-x-"), "x");
    assert.equal(labelValue("a".repeat(80)).length, 63);
  });

  test("YAML output: block style, strings quoted", () => {
    assert.equal(toYaml({ a: [{ b: "c", d: 1 }], e: {} }), 'a:\n  - b: "c"\n    d: 1\ne: {}');
  });

  test("the command, in-process through cli(argv, io): help, missing options, JSON output", async () => {
    const help = await runCli(["job", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^usage: klms-tool job/);
    const missing = await runCli(["job", "--task-id", id], { env: { KLMS_TOKEN: "" } });
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /missing: --signature, --image, --token \(or KLMS_TOKEN\)/);
    const json = await runCli(["job", "--task-id", id, "--signature", "s", "--image", "i:1", "--output", "json"], {
      env: { KLMS_TOKEN: "Bearer t" },
    });
    assert.equal(json.code, 0, json.stderr);
    assert.equal(JSON.parse(json.stdout).spec.template.spec.containers[0].args[0], "Bearer t");
  });
});
