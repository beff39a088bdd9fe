/**
 * Loads a tool's built module for the commands that read its declaration (`manifest`,
 * `validate-input --tool`), with the errors a newcomer meets first turned into what to do.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { KlmsError } from "../errors.js";
import { isToolDefinition, type ToolDefinition } from "../tool/define.js";

/** A module that could not give a tool; `message` says why and what to do. */
export class ToolLoadError extends KlmsError<"ToolLoad"> {
  override name = "ToolLoadError";
  constructor(
    message: string,
    /** True when the module loaded but exports no defineTool(...) tool (exit 1, not a usage error). */
    readonly loadedWithoutTool = false,
  ) {
    super("ToolLoad", message);
  }
}

/**
 * Imports `path` (relative to `cwd`) and returns its `defineTool(...)` export (`default`, or a
 * named `tool`). Throws {@link ToolLoadError}: for a TypeScript source (Node runs the compiled
 * file: `npm run build`, then `dist/….js`), for a module that cannot load, and for one with no tool.
 */
export async function loadTool(path: string, cwd: string): Promise<ToolDefinition> {
  const full = resolve(cwd, path);
  if (/\.[mc]?tsx?$/.test(path)) {
    const built = join(dirname(dirname(full)), "dist", basename(full).replace(/\.([mc]?)tsx?$/, ".$1js"));
    const hint = existsSync(built) ? `: ${relative(cwd, built)}` : ` (npm run build makes dist/)`;
    throw new ToolLoadError(`${path} is TypeScript source; give the compiled JavaScript file instead${hint}`);
  }
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(full).href)) as Record<string, unknown>;
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && !existsSync(full);
    const hint = missing && /(^|[\\/])dist[\\/]/.test(path) ? " (not built yet? run npm run build)" : "";
    throw new ToolLoadError(`cannot load ${path}: ${(error as Error).message}${hint}`);
  }
  const tool = [mod.default, mod.tool].find(isToolDefinition);
  if (!tool) {
    throw new ToolLoadError(
      `${path} has no defineTool(...) export (its exports: ${Object.keys(mod).join(", ") || "none"})`,
      true,
    );
  }
  return tool;
}

/**
 * The version in the package.json nearest above `modulePath` (the tool project's), or undefined.
 * The project's package.json is where a tool's version lives: the image labels (Makefile) and
 * the manifest read it there, so that it is written once.
 */
export function projectVersion(modulePath: string, cwd: string): string | undefined {
  let dir = dirname(resolve(cwd, modulePath));
  for (;;) {
    const file = join(dir, "package.json");
    if (existsSync(file)) {
      const version = (JSON.parse(readFileSync(file, "utf8")) as { version?: unknown }).version;
      return typeof version === "string" ? version : undefined;
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
