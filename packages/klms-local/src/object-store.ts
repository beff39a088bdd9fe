import { spawn } from "node:child_process";
import { mkdir } from "node:fs/promises";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

/** A running embedded object store: an S3 endpoint on 127.0.0.1, backed by a folder. */
export interface ObjectStore {
  /** `http://127.0.0.1:<port>` */
  url: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** The folder that holds the buckets. */
  directory: string;
  stop(): Promise<void>;
}

/** Options of {@link startObjectStore}. */
export interface ObjectStoreOptions {
  directory: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /** Buckets to create at start (existing ones are kept). */
  buckets?: string[];
}

/** s3rver's fixed credentials: it checks the access key id, not the signature. */
export const OBJECT_STORE_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" } as const;

const CHILD = fileURLToPath(new URL("../object-store-child.mjs", import.meta.url));

/**
 * Starts the embedded object store (npm `s3rver`) in a child process and resolves once it
 * listens. The child runs with `--openssl-legacy-provider`, which its paging needs.
 */
export async function startObjectStore(options: ObjectStoreOptions): Promise<ObjectStore> {
  await mkdir(options.directory, { recursive: true });
  const child = spawn(
    process.execPath,
    ["--openssl-legacy-provider", CHILD, JSON.stringify({ ...options, port: options.port ?? 0 })],
    { stdio: ["pipe", "pipe", "pipe"], env: { ...process.env, NODE_OPTIONS: "" } },
  );
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => {
    stderr += d.toString();
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.once("line", (line) => {
      try {
        resolve((JSON.parse(line) as { port: number }).port);
      } catch {
        reject(new Error(`the object store printed an unexpected line: ${line}`));
      }
    });
    child.once("exit", (code) =>
      reject(new Error(`the object store exited (code ${code}) before listening: ${stderr.trim()}`)),
    );
    child.once("error", reject);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    ...OBJECT_STORE_CREDENTIALS,
    directory: options.directory,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
