import assert from "node:assert/strict";
import { assertCanBlock, CAN_BLOCK, nap } from "./_wait.ts";

Deno.test("a Deno thread may block: the probe says so, and nap returns", () => {
  assert.equal(CAN_BLOCK, true);
  assertCanBlock("recvSync", "await rx.recv()"); // does not throw
  const words = new Int32Array(new SharedArrayBuffer(4));
  nap(words, 0, 1, 60_000); // the value differs: returns at once
  nap(words, 0, 0, 1); // times out
});
// The browser's main thread, where CAN_BLOCK is false, is tested in tests/browser_test.ts.
