// The quick start: one KLMS task, end to end, on this machine, as the cluster would run it.
//
//   npm run demo
//
// 1. starts the local KLMS (the platform's Data API: accounts, catalog, tasks) with its embedded
//    object store, and logs in with the dev user as stelar_client does;
// 2. uploads sample CSV files into the store and registers them in a dataset of the catalog;
// 3. creates a process and a task for the `correlations` example through the task API
//    (POST /api/v2/task), taking the dataset's resources as input ("d0::owned") and registering
//    its output as a new resource of that dataset;
// 4. runs the real entrypoint exactly as the cluster's Job does: `klms-tool exec` with the four
//    arguments "Bearer <jwt>" <api_url>/ <task_id> <signature>, the worker in the tool's folder;
// 5. prints the task's final state, outputs, metrics and a preview of the output file.
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startLocalKlms } from "../packages/klms-local/dist/index.js";
import { createStorage, minioSettings } from "../packages/klms-tool/dist/index.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tool = join(root, "examples", "correlations");
const entrypoint = join(root, "packages", "klms-tool", "dist", "cli", "main.js");
const bold = (s) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);
const step = (s) => console.log(`\n${bold(`▸ ${s}`)}`);
const started = performance.now();

// The store as on the platform: https, SigV4 and STS session credentials (CA made at start).
const klms = await startLocalKlms({ quiet: true, tls: true });
let storage;
try {
  step("Local KLMS");
  console.log(`  Data API      ${klms.apiUrl} (also under ${klms.apiUrl}/stelar)`);
  console.log(`  object store  ${klms.s3Url} (bucket klms-bucket; https with the CA ${klms.caFile})`);
  // As stelar_client logs in: the public path, username and password.
  const login = await api("POST", "/stelar/api/v1/users/token", { username: klms.username, password: klms.password });
  const token = `Bearer ${login.token}`;
  console.log(`  logged in as  ${klms.username} (token valid ${login.expires_in / 3600} h)`);

  step("Upload the input files and register them in a dataset");
  storage = createStorage(minioSettings(klms.minio, { prefer: "external", env: {} }), { ca: klms.ca });
  const dataset = await api("POST", "/stelar/api/v2/dataset", { name: "demo-series", owner_org: "stelar-klms" }, token);
  for (const name of ["weather.csv", "field.csv"]) {
    const path = await storage.upload(`s3://klms-bucket/demo/input/${name}`, join(tool, "fixtures", name));
    const body = { package_id: dataset.id, name, url: path, format: "csv", relation: "owned" };
    const resource = await api("POST", "/stelar/api/v2/resource", body, token);
    console.log(`  ${path}  (resource ${resource.id})`);
  }

  step("Create a process and the task (POST /api/v2/task)");
  const proc = await api(
    "POST",
    "/stelar/api/v2/process",
    { name: "correlations-demo", owner_org: "stelar-klms" },
    token,
  );
  console.log(`  process ${proc.id}`);
  const spec = {
    process_id: proc.id,
    name: "correlations-demo",
    image: "klms/correlations:1.0.0",
    datasets: { d0: dataset.id },
    inputs: { series: ["d0::owned"] },
    outputs: {
      correlations_file: {
        url: "s3://klms-bucket/demo/output/correlations.csv",
        dataset: "d0",
        resource: { name: "Correlations", relation: "owned" },
      },
    },
    parameters: { method: "spearman" },
    secrets: { api_key: "sk-demo-not-a-real-key" },
  };
  const { id } = await api("POST", "/stelar/api/v2/task", spec, token);
  console.log(`  task ${id} (state: ${(await klms.getTask(id)).exec_state})`);

  step('Run it as the cluster does: klms-tool exec "Bearer <jwt>" <api_url>/ <task_id> <signature>');
  const { child, done } = klms.startTask(id, { command: [process.execPath, entrypoint, "exec"], cwd: tool });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.on("data", (chunk) => {
      for (const line of chunk.toString().split("\n")) if (line.trim()) console.log(`  │ ${line}`);
    });
  }
  const run = await done;

  step("The task, as the platform now knows it (GET /api/v2/task/<id>)");
  const task = await klms.getTask(id);
  console.log(`  state     ${task.exec_state} (entrypoint exit code ${run.exitCode})`);
  console.log(`  message   ${task.messages}`);
  for (const [name, o] of Object.entries(task.outputs ?? {})) {
    console.log(`  output    ${name} → ${o.url} (new resource ${o.resource_id} in dataset demo-series)`);
  }
  console.log("  metrics");
  for (const [k, v] of Object.entries(task.metrics ?? {})) console.log(`    ${k.padEnd(18)} ${JSON.stringify(v)}`);

  const out = task.outputs?.correlations_file?.url;
  if (out) {
    step(`Preview of ${out}`);
    const text = await storage.getText(out);
    for (const line of text.trim().split("\n")) console.log(`  ${line}`);
  }
  console.log(`\nDone in ${((performance.now() - started) / 1000).toFixed(1)} s.`);
  process.exitCode = task.exec_state === "succeeded" ? 0 : 1;
} finally {
  storage?.close();
  await klms.stop();
}

/** One Data API call; returns `result`, or throws with the platform's error. */
async function api(method, path, body, token) {
  const headers = { "Content-Type": "application/json", ...(token ? { Authorization: token } : {}) };
  const reply = await fetch(`${klms.apiUrl}${path}`, { method, headers, body: JSON.stringify(body) });
  const json = await reply.json();
  if (!json.success) throw new Error(`${method} ${path}: ${reply.status} ${JSON.stringify(json.error)}`);
  return json.result;
}
