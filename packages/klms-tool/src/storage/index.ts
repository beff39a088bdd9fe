/**
 * Object storage that streams: S3/MinIO helpers on the AWS SDK, configured for MinIO and other
 * S3-compatible stores, with paths as `s3://bucket/key` or `bucket/key`.
 */
export { createS3Client, type S3ClientOptions } from "./client.js";
export { explain, StorageError, type StorageErrorCode } from "./errors.js";
export {
  formatPath,
  type ObjectPath,
  type PathLike,
  parsePath,
  safeBaseName,
  safeRelativePath,
  toObjectPath,
} from "./paths.js";
export { formatBytes, type ProgressListener, progressReporter, type TransferProgress } from "./progress.js";
export {
  createStorage,
  type ObjectData,
  type ObjectInfo,
  Storage,
  type StorageOptions,
  type TransferOptions,
} from "./storage.js";
export {
  createInputFile,
  createOutputTarget,
  type InputFile,
  type OutputTarget,
  type TaskFilesContext,
} from "./task-files.js";
