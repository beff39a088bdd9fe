/**
 * What a tool project's image is built with, the same as the template's `make build`: the build
 * arguments TOOL_NAME and TOOL_VERSION from package.json (the one place the version is written),
 * BASE_IMAGE when given, and the tool's manifest (`klms-tool manifest`) as the label
 * `klms.tool.manifest`, read from the built module.
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadTool, ToolLoadError } from "../cli/load-tool.js";
import { ImageError } from "./errors.js";

/** The build arguments and labels of a project's image. */
export interface ProjectBuild {
  buildArgs: Record<string, string>;
  labels: Record<string, string>;
}

/**
 * @param dir the tool project
 * @param options.baseImage BASE_IMAGE (default: the Dockerfile's, node:24-slim)
 * @param options.main the built tool module whose manifest labels the image; default package.json's
 *   "main", else dist/main.js. A project with neither it nor src/main.ts (the Python template) gets
 *   no manifest label.
 * @throws ImageError when package.json is missing or unreadable, or the module cannot be loaded
 *   (not built yet: npm run build)
 */
export async function projectBuild(
  dir: string,
  options: { baseImage?: string; main?: string } = {},
): Promise<ProjectBuild> {
  const file = join(dir, "package.json");
  let pkg: { name?: string; version?: string; main?: string };
  try {
    pkg = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    throw new ImageError(`cannot read ${file} (${(error as Error).message}): build from a tool project's folder`);
  }
  const buildArgs: Record<string, string> = {
    ...(options.baseImage ? { BASE_IMAGE: options.baseImage } : {}),
    ...(pkg.name ? { TOOL_NAME: pkg.name } : {}),
    ...(pkg.version ? { TOOL_VERSION: pkg.version } : {}),
  };
  const main = options.main ?? pkg.main ?? "dist/main.js";
  if (!existsSync(resolve(dir, main))) {
    // A TypeScript project that was not built; other projects (Python) declare no manifest.
    if (options.main || existsSync(join(dir, "src", "main.ts")))
      throw new ImageError(
        `${main} is not built: run npm run build first (the image's manifest label is read from it)`,
      );
    return { buildArgs, labels: {} };
  }
  let tool: Awaited<ReturnType<typeof loadTool>>;
  try {
    tool = await loadTool(main, dir);
  } catch (error) {
    if (error instanceof ToolLoadError) throw new ImageError(error.message);
    throw error;
  }
  const { toolManifest } = await import("../manifest/manifest.js");
  const manifest = toolManifest(tool);
  manifest.version ??= pkg.version;
  return { buildArgs, labels: { "klms.tool.manifest": JSON.stringify(manifest) } };
}
