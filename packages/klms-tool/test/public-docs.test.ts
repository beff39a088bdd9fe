/**
 * Every member of the public tiers' interfaces has a doc comment: what a tool author hovers over
 * first (ToolSpec, Task, TaskOutput, Logger, Storage's options, …) says what it is, its default
 * and its unit. Read with the TypeScript compiler from the entry points `klms-tool`,
 * `klms-tool/contract` and `klms-tool/client`.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

const ENTRIES = ["../src/index.ts", "../src/contract/index.ts", "../src/client/index.ts"].map((p) =>
  fileURLToPath(new URL(p, import.meta.url)),
);

/** `Interface.member` for each property or method of an exported interface, type literal or class without a doc comment. */
function undocumented(): string[] {
  const program = ts.createProgram(ENTRIES, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    allowImportingTsExtensions: true,
    noEmit: true,
    strict: true,
  });
  const checker = program.getTypeChecker();
  const missing = new Set<string>();
  for (const entry of ENTRIES) {
    const module = checker.getSymbolAtLocation(program.getSourceFile(entry) as ts.SourceFile);
    for (let symbol of checker.getExportsOfModule(module as ts.Symbol)) {
      if (symbol.flags & ts.SymbolFlags.Alias) symbol = checker.getAliasedSymbol(symbol);
      for (const decl of symbol.declarations ?? []) {
        if (decl.getSourceFile().fileName.includes("node_modules")) continue;
        if (!ts.isInterfaceDeclaration(decl) && !ts.isClassDeclaration(decl) && !ts.isTypeAliasDeclaration(decl))
          continue;
        const members = ts.isTypeAliasDeclaration(decl)
          ? ts.isTypeLiteralNode(decl.type)
            ? decl.type.members
            : []
          : (decl.members as ts.NodeArray<ts.Node>);
        for (const m of members) {
          if (ts.isConstructorDeclaration(m) || ts.isIndexSignatureDeclaration(m)) continue;
          const name = (m as ts.NamedDeclaration).name;
          if (!name || ts.isPrivateIdentifier(name)) continue;
          const mods = ts.canHaveModifiers(m) ? ts.getModifiers(m) : undefined;
          if (mods?.some((x) => x.kind === ts.SyntaxKind.PrivateKeyword)) continue;
          // An error's `override name` is Error's own member, documented there.
          if (mods?.some((x) => x.kind === ts.SyntaxKind.OverrideKeyword)) continue;
          const text = name.getText();
          if (text.startsWith("#")) continue;
          const docs = ts.getJSDocCommentsAndTags(m);
          if (docs.length === 0) missing.add(`${symbol.name}.${text}`);
        }
      }
    }
  }
  return [...missing].sort();
}

test("every member of a public interface has a doc comment", () => {
  assert.deepEqual(undocumented(), []);
});
