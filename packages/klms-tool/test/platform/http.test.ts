// The entrypoint's HTTP client against real servers on loopback: what it must share with fetch
// (redirects, aborts, timeouts, errors) now that it no longer is fetch.
import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { fetchTaskInput, httpFetch, PlatformError, taskRoutes } from "../../src/platform/index.ts";

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: string;
}

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = createServer((req, res) => {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk: string) => {
      body += chunk;
    });
    req.on("end", () => {
      seen.push({
        method: req.method ?? "",
        url: req.url ?? "",
        authorization: req.headers.authorization,
        contentType: req.headers["content-type"],
        body,
      });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, seen };
}

function close(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe("httpFetch", () => {
  let main: Awaited<ReturnType<typeof listen>>;
  let other: Awaited<ReturnType<typeof listen>>;

  before(async () => {
    other = await listen((_req, res) => res.end("elsewhere"));
    main = await listen((req, res, body) => {
      const path = req.url ?? "";
      if (path === "/json") {
        res.setHeader("Content-Type", "application/json");
        res.setHeader("Retry-After", "3");
        res.end(JSON.stringify({ success: true, result: { ünïcode: "✓" } }));
      } else if (path.startsWith("/redirect/")) {
        const [, , code, ...rest] = path.split("/");
        res.writeHead(Number(code), { Location: `/${rest.join("/")}` });
        res.end();
      } else if (path === "/away") {
        res.writeHead(302, { Location: `${other.url}/landing` });
        res.end();
      } else if (path === "/loop") {
        res.writeHead(302, { Location: "/loop" });
        res.end();
      } else if (path === "/echo") {
        res.end(`${req.method} ${body}`);
      } else if (path === "/slow") {
        setTimeout(() => res.end("late"), 2000).unref();
      } else {
        res.writeHead(404);
        res.end("no");
      }
    });
  });
  after(async () => {
    await close(main.server);
    await close(other.server);
  });

  it("reads status, headers and a UTF-8 body", async () => {
    const reply = await httpFetch(`${main.url}/json`, { headers: { Authorization: "Bearer t" } });
    assert.equal(reply.status, 200);
    assert.equal(reply.headers.get("retry-after"), "3");
    assert.equal(reply.headers.get("Content-Type"), "application/json");
    assert.equal(reply.headers.get("x-absent"), null);
    assert.deepEqual(JSON.parse(await reply.text()), { success: true, result: { ünïcode: "✓" } });
    assert.equal(main.seen.at(-1)?.authorization, "Bearer t");
  });

  it("follows a 302 on a GET, keeping the method and the token on the same origin", async () => {
    const reply = await httpFetch(`${main.url}/redirect/302/json`, { headers: { Authorization: "Bearer t" } });
    assert.equal(reply.status, 200);
    const last = main.seen.at(-1);
    assert.equal(last?.url, "/json");
    assert.equal(last?.authorization, "Bearer t");
  });

  it("turns a POST into a GET without body on 303 and 302, keeps it on 307 and 308", async () => {
    const post = { method: "POST", headers: { "Content-Type": "application/json" }, body: '{"status":"succeeded"}' };
    for (const [code, expected] of [
      [303, "GET "],
      [302, "GET "],
      [301, "GET "],
      [307, 'POST {"status":"succeeded"}'],
      [308, 'POST {"status":"succeeded"}'],
    ] as const) {
      const reply = await httpFetch(`${main.url}/redirect/${code}/echo`, post);
      assert.equal(await reply.text(), expected, `after a ${code}`);
      const last = main.seen.at(-1);
      assert.equal(last?.contentType, expected.startsWith("GET") ? undefined : "application/json");
    }
  });

  it("drops the Authorization header when a redirect leaves the origin", async () => {
    const reply = await httpFetch(`${main.url}/away`, { headers: { Authorization: "Bearer secret-token" } });
    assert.equal(await reply.text(), "elsewhere");
    assert.equal(other.seen.at(-1)?.authorization, undefined);
    assert.equal(main.seen.at(-1)?.authorization, "Bearer secret-token");
  });

  it("gives up after 20 redirects", async () => {
    await assert.rejects(httpFetch(`${main.url}/loop`), /more than 20 redirects/);
  });

  it("rejects with the signal's reason: a timeout is a TimeoutError, an abort an AbortError", async () => {
    await assert.rejects(httpFetch(`${main.url}/slow`, { signal: AbortSignal.timeout(100) }), {
      name: "TimeoutError",
    });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(httpFetch(`${main.url}/slow`, { signal: controller.signal }), { name: "AbortError" });
    await assert.rejects(httpFetch(`${main.url}/json`, { signal: AbortSignal.abort() }), { name: "AbortError" });
  });

  it("rejects with the socket's error code when nothing listens", async () => {
    const gone = await listen(() => {});
    await close(gone.server);
    await assert.rejects(httpFetch(`${gone.url}/json`), { code: "ECONNREFUSED" });
  });

  it("refuses a scheme it cannot speak", async () => {
    await assert.rejects(httpFetch("ftp://127.0.0.1/x"), /unsupported protocol ftp:/);
  });

  it("is what fetchTaskInput uses by default, and its network errors read as such", async () => {
    const routes = taskRoutes(`${main.url}/redirect/307/`, "task-1", "sig");
    await assert.rejects(
      fetchTaskInput(routes, "t", { retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 } }),
      (err: unknown) => err instanceof PlatformError && err.code === "not-found" && err.status === 404,
    );
    const gone = await listen(() => {});
    await close(gone.server);
    await assert.rejects(
      fetchTaskInput(taskRoutes(gone.url, "task-1", "sig"), "t", {
        retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
      }),
      (err: unknown) =>
        err instanceof PlatformError && err.code === "unavailable" && /network error ECONNREFUSED/.test(err.message),
    );
  });
});

describe("httpFetch on a kept-alive connection the server closed", () => {
  it("an idempotent request is sent again on a new connection; a POST is not", async () => {
    // The server drops every second request of a connection without a reply, as when it closes
    // an idle kept-alive connection just as the client writes on it.
    const counts = new Map<unknown, number>();
    const server = createServer((req, res) => {
      const n = (counts.get(req.socket) ?? 0) + 1;
      counts.set(req.socket, n);
      if (n === 2) req.socket.destroy();
      else res.end(`${req.method} ok`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      assert.equal(await (await httpFetch(url)).text(), "GET ok");
      assert.equal(await (await httpFetch(url)).text(), "GET ok", "the GET on the dropped connection was sent again");
      assert.equal(counts.size, 2, "on a second connection");
      // The POST, second on that connection, is dropped too: its error comes back, not a second send.
      await assert.rejects(httpFetch(url, { method: "POST", body: "x" }), { code: "ECONNRESET" });
      assert.equal(counts.size, 2, "no third connection");
    } finally {
      await close(server);
    }
  });
});
