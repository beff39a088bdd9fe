// Scale: N no-op tasks started at once through the local KLMS's runner, the catalog under load.
import { join } from "node:path";
import { cli, log, root } from "./lib.mjs";

export async function scale({ startLocalKlms }) {
  const rows = [];
  for (const n of [10, 50]) {
    log(`scale: ${n} concurrent tasks`);
    const klms = await startLocalKlms({ quiet: true });
    try {
      const ids = [];
      for (let i = 0; i < n; i++)
        ids.push(
          (
            await klms.createTask({
              process_id: klms.processId,
              name: `t${i}`,
              datasets: {},
              inputs: {},
              outputs: {},
              parameters: {},
            })
          ).id,
        );
      const t = performance.now();
      const runs = await Promise.all(
        ids.map(
          (id) =>
            klms.startTask(id, {
              command: [process.execPath, cli, "exec", "--worker", "node main.mjs"],
              cwd: join(root, "bench", "noop"),
            }).done,
        ),
      );
      const seconds = (performance.now() - t) / 1000;
      const tasks = await Promise.all(ids.map((id) => klms.getTask(id)));
      const succeeded = tasks.filter((x) => x.exec_state === "succeeded").length;
      const postedOnce = runs.filter(
        (r) => r.exitCode === 0 && (r.logs.match(/task output recorded/g) ?? []).length === 1,
      ).length;
      if (succeeded !== n || postedOnce !== n)
        throw new Error(`scale ${n}: ${succeeded} succeeded, ${postedOnce} posted once`);
      rows.push(
        `| ${n} | ${succeeded}/${n} | ${postedOnce}/${n} | ${seconds.toFixed(1)} s | ${((seconds * 1000) / n).toFixed(0)} ms |`,
      );
    } finally {
      await klms.stop();
    }
  }
  return `### Scale of the local KLMS: concurrent tasks

N no-op tasks started at once through the runner (each a real entrypoint and worker process).

| tasks | succeeded | output posted exactly once | total | per task |
|---|---|---|---|---|
${rows.join("\n")}
`;
}
