/**
 * The one configuration table (src/config/): values read from flags and environments in every
 * unit, deprecated millisecond variables, the help text and the README made from it, and each
 * option reaching the part that uses it (the worker's grace period and log settings,
 * `task.storage`'s tuning).
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { describe, test } from "node:test";
import { configTableMarkdown } from "../../src/config/docs.ts";
import { OPTIONS, OptionError } from "../../src/config/options.ts";
import { readOptions, readOptionsLeniently } from "../../src/config/read.ts";
import { ENTRYPOINT_HELP } from "../../src/entrypoint/args.ts";
import { defineTool, StorageError } from "../../src/index.ts";
import { runWorker } from "../../src/internal.ts";
import { taskStorageOptions } from "../../src/worker/files.ts";
import { taskInput, workspace } from "../support.ts";

const MiB = 1024 * 1024;

describe("readOptions", () => {
  test("defaults come from the table when nothing is set", () => {
    const { values, warnings } = readOptions(["gracePeriod", "partSize", "logLevel", "timeout"], {});
    assert.deepEqual(values, { gracePeriod: 10, partSize: 8 * MiB, logLevel: "info", timeout: undefined });
    assert.deepEqual(warnings, []);
  });

  test("a flag wins over the variable, which wins over the default; a blank variable is unset", () => {
    const env = { KLMS_GRACE_PERIOD: "3", KLMS_RETRIES: " " };
    assert.equal(readOptions(["gracePeriod"], env).values.gracePeriod, 3);
    assert.equal(readOptions(["gracePeriod"], env, { gracePeriod: "0.5" }).values.gracePeriod, 0.5);
    assert.equal(readOptions(["retries"], env).values.retries, 5);
  });

  test("sizes in bytes, with or without a binary suffix", () => {
    for (const [text, bytes] of [
      ["6291456", 6 * MiB],
      ["16MiB", 16 * MiB],
      ["16 mib", 16 * MiB],
      ["1GiB", 1024 * MiB],
    ] as const) {
      assert.equal(readOptions(["partSize"], { KLMS_S3_PART_SIZE: text }).values.partSize, bytes, text);
    }
  });

  test("a bad value names its variable or flag, the unit and the text", () => {
    const cases: [Parameters<typeof readOptions>, RegExp][] = [
      [
        [["partSize"], { KLMS_S3_PART_SIZE: "1MiB" }],
        /^KLMS_S3_PART_SIZE must be a size in bytes .* ≥ 5242880, got "1MiB"$/,
      ],
      [[["partSize"], { KLMS_S3_PART_SIZE: "8MB" }], /KLMS_S3_PART_SIZE must be a size in bytes/],
      [[["retries"], {}, { retries: "1.5" }], /^--retries must be a whole number, got "1.5"$/],
      [[["requestTimeout"], { KLMS_REQUEST_TIMEOUT: "0" }], /^KLMS_REQUEST_TIMEOUT must be a number of seconds > 0/],
      [[["logFormat"], { KLMS_LOG_FORMAT: "xml" }], /^KLMS_LOG_FORMAT must be one of text, json, got "xml"$/],
    ];
    for (const [args, message] of cases)
      assert.throws(
        () => readOptions(...args),
        (e: unknown) => e instanceof OptionError && message.test(e.message),
      );
  });

  test("the old millisecond variable still works, with a deprecation warning; the new one wins", () => {
    const old = readOptions(["idleTimeout"], { KLMS_S3_IDLE_TIMEOUT_MS: "120000" });
    assert.equal(old.values.idleTimeout, 120);
    assert.deepEqual(old.warnings, [
      "KLMS_S3_IDLE_TIMEOUT_MS is deprecated: set KLMS_S3_IDLE_TIMEOUT in seconds instead (here 120)",
    ]);
    // Beside the new one, the old one is ignored, and the warning says so (attack6 F9).
    const both = readOptions(["idleTimeout"], { KLMS_S3_IDLE_TIMEOUT_MS: "120000", KLMS_S3_IDLE_TIMEOUT: "5" });
    assert.deepEqual(both, {
      values: { idleTimeout: 5 },
      warnings: [
        "KLMS_S3_IDLE_TIMEOUT_MS is ignored: KLMS_S3_IDLE_TIMEOUT is set (KLMS_S3_IDLE_TIMEOUT_MS is deprecated: use KLMS_S3_IDLE_TIMEOUT)",
      ],
    });
  });

  test("KLMS_S3_CONCURRENCY still sets both concurrencies, after KLMS_S3_QUEUE_SIZE for uploads; an ignored one is said", () => {
    const old = readOptions(["uploadConcurrency", "downloadConcurrency"], { KLMS_S3_CONCURRENCY: "1" });
    assert.deepEqual(old.values, { uploadConcurrency: 1, downloadConcurrency: 1 });
    const both = readOptions(["uploadConcurrency"], { KLMS_S3_QUEUE_SIZE: "2", KLMS_S3_CONCURRENCY: "x" });
    assert.equal(both.values.uploadConcurrency, 2);
    assert.match(both.warnings.join("\n"), /^KLMS_S3_CONCURRENCY is ignored: KLMS_S3_QUEUE_SIZE is set/m);
  });

  test("upper bounds: S3's 5 GiB for a part and a PUT, 64 at once, and no size past what a number holds exactly (attack6 F9)", () => {
    for (const [name, env, message] of [
      [
        "partSize",
        { KLMS_S3_PART_SIZE: "6GiB" },
        /KLMS_S3_PART_SIZE must be at most 5368709120 \(S3 takes parts of at most 5 GiB\), got "6GiB"/,
      ],
      [
        "singlePutMaxBytes",
        { KLMS_S3_SINGLE_PUT_MAX: "100GiB" },
        /at most 5368709120 \(S3 takes at most 5 GiB in one PUT\)/,
      ],
      [
        "uploadConcurrency",
        { KLMS_S3_UPLOAD_CONCURRENCY: "99999999999" },
        /KLMS_S3_UPLOAD_CONCURRENCY must be at most 64/,
      ],
      [
        "downloadConcurrency",
        { KLMS_S3_DOWNLOAD_CONCURRENCY: "100000" },
        /KLMS_S3_DOWNLOAD_CONCURRENCY must be at most 64/,
      ],
      ["rangedGetMinBytes", { KLMS_S3_RANGED_GET_MIN: "9999999999999999999999" }, /must be at most 9007199254740991/],
    ] as const) {
      assert.throws(() => readOptions([name], env), message, name);
    }
    assert.equal(readOptions(["partSize"], { KLMS_S3_PART_SIZE: "5GiB" }).values.partSize, 5 * 1024 ** 3);
  });

  test("leniently: a bad value becomes the default with a warning naming it", () => {
    const { values, warnings } = readOptionsLeniently(["logLevel", "gracePeriod"], {
      KLMS_LOG_LEVEL: "loud",
      KLMS_GRACE_PERIOD: "2",
    });
    assert.deepEqual(values, { logLevel: "info", gracePeriod: 2 });
    assert.deepEqual(warnings, [
      'KLMS_LOG_LEVEL must be one of debug, info, warn, error, got "loud"; using the default (info)',
    ]);
  });
});

describe("made from the table", () => {
  test("the exec help lists every option with a flag, its variable and its default", () => {
    for (const spec of Object.values(OPTIONS)) {
      if (!("flag" in spec)) continue;
      assert.ok(ENTRYPOINT_HELP.includes(`  ${spec.flag} <`), spec.flag);
      assert.ok(ENTRYPOINT_HELP.includes(`[${spec.env}] default:`), spec.env);
    }
    assert.match(ENTRYPOINT_HELP, /\[KLMS_GRACE_PERIOD\] default: 10\n/);
    assert.match(ENTRYPOINT_HELP, /\[KLMS_WORKER\] default: "node dist\/main\.js"\n/);
  });

  test("both READMEs' configuration tables are the table's (rewrite them: node --import tsx scripts/readme-tables.ts)", async () => {
    for (const path of ["../../../../README.md", "../../README.md"]) {
      const readme = await readFile(new URL(path, import.meta.url), "utf8");
      const start = "<!-- configuration table: made by scripts/readme-tables.ts -->\n";
      const at = readme.indexOf(start);
      assert.ok(at >= 0, `${path} marks its configuration table`);
      const table = readme.slice(at + start.length, readme.indexOf("<!-- end -->", at));
      assert.equal(table, configTableMarkdown(), path);
    }
  });
});

describe("every option reaches the part that uses it", () => {
  test("task.storage's tuning from the environment: values, deprecation, a bad value as BadOption", () => {
    const read = taskStorageOptions({
      KLMS_S3_PART_SIZE: "16MiB",
      KLMS_S3_QUEUE_SIZE: "2",
      KLMS_S3_IDLE_TIMEOUT_MS: "300",
    });
    assert.deepEqual(read.options, {
      partSize: 16 * MiB,
      uploadConcurrency: 2,
      singlePutMaxBytes: 5 * 1024 * MiB,
      downloadConcurrency: 4,
      downloadRangeSize: 8 * MiB,
      rangedGetMinBytes: 64 * MiB,
      idleTimeoutMs: 300,
      maxAttempts: 5,
    });
    // KLMS_S3_QUEUE_SIZE is uploadConcurrency's old name; KLMS_S3_IDLE_TIMEOUT_MS idleTimeout's.
    assert.equal(read.warnings.length, 2);
    assert.throws(
      () => taskStorageOptions({ KLMS_S3_IDLE_TIMEOUT_MS: "soon" }),
      (e: unknown) =>
        e instanceof StorageError &&
        e.code === "BadOption" &&
        /KLMS_S3_IDLE_TIMEOUT_MS must be a positive number of milliseconds, like 120000; got "soon"/.test(e.message),
    );
  });

  test("a tool's task.storage uses KLMS_S3_ENDPOINT and times out after KLMS_S3_IDLE_TIMEOUT seconds given to the worker", async () => {
    const silent = await hangingServer();
    // Nothing listens on port 9: only the endpoint from the injected environment can time out.
    const ws = await workspace(
      taskInput({ minio: { endpoint_url: "http://127.0.0.1:9", id: "AKIDFAKE", key: "fake-secret-key" } }),
    );
    const lines: string[] = [];
    try {
      const tool = defineTool({
        name: "stat-one",
        async run(task) {
          await task.storage.stat("s3://klms-bucket/x.csv");
        },
      });
      const env = {
        KLMS_S3_ENDPOINT: silent.url,
        KLMS_S3_IDLE_TIMEOUT: "0.3",
        KLMS_S3_MAX_ATTEMPTS: "1",
        KLMS_S3_IDLE_TIMEOUT_MS: "999999",
      };
      const result = await runWorker({
        tool,
        inputPath: ws.inputPath,
        outputPath: ws.outputPath,
        env,
        write: (l) => lines.push(l),
      });
      assert.equal(result.output.status, "failed");
      assert.match(String(result.output.message), /did not answer in time/);
    } finally {
      await ws.cleanup();
      await silent.close();
    }
  });

  test("the worker reads its log settings and a bad storage variable fails the task naming it", async () => {
    const ws = await workspace(taskInput());
    const lines: string[] = [];
    try {
      const tool = defineTool({
        name: "touch-storage",
        async run(task) {
          task.log.debug("a debug line");
          void task.storage;
        },
      });
      const env = { KLMS_LOG_LEVEL: "debug", KLMS_LOG_FORMAT: "json", KLMS_S3_QUEUE_SIZE: "none" };
      const result = await runWorker({
        tool,
        inputPath: ws.inputPath,
        outputPath: ws.outputPath,
        env,
        write: (l) => lines.push(l),
      });
      const debug = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === "a debug line");
      assert.equal(debug?.level, "debug");
      assert.equal(result.output.status, "failed");
      assert.match(String(result.output.message), /KLMS_S3_QUEUE_SIZE must be a whole number, got "none"/);
    } finally {
      await ws.cleanup();
    }
  });
});

/** An HTTP server on 127.0.0.1 that accepts requests and never answers. */
async function hangingServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer(() => {});
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
