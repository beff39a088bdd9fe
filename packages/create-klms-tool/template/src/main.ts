/**
 * Your tool. The KLMS runs it as a task: the platform hands it parameters, input files and output
 * paths; it does its work and reports a message and metrics. Everything else (fetching the task,
 * validating it, masking secrets in logs, reporting failures) is done by klms-tool.
 *
 * Try it: `npm test` runs it as a real task against a local KLMS; `npm start` builds it and runs
 * it on fixtures/input.json (a task input in the platform's shape) the same way.
 */
import { defineTool, main } from "klms-tool";
import * as z from "klms-tool/zod";

const tool = defineTool({
  // The tool's name in the KLMS catalog: 2 to 100 of a-z, 0-9, "_" and "-".
  name: "__TOOL_NAME__",
  // The version is package.json's (klms-tool manifest and the image labels read it there).
  description: "__TOOL_DESCRIPTION__",

  // Parameters: a zod schema. The task's parameters are validated against it before run() is
  // called; defaults are applied, and every problem is reported at once.
  parameters: z.object({
    x: z.number().describe("the first number"),
    y: z.number().default(1).describe("the second number"),
  }),

  // Input groups: each is a list of paths (s3://bucket/key) the task gives under that name.
  // min: 0 makes a group optional.
  inputs: {
    data: { min: 0, description: "text files whose lines are counted" },
  },

  // Outputs: the task gives a path for each; the tool writes there.
  outputs: {
    report: { description: "a JSON report" },
  },

  // Secrets: only sent by the platform with a valid task signature, never printed in logs.
  secrets: z.object({ api_key: z.string().optional() }),

  async run(task) {
    const { x, y } = task.parameters; // typed: numbers

    let lines = 0;
    for (const file of task.inputs.data) {
      // file.open() streams the object; file.download() saves it in task.workdir.
      const text = await file.text();
      lines += text.split("\n").filter((l) => l.trim() !== "").length;
      task.log.info(`read ${file.name}`);
    }

    // Write the output: upload a file, a folder or a stream; or write data directly.
    await task.outputs.report.write(JSON.stringify({ sum: x + y, lines }, null, 2));

    // Metrics are reported with the output (with runtime, CPU and memory added automatically).
    task.metric("z", x + y);
    task.metric("lines", lines);

    // The message goes to the platform; the status ("succeeded") is filled in.
    // A thrown error becomes a failure report that says what went wrong.
    return { message: `x + y = ${x + y}; ${lines} lines read` };
  },
});

export default tool;

// `node dist/main.js input.json output.json` runs the tool (the worker contract of the Python
// template); importing this module (tests, klms-tool manifest) does not.
main(import.meta, tool);

/*
 * The Python template's plain form works too, validated the same way:
 *
 *   export async function run(json: Record<string, any>) {
 *     const { x, y } = json.parameters;
 *     return { message: "done", output: {}, metrics: { z: x + y }, status: "succeeded" };
 *   }
 *   main(import.meta, run);
 */
