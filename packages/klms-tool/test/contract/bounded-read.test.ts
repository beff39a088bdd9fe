/**
 * The one bounded reader (files and HTTP replies), and the entrypoint given a reply far over the
 * limit by a real server on 127.0.0.1: a clear report, the right exit code, no crash.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { decodeUtf8, ReadLimitError, readFileBounded, readStreamBounded } from "../../src/contract/bounded-read.ts";
import { MAX_INPUT_BYTES } from "../../src/contract/limits.ts";
import { runEntrypoint } from "../../src/entrypoint/index.ts";
import { ExitCode } from "../../src/exit-codes.ts";
import { httpFetch } from "../../src/platform/http.ts";

const MiB = 1024 * 1024;

function refusal(code: ReadLimitError["code"], message: RegExp) {
  return (err: unknown) => err instanceof ReadLimitError && err.code === code && message.test(err.message);
}

describe("readFileBounded", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "klms-bounded-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const bounds = (maxBytes: number) => ({ what: "output.json", maxBytes });

  it("reads a regular file within the limit", async () => {
    await writeFile(join(dir, "ok.json"), '{"a":1}');
    assert.equal((await readFileBounded(join(dir, "ok.json"), bounds(7))).toString(), '{"a":1}');
  });
  it("refuses a file over the limit by its size, before reading (a 300 MB sparse file)", async () => {
    const path = join(dir, "huge.json");
    await writeFile(path, "");
    await truncate(path, 300 * 1000 * 1000);
    await assert.rejects(
      readFileBounded(path, bounds(16 * MiB)),
      refusal("too-large", /^output\.json is 300000000 bytes, over the limit of 16777216 bytes/),
    );
  });
  it("says a missing file is missing", async () => {
    await assert.rejects(readFileBounded(join(dir, "none"), bounds(10)), refusal("missing", /does not exist/));
  });
  it("refuses a directory, a named pipe (without waiting for a writer) and a symbolic link", async () => {
    await mkdir(join(dir, "folder"));
    await assert.rejects(readFileBounded(join(dir, "folder"), bounds(10)), refusal("not-a-file", /a directory/));
    execFileSync("mkfifo", [join(dir, "fifo")]);
    await assert.rejects(readFileBounded(join(dir, "fifo"), bounds(10)), refusal("not-a-file", /named pipe \(FIFO\)/));
    await symlink("/etc/hostname", join(dir, "link"));
    await assert.rejects(readFileBounded(join(dir, "link"), bounds(10)), refusal("not-a-file", /symbolic link/));
  });
  it("follows a symbolic link when asked (a file a person names), still checking what it points to", async () => {
    await writeFile(join(dir, "target.json"), "{}");
    await symlink(join(dir, "target.json"), join(dir, "named"));
    const followed = await readFileBounded(join(dir, "named"), { ...bounds(10), followSymlinks: true });
    assert.equal(followed.toString(), "{}");
    await symlink(join(dir, "folder"), join(dir, "to-folder"));
    await assert.rejects(
      readFileBounded(join(dir, "to-folder"), { ...bounds(10), followSymlinks: true }),
      refusal("not-a-file", /a directory/),
    );
  });
});

describe("decodeUtf8", () => {
  it("decodes valid UTF-8", () => {
    assert.equal(decodeUtf8(Buffer.from("≤ café"), "x"), "≤ café");
  });
  it("refuses invalid UTF-8, naming the first bad byte, instead of repairing it", () => {
    const bytes = Buffer.concat([
      Buffer.from('{"status":"succeeded","message":"caf'),
      Buffer.from([0xe9, 0xff, 0xc3]),
      Buffer.from(' done"}'),
    ]);
    assert.throws(
      () => decodeUtf8(bytes, "output.json"),
      refusal("not-utf8", /^output\.json is not valid UTF-8 text \(first bad byte at offset 36\)/),
    );
  });
  it("names the right offset after a real U+FFFD in the text", () => {
    const bytes = Buffer.concat([Buffer.from("ok \uFFFD "), Buffer.from([0xff])]);
    assert.throws(() => decodeUtf8(bytes, "x"), refusal("not-utf8", /offset 7\)/));
  });
});

describe("readStreamBounded", () => {
  it("refuses a declared length over the limit without reading", async () => {
    let pulled = 0;
    const stream = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(10));
      },
    });
    await assert.rejects(
      readStreamBounded(stream, { what: "the reply", maxBytes: 100 }, 2 ** 30),
      refusal("too-large", /^the reply is 1073741824 bytes, over the limit of 100 bytes/),
    );
    assert.equal(pulled, 0);
    assert.equal(stream.destroyed, true);
  });
  it("stops an undeclared stream at the limit and destroys it", async () => {
    let pushed = 0;
    const stream = new Readable({
      read() {
        pushed += 10;
        this.push(Buffer.alloc(10));
      },
    });
    await assert.rejects(
      readStreamBounded(stream, { what: "the reply", maxBytes: 100 }),
      refusal("too-large", /more than 100 bytes/),
    );
    assert.equal(stream.destroyed, true);
    assert.ok(pushed <= 200, `read ${pushed} bytes for a 100-byte limit`);
  });
});

/**
 * A server on 127.0.0.1 whose input reply is `size` bytes of filler, declared or chunked,
 * produced lazily, or the given `body`; it records what is posted.
 */
