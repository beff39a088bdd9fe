/**
 * Checks a tool project before its image is built, so that a build does not fail ten steps in:
 * the Dockerfile is there, and every `file:` dependency of package.json lies inside the project
 * (the build context). A tarball outside it (`file:../klms-tool-0.1.0.tgz`) is not sent to the
 * builder, and `npm ci` in the Dockerfile fails on it.
 */
import { existsSync, readFileSync } from "node:fs";
import { isAbsolute, join, relative, resolve } from "node:path";
import { ImageError } from "./errors.js";

const DEPENDENCY_FIELDS = ["dependencies", "devDependencies", "optionalDependencies"] as const;

/**
 * @param dir the tool project (holds Dockerfile and package.json)
 * @throws ImageError naming the missing Dockerfile, or each `file:` dependency outside `dir` and how to vendor it
 */
export function checkBuildContext(dir: string): void {
  if (!existsSync(join(dir, "Dockerfile")))
    throw new ImageError(`no Dockerfile in ${dir}: build from a tool project (npm create klms-tool makes one)`);
  const manifest = join(dir, "package.json");
  if (!existsSync(manifest)) return;
  let pkg: Record<string, Record<string, string> | undefined>;
  try {
    pkg = JSON.parse(readFileSync(manifest, "utf8"));
  } catch (error) {
    throw new ImageError(`${manifest} is not valid JSON (${(error as Error).message}): fix it, then build again`);
  }
  const outside = outsideDependencies(dir, pkg);
  if (outside.length === 0) return;
  throw new ImageError(
    `package.json depends on files outside the build context ${dir}, which the image build cannot see: ` +
      `${outside.join(", ")}. Copy them into the project (e.g. vendor/) and depend on "file:vendor/<name>.tgz" ` +
      "(npm create klms-tool --kit <folder of tarballs> does this), then npm install",
  );
}

/** The `name@file:…` dependencies whose path leaves `dir`. */
export function outsideDependencies(dir: string, pkg: Record<string, Record<string, string> | undefined>): string[] {
  const found: string[] = [];
  for (const field of DEPENDENCY_FIELDS) {
    for (const [name, spec] of Object.entries(pkg[field] ?? {})) {
      if (typeof spec !== "string" || !spec.startsWith("file:")) continue;
      const path = spec.slice("file:".length);
      const rel = relative(resolve(dir), resolve(dir, path));
      if (isAbsolute(path) || rel.startsWith("..") || isAbsolute(rel)) found.push(`${name}@${spec}`);
    }
  }
  return found;
}
