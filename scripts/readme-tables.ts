/**
 * Rewrites the READMEs' tables that are made from the code: the configuration table (from
 * packages/klms-tool/src/config/options.ts) and the automatic metrics table (from
 * packages/klms-tool/src/metrics/automatic.ts), in README.md and (the configuration table)
 * packages/klms-tool/README.md. `node --import tsx scripts/readme-tables.ts`;
 * packages/klms-tool/test/config/options.test.ts and test/metrics/automatic.test.ts fail while the README differs.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { configTableMarkdown } from "../packages/klms-tool/src/config/docs.ts";
import { metricsTableMarkdown } from "../packages/klms-tool/src/metrics/automatic.ts";

const README = fileURLToPath(new URL("../README.md", import.meta.url));
const PACKAGE_README = fileURLToPath(new URL("../packages/klms-tool/README.md", import.meta.url));
const CONFIG_MARK = "<!-- configuration table: made by scripts/readme-tables.ts -->\n";
const END = "<!-- end -->";

/** Replaces what follows `marker` up to the next END with `table`. */
function replaceTable(text: string, marker: string, table: string): string {
  const at = text.indexOf(marker);
  if (at < 0) throw new Error(`README.md has no line ${JSON.stringify(marker.trim())}`);
  const end = text.indexOf(END, at);
  return text.slice(0, at + marker.length) + table + text.slice(end);
}

let text = readFileSync(README, "utf8");
text = replaceTable(text, CONFIG_MARK, configTableMarkdown());
text = replaceTable(text, "<!-- metrics table: made by scripts/readme-tables.ts -->\n", metricsTableMarkdown());
writeFileSync(README, text);
writeFileSync(PACKAGE_README, replaceTable(readFileSync(PACKAGE_README, "utf8"), CONFIG_MARK, configTableMarkdown()));
