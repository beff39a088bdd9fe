import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { ExitCode } from "../exit-codes.js";
import { isToolDefinition } from "../tool/define.js";
import { type Command, err, out, parse } from "./command.js";

const help = `usage: klms-tool manifest <main.js>

Prints the tool's declaration as JSON, in the shape of the KLMS catalog's tool fields
(name, version, programming_language, inputs, outputs, parameters, secrets), each a JSON
Schema (draft 2020-12). Use it to register the tool, or as an image label.

The module must export a defineTool(...) tool (the plain run(json) form declares nothing).`;

/** `klms-tool manifest`: the tool's declaration as JSON Schema. */
export const manifestCommand: Command = {
  name: "manifest",
  summary: "print the tool's parameters, inputs, outputs and secrets as JSON Schema",
  help,
  async run(argv) {
    const args = parse(argv, {}, help, { min: 1, max: 1 });
    if ("exit" in args) return args.exit;
    const path = args.positionals[0] as string;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
    } catch (error) {
      err(`cannot load ${path}: ${(error as Error).message}`);
      return ExitCode.Usage;
    }
    const tool = [mod.default, mod.tool].find(isToolDefinition);
    if (!tool) {
      err(`${path} has no defineTool(...) export (its exports: ${Object.keys(mod).join(", ") || "none"})`);
      return ExitCode.Failure;
    }
    // Loaded here: zod's JSON Schema support is only needed by this command.
    const { toolManifest } = await import("../manifest/manifest.js");
    out(JSON.stringify(toolManifest(tool), null, 2));
    return ExitCode.Success;
  },
};
