// npm pack's hooks: `prepack` copies the repository's template/ into this package (npm packs
// files, not links), `postpack` removes the copy so that no untracked template/ stays behind.
import { cpSync, rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

const source = fileURLToPath(new URL("../../template", import.meta.url));
const copy = fileURLToPath(new URL("./template", import.meta.url));
const built = /[\\/](node_modules|dist|bundle)([\\/]|$)/;

if (process.argv[2] === "copy") {
  rmSync(copy, { recursive: true, force: true });
  cpSync(source, copy, { recursive: true, filter: (path) => !built.test(path.slice(source.length)) });
} else if (process.argv[2] === "remove") {
  rmSync(copy, { recursive: true, force: true });
} else {
  console.error("usage: node pack-template.mjs copy|remove");
  process.exitCode = 2;
}
