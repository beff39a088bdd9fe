/**
 * The local console: plain server-rendered HTML, no script and no build step. `GET /` lists the
 * tasks (state, tool, start, run time); `GET /console/task/<id>` shows one task: its pods' logs
 * (the page reloads itself every 2 s while the task runs), message, metrics, parameters, inputs,
 * outputs with a preview of text and CSV files (first 16 KiB), and the catalog entries it uses.
 *
 * No token: the server listens on 127.0.0.1 only, and nothing here is a secret (no `secrets`,
 * no signature; logs are masked as the API serves them). The platform's own console
 * (`/console/v1`) needs a Keycloak login; this one is a local stand-in, not a copy of it.
 */

import type { Readable } from "node:stream";
import type { Hono } from "hono";
import { createStorage, minioSettings } from "klms-tool";
import type { Env } from "../http.js";
import { dumpsJson, NotJsonSerializable } from "../python-json.js";
import type { ServerContext } from "../server.js";
import { type StoredTask, type TaskRecord, taskRecordOf } from "../tasks.js";

/** How much of an output the console reads for its preview, in bytes. */
const PREVIEW_BYTES = 16 * 1024;

/** Registers `GET /` and `GET /console/task/:id` on the app (no token: see the module's comment). */
export function consoleRoutes(app: Hono<Env>, ctx: ServerContext): void {
  const record = (t: StoredTask) => taskRecordOf(t, (id) => ctx.catalog.find(id)?.url as string | undefined);
  app.get("/", (c) => {
    const tasks = ctx.store
      .all()
      .map(record)
      .sort((a, b) => (a.start_date < b.start_date ? 1 : -1));
    return c.html(page("Tasks", taskTable(tasks)));
  });
  app.get("/console/task/:id", async (c) => {
    const stored = ctx.store.all().find((t) => t.id === c.req.param("id"));
    if (!stored)
      return c.html(
        page("No such task", `<p>No task ${esc(c.req.param("id"))}.</p><p><a href="/">All tasks</a></p>`),
        404,
      );
    const task = record(stored);
    const running = task.exec_state === "created" || task.exec_state === "running";
    const body = [
      `<p><a href="/">All tasks</a></p>`,
      facts(task),
      section(
        "Logs",
        ctx
          .podsOf(stored)
          .map((p) => `<h3>${esc(p.name)} <small>${esc(p.phase)}</small></h3><pre class="log">${esc(p.logs)}</pre>`)
          .join("") || "<p>No pods (an external task, or not started).</p>",
      ),
      section("Outputs", await outputs(ctx, stored, task)),
      section("Catalog", catalogEntries(ctx, task)),
    ].join("\n");
    return c.html(page(`Task ${task.name}`, body, running));
  });
}

