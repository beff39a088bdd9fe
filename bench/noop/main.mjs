// A no-op tool written with klms-tool: what the wrapper costs when the tool does nothing.
import { defineTool, main } from "../../packages/klms-tool/dist/index.js";

const tool = defineTool({ name: "noop", run() {} });
export default tool;
main(import.meta, tool);
