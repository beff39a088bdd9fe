// Runs the embedded object store (s3rver) in its own process. It needs Node's legacy OpenSSL
// provider for its ListObjectsV2 continuation tokens (DES), and that flag must not leak into the
// process of the local KLMS or of a tool. Started by src/object-store.ts; prints one JSON line
// {"port": N} when it listens, and stops on SIGTERM or when its parent goes away.
import S3rver from "s3rver";

const options = JSON.parse(process.argv[2] ?? "{}");
const server = new S3rver({
  address: "127.0.0.1",
  port: options.port ?? 0,
  directory: options.directory,
  silent: true,
  configureBuckets: (options.buckets ?? []).map((name) => ({ name })),
});
const address = await server.run();
process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);

const stop = () => server.close().finally(() => process.exit(0));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
// The parent holds our stdin open; when it dies, stdin ends and we stop too.
process.stdin.on("end", stop);
process.stdin.resume();
