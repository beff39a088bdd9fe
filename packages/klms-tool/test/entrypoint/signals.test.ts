/**
 * The deadline model on its own: a wait's budget after a cancellation runs from the cancellation,
 * whenever it came, and ends with the cancellation's reason.
 */
import assert from "node:assert/strict";
import { EventEmitter, once } from "node:events";
import { describe, it } from "node:test";
import { deadlineAfterCancel, watchCancellation } from "../../src/entrypoint/signals.ts";

describe("deadlineAfterCancel", () => {
  it("does not abort while nothing was cancelled", () => {
    const cancellation = watchCancellation({ emitter: new EventEmitter() });
    const deadline = deadlineAfterCancel(cancellation.signal, 0);
    assert.equal(deadline.signal.aborted, false);
    deadline.dispose();
    cancellation.dispose();
  });

  it("aborts with the cancellation's reason once the budget after a signal DURING the wait is spent", async () => {
    const emitter = new EventEmitter();
    const cancellation = watchCancellation({ emitter });
    const deadline = deadlineAfterCancel(cancellation.signal, 10);
    emitter.emit("SIGTERM");
    assert.equal(deadline.signal.aborted, false, "the budget is not spent at the signal");
    await once(deadline.signal, "abort");
    assert.deepEqual(deadline.signal.reason, { kind: "signal", signal: "SIGTERM" });
    deadline.dispose();
    cancellation.dispose();
  });

  it("counts the budget from a signal that came BEFORE the wait began", async () => {
    const emitter = new EventEmitter();
    const cancellation = watchCancellation({ emitter });
    emitter.emit("SIGINT");
    // Spend more than the budget before the wait starts: it must end at once, not 20 ms later.
    await new Promise((resolve) => setTimeout(resolve, 30));
    const deadline = deadlineAfterCancel(cancellation.signal, 20);
    const aborted = once(deadline.signal, "abort");
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setTimeout(resolve, 0));
    assert.equal(deadline.signal.aborted, true);
    await aborted;
    assert.deepEqual(deadline.signal.reason, { kind: "signal", signal: "SIGINT" });
    deadline.dispose();
    cancellation.dispose();
  });

  it("dispose stops a pending budget", async () => {
    const emitter = new EventEmitter();
    const cancellation = watchCancellation({ emitter });
    const deadline = deadlineAfterCancel(cancellation.signal, 5);
    emitter.emit("SIGTERM");
    deadline.dispose();
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(deadline.signal.aborted, false);
    cancellation.dispose();
  });
});
