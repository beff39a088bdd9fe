// Writes a new KLMS tool project from the kit's template and one of its variants.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { copyFile, cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const NAME = /^[a-z0-9_-]{2,100}$/;

/**
 * The templates a project can start from: the base template (this package's template/ folder,
 * packed into this package) with a variant's files laid over it (variants/<name>/; its
 * variant.json adds dependencies and removes base files).
 */
export const TEMPLATES = {
  minimal: "a tool with parameters, an optional input group and a JSON output (the base template)",
  csv: "CSV in, CSV out: statistics of each numeric column of the input tables (csv-parse)",
  python: "a Python worker (standard library only) behind the same entrypoint, image and tests",
};

/** The default description written into package.json, the tool and its README. */
export const DEFAULT_DESCRIPTION = "A STELAR KLMS tool";

/** The base template, this package's template/ folder (in the repository and in the tarball alike). */
function templateDir() {
  const dir = join(here, "template");
  if (!existsSync(join(dir, "src", "main.ts"))) throw new Error(`the template is missing from this package (${dir})`);
  return dir;
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

/** Why `name` is not a catalog name, or undefined when it is one. */
export function nameProblem(name) {
  return NAME.test(name) ? undefined : `"${name}" is not a valid tool name: use 2 to 100 of a-z, 0-9, "_" and "-"`;
}

/**
 * Creates the project in `dir` (which must not exist or be empty); returns the files written,
 * relative to `dir`. Options: `name` (default: from the folder's name), `description`,
 * `template` (a key of TEMPLATES, default "minimal"), `klmsTool` and `klmsLocal` (the dependency
 * specs, default `^<this kit's version>`; `file:<tarball>` works, for tests and offline use), `kit`
 * (a folder holding the kit's packed tarballs, klms-tool-<v>.tgz and klms-local-<v>.tgz: they are
 * copied into the project's vendor/ folder and the dependencies point there, see vendorKit).
 */
export async function scaffold(dir, options = {}) {
  const name = options.name ?? toolNameFrom(dir);
  const problem = nameProblem(name);
  if (problem) throw new Error(`${problem} (--name sets it)`);
  const template = options.template ?? "minimal";
  if (!(template in TEMPLATES)) {
    throw new Error(`unknown template "${template}": choose one of ${Object.keys(TEMPLATES).join(", ")}`);
  }
  const target = resolve(dir);
  if (existsSync(target) && readdirSync(target).length > 0) {
    throw new Error(`${dir} is not empty: choose a new folder`);
  }
  const kit = options.kit === undefined ? undefined : kitTarballs(options.kit, options);
  checkFileSpecs(target, options);
  const source = templateDir();
  await cp(source, target, {
    recursive: true,
    // Relative to the template: installed, the template itself lies under a node_modules folder.
    filter: (src) => !/[\\/](node_modules|dist|bundle)([\\/]|$)/.test(src.slice(source.length)),
  });
  const variant = await applyVariant(target, template);
  // npm drops .gitignore from published packages, so the template ships it without the dot; the
  // same for .env, the local secrets file `klms-tool try --secret-file .env` reads (both ignored by git).
  for (const dotfile of ["gitignore", "env"]) {
    if (existsSync(join(target, dotfile))) await rename(join(target, dotfile), join(target, `.${dotfile}`));
  }

  const version = kitVersion();
  const specs = kit ? await vendorKit(target, kit) : { klmsTool: options.klmsTool, klmsLocal: options.klmsLocal };
  const files = await walk(target);
  await fillPlaceholders(files, {
    name,
    description: options.description || DEFAULT_DESCRIPTION,
    toolSpec: specs.klmsTool ?? `^${version}`,
    localSpec: specs.klmsLocal ?? `^${version}`,
  });
  await finishPackageJson(target, variant, specs.klmsTool);
  return files.map((f) => relative(target, f)).sort();
}

/**
 * A `file:` spec of --klms-tool/--klms-local must name something that exists, from the new
 * project's folder (where npm reads it): checked before anything is written, so that a typo is
 * not an npm 404 and a half-made project.
 */
function checkFileSpecs(target, options) {
  for (const [flag, spec] of [
    ["--klms-tool", options.klmsTool],
    ["--klms-local", options.klmsLocal],
  ]) {
    if (typeof spec !== "string" || !spec.startsWith("file:")) continue;
    const path = resolve(target, spec.slice("file:".length));
    if (!existsSync(path)) {
      throw new Error(
        `${flag} ${spec}: ${path} does not exist (a file: path is read from the new project's folder; --kit <folder> takes the kit's tarballs from anywhere)`,
      );
    }
  }
}

/**
 * The kit's tarballs in `dir` (as `npm pack -w packages/klms-tool -w packages/klms-local` writes
 * them): { klmsTool, klmsLocal } file paths. Throws naming what is missing or ambiguous.
 */
function kitTarballs(dir, options) {
  if (options.klmsTool || options.klmsLocal) throw new Error("give --kit or --klms-tool/--klms-local, not both");
  if (!existsSync(dir)) throw new Error(`--kit ${dir} does not exist: give the folder holding the packed tarballs`);
  const found = {};
  for (const [key, name] of [
    ["klmsTool", "klms-tool"],
    ["klmsLocal", "klms-local"],
  ]) {
    const matches = readdirSync(dir).filter((f) => new RegExp(`^${name}-\\d+\\.\\d+\\.\\d+.*\\.tgz$`).test(f));
    if (matches.length !== 1) {
      const why = matches.length === 0 ? "none" : `${matches.length}: ${matches.join(", ")}`;
      throw new Error(
        `--kit ${dir} must hold one ${name}-<version>.tgz (found ${why}): npm pack -w packages/${name} --pack-destination ${dir}`,
      );
    }
    found[key] = join(resolve(dir), matches[0]);
  }
  return found;
}

/**
 * Copies the kit's tarballs into `<target>/vendor/` and returns the dependency specs that point
 * there (`file:vendor/klms-tool-0.1.0.tgz`). Relative paths inside the project, because the image
 * build sees only the project's folder (its build context): a `file:../x.tgz` would make `npm ci`
 * in the Dockerfile fail.
 */
async function vendorKit(target, kit) {
  const vendor = join(target, "vendor");
  await mkdir(vendor, { recursive: true });
  const specs = {};
  for (const [key, path] of Object.entries(kit)) {
    await copyFile(path, join(vendor, basename(path)));
    specs[key] = `file:vendor/${basename(path)}`;
  }
  return specs;
}

/** Lays variants/<template>/ over the base; returns its variant.json (or {}). */
async function applyVariant(target, template) {
  const dir = join(here, "variants", template);
  if (!existsSync(dir)) return {};
  const variant = existsSync(join(dir, "variant.json"))
    ? JSON.parse(await readFile(join(dir, "variant.json"), "utf8"))
    : {};
  for (const file of variant.remove ?? []) await rm(join(target, file), { recursive: true, force: true });
  await cp(dir, target, { recursive: true, filter: (src) => basename(src) !== "variant.json" });
  return variant;
}

/** Replaces the template's placeholders; the description JSON-escaped except in Markdown. */
async function fillPlaceholders(files, { name, description, toolSpec, localSpec }) {
  const quoted = JSON.stringify(description).slice(1, -1);
  for (const file of files) {
    const text = await readFile(file, "utf8");
    const filled = text
      .replaceAll("__TOOL_NAME__", name)
      .replaceAll("__TOOL_DESCRIPTION__", file.endsWith(".md") ? description : quoted)
      .replaceAll("__KLMS_TOOL_VERSION__", toolSpec)
      .replaceAll("__KLMS_LOCAL_VERSION__", localSpec);
    if (filled !== text) await writeFile(file, filled);
  }
}

/** The variant's scripts and dependencies; a file: klms-tool also for klms-local's own dependency. */
async function finishPackageJson(target, variant, toolSpec) {
  const pkgPath = join(target, "package.json");
  const pkg = JSON.parse(await readFile(pkgPath, "utf8"));
  for (const key of ["scripts", "dependencies", "devDependencies"]) {
    if (!variant[key]) continue;
    const merged = { ...pkg[key], ...variant[key] };
    // Scripts keep the template's order; dependencies are sorted, as npm writes them.
    pkg[key] =
      key === "scripts" ? merged : Object.fromEntries(Object.entries(merged).sort(([a], [b]) => (a < b ? -1 : 1)));
  }
  for (const script of variant.removeScripts ?? []) delete pkg.scripts[script];
  if (toolSpec?.startsWith("file:")) pkg.overrides = { "klms-tool": toolSpec };
  await writeFile(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
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
