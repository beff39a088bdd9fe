// Turns a recording of record-proxy.mjs into the conformance test's fixture (sdk-requests.json):
// values that differ from run to run become placeholders, which the replay binds or checks:
//   {id:N} a UUID, {sig:N} a task signature, {pod:N} a pod name, {url:N} http://127.0.0.1:<port>,
//   {run} the scenario's random name part; in replies only: {date} a naive ISO timestamp (the SDK
//   subtracts naive datetimes), {httpdate} an RFC 1123 date (a registry's), {active} "created" or "running" of a tool task (how far it got
//   when read is a race), {text} a pod's log, {number} a number.
// Consecutive identical requests (the SDK polling a task) become one with "poll": true, and so
// does GET …/jobs, on which the scenario waits for the pod to end.
//   node normalize.mjs <recording.jsonl> > sdk-requests.json
import { readFileSync } from "node:fs";

const [file] = process.argv.slice(2);
const lines = readFileSync(file, "utf8").trim().split("\n").map(JSON.parse);
const run = /sdk-proc-([0-9a-f]{8})/.exec(JSON.stringify(lines))?.[1];
if (!run) throw new Error("no sdk-proc-<run> name in the recording: is it a scenario.py run?");

const names = new Map();
const named = (prefix, value) => {
  if (!names.has(value))
    names.set(value, `{${prefix}:${[...names.values()].filter((n) => n.startsWith(`{${prefix}:`)).length + 1}}`);
  return names.get(value);
};
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** Placeholders in a string that travels both ways (paths, bodies, replies). */
function text(s) {
  return s
    .replace(/task-[0-9a-f-]{36}(?:-[a-z0-9-]+)?-[bcdfghjklmnpqrstvwxz2456789]{5}\b/g, (pod) => named("pod", pod))
    .replace(UUID, (id) => named("id", id))
    .replace(/\b[0-9a-f]{64}\b/g, (sig) => named("sig", sig))
    .replace(/http:\/\/127\.0\.0\.1:\d+/g, (url) => named("url", url))
    .replaceAll(run, "{run}");
}

/** Requests: only the placeholders the replay can bind. */
function request(value) {
  if (typeof value === "string") return text(value);
  if (Array.isArray(value)) return value.map(request);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), request(v)]));
  return value;
}

/** Replies: also what only has to be of the right kind. */
function reply(value, key = "", parent = undefined) {
  if (typeof value === "number") return "{number}";
  if (typeof value === "string") {
    // The minio block's access key id: the store's dev key or a minted one.
    if (key === "id" && parent && "endpoint_url" in parent) return "{access_key_id}";
    if (key === "logs" || /^task-[0-9a-f-]{36}/.test(key)) return "{text}";
    if (key === "exec_state" && parent && "image" in parent && (value === "created" || value === "running"))
      return "{active}";
    if (/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [-+]\d{4}$/.test(value)) return "{httpdate}";
    return text(value).replace(/\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?![+Z\d-])/g, "{date}");
  }
  if (Array.isArray(value)) return value.map((v) => reply(v));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [text(k), reply(v, k, value)]));
  }
  return value;
}

const exchanges = [];
for (const line of lines) {
  const exchange = { method: line.method, path: request(line.path) };
  if (line.body !== undefined) exchange.body = request(line.body);
  exchange.status = line.status;
  exchange.reply = reply(line.reply);
  // The scenario waits on /jobs for the pod to end (it may have ended by the first call).
  if (/\/jobs$/.test(exchange.path)) exchange.poll = true;
  const last = exchanges.at(-1);
  if (
    last &&
    last.method === exchange.method &&
    last.path === exchange.path &&
    JSON.stringify(last.body) === JSON.stringify(exchange.body)
  ) {
    exchanges[exchanges.length - 1] = { ...exchange, poll: true };
  } else {
    exchanges.push(exchange);
  }
}
process.stdout.write(`${JSON.stringify({ sdk: "stelar_client 0.8.2 (b349ad7)", exchanges }, null, 1)}\n`);
