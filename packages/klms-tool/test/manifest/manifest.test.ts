/** toolManifest: a tool's declaration as the catalog's tool fields, each a JSON Schema of what a task must give. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defineTool, z } from "../../src/index.ts";
import { toolManifest } from "../../src/manifest/manifest.ts";

const PATH = { type: "string", description: "a path, e.g. s3://bucket/key" };
const DRAFT = "https://json-schema.org/draft/2020-12/schema";

describe("toolManifest", () => {
  const tool = defineTool({
    name: "sorter",
    version: "1.2.0",
    description: "Sorts series",
    inputs: { series: { min: 2, max: 5, description: "CSV files" }, extra: { min: 0 } },
    outputs: { report: { description: "the report" }, log: { optional: true } },
    parameters: z.object({ k: z.number().int().default(3), mode: z.enum(["asc", "desc"]) }),
    secrets: z.object({ token: z.string() }),
    run: async () => {},
  });
  const manifest = toolManifest(tool);

  it("names the tool, its version, description and language", () => {
    assert.equal(manifest.name, "sorter");
    assert.equal(manifest.version, "1.2.0");
    assert.equal(manifest.description, "Sorts series");
    assert.equal(manifest.programming_language, "TypeScript");
  });

  it("describes input groups as lists of paths with their bounds; a group with min 0 is not required", () => {
    assert.deepEqual(manifest.inputs, {
      type: "object",
      properties: {
        series: { type: "array", items: PATH, minItems: 2, maxItems: 5, description: "CSV files" },
        extra: { type: "array", items: PATH, minItems: 0 },
      },
      required: ["series"],
    });
  });

  it("describes outputs as paths; an optional output is not required", () => {
    assert.deepEqual(manifest.outputs, {
      type: "object",
      properties: { report: { type: "string", description: "the report" }, log: PATH },
      required: ["report"],
    });
  });

  it("gives the parameters' schema as a task sends them: a field with a default is optional", () => {
    assert.equal(manifest.parameters.$schema, DRAFT);
    assert.deepEqual(manifest.parameters.required, ["mode"]);
    const properties = manifest.parameters.properties as Record<string, Record<string, unknown>>;
    assert.equal(properties.k?.type, "integer");
    assert.equal(properties.k?.default, 3);
    assert.deepEqual(properties.mode, { type: "string", enum: ["asc", "desc"] });
  });

  it("gives the secrets' schema, names only", () => {
    assert.deepEqual(manifest.secrets, {
      $schema: DRAFT,
      type: "object",
      properties: { token: { type: "string" } },
      required: ["token"],
    });
  });

  it("keeps a field that JSON Schema cannot express (a transform's output) as an open schema, not an error", () => {
    const dated = defineTool({
      name: "dated",
      parameters: z.object({ when: z.string().transform((s) => new Date(s)) }),
      run: async () => {},
    });
    const properties = toolManifest(dated).parameters.properties as Record<string, unknown>;
    assert.deepEqual(properties.when, { type: "string" });
  });

  it("gives a tool that declares nothing empty groups and open parameters, and no version or description", () => {
    assert.deepEqual(toolManifest(defineTool({ name: "bare", run: async () => {} })), {
      name: "bare",
      programming_language: "TypeScript",
      inputs: { type: "object", properties: {}, required: [] },
      outputs: { type: "object", properties: {}, required: [] },
      parameters: { type: "object" },
      secrets: { type: "object" },
    });
  });
});