async function hugeReplyServer(size: number, declared: boolean, body?: string | Buffer) {
  const posted: unknown[] = [];
  let sent = 0;
  const server: Server = createServer((req: IncomingMessage, res) => {
    if (req.method === "POST") {
      let body = "";
      req.on("data", (c: Buffer) => {
        body += c.toString();
      });
      req.on("end", () => {
        posted.push(JSON.parse(body));
        res.writeHead(200, { "content-type": "application/json" }).end('{"success":true,"result":{}}');
      });
      return;
    }
    if (body !== undefined) {
      res.writeHead(200, { "content-type": "application/json" }).end(body);
      return;
    }
    res.writeHead(200, { "content-type": "application/json", ...(declared ? { "content-length": String(size) } : {}) });
    const chunk = Buffer.alloc(MiB, 0x20);
    const pump = () => {
      while (sent < size && !res.destroyed) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once("drain", pump);
      }
      res.end();
    };
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    posted,
    sent: () => sent,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("httpFetch and the entrypoint, given a reply over the limit", () => {
  it("httpFetch stops reading an undeclared reply at maxBytes", async () => {
    const server = await hugeReplyServer(1024 * MiB, false);
    try {
      await assert.rejects(
        httpFetch(`${server.url}/x`, { maxBytes: 4 * MiB, what: "the input reply" }),
        refusal("too-large", /^the input reply is more than 4194304 bytes/),
      );
      assert.ok(server.sent() < 1024 * MiB, "the server was not read to the end");
    } finally {
      await server.stop();
    }
  });

  const deep = `{"success":true,"result":{"secrets":{"s":${"[".repeat(100_000)}${"]".repeat(100_000)}}}}`;
  for (const [name, declared, size, message, body] of [
    ["a 1 GiB reply with its Content-Length", true, 1024 * MiB, /the input reply is 1073741824 bytes, over the limit/],
    ["a 300 MB chunked reply", false, 300 * MiB, new RegExp(`the input reply is more than ${MAX_INPUT_BYTES} bytes`)],
    ["a reply nested 100,000 levels deep", false, 0, /the input reply is nested more than 500 levels deep/, deep],
    [
      "a reply that is not UTF-8",
      false,
      0,
      /the input reply is not valid UTF-8 text/,
      Buffer.from('{"success":true,"result":{"x":"caf\xe9"}}', "latin1"),
    ],
  ] as const) {
    it(`klms-tool exec: ${name} ends in a posted failure and exit 3`, async () => {
      const server = await hugeReplyServer(size, declared, body);
      let stderr = "";
      const sink = (into: (t: string) => void) =>
        new Writable({
          write(chunk, _e, done) {
            into(chunk.toString());
            done();
          },
        });
      try {
        const code = await runEntrypoint(
          ["--retries", "0", "--request-timeout", "60", "Bearer a.b.c", server.url, "task-1", "sig-1234"],
          {
            stdout: sink(() => {}),
            stderr: sink((t) => {
              stderr += t;
            }),
            env: { PATH: process.env.PATH },
            setTitle: () => {},
          },
        );
        assert.equal(code, ExitCode.InputFetchFailed, stderr);
        assert.equal(server.posted.length, 1, stderr);
        const report = server.posted[0] as { status: string; message: string };
        assert.equal(report.status, "failed");
        assert.match(report.message, message);
        assert.match(report.message, /The worker did not run\.$/);
      } finally {
        await server.stop();
      }
    });
  }
});
