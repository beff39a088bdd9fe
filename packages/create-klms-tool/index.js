#!/usr/bin/env node
// npm create klms-tool <dir>: a new KLMS tool project from the kit's template.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { cp, readdir, readFile, rename, stat, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const HELP = `usage: npm create klms-tool <dir> [-- options]
       npx create-klms-tool <dir> [options]

Creates a STELAR KLMS tool in TypeScript in <dir> (which must not exist or be empty): the
tool (src/main.ts), its test against a local KLMS, run.sh, Dockerfile and Makefile.

options:
  --name <name>         the tool's name in the catalog (default: the folder's name);
                        2 to 100 of a-z, 0-9, "_" and "-"
  --klms-tool <spec>    the klms-tool dependency (default: ^<this kit's version>)
  --klms-local <spec>   the klms-local dev dependency (default: ^<this kit's version>)
  -h, --help            this help`;

const NAME = /^[a-z0-9_-]{2,100}$/;
const here = fileURLToPath(new URL(".", import.meta.url));

/** The template: packed inside this package, or the repository's own when run from a checkout. */
function templateDir() {
  for (const dir of [join(here, "template"), join(here, "..", "..", "template")]) {
    if (existsSync(join(dir, "src", "main.ts"))) return dir;
  }
  throw new Error("the template is missing from this package");
}

function kitVersion() {
  return JSON.parse(readFileSync(join(here, "package.json"), "utf8")).version;
}

/** A catalog name from a folder name: lower case, other characters turned into "-". */
export function toolNameFrom(dir) {
  return basename(resolve(dir))
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, "-")
    .replace(/^-+|-+$/g, "");
}

/** Creates the project; returns the files written, relative to `dir`. */
export async function scaffold(dir, options = {}) {
  const name = options.name ?? toolNameFrom(dir);
  if (!NAME.test(name)) {
    throw new Error(`"${name}" is not a valid tool name: use 2 to 100 of a-z, 0-9, "_" and "-" (--name sets it)`);
  }
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new Error(`${dir} is not empty: choose a new folder`);
  }
  const version = kitVersion();
  const toolSpec = options.klmsTool ?? `^${version}`;
  const localSpec = options.klmsLocal ?? `^${version}`;
  await cp(templateDir(), target, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|dist)([\\/]|$)/.test(src),
  });
  // npm drops .gitignore from published packages, so the template ships it without the dot.
  if (existsSync(join(target, "gitignore"))) await rename(join(target, "gitignore"), join(target, ".gitignore"));

  const files = await walk(target);
  for (const file of files) {
    const text = await readFile(file, "utf8");
    const filled = text
      .replaceAll("__TOOL_NAME__", name)
      .replaceAll("__KLMS_TOOL_VERSION__", toolSpec)
      .replaceAll("__KLMS_LOCAL_VERSION__", localSpec);
    if (filled !== text) await writeFile(file, filled);
  }
  if (toolSpec.startsWith("file:")) {
    // klms-local depends on klms-tool too: point that at the same local copy.
    const pkgPath = join(target, "package.json");
    const pkg = JSON.parse(await readFile(pkgPath, "utf8"));
    pkg.overrides = { "klms-tool": toolSpec };
    await writeFile(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
  }
  return files.map((f) => relative(target, f)).sort();
}

async function walk(dir) {
  const out = [];
  for (const entry of await readdir(dir)) {
    const full = join(dir, entry);
    if ((await stat(full)).isDirectory()) out.push(...(await walk(full)));
    else out.push(full);
  }
  return out;
}

async function cli(argv) {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        name: { type: "string" },
        "klms-tool": { type: "string" },
        "klms-local": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (error) {
    console.error(`${error.message}\n\n${HELP}`);
    return 2;
  }
  if (args.values.help) {
    console.log(HELP);
    return 0;
  }
  if (args.positionals.length !== 1) {
    console.error(`give the folder to create the tool in\n\n${HELP}`);
    return 2;
  }
  const dir = args.positionals[0];
  try {
    const files = await scaffold(dir, {
      name: args.values.name,
      klmsTool: args.values["klms-tool"],
      klmsLocal: args.values["klms-local"],
    });
    console.log(`Created ${files.length} files in ${dir}.

Next steps:
  cd ${dir}
  npm install
  npm test              # runs the tool as a task against a local KLMS
  make IMGTAG=yourusername/yourimagereponame:yourversiontag   # build and push the image

Edit src/main.ts to make the tool yours; README.md says how the KLMS runs it.`);
    return 0;
  } catch (error) {
    console.error(`create-klms-tool: ${error.message}`);
    return 1;
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await cli(process.argv.slice(2));
}
