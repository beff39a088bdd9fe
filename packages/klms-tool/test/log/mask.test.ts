/**
 * The masker on its own: every form of a secret it promises to find, text arriving in pieces
 * (chunk and line boundaries, a character cut in two), deep values, and short secrets.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { PassThrough, Writable } from "node:stream";
import { describe, it } from "node:test";
import { captureWorkerStreams } from "../../src/log/capture.ts";
import { LineMasker, MASK, Masker, MIN_MASKED_LENGTH } from "../../src/log/mask.ts";

const PASSWORD = "p@ss w/rd!(ä€😀)*~'";

function maskerOf(...secrets: string[]): Masker {
  const masker = new Masker();
  for (const secret of secrets) assert.equal(masker.add(secret), true);
  return masker;
}

/** Python's urllib.parse.quote, written out for the test from its documented rules. */
function pythonQuote(text: string, safe = "/", plus = false): string {
  let out = "";
  for (const char of text) {
    if (/[A-Za-z0-9_.~-]/.test(char) || safe.includes(char)) out += char;
    else if (plus && char === " ") out += "+";
    else out += [...Buffer.from(char)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join("");
  }
  return out;
}

describe("Masker: the forms of a secret", () => {
  const masker = maskerOf(PASSWORD);
  const forms: Record<string, string> = {
    raw: PASSWORD,
    "JSON-escaped": JSON.stringify(PASSWORD).slice(1, -1),
    "JSON with \\u escapes (Python ensure_ascii)": JSON.stringify(PASSWORD)
      .slice(1, -1)
      .replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`),
    encodeURIComponent: encodeURIComponent(PASSWORD),
    "Python quote (keeps /)": pythonQuote(PASSWORD),
    "Python quote(safe='')": pythonQuote(PASSWORD, ""),
    "Python quote_plus (space as +)": pythonQuote(PASSWORD, "", true),
    "lower-case percent escapes": pythonQuote(PASSWORD, "").replace(/%[0-9A-F]{2}/g, (e) => e.toLowerCase()),
    "mixed-case percent escapes": encodeURIComponent(PASSWORD).replace(
      /%([0-9A-F])([0-9A-F])/g,
      (_e, a, b) => `%${a}${b.toLowerCase()}`,
    ),
    "form body (URLSearchParams)": new URLSearchParams({ p: PASSWORD }).toString().slice(2),
    base64: Buffer.from(PASSWORD).toString("base64"),
    "base64 without padding": Buffer.from(PASSWORD).toString("base64").replace(/=+$/, ""),
    base64url: Buffer.from(PASSWORD).toString("base64url"),
  };
  for (const [name, form] of Object.entries(forms)) {
    it(`masks the ${name} form`, () => {
      assert.notEqual(form, "", name);
      assert.equal(masker.mask(`before ${form} after`), `before ${MASK} after`);
    });
  }

  it("masks what Python prints: repr (print(dict)), ascii(), bytes repr, hex in both cases (real python3)", () => {
    const secrets = [
      `it's "Pa55/w0rd" ok`,
      "pässwörd-Ünï",
      "tab\there\\back'quote",
      "emoji😀-zero\u200bwidth",
      PASSWORD,
    ];
    const script = [
      "import json, sys",
      "for s in json.load(sys.stdin):",
      "    b = s.encode()",
      "    for form in (repr(s), ascii(s), repr(b), b.hex(), b.hex().upper(), str({'k': s}), str([s])):",
      "        print(form)",
    ].join("\n");
    const printed = execFileSync("python3", ["-c", script], { input: JSON.stringify(secrets), encoding: "utf8" });
    const m = maskerOf(...secrets);
    const lines = printed.trimEnd().split("\n");
    assert.equal(lines.length, secrets.length * 7);
    for (const line of lines) {
      const masked = m.mask(line);
      assert.ok(masked.includes(MASK), `not masked: ${line}`);
      assert.match(masked, /^(\{'k': |\[)?b?['"]?\*\*\*['"]?(\}|\])?$/, `${line} -> ${masked}`);
    }
  });

  it("masks a bearer token with and without its prefix, and a JWT's signature part alone", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQtMTIz";
    const m = maskerOf(`Bearer ${jwt}`);
    assert.equal(m.mask(`Authorization: Bearer ${jwt}`), `Authorization: ${MASK}`);
    assert.equal(m.mask(`token=${jwt}`), `token=${MASK}`);
    assert.equal(m.mask("sig=c2lnbmF0dXJlLXBhcnQtMTIz"), `sig=${MASK}`);
  });

  it("masks each line of a multi-line secret", () => {
    const m = maskerOf("-----BEGIN KEY-----\nMIIEvQIBADANBgkqhkiG9w0B\n-----END KEY-----");
    assert.equal(m.mask("MIIEvQIBADANBgkqhkiG9w0B"), MASK);
  });

  describe("a secret that is a JSON document", () => {
    const doc = { type: "service_account", client_secret: "cs-0123456789", nested: { key: "k€y-value" }, port: 5432 };
    const m = maskerOf(JSON.stringify(doc, null, 2));
    it("masks each string field printed alone", () => {
      assert.equal(m.mask("secret is cs-0123456789"), `secret is ${MASK}`);
      assert.equal(m.mask("k€y-value"), MASK);
      assert.equal(m.mask('"k\\u20acy-value"'), `"${MASK}"`);
    });
    it("masks its compact re-serialisation whole (Node, and Python's separators=(',', ':'))", () => {
      assert.equal(m.mask(`doc=${JSON.stringify(doc)}`), `doc=${MASK}`);
      const ascii = JSON.stringify(doc).replace("€", "\\u20ac");
      assert.equal(m.mask(`doc=${ascii}`), `doc=${MASK}`);
    });
    it("masks Python's default json.dumps form whole", () => {
      const python =
        '{"type": "service_account", "client_secret": "cs-0123456789", "nested": {"key": "k\\u20acy-value"}, "port": 5432}';
      assert.equal(m.mask(python), MASK);
    });
    it("leaves non-string fields alone (a port number is not a secret)", () => {
      assert.equal(m.mask("port 5432"), "port 5432");
    });
  });

  it("masks the longest form first, so no part of a secret is left around the mask", () => {
    const m = maskerOf("abcd", "abcdefgh");
    assert.equal(m.mask("xabcdefghx"), `x${MASK}x`);
  });

  it("masks two secrets that overlap in the text whole, leaving no part of either; adjacent ones each", () => {
    const m = maskerOf("abcdXYZW", "XYZWefgh");
    assert.equal(m.mask("[abcdXYZWefgh]"), `[${MASK}]`);
    assert.equal(m.mask("abcdXYZW XYZWefgh abcdXYZWXYZWefgh"), `${MASK} ${MASK} ${MASK}${MASK}`);
  });

  it("finds a form made only of escapes, in either case (percent-encoded non-ASCII)", () => {
    const m = maskerOf("äöüß");
    assert.equal(
      m.mask(`q=${encodeURIComponent("äöüß")}&r=${encodeURIComponent("äöüß").toLowerCase()}`),
      `q=${MASK}&r=${MASK}`,
    );
  });

  it("treats regular-expression characters in a secret literally", () => {
    const m = maskerOf("a.b*c+d?(e)[f]{g}|h^$\\/");
    assert.equal(m.mask("a.b*c+d?(e)[f]{g}|h^$\\/"), MASK);
    assert.equal(m.mask("aXb*c+d?(e)[f]{g}|h^$\\/"), "aXb*c+d?(e)[f]{g}|h^$\\/");
  });
});

describe("Masker: short secrets", () => {
  it(`refuses secrets shorter than ${MIN_MASKED_LENGTH} characters (add returns false) and leaves text alone`, () => {
    const m = new Masker();
    assert.equal(m.add("abc"), false);
    assert.equal(m.add(42), false);
    assert.equal(m.mask("abc 42 abcabc"), "abc 42 abcabc");
  });
  it("accepts an empty value as nothing to mask, and masks 4 characters", () => {
    const m = new Masker();
    assert.equal(m.add(""), true);
    assert.equal(m.add("abcd"), true);
    assert.equal(m.mask("xabcdx"), `x${MASK}x`);
  });
  it("addAll names the paths of the secrets too short to mask", () => {
    const m = new Masker();
    assert.deepEqual(m.addAll({ a: "ok-long", b: { c: "no", d: 7 } }), ["b.c", "b.d"]);
  });
});

describe("Masker.maskValue: every string of a report", () => {
  it("masks message, error, metrics values at any depth, output paths and keys", () => {
    const m = maskerOf("s3cr3t-value");
    const masked = m.maskValue({
      status: "failed",
      message: "saw s3cr3t-value",
      error: "Error: s3cr3t-value",
      metrics: { leak: "s3cr3t-value", list: [1, "x s3cr3t-value", { deep: ["s3cr3t-value"] }], n: 3, ok: true },
      output: { report: "s3://b/s3cr3t-value/r.csv", "s3cr3t-value": "s3://b/x" },
    });
    assert.deepEqual(masked, {
      status: "failed",
      message: `saw ${MASK}`,
      error: `Error: ${MASK}`,
      metrics: { leak: MASK, list: [1, `x ${MASK}`, { deep: [MASK] }], n: 3, ok: true },
      output: { report: `s3://b/${MASK}/r.csv`, [MASK]: "s3://b/x" },
    });
  });
  it("masks a number whose decimal form holds a secret (a PIN reported as Number(secret)); other numbers stay numbers (attack6 F12)", () => {
    const m = maskerOf("98765432");
    assert.deepEqual(
      m.maskValue({ metrics: { pin: 98765432, list: [98765432, 7], big: 98765432n, n: 3.5, t: true } }),
      {
        metrics: { pin: MASK, list: [MASK, 7], big: MASK, n: 3.5, t: true },
      },
    );
    assert.equal(m.maskValue(98765432), MASK);
  });
  it("walks a value 100,000 levels deep without overflowing", () => {
    const m = maskerOf("s3cr3t-value");
    let value: unknown = "s3cr3t-value";
    for (let i = 0; i < 100_000; i++) value = [value];
    let masked = m.maskValue(value) as unknown;
    for (let i = 0; i < 100_000; i++) masked = (masked as unknown[])[0];
    assert.equal(masked, MASK);
  });
  it('keeps a "__proto__" key a plain key', () => {
    const m = maskerOf("s3cr3t-value");
    const masked = m.maskValue(JSON.parse('{"__proto__": {"polluted": "s3cr3t-value"}}')) as Record<string, unknown>;
    assert.deepEqual(Object.keys(masked), ["__proto__"]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe("LineMasker: text in pieces", () => {
  const secret = "split-secret-1234";
  it("finds a secret written in two pieces, and passes on only whole lines", () => {
    const lines = maskerOf(secret).lines();
    assert.equal(lines.push("key=split-sec"), "");
    assert.equal(lines.push("ret-1234 done\nnext "), `key=${MASK} done\n`);
    assert.equal(lines.flush(), "next ");
  });
  it("finds a secret cut at every position, one character at a time", () => {
    const lines = maskerOf(secret).lines();
    let out = "";
    for (const char of `a ${secret} b\n`) out += lines.push(char);
    assert.equal(out + lines.flush(), `a ${MASK} b\n`);
  });
  it("masks the last line without a newline at the flush", () => {
    const lines = maskerOf(secret).lines();
    assert.equal(lines.push(`end ${secret}`), "");
    assert.equal(lines.flush(), `end ${MASK}`);
  });
  it("passes on a line longer than MAX_LINE in parts, holding back enough to find a secret across the cut", () => {
    const lines = maskerOf(secret).lines();
    const filler = "x".repeat(LineMasker.MAX_LINE);
    let out = lines.push(`${filler}${secret.slice(0, 6)}`);
    assert.ok(out.length > 0 && out.length <= filler.length);
    out += lines.push(`${secret.slice(6)} tail\n`);
    assert.equal(out, `${filler}${MASK} tail\n`);
  });
});

describe("captureWorkerStreams: decoded across chunks, masked per line, nothing lost", () => {
  async function capture(chunks: Buffer[], secrets: string[], to: "stdout" | "stderr" = "stdout") {
    const source = { stdout: new PassThrough(), stderr: new PassThrough() };
    const sink = { stdout: new PassThrough(), stderr: new PassThrough() };
    let received = "";
    sink[to].setEncoding("utf8").on("data", (t: string) => {
      received += t;
    });
    const c = captureWorkerStreams({
      stdout: source.stdout,
      stderr: source.stderr,
      toStdout: sink.stdout,
      toStderr: sink.stderr,
      masker: maskerOf(...secrets),
    });
    for (const chunk of chunks) source[to].write(chunk);
    source.stdout.end();
    source.stderr.end();
    await c.drain(10_000);
    await new Promise((resolve) => setImmediate(resolve));
    return { received, capture: c };
  }
  const bytes = (text: string) => [...Buffer.from(text)].map((b) => Buffer.of(b));

  it("joins multi-byte characters written one byte per chunk (no U+FFFD)", async () => {
    const { received } = await capture(bytes("≤ café µm Ελληνικά 😀\n"), []);
    assert.equal(received, "≤ café µm Ελληνικά 😀\n");
  });
  it("masks a secret whose multi-byte character is cut by the chunk boundary", async () => {
    const secret = "pässwörd-0123";
    const { received } = await capture(bytes(`pw=${secret}\n`), [secret]);
    assert.equal(received, `pw=${MASK}\n`);
  });
  it("delivers the last line without a newline, masked and ended with one (so no log line runs on; attack6 F10), and keeps a masked stderr tail", async () => {
    const { received, capture: c } = await capture(
      [Buffer.from("one\ntwo split-"), Buffer.from("secret-1234")],
      ["split-secret-1234"],
      "stderr",
    );
    assert.equal(received, `one\ntwo ${MASK}\n`);
    assert.equal(c.stderrTail(1), `two ${MASK}`);
  });
  it("spots an out-of-memory line on stderr", async () => {
    const { capture: c } = await capture(
      [Buffer.from("x\nFATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n")],
      [],
      "stderr",
    );
    assert.match(c.outOfMemory() ?? "", /heap out of memory/);
  });
});

describe("Masker.stream: the same pieces as a transform stream", () => {
  it("decodes across chunks and masks per line", async () => {
    const secret = "pässwörd-0123";
    const stream = maskerOf(secret).stream();
    let out = "";
    stream.on("data", (t: Buffer | string) => {
      out += t.toString();
    });
    for (const byte of Buffer.from(`≤ ${secret}\nlast`)) stream.write(Buffer.of(byte));
    stream.end();
    await new Promise((resolve) => stream.on("end", resolve));
    assert.equal(out, `≤ ${MASK}\nlast`);
  });
});

describe("captureWorkerStreams: a slow destination", () => {
  it("pauses the worker's stream while the destination is full, and loses nothing", async () => {
    const source = { stdout: new PassThrough(), stderr: new PassThrough() };
    let received = "";
    let paused = 0;
    const slow = new Writable({
      highWaterMark: 64,
      write(chunk, _encoding, done) {
        received += chunk.toString();
        setImmediate(done);
      },
    });
    source.stdout.on("pause", () => paused++);
    const c = captureWorkerStreams({
      stdout: source.stdout,
      stderr: source.stderr,
      toStdout: slow,
      toStderr: new PassThrough().resume(),
      masker: new Masker(),
    });
    const expected = Array.from({ length: 1000 }, (_, i) => `line ${i}\n`).join("");
    for (let i = 0; i < 1000; i++) source.stdout.write(`line ${i}\n`);
    source.stdout.end();
    source.stderr.end();
    await c.drain(30_000);
    await new Promise<void>((resolve) => slow.end(resolve));
    assert.equal(received, expected);
    assert.ok(paused > 0, "the source was paused at least once");
  });
});
