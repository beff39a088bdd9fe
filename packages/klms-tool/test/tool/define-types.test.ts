/**
 * defineTool's types: compiled with the TypeScript compiler, because what must fail here is the
 * build of a tool, not a run. Names in `run`'s returned `output` are checked like input names.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import ts from "typescript";

// The built declarations, as a tool project sees them (npm test builds first).
const INDEX = fileURLToPath(new URL("../../dist/index.js", import.meta.url));

async function diagnostics(source: string): Promise<string[]> {
  const dir = await mkdtemp(join(tmpdir(), "klms-types-"));
  try {
    const file = join(dir, "tool.ts");
    await writeFile(file, source.replace("KLMS_TOOL", INDEX));
    const program = ts.createProgram([file], {
      strict: true,
      noEmit: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      skipLibCheck: true,
      types: ["node"],
    });
    return ts
      .getPreEmitDiagnostics(program)
      .filter((d) => d.file?.fileName === file)
      .map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test("an output name misspelt in run's return does not compile; declared names do", async () => {
  const errors = await diagnostics(`import { defineTool } from "KLMS_TOOL";
defineTool({ name: "typo", outputs: { summary: {} }, async run() { return { output: { summry: "s3://b/k" } }; } });
defineTool({ name: "right", outputs: { summary: {} }, async run() { return { output: { summary: "s3://b/k" } }; } });
defineTool({ name: "none", run() {} });
defineTool({ name: "open", async run() { return { output: { anything: "s3://b/k" } }; } });
`);
  assert.equal(errors.length, 1, errors.join("\n---\n"));
  assert.match(errors[0] as string, /summry/);
});
