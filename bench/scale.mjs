// Scale: N no-op tasks started at once through the local KLMS's runner (the image's bundles, tool
// in a worker thread: one Node process a task), while a client in another process reads the
// catalog every 100 ms: every task must succeed with its output posted exactly once and be listed;
// the catalog's answer times under load, the local KLMS's event-loop delay, the machine time and
// the peak memory per task are reported.
import { fork } from "node:child_process";
import { cpus } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { setImmediate as yieldToLoop } from "node:timers/promises";
import { bundled, log, ms, QUICK, root, row, stats } from "./lib.mjs";

const COUNTS = (process.env.BENCH_SCALE ?? (QUICK ? "10,50" : "10,50,200")).split(",").map(Number);

/** Between the starts of two catalog reads, ms. */
const READ_INTERVAL_MS = 100;

/** Between two samples of the memory of the local KLMS and its pods, ms. */
const RSS_INTERVAL_MS = 250;

/**
 * Starts one of the bench's observers in its own process (so that its work does not run in the
 * local KLMS's event loop); `stop()` asks it for its report.
 */
function observer(script, args) {
  const child = fork(join(root, "bench", script), args.map(String), { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const report = new Promise((resolve, reject) => {
    child.once("message", resolve);
    child.once("exit", (code) => reject(new Error(`bench/${script} ended (${code}) before it reported`)));
  });
  // Awaited by stop(); an observer that died early must not end the bench before that.
  report.catch(() => undefined);
  return {
    pid: child.pid,
    kill: () => child.kill(),
    stop: () => {
      child.send("stop");
      return report;
    },
  };
}

async function once(n, image) {
  const { startLocalKlms } = await import("../packages/klms-local/dist/index.js");
  const klms = await startLocalKlms({ quiet: true });
  const observers = [];
  try {
    const ids = [];
    for (let i = 0; i < n; i++) {
      const spec = { process_id: klms.processId, name: `t${i}`, datasets: {}, inputs: {}, outputs: {}, parameters: {} };
      ids.push((await klms.createTask(spec)).id);
    }
    // The catalog client reads the task list every READ_INTERVAL_MS, one request at a time.
    const load = observer("catalog-reader.mjs", [klms.apiUrl, klms.token, READ_INTERVAL_MS]);
    const memory = observer("tree-rss.mjs", [process.pid, RSS_INTERVAL_MS, load.pid]);
    observers.push(load, memory);
    // The local KLMS runs in this process: how late its event loop ran, i.e. how long a request waited at most.
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    const command = [
      process.execPath,
      join(image, "entrypoint.mjs"),
      "--worker-thread",
      join(image, "tool", "main.mjs"),
    ];
    const started = [];
    for (const id of ids) {
      started.push(klms.startTask(id, { command, cwd: image }).done);
      // As N requests that each start a pod would: the server answers others between two starts.
      await yieldToLoop();
    }
    const runs = await Promise.all(started);
    const seconds = (performance.now() - t) / 1000;
    delay.disable();
    const { peak } = await memory.stop();
    const catalog = await load.stop();
    const server = process.cpuUsage(cpu0);
    const tasks = await Promise.all(ids.map((id) => klms.getTask(id)));
    const listed = await (
      await fetch(`${klms.apiUrl}/api/v2/tasks`, { headers: { authorization: klms.token } })
    ).json();
    const listedIds = new Set(JSON.stringify(listed).match(/[0-9a-f]{8}-[0-9a-f-]{27}/g) ?? []);
    return {
      n,
      succeeded: tasks.filter((x) => x.exec_state === "succeeded").length,
      postedOnce: runs.filter((r) => r.exitCode === 0 && (r.logs.match(/task output recorded/g) ?? []).length === 1)
        .length,
      listed: ids.filter((id) => listedIds.has(id)).length,
      seconds,
      peak,
      serverCpu: (server.user + server.system) / 1e6,
      loopDelay: { p50: delay.percentile(50) / 1e6, p99: delay.percentile(99) / 1e6, max: delay.max / 1e6 },
      catalog: { ...stats(catalog.times), failures: catalog.failures, requests: catalog.times.length },
    };
  } finally {
    for (const o of observers) o.kill();
    await klms.stop();
  }
}

export async function scale({ work, results }) {
  const image = join(work, "scale-image");
  bundled(join(root, "packages", "klms-tool", "dist", "entrypoint", "main.js"), image);
  const { renameSync } = await import("node:fs");
  renameSync(join(image, "main.mjs"), join(image, "entrypoint.mjs"));
  bundled(join(root, "bench", "noop", "main.mjs"), join(image, "tool"));
  const rows = [];
  for (const n of COUNTS) {
    log(`scale: ${n} concurrent tasks`);
    const r = await once(n, image);
    results.scale.push(r);
    rows.push(
      row([
        n,
        `${r.succeeded}/${n}`,
        `${r.postedOnce}/${n}`,
        `${r.listed}/${n}`,
        `${r.seconds.toFixed(1)} s`,
        ms((r.seconds * 1000) / n),
        `${(r.peak / 1e6).toFixed(0)} MB`,
        `${(r.peak / 1e6 / n).toFixed(0)} MB`,
        `${r.serverCpu.toFixed(1)} s`,
        `${r.catalog.requests}, ${r.catalog.failures} failed`,
        `${ms(r.catalog.median)} / ${ms(r.catalog.p90)} / ${ms(r.catalog.max)}`,
        `${ms(r.loopDelay.p99)} / ${ms(r.loopDelay.max)}`,
      ]),
    );
    if (r.succeeded !== n || r.postedOnce !== n || r.listed !== n)
      log(`scale ${n}: LOST TASKS: ${r.succeeded} succeeded, ${r.postedOnce} posted once, ${r.listed} listed`);
  }
  return `### Scale of the local KLMS: concurrent tasks, the catalog under load

N no-op tasks started at once through the local KLMS's runner (pods at its default niceness, 19),
each a real entrypoint process with the tool in a worker thread (the image's bundles), while a
client in its own process reads the task list (\`GET /api/v2/tasks\`) every ${READ_INTERVAL_MS} ms, one
request at a time. "per task" is the wall time over N (${cpus().length} cores); "peak RSS" the most the
bench process (the local KLMS runs in it) and all the pods held at once, sampled every
${RSS_INTERVAL_MS} ms by another process; "KLMS CPU" the local KLMS's own CPU time (the bench process)
for the whole batch, serving the catalog reads included; "event-loop delay" how late the local
KLMS's event loop ran (p99 / max, 10 ms resolution): the longest any request waited for it.

| tasks | succeeded | output posted exactly once | listed by the catalog | total | per task | peak RSS | peak RSS per task | KLMS CPU | catalog reads | catalog median / p90 / max | KLMS event-loop delay p99 / max |
|---|---|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}
`;
}
