/**
 * The table of options (options.ts) as text for people: the options section of `klms-tool exec
 * --help` and the README's configuration table (checked by test/config/options.test.ts, rewritten by
 * `node --import tsx scripts/readme-tables.ts`).
 */
import { formatDefault, OPTIONS, type OptionSpec } from "./options.js";

const WIDTH = 96;
const INDENT = 28;

/** The `Options:` lines of `klms-tool exec --help`: every option with a flag, its variable and default. */
export function entrypointOptionsHelp(): string {
  const lines: string[] = [];
  for (const spec of Object.values(OPTIONS) as OptionSpec[]) {
    if (!spec.flag) continue;
    const head = `  ${spec.flag} <${placeholder(spec)}>`;
    const tail = `[${spec.env}] default: ${spec.unit === "command" ? JSON.stringify(spec.default) : formatDefault(spec)}`;
    const words = [...wrap(spec.doc, WIDTH - INDENT), tail];
    if (head.length < INDENT - 1) {
      lines.push(`${head.padEnd(INDENT)}${words[0]}`);
      words.shift();
    } else lines.push(head);
    for (const w of words) lines.push(`${" ".repeat(INDENT)}${w}`);
  }
  lines.push(`${"  -h, --help".padEnd(INDENT)}Print this help.`);
  return `${lines.join("\n")}\n`;
}

/** The README's configuration table (Markdown), one row per option. */
export function configTableMarkdown(): string {
  const rows = ["| option | flag | environment variable | unit | default | what |", "|---|---|---|---|---|---|"];
  for (const [name, spec] of Object.entries(OPTIONS) as [string, OptionSpec][]) {
    const olds = (spec.deprecated ?? []).map((old) => `${code(old.env)}${old.unit ? ` in ${old.unit}` : ""}`);
    const deprecated = olds.length > 0 ? ` (or ${olds.join(", then ")}, deprecated)` : "";
    const unit = spec.unit === "choice" ? (spec.choices ?? []).map(code).join(", ") : spec.unit;
    rows.push(
      `| ${code(name)} (${spec.parts.join(", ")}) | ${spec.flag ? code(spec.flag) : ""} | ${code(spec.env)}${deprecated} | ${unit} | ${formatDefault(spec)} | ${spec.doc.replaceAll("|", "\\|")} |`,
    );
  }
  return `${rows.join("\n")}\n`;
}

function placeholder(spec: OptionSpec): string {
  return spec.unit === "count" ? "n" : spec.unit;
}

function code(text: string): string {
  return `\`${text}\``;
}

/** Splits `text` into lines of at most `width` characters, at blanks. */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}