function taskTable(tasks: TaskRecord[]): string {
  if (tasks.length === 0) return "<p>No tasks yet.</p>";
  const rows = tasks.map(
    (t) =>
      `<tr class="${esc(t.exec_state)}"><td><a href="/console/task/${esc(t.id)}">${esc(t.name)}</a></td><td>${esc(t.exec_state)}</td><td>${esc(t.tool ?? t.image ?? "(external)")}</td><td>${esc(t.start_date)}</td><td>${runtime(t)}</td></tr>`,
  );
  return `<table><thead><tr><th>task</th><th>state</th><th>tool</th><th>started</th><th>run time</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** The platform's JSON of a value; what it cannot write (a complex parameter) is said instead of failing the page. */
function consoleJson(value: unknown): string {
  try {
    return dumpsJson(value);
  } catch (e) {
    if (e instanceof NotJsonSerializable) return `(the platform cannot write this as JSON: ${e.message})`;
    throw e;
  }
}

function facts(t: TaskRecord): string {
  const rows: Array<[string, string]> = [
    ["id", t.id],
    ["state", t.exec_state],
    ["tool", t.tool ?? t.image ?? "(external)"],
    ["creator", t.creator],
    ["started", t.start_date],
    ["ended", t.end_date ?? "—"],
    ["run time", runtime(t)],
    ["message", t.messages ?? "—"],
    ["parameters", consoleJson(t.parameters)],
    ["inputs", JSON.stringify(t.inputs)],
  ];
  for (const [k, v] of Object.entries(t.metrics ?? {})) rows.push([`metric ${k}`, consoleJson(v)]);
  return `<table class="facts">${rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join("")}</table>`;
}

async function outputs(ctx: ServerContext, stored: StoredTask, t: TaskRecord): Promise<string> {
  const entries = Object.entries(t.outputs ?? {});
  if (entries.length === 0) return "<p>No registered outputs.</p>";
  const parts: string[] = [];
  const settings = minioSettings(await ctx.minio(stored.creator), { prefer: "external", env: {} });
  const storage = createStorage(settings, ctx.storeCa === undefined ? {} : { ca: ctx.storeCa });
  try {
    for (const [name, out] of entries) {
      parts.push(
        `<h3>${esc(name)} <small>${esc(out.url)} (resource ${esc(out.resource_id)})</small></h3>${await preview(storage, out.url)}`,
      );
    }
  } finally {
    storage.close();
  }
  return parts.join("");
}

/** The first bytes of a text or CSV output, CSV as a table; a note for anything else. */
async function preview(storage: ReturnType<typeof createStorage>, url: string): Promise<string> {
  let text: string;
  try {
    text = await head(await storage.open(url), PREVIEW_BYTES);
  } catch (error) {
    return `<p>No preview: ${esc((error as Error).message)}</p>`;
  }
  if (text.includes("\u0000")) return "<p>No preview (binary).</p>";
  const lines = text.split(/\r?\n/).filter((l) => l !== "");
  if (lines.length > 1 && lines.every((l) => l.includes(","))) {
    const cells = (l: string) =>
      l
        .split(",")
        .map((c) => `<td>${esc(c)}</td>`)
        .join("");
    return `<table class="csv">${lines
      .slice(0, 50)
      .map((l) => `<tr>${cells(l)}</tr>`)
      .join("")}</table>`;
  }
  return `<pre>${esc(text)}</pre>`;
}

async function head(stream: Readable, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
    if (size >= max) break;
  }
  stream.destroy();
  return Buffer.concat(chunks).subarray(0, max).toString("utf8");
}

function catalogEntries(ctx: ServerContext, t: TaskRecord): string {
  const ids = [
    t.process_id,
    t.tool,
    ...Object.values(t.outputs ?? {}).map((o) => o.resource_id),
    ...Object.values(t.inputs).flat(),
  ];
  const rows = ids
    .filter((x): x is string => typeof x === "string")
    .map((ref) => ctx.catalog.find(ref) ?? byName(ctx, ref))
    .filter((e) => e !== undefined)
    .map(
      (e) =>
        `<tr><td>${esc(String(e.kind))}</td><td>${esc(String(e.name ?? ""))}</td><td>${esc(String(e.id))}</td><td>${esc(String(e.url ?? ""))}</td></tr>`,
    );
  return rows.length
    ? `<table><tr><th>kind</th><th>name</th><th>id</th><th>url</th></tr>${rows.join("")}</table>`
    : "<p>None.</p>";
}

/** A tool named by name (a task's `tool` is as sent: a name or an id). */
function byName(ctx: ServerContext, name: string) {
  try {
    return ctx.catalog.get("tool", name);
  } catch {
    return undefined;
  }
}

function runtime(t: TaskRecord): string {
  return t.end_date ? `${((Date.parse(t.end_date) - Date.parse(t.start_date)) / 1000).toFixed(1)} s` : "—";
}

function section(title: string, html: string): string {
  return `<section><h2>${esc(title)}</h2>${html}</section>`;
}

function page(title: string, body: string, refresh = false): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)} · local KLMS</title>${refresh ? '<meta http-equiv="refresh" content="2">' : ""}<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}pre{background:#f5f5f5;padding:8px;overflow:auto;max-height:30em}.failed td{color:#a00}.succeeded td{color:#060}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`;
}

/** HTML-escapes text. */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
