// The entrypoint as a V8 startup snapshot's builder script (`node --build-snapshot`, bundled to
// CommonJS first: a snapshot's builder cannot be ESM). Its modules are loaded and evaluated when
// the snapshot is built; starting from the snapshot only runs the entrypoint.
import { startupSnapshot } from "node:v8";
import { runEntrypoint } from "../../packages/klms-tool/dist/entrypoint/index.js";

startupSnapshot.setDeserializeMainFunction(() => {
  // `node --snapshot-blob blob -- <args>`: process.argv is [node, ...args].
  runEntrypoint(process.argv.slice(1)).then((code) => {
    process.exitCode = code;
  });
});
