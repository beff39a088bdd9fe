#!/usr/bin/env node
// Lists the functions of packages/*/src that are N lines or longer (default 60), longest first:
// declarations, methods, accessors, constructors, function expressions and arrow functions,
// counted from their first line to their last (doc comment excluded). The style guide asks for
// functions under ~60 lines, or a reason written at the head of a longer one.
//
// Usage: node scripts/long-functions.mjs [min lines] [folders...]  (default: 60 packages/*/src)
import { readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import ts from "typescript";

const ROOT = resolve(import.meta.dirname, "..");
const [minArg, ...folderArgs] = process.argv.slice(2);
const MIN = Number(minArg ?? 60);
const folders =
  folderArgs.length > 0 ? folderArgs : readdirSync(join(ROOT, "packages")).map((p) => join("packages", p, "src"));

function sources(dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : /\.(ts|js|mjs)$/.test(e.name) && !e.name.endsWith(".d.ts")
        ? [join(dir, e.name)]
        : [],
  );
}

/** A readable name for a function node: its own, its variable's or property's, else "(anonymous)". */
function nameOf(node) {
  if (node.name) return node.name.getText();
  if (ts.isConstructorDeclaration(node)) return "constructor";
  const parent = node.parent;
  if (
    parent &&
    (ts.isVariableDeclaration(parent) || ts.isPropertyAssignment(parent) || ts.isPropertyDeclaration(parent))
  )
    return parent.name.getText();
  return "(anonymous)";
}

const rows = [];
for (const file of folders.flatMap((f) => sources(resolve(ROOT, f)))) {
  const sf = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, true);
  const visit = (node) => {
    if (ts.isFunctionLike(node) && "body" in node && node.body) {
      const start = sf.getLineAndCharacterOfPosition(node.getStart(sf)).line;
      const end = sf.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = end - start + 1;
      if (lines >= MIN) rows.push({ lines, where: `${relative(ROOT, file)}:${start + 1}`, name: nameOf(node) });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
}
rows.sort((a, b) => b.lines - a.lines);
for (const r of rows) console.log(`${String(r.lines).padStart(4)}  ${r.name}  ${r.where}`);
console.log(`${rows.length} function(s) of ${MIN} lines or more`);
