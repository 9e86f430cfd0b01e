// A lone receiver keeps the consumer lock between receives of a backlog, the next message peeked
// ("Keeping the head" in src/_shared_channel.ts). Nothing about it may show: producers see the
// room a receive made at once, a clone, a transfer or a close in between loses and duplicates
// nothing, corruption found meanwhile fails the next call, and a receive from inside a decode
// is still a TypeError.
import assert from "node:assert/strict";
import {
  channel,
  ChannelCorruptedError,
  type Receiver,
  RecvError,
  type Sender,
  syncChannel,
} from "../mod.ts";
import { CORE } from "../src/_core.ts";

const ECHO = new URL("./workers/echo.ts", import.meta.url);

Deno.test("a receive from a bounded backlog frees its slot at once: the next send fits", () => {
  const [tx, rx] = syncChannel<number>(4);
  for (let i = 0; i < 4; i++) assert.ok(tx.trySend(i));
  assert.equal(tx.trySend(99), false, "full");
  for (let i = 0; i < 100; i++) {
    // Three remain after each receive: the head is kept, the next one peeked — and the slot of
    // the one taken is free: a send fits at once.
    assert.equal(rx.recvSync(), i);
    assert.equal(rx.len, 3, "counted at once"); // (a send from this thread would publish it)
    assert.ok(tx.trySend(i + 4), `after receive ${i}`);
    assert.equal(tx.trySend(99), false, "full again");
    assert.equal(rx.len, 4);
  }
  tx.close();
  assert.deepEqual(rx.recvManySync(10), [100, 101, 102, 103]);
  rx.close();
});

Deno.test("a clone made while the head is kept: the clone takes the next message", () => {
  const [tx, rx] = channel<number>();
  for (let i = 0; i < 4; i++) tx.sendSync(i);
  assert.equal(rx.recvSync(), 0);
  const rx2 = rx.clone();
  assert.deepEqual(rx2.tryRecv(), { state: "ok", value: 1 });
  assert.equal(rx.recvSync(), 2);
  assert.deepEqual(rx2.tryRecv(), { state: "ok", value: 3 });
  tx.close();
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
  rx.close();
  rx2.close();
});

Deno.test("a receiver transferred while the head is kept: the worker gets the rest, in order", async () => {
  const [tx, rx] = channel<number>();
  const [backTx, back] = channel<number>();
  for (let i = 0; i < 100; i++) tx.sendSync(i);
  assert.equal(rx.recvSync(), 0);
  assert.equal(rx.recvSync(), 1);
  const worker = new Worker(ECHO, { type: "module" });
  try {
    const done = new Promise((resolve) => worker.onmessage = resolve);
    worker.postMessage({ rx: rx.transfer(), tx: backTx.transfer() });
    tx.close();
    const got: number[] = [];
    for await (const n of back) got.push(n);
    assert.deepEqual(got, Array.from({ length: 98 }, (_, i) => i + 2));
    await done;
  } finally {
    worker.terminate();
  }
});

Deno.test("a receiver closed while the head is kept: the senders see it closed", () => {
  const [tx, rx] = channel<number>();
  for (let i = 0; i < 3; i++) tx.sendSync(i);
  assert.equal(rx.recvSync(), 0);
  rx.close();
  assert.equal(tx.isDisconnected, true);
  assert.throws(() => tx.trySend(9));
  tx.close();
});

Deno.test("corruption found while the head is kept fails the next receive", () => {
  const [tx, rx] = channel<number>();
  for (let i = 0; i < 3; i++) tx.sendSync(i);
  assert.equal(rx.recvSync(), 0); // message 1 is peeked now
  const handle = tx.transfer();
  const i32 = new Int32Array(handle.memory.buffer);
  Atomics.store(i32, (handle.offset + CORE.CORRUPT) >> 2, 1);
  assert.throws(() => rx.recvSync(), ChannelCorruptedError);
  rx.close();
});

Deno.test("a receive from inside the decode of a kept message is a TypeError", () => {
  let rx: Receiver<number> | null = null;
  const seen: unknown[] = [];
  const codec = {
    name: "test-reentrant-kept",
    encode: (n: number) => new Uint8Array([n]),
    decode: (b: Uint8Array) => {
      try {
        seen.push(rx!.tryRecv());
      } catch (error) {
        seen.push(error instanceof TypeError ? "TypeError" : error);
      }
      return b[0];
    },
  };
  let tx: Sender<number>;
  [tx, rx] = channel<number>({ codec });
  for (let i = 0; i < 3; i++) tx.sendSync(i);
  assert.deepEqual([rx.recvSync(), rx.recvSync(), rx.recvSync()], [0, 1, 2]);
  assert.deepEqual(seen, ["TypeError", "TypeError", "TypeError"]);
  tx.close();
  assert.throws(() => rx!.recvSync(), RecvError);
  rx.close();
});

Deno.test("a kept head, then a batch and a select on the same receiver: nothing lost or repeated", () => {
  const [tx, rx] = channel<number>();
  for (let i = 0; i < 10; i++) tx.sendSync(i);
  assert.equal(rx.recvSync(), 0);
  assert.deepEqual(rx.recvManySync(3), [1, 2, 3]);
  assert.equal(rx.recvSync(), 4);
  assert.deepEqual(rx.tryRecvMany(100), { state: "ok", values: [5, 6, 7, 8, 9] });
  tx.close();
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
  rx.close();
});
