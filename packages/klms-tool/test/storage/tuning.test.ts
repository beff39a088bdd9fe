/**
 * The transfer tuning options: separate upload and download knobs, their environment variables
 * (and the old names, read with a warning), and bad values refused with a message that names
 * the option or variable and says how to fix it. The bytes moved through each strategy are
 * checked against real stores in packages/integration/test/storage-parallel.test.ts.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { createStorage, StorageError } from "../../src/index.ts";
import { resolveTuning } from "../../src/storage/tuning.ts";
import { taskStorageOptions } from "../../src/worker/files.ts";

const MiB = 1024 * 1024;
const SETTINGS = {
  endpoint: "http://127.0.0.1:9",
  host: "127.0.0.1",
  port: 9,
  useSSL: false,
  accessKeyId: "AKIDFAKE",
  secretAccessKey: "fake-secret-key",
  source: "endpoint_url",
} as const;

describe("transfer tuning", () => {
  test("defaults: uploads and downloads each with their own concurrency", () => {
    assert.deepEqual(resolveTuning({}), {
      partSize: 8 * MiB,
      uploadConcurrency: 4,
      singlePutMaxBytes: 5 * 1024 * MiB,
      downloadConcurrency: 4,
      downloadRangeSize: 8 * MiB,
      rangedGetMinBytes: 64 * MiB,
    });
  });

  test("the old names still work: queueSize is uploadConcurrency, concurrency sets both where not given", () => {
    const t = resolveTuning({ queueSize: 2, concurrency: 3, downloadConcurrency: 1 });
    assert.equal(t.uploadConcurrency, 2);
    assert.equal(t.downloadConcurrency, 1);
    assert.equal(resolveTuning({ concurrency: 1 }).uploadConcurrency, 1);
    assert.equal(resolveTuning({ uploadConcurrency: 6, queueSize: 2 }).uploadConcurrency, 6);
  });

  for (const [option, value, variable] of [
    ["uploadConcurrency", 0, "KLMS_S3_UPLOAD_CONCURRENCY"],
    ["downloadConcurrency", 1.5, "KLMS_S3_DOWNLOAD_CONCURRENCY"],
    ["partSize", 4 * MiB, "KLMS_S3_PART_SIZE"],
    ["downloadRangeSize", Number.NaN, "KLMS_S3_DOWNLOAD_RANGE_SIZE"],
    ["rangedGetMinBytes", -1, "KLMS_S3_RANGED_GET_MIN"],
    // Above the bounds (attack6 F9): S3's 5 GiB part, 64 in flight.
    ["partSize", 6 * 1024 * MiB, "KLMS_S3_PART_SIZE"],
    ["uploadConcurrency", 1e6, "KLMS_S3_UPLOAD_CONCURRENCY"],
  ] as const) {
    test(`createStorage refuses ${option}: ${value}, naming it and ${variable}`, () => {
      assert.throws(
        () => createStorage(SETTINGS, { [option]: value }),
        (e: unknown) => {
          assert.ok(e instanceof StorageError, String(e));
          assert.equal(e.code, "BadOption");
          assert.match(e.message, new RegExp(`the storage option ${option} must be a whole number`));
          assert.match(e.message, new RegExp(`got ${String(value)}:`));
          assert.match(e.message, new RegExp(`pass a valid ${option} to createStorage, or leave it out`));
          assert.match(e.message, new RegExp(`for task.storage set ${variable}`));
          return true;
        },
      );
    });
  }
});

describe("transfer tuning from the environment (task.storage)", () => {
  test("each direction has its own variable", () => {
    const { options, warnings } = taskStorageOptions({
      KLMS_S3_UPLOAD_CONCURRENCY: "6",
      KLMS_S3_DOWNLOAD_CONCURRENCY: "1",
      KLMS_S3_DOWNLOAD_RANGE_SIZE: "16MiB",
    });
    assert.equal(options.uploadConcurrency, 6);
    assert.equal(options.downloadConcurrency, 1);
    assert.equal(options.downloadRangeSize, 16 * MiB);
    assert.deepEqual(warnings, []);
  });

  test("the old variables are read with a warning that names the new one; the new one wins", () => {
    const old = taskStorageOptions({ KLMS_S3_QUEUE_SIZE: "3", KLMS_S3_CONCURRENCY: "2" });
    assert.equal(old.options.uploadConcurrency, 3);
    assert.equal(old.options.downloadConcurrency, 2);
    assert.deepEqual(old.warnings, [
      "KLMS_S3_QUEUE_SIZE is deprecated: set KLMS_S3_UPLOAD_CONCURRENCY instead (here 3)",
      "KLMS_S3_CONCURRENCY is ignored: KLMS_S3_QUEUE_SIZE is set (KLMS_S3_CONCURRENCY is deprecated: use KLMS_S3_UPLOAD_CONCURRENCY)",
      "KLMS_S3_CONCURRENCY is deprecated: set KLMS_S3_DOWNLOAD_CONCURRENCY instead (here 2)",
    ]);
    // KLMS_S3_CONCURRENCY alone sets both, as the storage option `concurrency` does.
    const shared = taskStorageOptions({ KLMS_S3_CONCURRENCY: "1" });
    assert.deepEqual([shared.options.uploadConcurrency, shared.options.downloadConcurrency], [1, 1]);
    const both = taskStorageOptions({ KLMS_S3_QUEUE_SIZE: "x", KLMS_S3_UPLOAD_CONCURRENCY: "5" });
    assert.equal(both.options.uploadConcurrency, 5);
    assert.deepEqual(both.warnings, [
      "KLMS_S3_QUEUE_SIZE is ignored: KLMS_S3_UPLOAD_CONCURRENCY is set (KLMS_S3_QUEUE_SIZE is deprecated: use KLMS_S3_UPLOAD_CONCURRENCY)",
    ]);
  });

  for (const [variable, value, expected] of [
    ["KLMS_S3_UPLOAD_CONCURRENCY", "0", /KLMS_S3_UPLOAD_CONCURRENCY must be a whole number ≥ 1, got "0"/],
    ["KLMS_S3_DOWNLOAD_CONCURRENCY", "four", /KLMS_S3_DOWNLOAD_CONCURRENCY must be a whole number, got "four"/],
    [
      "KLMS_S3_DOWNLOAD_RANGE_SIZE",
      "1KiB",
      /KLMS_S3_DOWNLOAD_RANGE_SIZE must be a size in bytes \(e\.g\. 8388608 or 8MiB\) ≥ 65536, got "1KiB"/,
    ],
    ["KLMS_S3_CONCURRENCY", "-2", /KLMS_S3_CONCURRENCY must be a whole number ≥ 1, got "-2"/],
  ] as const) {
    test(`${variable}=${value} is refused as BadOption naming the variable`, () => {
      assert.throws(
        () => taskStorageOptions({ [variable]: value }),
        (e: unknown) => e instanceof StorageError && e.code === "BadOption" && expected.test(e.message),
      );
    });
  }
});
