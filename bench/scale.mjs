// Scale: N no-op tasks started at once through the local KLMS's runner (the image's bundles, tool
// in a worker thread: one Node process a task), while a client reads the catalog in a loop:
// every task must succeed with its output posted exactly once and be listed; the catalog's
// answer times under load, the machine time and the peak memory per task are reported.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { bundled, log, ms, QUICK, root, row, stats } from "./lib.mjs";

const COUNTS = (process.env.BENCH_SCALE ?? (QUICK ? "10,50" : "10,50,200")).split(",").map(Number);

/** Resident memory (bytes) of this process and all its descendants, from /proc. */
function treeRss() {
  const children = new Map();
  const rss = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const status = readFileSync(`/proc/${name}/status`, "utf8");
      const ppid = Number(/PPid:\s+(\d+)/.exec(status)?.[1]);
      rss.set(Number(name), Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024);
      if (!children.has(ppid)) children.set(ppid, []);
      children.get(ppid).push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  let total = 0;
  const stack = [process.pid];
  while (stack.length) {
    const pid = stack.pop();
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

/** Reads the task list in a loop until `stop()`; returns the answer times (ms) and failures. */
function catalogLoad(klms) {
  const times = [];
  let failures = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const t = performance.now();
      const r = await fetch(`${klms.apiUrl}/api/v2/tasks`, { headers: { authorization: klms.token } }).catch(
        () => undefined,
      );
      if (!r?.ok) failures++;
      await r?.arrayBuffer();
      times.push(performance.now() - t);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return { times, failures };
    },
  };
}

async function once(n, image) {
  const { startLocalKlms } = await import("../packages/klms-local/dist/index.js");
  const klms = await startLocalKlms({ quiet: true });
  try {
    const ids = [];
    for (let i = 0; i < n; i++) {
      const spec = { process_id: klms.processId, name: `t${i}`, datasets: {}, inputs: {}, outputs: {}, parameters: {} };
      ids.push((await klms.createTask(spec)).id);
    }
    let peak = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, treeRss());
    }, 250);
    const load = catalogLoad(klms);
    const cpu0 = process.cpuUsage();
    const t = performance.now();
    const runs = await Promise.all(
      ids.map(
        (id) =>
          klms.startTask(id, {
            command: [
              process.execPath,
              join(image, "entrypoint.mjs"),
              "--worker-thread",
              join(image, "tool", "main.mjs"),
            ],
            cwd: image,
          }).done,
      ),
    );
    const seconds = (performance.now() - t) / 1000;
    clearInterval(sampler);
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
      catalog: { ...stats(catalog.times), failures: catalog.failures, requests: catalog.times.length },
    };
  } finally {
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
      ]),
    );
    if (r.succeeded !== n || r.postedOnce !== n || r.listed !== n)
      log(`scale ${n}: LOST TASKS: ${r.succeeded} succeeded, ${r.postedOnce} posted once, ${r.listed} listed`);
  }
  return `### Scale of the local KLMS: concurrent tasks, the catalog under load

N no-op tasks started at once through the local KLMS's runner, each a real entrypoint process with the tool
in a worker thread (the image's bundles), while a client reads the task list (\`GET /api/v2/tasks\`) in a
loop. "per task" is the wall time over N (2 cores); "peak RSS" the most the bench process (the local KLMS
runs in it) and all its children held at once, sampled every 250 ms; "KLMS CPU" the local KLMS's own CPU
time (the bench process) for the whole batch.

| tasks | succeeded | output posted exactly once | listed by the catalog | total | per task | peak RSS | peak RSS per task | KLMS CPU | catalog reads | catalog median / p90 / max |
|---|---|---|---|---|---|---|---|---|---|---|
${rows.join("\n")}
`;
}
