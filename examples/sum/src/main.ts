/** The Python template's example, as a typed tool: parameters x and y, metric z = x + y. */
import { defineTool, main } from "klms-tool";
import * as z from "klms-tool/zod";

const tool = defineTool({
  name: "sum",
  version: "1.0.0",
  parameters: z.object({ x: z.number(), y: z.number() }),
  run(task) {
    const { x, y } = task.parameters;
    task.metric("z", x + y);
    return { message: "Tool executed successfully" };
  },
});

export default tool;
main(import.meta, tool);
