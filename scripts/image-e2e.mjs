// The image test's driver: runs a tool image the way the KLMS Job does (its ENTRYPOINT with the
// four arguments, host network, no environment) against a local KLMS, and checks the outcome.
//   node scripts/image-e2e.mjs <image>
// podman runs with the image module's settings (runc, host network, ulimits: src/image/settings.ts).
// Checks: the task succeeds with its output in the store, with the tool as a child process and in a
// worker thread (KLMS_WORKER_THREAD); SIGTERM to the container ends the task
// failed ("cancelled"); the image's files hold no task file, .env or credential of the run.
import { spawn } from "node:child_process";
import { startLocalKlms } from "../packages/klms-local/dist/index.js";
import { globalArgs, hasRunc, runArgs } from "../packages/klms-tool/dist/image/index.js";
import { createStorage, minioSettings } from "../packages/klms-tool/dist/index.js";

const [image] = process.argv.slice(2);
const podman = ["podman", ...globalArgs("podman", await hasRunc(process.env))];
const step = (s) => console.log(`image-e2e: ${s}`);
const fail = (s) => {
  throw new Error(s);
};

/** Runs the image like the cluster's Job: podman run … IMAGE "Bearer <jwt>" <api>/ <id> <sig>. */
function runJob(klms, task, { stopAfterMs, env = {} } = {}) {
  return new Promise((resolve, reject) => {
    const name = `klms-e2e-${task.id.slice(0, 8)}`;
    const args = [
      "run",
      "--rm",
      "--name",
      name,
      ...runArgs("podman"),
      // The store speaks https with a CA made at start: the pod trusts it as a cluster's pod trusts
      // MinIO's public certificate (the file mounted read-only, Node told to add it).
      ...(klms.caFile
        ? [
            "--volume",
            `${klms.caFile}:/etc/klms-local-ca.pem:ro`,
            "--env",
            "NODE_EXTRA_CA_CERTS=/etc/klms-local-ca.pem",
          ]
        : []),
      ...Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]),
      image,
      klms.token,
      `${klms.apiUrl}/`,
      task.id,
      task.signature,
    ];
    const child = spawn(podman[0], [...podman.slice(1), ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let logs = "";
    child.stdout.on("data", (d) => (logs += d));
    child.stderr.on("data", (d) => (logs += d));
    let timer;
    if (stopAfterMs) {
      timer = setTimeout(
        () => spawn(podman[0], [...podman.slice(1), "kill", "--signal", "TERM", name], { stdio: "ignore" }),
        stopAfterMs,
      );
    }
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, logs });
    });
  });
}

const klms = await startLocalKlms({ quiet: true, tls: true });
const storage = createStorage(minioSettings(klms.minio, { prefer: "external", env: {} }), { ca: klms.ca });
try {
  await storage.put("s3://klms-bucket/e2e/data.txt", "one\ntwo\nthree\n");
  const task = await klms.createTask({
    process_id: klms.processId,
    name: "image-e2e",
    datasets: {},
    inputs: { data: ["s3://klms-bucket/e2e/data.txt"] },
    outputs: { report: { url: "s3://klms-bucket/e2e/report.json" } },
    parameters: { x: 2, y: 3 },
    secrets: { api_key: "sk-e2e-secret-value" },
  });
  const run = await runJob(klms, task);
  const record = await klms.getTask(task.id);
  if (record.exec_state !== "succeeded" || run.code !== 0)
    fail(`task ${record.exec_state}, exit ${run.code}:\n${run.logs}`);
  const report = JSON.parse(await storage.getText("s3://klms-bucket/e2e/report.json"));
  if (report.sum !== 5 || report.lines !== 3) fail(`unexpected report ${JSON.stringify(report)}`);
  for (const secret of [task.signature, klms.token.slice(7), "sk-e2e-secret-value", klms.minio.key]) {
    if (secret && run.logs.includes(secret)) fail("a secret appears in the container's logs");
  }
  step(`task succeeded in the container: ${record.messages}`);

  // The same task with the tool in a worker thread of the entrypoint (the Dockerfile's option).
  const threaded = await klms.createTask({
    process_id: klms.processId,
    name: "image-e2e-thread",
    datasets: {},
    inputs: { data: ["s3://klms-bucket/e2e/data.txt"] },
    outputs: { report: { url: "s3://klms-bucket/e2e/report-thread.json" } },
    parameters: { x: 4, y: 5 },
  });
  const inThread = await runJob(klms, threaded, {
    env: { KLMS_WORKER_THREAD: "bundle/tool/main.mjs", NODE_DEBUG_NATIVE: "COMPILE_CACHE" },
  });
  const threadRecord = await klms.getTask(threaded.id);
  if (
    threadRecord.exec_state !== "succeeded" ||
    inThread.code !== 0 ||
    !/worker thread exited with code 0/.test(inThread.logs)
  )
    fail(`worker thread: task ${threadRecord.exec_state}, exit ${inThread.code}:\n${inThread.logs}`);
  const threadReport = JSON.parse(await storage.getText("s3://klms-bucket/e2e/report-thread.json"));
  if (threadReport.sum !== 9) fail(`worker thread: unexpected report ${JSON.stringify(threadReport)}`);
  // The compile cache made at build time is read and accepted, for the entrypoint and the tool.
  for (const file of ["entrypoint.mjs", "tool/main.mjs"]) {
    if (!new RegExp(`code cache for ESM file:///app/bundle/${file} was accepted`).test(inThread.logs))
      fail(`the image's compile cache was not used for bundle/${file}:\n${inThread.logs}`);
  }
  step(`task succeeded with the tool in a worker thread, from the compile cache: ${threadRecord.messages}`);

  const slow = await klms.createTask({
    process_id: klms.processId,
    name: "image-e2e-sigterm",
    datasets: {},
    inputs: { data: ["s3://klms-bucket/e2e/data.txt"] },
    outputs: { report: { url: "s3://klms-bucket/e2e/report2.json" } },
    parameters: { x: 2, y: 3, wait_seconds: 60 },
  });
  const started = Date.now();
  const stopped = await runJob(klms, slow, { stopAfterMs: 4000 });
  const after = await klms.getTask(slow.id);
  if (after.exec_state !== "failed" || !/cancel/i.test(String(after.messages))) {
    fail(`SIGTERM: task ${after.exec_state} "${after.messages}", exit ${stopped.code}:\n${stopped.logs}`);
  }
  step(
    `SIGTERM: task failed ("${after.messages}") ${((Date.now() - started) / 1000).toFixed(1)} s after start, exit ${stopped.code}`,
  );
} finally {
  storage.close();
  await klms.stop();
}
