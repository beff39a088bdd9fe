import * as z from "zod";
import type { ToolDefinition } from "../tool/define.js";

/** A tool's declaration in the shape of the catalog's tool fields, with JSON Schemas. */
export interface ToolManifest {
  name: string;
  version?: string;
  description?: string;
  programming_language: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
  parameters: Record<string, unknown>;
  secrets: Record<string, unknown>;
}

/**
 * Describes a tool for registration in the KLMS catalog: the fields `name`, `version`,
 * `programming_language`, `inputs`, `outputs`, `parameters` of a tool entity, each a JSON Schema
 * (draft 2020-12) of what a task must give: input groups as lists of paths, outputs as paths.
 */
export function toolManifest(tool: ToolDefinition): ToolManifest {
  const groups = Object.entries(tool.inputs ?? {});
  const outputs = Object.entries(tool.outputs ?? {});
  const manifest: ToolManifest = {
    name: tool.name,
    programming_language: "TypeScript",
    inputs: {
      type: "object",
      properties: Object.fromEntries(
        groups.map(([name, g]) => [
          name,
          {
            type: "array",
            items: { type: "string", description: "a path, e.g. s3://bucket/key" },
            minItems: g.min ?? 1,
            ...(g.max !== undefined ? { maxItems: g.max } : {}),
            ...(g.description ? { description: g.description } : {}),
          },
        ]),
      ),
      required: groups.filter(([, g]) => (g.min ?? 1) > 0).map(([name]) => name),
    },
    outputs: {
      type: "object",
      properties: Object.fromEntries(
        outputs.map(([name, o]) => [
          name,
          { type: "string", description: o.description ?? "a path, e.g. s3://bucket/key" },
        ]),
      ),
      required: outputs.filter(([, o]) => !o.optional).map(([name]) => name),
    },
    parameters: tool.parameters ? jsonSchema(tool.parameters) : { type: "object" },
    secrets: tool.secrets ? jsonSchema(tool.secrets) : { type: "object" },
  };
  if (tool.version) manifest.version = tool.version;
  if (tool.description) manifest.description = tool.description;
  return manifest;
}

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  // "input": what a task must send (defaults make fields optional); "any": keep what cannot be
  // expressed (transforms) as an open schema instead of failing.
  return z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
}
