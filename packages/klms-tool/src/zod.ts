/**
 * `klms-tool/zod`: the zod that the runtime validates parameters with, for a tool's schemas.
 * Import it as a namespace, as zod's own documentation does:
 *
 * ```ts
 * import * as z from "klms-tool/zod";
 * defineTool({ name: "t", parameters: z.object({ x: z.number() }), run(task) { … } });
 * ```
 *
 * Why a namespace import rather than `import { z } from "klms-tool"` (which still works): a
 * bundler drops what a tool does not use only from a namespace import. The named `z` is one
 * object holding all of zod, every locale included, so the tool's bundle grows by about 600 KB
 * and every task pays for loading it (BENCHMARKS.md, "Start-up levers"). Being the runtime's own
 * copy, it can never drift from the zod version that checks the schemas.
 */
export * from "zod";
