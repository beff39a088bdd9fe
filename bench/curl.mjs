// What the benchmarks pass to curl, the baseline of the transfers.

/** curl's options to sign S3 requests (SigV4); radosgw wants the payload declared unsigned, as the SDK does. */
export function sigv4Args(accessKeyId, secretAccessKey) {
  return [
    "--aws-sigv4",
    "aws:amz:us-east-1:s3",
    "--user",
    `${accessKeyId}:${secretAccessKey}`,
    "-H",
    "x-amz-content-sha256: UNSIGNED-PAYLOAD",
  ];
}
