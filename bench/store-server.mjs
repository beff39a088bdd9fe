// The embedded object store in a process of its own (the benchmarks time their transfers with
// spawnSync, which would block a store running in their own event loop):
//   node bench/store-server.mjs <data dir> [<relay address> <relay port> <one-way delay ms>]
// Starts the store on 127.0.0.1 and, with a relay address (the network benchmark, inside the
// server's network namespace), a TCP relay to it on <address>:<port> that delays every chunk by <delay> ms each way: the kernel here has no
// sch_netem (CONFIG_NET_SCH_NETEM unset), so the latency is added in user space. The relay keeps
// at most WINDOW bytes in flight per direction, as a TCP window over a long path would.
// Prints one JSON line {"url","accessKeyId","secretAccessKey"} when ready; stops on SIGTERM.
import { createConnection, createServer } from "node:net";
import { Transform } from "node:stream";
import { startObjectStore } from "../packages/klms-local/dist/index.js";

const [dir, address, port, delayMs] = process.argv.slice(2);
const delay = Number(delayMs);
/** Bytes in flight per direction: 4 MiB, about a Linux socket's default maximum window. */
const WINDOW = 4 * 1024 * 1024;

/** A pass-through that releases each chunk `delay` ms after it came, with at most WINDOW bytes held. */
function delayed() {
  let held = 0;
  let waiting;
  return new Transform({
    transform(chunk, _encoding, next) {
      held += chunk.length;
      setTimeout(() => {
        held -= chunk.length;
        this.push(chunk);
        if (waiting && held < WINDOW) {
          const go = waiting;
          waiting = undefined;
          go();
        }
      }, delay);
      if (held < WINDOW) next();
      else waiting = next;
    },
    flush(done) {
      setTimeout(done, delay);
    },
  });
}

const store = await startObjectStore({ directory: dir, buckets: ["bench"], log: () => {} });
const upstream = new URL(store.url);
const relay = createServer((client) => {
  const server = createConnection({ host: "127.0.0.1", port: Number(upstream.port) });
  client.setNoDelay(true);
  server.setNoDelay(true);
  const fail = () => {
    client.destroy();
    server.destroy();
  };
  client.on("error", fail);
  server.on("error", fail);
  client.pipe(delayed()).pipe(server);
  server.pipe(delayed()).pipe(client);
});
if (address) await new Promise((ok) => relay.listen(Number(port), address, ok));
const url = address ? `http://${address}:${port}` : store.url;
process.stdout.write(
  `${JSON.stringify({ url, accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey })}\n`,
);
process.once("SIGTERM", async () => {
  relay.close();
  await store.stop();
  process.exit(0);
});
