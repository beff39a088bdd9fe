// One transfer through the kit's storage helpers, in its own process so that its peak RSS is its
// own: node transfer-child.mjs <up|down> <s3 path> <local file> <endpoint> <access key> <secret>
// Prints one JSON line: {"seconds", "bytes", "maxRssBytes"}. BENCH_STORAGE_OPTIONS: JSON of
// StorageOptions (e.g. {"downloadConcurrency":1} for one GET). A failed transfer: its error's
// first line on stderr, exit status 1.
import { stat } from "node:fs/promises";
import { createStorage, minioSettings } from "../packages/klms-tool/dist/index.js";

const [direction, path, file, endpoint, accessKeyId, secretAccessKey] = process.argv.slice(2);
const storage = createStorage(
  minioSettings({ endpoint_url: endpoint, id: accessKeyId, key: secretAccessKey }, { env: {} }),
  JSON.parse(process.env.BENCH_STORAGE_OPTIONS || "{}"),
);
// Load the SDK first: the figure is the transfer's, not the import's (the cold start is measured apart).
await storage.client();
const start = performance.now();
try {
  if (direction === "up") await storage.upload(path, file);
  else await storage.download(path, file);
} catch (error) {
  // One line for the bench's table (the error's first line), then the exit status.
  process.stderr.write(`${String(error?.message ?? error).split("\n")[0]}\n`);
  process.exit(1);
}
const seconds = (performance.now() - start) / 1000;
storage.close();
const bytes = (await stat(file)).size;
process.stdout.write(`${JSON.stringify({ seconds, bytes, maxRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
