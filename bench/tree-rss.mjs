// The scale benchmark's memory sampler, in its own process so that reading /proc (every process's
// status, every 250 ms) does not run in the local KLMS's event loop: the peak resident memory of a
// process and all its descendants, but this sampler and the pids it is told to leave out.
//
//   fork("tree-rss.mjs", [rootPid, intervalMs, ...excludedPids]); send "stop"; receive { peak } (bytes)
import { readdirSync, readFileSync } from "node:fs";

const [rootPid, interval, ...excluded] = process.argv.slice(2).map(Number);
const skip = new Set([process.pid, ...excluded]);

/** Resident memory (bytes) of `rootPid` and its descendants but `skip`, from /proc. */
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
  const stack = [rootPid];
  while (stack.length) {
    const pid = stack.pop();
    if (skip.has(pid)) continue;
    total += rss.get(pid) ?? 0;
    stack.push(...(children.get(pid) ?? []));
  }
  return total;
}

let peak = treeRss();
const sampler = setInterval(() => {
  peak = Math.max(peak, treeRss());
}, interval);
process.once("message", () => {
  clearInterval(sampler);
  peak = Math.max(peak, treeRss());
  process.send({ peak }, () => process.exit(0));
});
