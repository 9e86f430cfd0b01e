// A codec that throws: in encode, the send fails and nothing is enqueued; in decode, the
// failing message is reported to the receive that took it (and consumed), and the channel goes
// on with the next message — for tryRecv, recvSync and recv alike.
import assert from "node:assert/strict";
import { channel, type Codec, syncChannel } from "../mod.ts";

/** Numbers as one byte; refuses to encode 13 and to decode 66. */
const picky: Codec<number> = {
  name: "picky",
  encode(n: number) {
    if (n === 13) throw new RangeError("unlucky");
    return new Uint8Array([n]);
  },
  decode(bytes: Uint8Array) {
    if (bytes[0] === 66) throw new TypeError("cannot decode 66");
    return bytes[0];
  },
};

Deno.test("a codec throwing in encode: the send throws, nothing is enqueued", async () => {
  const [tx, rx] = channel({ codec: picky });
  assert.throws(() => tx.sendSync(13), RangeError);
  assert.throws(() => tx.trySend(13), RangeError);
  await assert.rejects(tx.send(13), RangeError);
  tx.sendSync(1);
  assert.equal(rx.len, 1);
  assert.equal(rx.recvSync(), 1);
});

Deno.test("a codec throwing in decode: that message is reported, the next one arrives", async () => {
  const [tx, rx] = channel({ codec: picky });
  for (const n of [1, 66, 2, 66, 3, 66, 4]) tx.sendSync(n);
  assert.deepEqual(rx.tryRecv(), { state: "ok", value: 1 });
  assert.throws(() => rx.tryRecv(), TypeError);
  assert.equal(rx.recvSync(), 2);
  assert.throws(() => rx.recvSync(), TypeError);
  assert.equal(await rx.recv(), 3);
  const failing = rx.recv(); // answered by the pump if not at once
  const next = rx.recv();
  await assert.rejects(failing, TypeError);
  assert.equal(await next, 4);
  // The same through the async pump: the receives wait, then the messages arrive.
  const waiting = [rx.recv(), rx.recv(), rx.recv()];
  setTimeout(() => [66, 5, 6].forEach((n) => tx.sendSync(n)), 10);
  const results = await Promise.allSettled(waiting);
  assert.equal(results[0].status, "rejected");
  assert.deepEqual(results.slice(1).map((r) => r.status === "fulfilled" && r.value), [5, 6]);
  tx.close();
  assert.equal(rx.tryRecv().state, "disconnected");
});

// On a rendezvous channel a message that fails to decode still spent the receiver's waiting
// token; the receiver must publish it again for a recv() still pending (this hung).
Deno.test("rendezvous: a message failing to decode while recv() is pending leaves recv() reachable", async () => {
  for (const take of ["tryRecv", "recvSync"] as const) {
    const [tx, rx] = syncChannel(0, { codec: picky });
    const pending = rx.recv();
    assert.equal(tx.trySend(66), true); // the pending recv()'s token
    assert.throws(
      () => take === "tryRecv" ? rx.tryRecv() : rx.recvSync({ timeout: 1000 }),
      TypeError,
    );
    assert.equal(tx.trySend(7), true, `${take}: the token is back for the pending recv()`);
    assert.equal(await pending, 7);
    rx.close();
  }
});
