// The network benchmark: client and server in two network namespaces joined by a veth pair
// (10.231.0.1 server, 10.231.0.2 client, inside the namespaces only), the link shaped with tbf
// (BENCH_NET_RATE, default 1gbit), latency added by the store's relay (BENCH_NET_DELAY_MS one
// way, default 10: this kernel has no sch_netem), server pinned to CPU 0 and client to CPU 1
// when there are two. Needs root and iproute2; skipped, saying why, otherwise. Everything made
// here is deleted afterwards.
import { execFileSync } from "node:child_process";
import { rmSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { log, QUICK, spawnStore } from "./lib.mjs";
import { TRANSFER_HEADER, transfersOn } from "./transfers.mjs";

const SERVER_NS = "klmsbench-srv";
const CLIENT_NS = "klmsbench-cli";
const RATE = process.env.BENCH_NET_RATE ?? "1gbit";
const DELAY_MS = Number(process.env.BENCH_NET_DELAY_MS ?? 10);
/** Sizes in MiB (BENCH_NET_SIZES; 64 and 256: 1 GiB at 1 Gbit/s through the relay would double the run). */
const SIZES = (process.env.BENCH_NET_SIZES ?? (QUICK ? "16,256" : "64,256")).split(",").map(Number);

const ip = (...args) => execFileSync("ip", args, { stdio: ["ignore", "pipe", "pipe"] });

/** Why the benchmark cannot run here, or undefined. */
function missing() {
  if (process.getuid?.() !== 0) return "not root (ip netns needs root)";
  try {
    execFileSync("ip", ["-V"], { stdio: "ignore" });
    execFileSync("tc", ["-V"], { stdio: "ignore" });
  } catch {
    return "iproute2 is not installed (apt-get install -y iproute2)";
  }
  return undefined;
}

/** Creates the two namespaces and the shaped veth pair between them. */
function setUp() {
  tearDown();
  ip("netns", "add", SERVER_NS);
  ip("netns", "add", CLIENT_NS);
  ip("link", "add", "klmsb0", "netns", SERVER_NS, "type", "veth", "peer", "name", "klmsb1", "netns", CLIENT_NS);
  for (const [ns, dev, addr] of [
    [SERVER_NS, "klmsb0", "10.231.0.1/30"],
    [CLIENT_NS, "klmsb1", "10.231.0.2/30"],
  ]) {
    ip("-n", ns, "addr", "add", addr, "dev", dev);
    ip("-n", ns, "link", "set", dev, "up");
    ip("-n", ns, "link", "set", "lo", "up");
    execFileSync("ip", [
      "netns",
      "exec",
      ns,
      "tc",
      "qdisc",
      "add",
      "dev",
      dev,
      "root",
      "tbf",
      "rate",
      RATE,
      "burst",
      "1mb",
      "latency",
      "50ms",
    ]);
  }
}

function tearDown() {
  for (const ns of [SERVER_NS, CLIENT_NS]) {
    try {
      ip("netns", "del", ns);
    } catch {
      // not there
    }
  }
}

/** Does the kernel have netem? Said in the write-up either way. */
function netemState() {
  try {
    ip("netns", "add", "klmsbench-probe");
    execFileSync(
      "ip",
      ["netns", "exec", "klmsbench-probe", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
      { stdio: "ignore" },
    );
    return "available (not needed: the relay adds the delay either way)";
  } catch {
    return "missing from this kernel (CONFIG_NET_SCH_NETEM unset): the delay is added by a user-space relay";
  } finally {
    try {
      ip("netns", "del", "klmsbench-probe");
    } catch {}
  }
}

export async function netns({ work, results }) {
  const why = missing();
  if (why) {
    log(`netns: skipped: ${why}`);
    return `### Network: two namespaces with latency\n\nSkipped: ${why}.\n`;
  }
  log(`netns: two namespaces, ${RATE}, ${DELAY_MS} ms each way`);
  const netem = netemState();
  const two = cpus().length >= 2;
  const pin = (cpu) => (two ? ["taskset", "-c", String(cpu)] : []);
  setUp();
  let rows = [];
  try {
    const store = await spawnStore(
      join(work, "ns-objects"),
      ["10.231.0.1", 9000, DELAY_MS],
      ["ip", "netns", "exec", SERVER_NS, ...pin(0)],
    );
    try {
      const server = {
        label: `netns, ${RATE}, RTT ${2 * DELAY_MS} ms`,
        bucket: "bench",
        sigv4: true,
        ...store,
        endpoint: store.url,
      };
      rows = await transfersOn(work, server, results, ["ip", "netns", "exec", CLIENT_NS, ...pin(1)], SIZES);
    } finally {
      await store.stop();
      rmSync(join(work, "ns-objects"), { recursive: true, force: true });
    }
  } finally {
    tearDown();
  }
  return `### Network: two namespaces with latency

The embedded store in one network namespace, the client (ours, curl) in another, joined by a veth
pair (10.231.0.0/30, inside the namespaces only, deleted afterwards), the link shaped by tbf to
${RATE}; ${DELAY_MS} ms added each way (RTT ${2 * DELAY_MS} ms) by the store's relay (bench/store-server.mjs),
at most 4 MiB in flight per direction. sch_netem: ${netem}. ${two ? "Server on CPU 0, client on CPU 1 (taskset), so that the server's CPU is not the client's (other work on the machine still shares both)." : "One CPU: server and client share it."}

${TRANSFER_HEADER}
${rows.join("\n")}
`;
}
