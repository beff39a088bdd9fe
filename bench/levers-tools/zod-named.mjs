// A tool with a parameter schema written with the named `z` of klms-tool (all of zod, every locale).
import { defineTool, main, z } from "../../packages/klms-tool/dist/index.js";

const tool = defineTool({ name: "zod-named", parameters: z.object({ x: z.number().default(1) }), run() {} });
export default tool;
main(import.meta, tool);
