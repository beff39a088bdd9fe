/**
 * The transfer tuning of a {@link Storage}: which strategy each transfer takes and how wide it
 * goes, resolved once from its options with the defaults of the one configuration table
 * (config/options.ts) and checked, so that a bad value fails when the storage is created, naming
 * the option and the environment variable that sets it for `task.storage`.
 */
import { OPTIONS, type OptionSpec } from "../config/options.js";
import { StorageError } from "./errors.js";

/** The tuning options of `createStorage` (a part of `StorageOptions`); every size in bytes. */
export interface TuningOptions {
  /**
   * Bytes per part of a multipart upload (default 8 MiB, at least 5 MiB; `KLMS_S3_PART_SIZE` for
   * `task.storage`). Each part in flight holds one buffer of this size: memory per upload ≈
   * partSize × uploadConcurrency.
   */
  partSize?: number;
  /**
   * Parts of one multipart upload sent at once, for a file at or over `singlePutMaxBytes` and for
   * a stream (default 4, at least 1; `KLMS_S3_UPLOAD_CONCURRENCY`).
   */
  uploadConcurrency?: number;
  /**
   * Files smaller than this go up in one streamed PUT, others in parts (default 5 GiB, S3's limit
   * for one PUT: one PUT measured fastest; `KLMS_S3_SINGLE_PUT_MAX`).
   */
  singlePutMaxBytes?: number;
  /**
   * Ranges of one download in flight at once, for objects of at least `rangedGetMinBytes`
   * (default 4, at least 1; `KLMS_S3_DOWNLOAD_CONCURRENCY`). 1: one GET, one stream.
   */
  downloadConcurrency?: number;
  /** Bytes per ranged GET of a parallel download (default 8 MiB, at least 64 KiB; `KLMS_S3_DOWNLOAD_RANGE_SIZE`). */
  downloadRangeSize?: number;
  /** Objects of at least this size are downloaded as parallel ranges (default 64 MiB; `KLMS_S3_RANGED_GET_MIN`). */
  rangedGetMinBytes?: number;
  /** @deprecated The same as `uploadConcurrency` (its old name), which wins when both are given. */
  queueSize?: number;
  /**
   * @deprecated Sets both `uploadConcurrency` and `downloadConcurrency` where they are not given
   * (it used to be one shared knob; uploads and downloads now measure best with their own).
   */
  concurrency?: number;
}

/** The resolved tuning: every option set and checked. */
export type Tuning = Required<Omit<TuningOptions, "queueSize" | "concurrency">>;

type TuningName = keyof Tuning;

/**
 * Resolves and checks the tuning options; throws a {@link StorageError} `BadOption` naming the
 * first bad one (not a number, not whole where a count is wanted, under its minimum).
 */
export function resolveTuning(options: TuningOptions): Tuning {
  const given: Partial<Record<TuningName, number | undefined>> = {
    partSize: options.partSize,
    uploadConcurrency: options.uploadConcurrency ?? options.queueSize ?? options.concurrency,
    singlePutMaxBytes: options.singlePutMaxBytes,
    downloadConcurrency: options.downloadConcurrency ?? options.concurrency,
    downloadRangeSize: options.downloadRangeSize,
    rangedGetMinBytes: options.rangedGetMinBytes,
  };
  const tuning = {} as Tuning;
  for (const name of Object.keys(given) as TuningName[]) {
    const spec: OptionSpec = OPTIONS[name];
    const value = given[name] ?? (spec.default as number);
    check(name, spec, value);
    tuning[name] = value;
  }
  return tuning;
}

function check(name: TuningName, spec: OptionSpec, value: number): void {
  const count = spec.unit === "count";
  const min = spec.min?.value ?? 0;
  const max = spec.max?.value ?? Number.MAX_SAFE_INTEGER;
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max) return;
  const what = count ? "a whole number" : "a whole number of bytes";
  const why = spec.max ? `; ${spec.max.why}` : "";
  throw new StorageError(
    "BadOption",
    `the storage option ${name} must be ${what} from ${min} to ${max}${why}, got ${typeof value === "number" ? String(value) : JSON.stringify(value)}: ` +
      `pass a valid ${name} to createStorage, or leave it out for the default (${String(spec.default)}); ` +
      `for task.storage set ${spec.env}`,
  );
}
