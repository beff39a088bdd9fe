import assert from "node:assert/strict";
import { after, before, beforeEach, describe, test } from "node:test";
import { type LocalKlms, startLocalKlms } from "../src/index.js";
import { assertError, assertSuccess, call } from "./helpers.js";

let klms: LocalKlms;
let task: { id: string; signature: string };

before(async () => {
  klms = await startLocalKlms({ objectStore: false, quiet: true });
});
after(async () => {
  await klms.stop();
});
beforeEach(async () => {
  klms.faults.clear();
  task = await klms.createTask({ process_id: klms.processId, name: "faults", datasets: {}, inputs: {}, outputs: {} });
});

const input = () => call(klms.apiUrl, "GET", `/api/v2/task/${task.id}/${task.signature}/input`, { token: klms.token });
const output = () =>
  call(klms.apiUrl, "POST", `/api/v2/task/${task.id}/${task.signature}/output`, { body: { status: "succeeded" } });

describe("in-process faults", () => {
  test("a status fault fails the next matching request with the platform's envelope, once", async () => {
    klms.faults.add({ match: "input", status: 503 });
    const failed = await input();
    assertError(failed, 503, "InternalException");
    assert.equal(failed.body.help, `${klms.apiUrl}/api/v2/task/${task.id}/${task.signature}/input`);
    assertSuccess(await input());
    // The faulted request never reached the task.
    assert.equal((await klms.getTask(task.id)).exec_state, "running");
  });

  test("times: the next N matching requests fail; others pass", async () => {
    klms.faults.add({ match: "output", status: 502, times: 2 });
    assertSuccess(await input());
    assertError(await output(), 502, "BackendError");
    assertError(await output(), 502, "BackendError");
    assertSuccess(await output());
    assert.equal((await klms.getTask(task.id)).exec_state, "succeeded");
  });

  const statuses: Array<[number, string]> = [
    [400, "DataError"],
    [401, "AuthenticationError"],
    [404, "NotFoundError"],
    [409, "ConflictError"],
    [500, "InternalException"],
    [504, "InternalException"],
  ];
  for (const [status, type] of statuses) {
    test(`status ${status} → ${type}`, async () => {
      klms.faults.add({ match: "any", status });
      assertError(await input(), status, type);
    });
  }

  test("match by path substring", async () => {
    klms.faults.add({ match: `/task/${task.id}/sig`, status: 500 });
    assertSuccess(await input());
    assertError(
      await call(klms.apiUrl, "GET", `/api/v2/task/${task.id}/signature`, { token: klms.token }),
      500,
      "InternalException",
    );
  });

  test("faults are taken in the order they were added", async () => {
    klms.faults.add({ match: "any", status: 500 });
    klms.faults.add({ match: "input", status: 502 });
    assertError(await input(), 500, "InternalException");
    assertError(await input(), 502, "BackendError");
    assertSuccess(await input());
  });

  test("a delay alone lets the request through afterwards", async () => {
    klms.faults.add({ match: "input", delayMs: 50 });
    assertSuccess(await input());
  });

  test("a delay with a status fails after the wait", async () => {
    klms.faults.add({ match: "output", delayMs: 20, status: 500 });
    assertError(await output(), 500, "InternalException");
  });

  test("drop destroys the connection without a reply", async () => {
    klms.faults.add({ match: "output", drop: true });
    await assert.rejects(output(), TypeError);
    assert.equal((await klms.getTask(task.id)).exec_state, "created");
    assertSuccess(await output());
  });

  test("after: the request is served, then the reply is dropped (a retry gets 409)", async () => {
    klms.faults.add({ match: "output", drop: true, after: true });
    await assert.rejects(output(), TypeError);
    assert.equal((await klms.getTask(task.id)).exec_state, "succeeded");
    assertError(await output(), 409, "ConflictError");
  });

  test("after with a status: the request is served, then the reply is replaced", async () => {
    klms.faults.add({ match: "input", status: 504, after: true });
    const failed = await input();
    assertError(failed, 504, "InternalException");
    assert.equal(failed.body.help, `${klms.apiUrl}/api/v2/task/${task.id}/${task.signature}/input`);
    assert.equal((await klms.getTask(task.id)).exec_state, "running");
  });

  test("clear removes every fault", async () => {
    klms.faults.add({ match: "any", status: 500, times: 5 });
    klms.faults.clear();
    assertSuccess(await input());
  });

  test("a malformed fault is refused", () => {
    assert.throws(() => klms.faults.add({ match: "" }), /invalid fault: .*match/);
    assert.throws(() => klms.faults.add({ match: "any", times: 0 }), /invalid fault: .*times/);
    assert.throws(() => klms.faults.add({ match: "any", status: 200 }), /invalid fault: .*status/);
  });
});

describe("faults over HTTP", () => {
  test("POST /__klms/faults adds, DELETE clears, and /__klms itself is never faulted", async () => {
    const token = klms.token;
    const added = await call(klms.apiUrl, "POST", "/__klms/faults", {
      token,
      body: { match: "any", status: 500, times: 3 },
    });
    assert.deepEqual(assertSuccess(added), [{ match: "any", status: 500, times: 3 }]);
    assertError(await input(), 500, "InternalException");
    const listed = await call(klms.apiUrl, "GET", "/__klms/faults", { token });
    assert.deepEqual(assertSuccess(listed), [{ match: "any", status: 500, times: 2 }]);
    assertSuccess(await call(klms.apiUrl, "DELETE", "/__klms/faults", { token }));
    assertSuccess(await input());
  });

  test("a list of faults can be posted at once", async () => {
    const body = [
      { match: "input", status: 503 },
      { match: "output", drop: true },
    ];
    assertSuccess(await call(klms.apiUrl, "POST", "/__klms/faults", { token: klms.token, body }));
    assertError(await input(), 503, "InternalException");
    await assert.rejects(output(), TypeError);
    assertSuccess(await output());
  });

  test("the fault routes need the dev token: without one, 401 and nothing is armed", async () => {
    for (const [method, body] of [["GET"], ["POST", { match: "any", status: 500 }], ["DELETE"]] as const) {
      const reply = await call(klms.apiUrl, method, "/__klms/faults", { body });
      assertError(reply, 401, "APIException", "Bearer Token is missing");
    }
    assertSuccess(await input());
  });

  test("a malformed fault gets a 422", async () => {
    const reply = await call(klms.apiUrl, "POST", "/__klms/faults", {
      token: klms.token,
      body: { match: "any", status: "x", bogus: 1 },
    });
    assertError(reply, 422, "_ValidationError");
    assert.deepEqual(Object.keys(reply.body.error?.detail.json as object).sort(), ["bogus", "status"]);
  });
});
