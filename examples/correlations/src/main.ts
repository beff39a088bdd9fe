/**
 * correlations: the correlation matrix of the numeric columns of one or more CSV files.
 *
 * Input group `series`: CSV files (header line, then rows); rows of different files are matched
 * by their position. Parameter `method`: pearson (default) or spearman. Output
 * `correlations_file`: the matrix as CSV.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { defineTool, main } from "klms-tool";
import * as z from "klms-tool/zod";
import { readNumericColumns } from "./csv.js";
import { matrixToCsv } from "./matrix-csv.js";
import { correlationMatrix } from "./stats.js";

const tool = defineTool({
  name: "correlations",
  version: "1.0.0",
  description: "The correlation matrix (Pearson or Spearman) of the numeric columns of CSV files",
  parameters: z.object({
    method: z.enum(["pearson", "spearman"]).default("pearson").describe("the correlation coefficient"),
  }),
  inputs: { series: { min: 1, description: "CSV files with a header line and numeric columns" } },
  outputs: { correlations_file: { description: "the correlation matrix, CSV" } },

  async run(task) {
    const { method } = task.parameters;
    const files = task.inputs.series;
    const names: string[] = [];
    const columns: Float64Array[] = [];
    let rows = 0;

    for (const [i, file] of files.entries()) {
      task.progress(i, files.length, `reading ${file.name}`);
      const table = await readNumericColumns(await file.open(), file.name);
      if (table.skipped.length > 0)
        task.log.warn(`${file.name}: left out non-numeric columns ${table.skipped.join(", ")}`);
      names.push(...table.columns.map((c) => (files.length > 1 ? `${file.name}:${c}` : c)));
      columns.push(...table.values);
      rows = Math.max(rows, table.rows);
    }
    task.progress(files.length, files.length, "computing");

    // Rows are matched by position; a shorter file's missing rows count as missing values.
    const aligned = columns.map((c) =>
      c.length === rows ? c : Float64Array.from({ length: rows }, (_, r) => c[r] ?? Number.NaN),
    );
    const matrix = correlationMatrix(aligned, method);

    const local = join(task.workdir, "correlations.csv");
    await writeFile(local, matrixToCsv(names, matrix));
    await task.outputs.correlations_file.upload(local);

    task.metric("files", files.length);
    task.metric("rows", rows);
    task.metric("columns", names.length);
    return { message: `${method} correlations of ${names.length} columns over ${rows} rows` };
  },
});

export default tool;
main(import.meta, tool);
