import type { Readable } from "node:stream";
import { parse } from "csv-parse";

/** The numeric columns of one CSV file; empty cells are NaN (missing). */
export interface NumericTable {
  columns: string[];
  values: Float64Array[];
  rows: number;
  /** Columns left out because a cell is not a number. */
  skipped: string[];
}

/** A CSV file the tool cannot use, with the file's name and, when known, the line. */
export class CsvError extends Error {
  override name = "CsvError";
}

/**
 * Reads a CSV stream (first line: the header) and keeps its numeric columns: those whose every
 * non-empty cell is a number. Parses as a stream; only the numeric values are kept in memory.
 */
export async function readNumericColumns(stream: Readable, file: string): Promise<NumericTable> {
  const parser = stream.pipe(
    parse({ bom: true, trim: true, skip_empty_lines: true, relax_column_count: true, info: true }),
  );
  let header: string[] | undefined;
  let cells: number[][] = [];
  let numeric: boolean[] = [];
  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      if (!header) {
        header = record;
        if (new Set(header).size !== header.length) throw new CsvError(`${file}: the header repeats a column name`);
        cells = header.map(() => []);
        numeric = header.map(() => true);
        continue;
      }
      if (record.length !== header.length) {
        throw new CsvError(
          `${file}, line ${info.lines}: ${record.length} fields where the header has ${header.length} (a ragged row)`,
        );
      }
      record.forEach((cell, c) => {
        if (!numeric[c]) return;
        if (cell === "") {
          (cells[c] as number[]).push(Number.NaN);
          return;
        }
        const v = Number(cell);
        if (Number.isFinite(v)) (cells[c] as number[]).push(v);
        else numeric[c] = false;
      });
    }
  } catch (error) {
    if (error instanceof CsvError) throw error;
    throw new CsvError(`${file}: not a valid CSV file (${(error as Error).message})`);
  }
  if (!header) throw new CsvError(`${file} is empty: a header line and rows of numbers are needed`);
  const keep = header.map((_, c) => c).filter((c) => numeric[c]);
  if (keep.length === 0) {
    throw new CsvError(`${file} has no numeric column (its columns: ${header.join(", ")}): every column holds text`);
  }
  return {
    columns: keep.map((c) => header[c] as string),
    values: keep.map((c) => Float64Array.from(cells[c] as number[])),
    rows: (cells[keep[0] as number] as number[]).length,
    skipped: header.filter((_, c) => !numeric[c]),
  };
}
