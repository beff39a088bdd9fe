#!/usr/bin/env node
// The package's bin, committed (not built) so that npm links it even before `npm run build` made
// dist/ (npm links no bin whose file is missing). It only starts the built CLI, dist/cli/main.js.
import("../dist/cli/main.js").catch((error) => {
  const unbuilt = error?.code === "ERR_MODULE_NOT_FOUND" && String(error.message).includes("dist/cli/main.js");
  console.error(
    unbuilt ? `klms-tool is not built: run \`npm run build\` in ${new URL("..", import.meta.url).pathname}` : error,
  );
  process.exitCode = 1;
});
