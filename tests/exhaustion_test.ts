// Exhaustion: an unbounded channel whose consumer stalls grows up to maxBytes; then sends fail
// with a RangeError (sync) or reject (async), nothing is corrupted, and once the consumer has
// drained, the same sends succeed again in the storage already allocated.
import assert from "node:assert/strict";
import { bytes, channel } from "../mod.ts";

const MAX = 1024 * 1024;

function payload(i: number): Uint8Array {
  const b = new Uint8Array(1000);
  b.fill(i & 0xff);
  b[0] = i >> 8;
  return b;
}

Deno.test("a stalled consumer: sends fail with RangeError at maxBytes, then work again", async () => {
  const [tx, rx] = channel<Uint8Array>({ codec: bytes, maxBytes: MAX });
  let sent = 0;
  for (;;) {
    try {
      tx.sendSync(payload(sent));
      sent++;
    } catch (error) {
      assert.ok(error instanceof RangeError, String(error));
      assert.match(error.message, /maxBytes/);
      break;
    }
  }
  assert.ok(sent > MAX / 2 / 1008, `only ${sent} messages fit in ${MAX} bytes`);
  assert.throws(() => tx.trySend(payload(0)), RangeError);
  await assert.rejects(tx.send(payload(0)), RangeError);
  assert.equal(rx.len, sent, "the failed sends enqueued nothing");
  // Drain: every message intact, in order.
  for (let i = 0; i < sent; i++) assert.deepEqual(rx.recvSync(), payload(i));
  assert.equal(rx.tryRecv().state, "empty");
  // The same burst again, three times: it fits in the storage already there.
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < sent; i++) tx.sendSync(payload(i));
    for (let i = 0; i < sent; i++) assert.deepEqual(rx.recvSync(), payload(i));
  }
  tx.close();
  assert.equal(rx.tryRecv().state, "disconnected");
});

Deno.test("a message larger than maxBytes allows is refused; the channel keeps working", () => {
  const [tx, rx] = channel<Uint8Array>({ codec: bytes, maxBytes: MAX });
  tx.sendSync(payload(1));
  assert.throws(() => tx.sendSync(new Uint8Array(MAX)), RangeError);
  tx.sendSync(payload(2));
  assert.deepEqual(rx.recvSync(), payload(1));
  assert.deepEqual(rx.recvSync(), payload(2));
  tx.close();
});
