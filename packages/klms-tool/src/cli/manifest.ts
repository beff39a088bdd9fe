import { ExitCode } from "../exit-codes.js";
import { type Command, line, parse } from "./command.js";
import { loadTool, projectVersion, ToolLoadError } from "./load-tool.js";

const help = `usage: klms-tool manifest <main.js>

Prints the tool's declaration as JSON, in the shape of the KLMS catalog's tool fields
(name, version, programming_language, inputs, outputs, parameters, secrets), each a JSON
Schema (draft 2020-12). Use it to register the tool, or as an image label.

<main.js> is the built module (npm run build makes dist/main.js from src/main.ts); it must
export a defineTool(...) tool (the plain run(json) form declares nothing). The version is
the one in the package.json nearest above the module (the project's), unless defineTool sets one.

exit codes: 0 printed; 1 the module has no defineTool(...) export; 2 usage, or the module
cannot be loaded.`;

/** `klms-tool manifest`: the tool's declaration as JSON Schema. */
export const manifestCommand: Command = {
  name: "manifest",
  summary: "print the tool's parameters, inputs, outputs and secrets as JSON Schema",
  help,
  async run(argv, io) {
    const args = parse(argv, {}, help, { min: 1, max: 1 }, io);
    if ("exit" in args) return args.exit;
    const path = args.positionals[0] as string;
    let tool: Awaited<ReturnType<typeof loadTool>>;
    try {
      tool = await loadTool(path, io.cwd);
    } catch (error) {
      if (!(error instanceof ToolLoadError)) throw error;
      line(io.stderr, error.message);
      return error.loadedWithoutTool ? ExitCode.Failure : ExitCode.Usage;
    }
    // Loaded here: zod's JSON Schema support is only needed by this command.
    const { toolManifest } = await import("../manifest/manifest.js");
    const manifest = toolManifest(tool);
    const version = projectVersion(path, io.cwd);
    if (version && manifest.version && manifest.version !== version) {
      line(
        io.stderr,
        `! defineTool says version ${manifest.version} but package.json says ${version}: ` +
          "remove version from defineTool, so that package.json is the one place it is written",
      );
    }
    manifest.version ??= version;
    line(io.stdout, JSON.stringify(manifest, null, 2));
    return ExitCode.Success;
  },
};
