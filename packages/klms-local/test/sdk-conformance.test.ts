/**
 * The platform's Python SDK, stelar_client, held in CI without it: the requests it made in a run of
 * test/sdk/scenario.py against `klms-tool dev` (recorded, then normalized: test/sdk/README.md) are
 * replayed over HTTP, in order, against a local KLMS started as that run had it (tasks for a tool
 * run examples/correlations' built worker), and every reply must match what the SDK got: status
 * code, envelope, the same keys at every level, the same values but for ids, signatures, pod
 * names, dates (naive ISO, as the SDK subtracts them), numbers and log text, which must be of
 * their kind and consistent from one reply to the next.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { createStorage, minioSettings } from "klms-tool";
import { type LocalKlms, startLocalKlms } from "../src/index.js";
import { type Exchange, Replay } from "./sdk/replay.js";

const fixture = JSON.parse(readFileSync(new URL("./sdk/sdk-requests.json", import.meta.url), "utf8")) as {
  sdk: string;
  exchanges: Exchange[];
};
const PROJECT = fileURLToPath(new URL("../../../examples/correlations", import.meta.url));
const INPUT = `${PROJECT}/fixtures/weather.csv`;
/** How often a polled request is repeated before the test gives up (a guard, not a timing assertion). */
const POLLS = 1200;

describe(`${fixture.sdk}: its requests replayed`, () => {
  let klms: LocalKlms;
  let replay: Replay;
  before(async () => {
    klms = await startLocalKlms({ quiet: true, runner: { project: PROJECT } });
    const run = randomBytes(4).toString("hex");
    replay = new Replay({ run, password: klms.password });
    // The scenario uploads the input before it makes the resource that points at it.
    const storage = createStorage(minioSettings(klms.minio, { prefer: "external", env: {} }));
    try {
      await storage.upload(`s3://klms-bucket/sdk/${run}/weather.csv`, INPUT);
    } finally {
      storage.close();
    }
  });
  after(async () => {
    await klms?.stop();
  });

  /** Sends one request as the SDK did (its session's token on every request once it has one). */
  const send = async (exchange: Exchange) => {
    const headers: Record<string, string> = {};
    const token = replay.bound.get("{token}");
    if (token !== undefined) headers.authorization = `Bearer ${token}`;
    let body: string | undefined;
    if (exchange.body !== undefined) {
      body = JSON.stringify(replay.fill(exchange.body));
      headers["content-type"] = "application/json";
    }
    const response = await fetch(klms.apiUrl + replay.fill(exchange.path), { method: exchange.method, headers, body });
    return { status: response.status, reply: (await response.json()) as unknown };
  };

  for (const [i, exchange] of fixture.exchanges.entries()) {
    test(`#${i + 1} ${exchange.method} ${exchange.path}${exchange.poll ? " (polled)" : ""}`, async () => {
      let answer = await send(exchange);
      let problems = replay.compare(exchange.reply, answer.reply);
      for (let n = 1; exchange.poll && n < POLLS && (problems.length > 0 || answer.status !== exchange.status); n++) {
        await new Promise((resolve) => setTimeout(resolve, 50));
        answer = await send(exchange);
        problems = replay.compare(exchange.reply, answer.reply);
      }
      assert.equal(answer.status, exchange.status, JSON.stringify(answer.reply));
      assert.deepEqual(problems, []);
    });
  }
});
