/** Writes a correlation matrix as CSV: a header of column names, one row per column. */
export function matrixToCsv(columns: string[], matrix: number[][]): string {
  const quote = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const lines = [["", ...columns].map(quote).join(",")];
  matrix.forEach((row, i) => {
    lines.push([quote(columns[i] as string), ...row.map((r) => (Number.isNaN(r) ? "" : r.toFixed(6)))].join(","));
  });
  return `${lines.join("\n")}\n`;
}
