// The same tool with `import * as z from "klms-tool/zod"`: the bundle keeps only the zod it uses.
import { defineTool, main } from "../../packages/klms-tool/dist/index.js";
import * as z from "../../packages/klms-tool/dist/zod.js";

const tool = defineTool({ name: "zod-namespace", parameters: z.object({ x: z.number().default(1) }), run() {} });
export default tool;
main(import.meta, tool);
