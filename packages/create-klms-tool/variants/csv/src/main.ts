/**
 * Your tool: CSV in, CSV out. For each input table it computes, per numeric column, the count of
 * values, the mean, the minimum and the maximum, and writes them as one CSV output. The files are
 * streamed from the object store and parsed with csv-parse, so their size does not matter.
 *
 * Try it: `npm test` runs it as a real task against a local KLMS; `npm start` builds it and runs
 * it on fixtures/input.json (a task input in the platform's shape) the same way.
 */
import { parse } from "csv-parse";
import { defineTool, main } from "klms-tool";
import * as z from "klms-tool/zod";

/** Running statistics of one column. */
interface Column {
  count: number;
  sum: number;
  min: number;
  max: number;
  numeric: boolean;
}

const tool = defineTool({
  // The tool's name in the KLMS catalog: 2 to 100 of a-z, 0-9, "_" and "-".
  name: "__TOOL_NAME__",
  // The version is package.json's (klms-tool manifest and the image labels read it there).
  description: "__TOOL_DESCRIPTION__",
  parameters: z.object({
    delimiter: z.string().length(1).default(",").describe("the field separator of the input files"),
  }),
  inputs: { tables: { min: 1, description: "CSV files with a header line" } },
  outputs: { summary: { description: "file,column,count,mean,min,max as CSV" } },

  async run(task) {
    const rows = ["file,column,count,mean,min,max"];
    for (const file of task.inputs.tables) {
      const columns = await columnStats(await file.open(), task.parameters.delimiter);
      for (const [name, c] of columns) {
        if (!c.numeric || c.count === 0) continue;
        rows.push([file.name, name, c.count, c.sum / c.count, c.min, c.max].map(csvCell).join(","));
      }
      task.log.info(`read ${file.name}: ${columns.size} columns`);
    }
    await task.outputs.summary.write(`${rows.join("\n")}\n`, { contentType: "text/csv" });
    task.metric("tables", task.inputs.tables.length);
    task.metric("columns", rows.length - 1);
    return { message: `${rows.length - 1} numeric columns summarised` };
  },
});

/** Per-column statistics of a CSV stream; a column with a non-numeric cell is left out. */
async function columnStats(stream: NodeJS.ReadableStream, delimiter: string): Promise<Map<string, Column>> {
  const columns = new Map<string, Column>();
  const parser = stream.pipe(parse({ bom: true, trim: true, skip_empty_lines: true, columns: true, delimiter }));
  for await (const record of parser as AsyncIterable<Record<string, string>>) {
    for (const [name, cell] of Object.entries(record)) {
      const c = columns.get(name) ?? { count: 0, sum: 0, min: Infinity, max: -Infinity, numeric: true };
      columns.set(name, c);
      if (cell === "" || !c.numeric) continue;
      const v = Number(cell);
      if (!Number.isFinite(v)) {
        c.numeric = false;
        continue;
      }
      c.count++;
      c.sum += v;
      c.min = Math.min(c.min, v);
      c.max = Math.max(c.max, v);
    }
  }
  return columns;
}

/** A CSV field: quoted when it holds a comma, a quote or a line break. */
function csvCell(value: string | number): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

export default tool;

// `node dist/main.js input.json output.json` runs the tool (the worker contract of the Python
// template); importing this module (tests, klms-tool manifest) does not.
main(import.meta, tool);
