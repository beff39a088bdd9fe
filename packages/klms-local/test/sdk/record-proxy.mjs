// A recording proxy for the SDK run: forwards every request to the local KLMS and appends one
// JSON line per exchange (method, path, request body, status, reply body) to a file, with the
// user's credentials left out (the Authorization header is not kept; passwords and tokens are
// replaced by placeholders). normalize.mjs then turns ids and signatures into placeholders for the
// conformance test (../sdk-conformance.test.ts).
//   node record-proxy.mjs <target url> <out.jsonl>      prints "proxy http://127.0.0.1:PORT"
import { appendFileSync } from "node:fs";
import { createServer } from "node:http";

const [target, out] = process.argv.slice(2);
if (!target || !out) {
  console.error("usage: node record-proxy.mjs <target url> <out.jsonl>");
  process.exit(2);
}

/** Replaces credentials by placeholders, at any depth. */
function scrub(value, key = "") {
  if (typeof value === "string") {
    if (/^(password|token|refresh_token|access_token|key|skey)$/.test(key)) return `{${key}}`;
    return value.replace(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g, "{jwt}");
  }
  if (Array.isArray(value)) return value.map((v) => scrub(v));
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, k)]));
  }
  return value;
}

function parse(text) {
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { __text__: text.slice(0, 200) };
  }
}

const server = createServer(async (req, res) => {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  const body = Buffer.concat(chunks);
  const headers = { ...req.headers };
  delete headers.host;
  delete headers["content-length"];
  const reply = await fetch(new URL(req.url, target), {
    method: req.method,
    headers,
    body: body.length > 0 ? body : undefined,
    redirect: "manual",
  });
  const text = await reply.text();
  appendFileSync(
    out,
    `${JSON.stringify({
      method: req.method,
      path: scrub(req.url),
      body: scrub(parse(body.toString())),
      status: reply.status,
      reply: scrub(parse(text)),
    })}\n`,
  );
  res.writeHead(reply.status, { "content-type": reply.headers.get("content-type") ?? "application/json" });
  res.end(text);
});
server.listen(0, "127.0.0.1", () => console.log(`proxy http://127.0.0.1:${server.address().port}`));
