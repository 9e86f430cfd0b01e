// Batches: rx.recvMany/recvManySync/tryRecvMany and tx.sendMany/sendManySync/trySendMany.
// Ports of tokio's recv_many tests (tokio/tests/sync_mpsc.rs: `send_recv_many_unbounded`,
// `send_recv_many_bounded_capacity`, `send_recv_many_unbounded_capacity`,
// `recv_many_cancel_safety`-style abort), with these deviations: a limit of 0 is a RangeError
// here (tokio returns 0 at once: a call that may return nothing is `tryRecvMany`), and
// `recvMany` resolves with a new array rather than appending to the caller's buffer.
import assert from "node:assert/strict";
import { channel, RecvError, type Sender, SendError, spawn, syncChannel } from "../mod.ts";

Deno.test("send_recv_many_unbounded: a batch takes what is ready, in order, up to the limit", async () => {
  const [tx, rx] = channel<number>();
  tx.sendManySync([7, 13, 100, 1002]);
  assert.deepEqual(await rx.recvMany(2), [7, 13]);
  assert.deepEqual(await rx.recvMany(10), [100, 1002]);
  tx.sendSync(5);
  assert.deepEqual(rx.recvManySync(1), [5]);
  tx.close();
  await assert.rejects(rx.recvMany(4), RecvError);
  assert.throws(() => rx.recvManySync(4), RecvError);
  assert.deepEqual(rx.tryRecvMany(4), { state: "disconnected" });
  rx.close();
});

Deno.test("send_recv_many_bounded_capacity: sendMany waits for room that recvMany makes", async () => {
  const [tx, rx] = syncChannel<string>(3);
  const values = Array.from({ length: 20 }, (_, i) => `m${i}`);
  const sending = tx.sendMany(values);
  const got: string[] = [];
  while (got.length < values.length) {
    const batch = await rx.recvMany(4);
    assert.ok(batch.length >= 1 && batch.length <= 3, `${batch.length}: at most the bound`);
    got.push(...batch);
  }
  await sending;
  assert.deepEqual(got, values);
  tx.close();
  rx.close();
});

Deno.test("send_recv_many_unbounded_capacity: thousands ready, taken in a few batches, in order", () => {
  const [tx, rx] = channel<number>();
  const values = Array.from({ length: 5000 }, (_, i) => i);
  tx.sendManySync(values);
  const got: number[] = [];
  let batches = 0;
  while (got.length < values.length) {
    const batch = rx.recvManySync(4096);
    assert.ok(batch.length >= 1 && batch.length <= 4096);
    got.push(...batch);
    batches++;
  }
  assert.deepEqual(got, values);
  // A batch ends at the end of a ring, or once it has taken half of one (see "A batch" in
  // assembly/consumer.ts): far fewer calls than messages all the same.
  assert.ok(batches < values.length / 16, `${batches} batches`);
  tx.close();
  rx.close();
});

Deno.test("recvMany: waits for at least one, never resolves empty", async () => {
  const [tx, rx] = channel<number>();
  const pending = rx.recvMany(8);
  setTimeout(() => tx.sendSync(1), 20);
  assert.deepEqual(await pending, [1]);
  tx.close();
  rx.close();
});

Deno.test("recvMany and recv() calls are served in call order", async () => {
  const [tx, rx] = channel<number>();
  const a = rx.recv();
  const b = rx.recvMany(3);
  const c = rx.recv();
  tx.sendManySync([1, 2, 3, 4, 5]);
  assert.equal(await a, 1);
  assert.deepEqual(await b, [2, 3, 4]);
  assert.equal(await c, 5);
  tx.close();
  rx.close();
});

Deno.test("recv_many cancel safety: an aborted recvMany takes nothing", async () => {
  const [tx, rx] = channel<number>();
  const controller = new AbortController();
  const pending = rx.recvMany(4, { signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  tx.sendSync(9);
  assert.deepEqual(rx.tryRecvMany(4), { state: "ok", values: [9] });
  assert.throws(() => rx.recvManySync(4, { timeout: 5 }), { name: "TimeoutError" });
  tx.close();
  rx.close();
});

Deno.test("limits: an integer from 1; bad ones are RangeErrors that take nothing", async () => {
  const [tx, rx] = channel<number>();
  tx.sendSync(1);
  for (const bad of [0, -1, 1.5, NaN, Infinity, 2 ** 31]) {
    assert.throws(() => rx.tryRecvMany(bad), RangeError);
    assert.throws(() => rx.recvManySync(bad), RangeError);
    await assert.rejects(rx.recvMany(bad), RangeError);
  }
  assert.deepEqual(rx.tryRecvMany(1), { state: "ok", values: [1] });
  tx.close();
  rx.close();
});

Deno.test("a message the codec cannot decode ends the batch; its error comes with the next receive", () => {
  const codec = {
    name: "test-picky",
    encode: (n: number) => new Uint8Array([n]),
    decode: (bytes: Uint8Array) => {
      if (bytes[0] === 13) throw new Error("unlucky");
      return bytes[0];
    },
  };
  const [tx, rx] = channel<number>({ codec });
  tx.sendManySync([1, 2, 13, 4]);
  assert.deepEqual(rx.recvManySync(10), [1, 2]);
  assert.throws(() => rx.recvSync(), /unlucky/);
  assert.deepEqual(rx.tryRecvMany(10), { state: "ok", values: [4] });
  tx.sendSync(13);
  assert.throws(() => rx.tryRecvMany(10), /unlucky/, "the first of a batch: thrown at once");
  tx.close();
  rx.close();
});

Deno.test("a message that carries ends is taken alone, by the next batch", () => {
  const [tx, rx] = channel<unknown>();
  const [innerTx, innerRx] = channel<string>();
  tx.sendManySync([1, { reply: innerTx }, 3]);
  assert.deepEqual(rx.tryRecvMany(10), { state: "ok", values: [1] });
  const [carried] = rx.recvManySync(10) as [{ reply: typeof innerTx }];
  carried.reply.sendSync("back");
  assert.equal(innerRx.recvSync(), "back");
  assert.deepEqual(rx.recvManySync(10), [3]);
  carried.reply.close();
  innerRx.close();
  tx.close();
  rx.close();
});

Deno.test("sendMany: a value the codec cannot encode sends nothing, and lent ends come back", async () => {
  const [tx, rx] = channel<unknown>();
  const [innerTx, innerRx] = channel<string>();
  const bad = [{ reply: innerTx }, 2, () => {}];
  assert.throws(() => tx.sendManySync(bad), { name: "DataCloneError" });
  assert.throws(() => tx.trySendMany(bad), { name: "DataCloneError" });
  await assert.rejects(tx.sendMany(bad), { name: "DataCloneError" });
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
  innerTx.sendSync("still mine");
  assert.equal(innerRx.recvSync(), "still mine");
  innerTx.close();
  innerRx.close();
  tx.close();
  rx.close();
});

Deno.test("trySendMany sends what fits now, in order", () => {
  const [tx, rx] = syncChannel<number>(2);
  assert.equal(tx.trySendMany([1, 2, 3]), 2);
  assert.equal(tx.trySendMany([4]), 0);
  assert.deepEqual(rx.tryRecvMany(10), { state: "ok", values: [1, 2] });
  assert.equal(tx.trySendMany(new Set([5, 6])), 2, "any iterable");
  assert.deepEqual(rx.tryRecvMany(10), { state: "ok", values: [5, 6] });
  tx.close();
  rx.close();
});

Deno.test("sendManySync: a timeout and a SendError say how many went", () => {
  const [tx, rx] = syncChannel<number>(2);
  assert.throws(() => tx.sendManySync([1, 2, 3, 4], { timeout: 10 }), (error: unknown) => {
    assert.equal((error as DOMException).name, "TimeoutError");
    assert.equal((error as { sent: number }).sent, 2);
    return true;
  });
  assert.deepEqual(rx.tryRecvMany(10), { state: "ok", values: [1, 2] });
  rx.close();
  assert.throws(() => tx.sendManySync([5, 6]), (error: unknown) => {
    assert.ok(error instanceof SendError);
    assert.deepEqual(error.value, [5, 6]);
    assert.equal(error.sent, 0);
    return true;
  });
  tx.close();
});

Deno.test("sendMany: an abort says how many went; a later send() comes after the whole batch", async () => {
  const [tx, rx] = syncChannel<number>(1);
  const controller = new AbortController();
  const batch = tx.sendMany([1, 2, 3], { signal: controller.signal });
  const after = tx.send(4);
  assert.equal(rx.recvSync(), 1);
  await new Promise((r) => setTimeout(r, 10));
  controller.abort(new Error("enough"));
  await assert.rejects(batch, (error: unknown) => {
    assert.match(String(error), /enough/);
    assert.equal((error as { sent: number }).sent, 2);
    return true;
  });
  assert.equal(rx.recvSync(), 2);
  await after;
  assert.equal(rx.recvSync(), 4, "3 was never sent; 4 after the batch");
  tx.close();
  rx.close();
});

Deno.test("sendMany and recvMany on a rendezvous channel", async () => {
  const [tx, rx] = syncChannel<number>(0);
  const sending = tx.sendMany([1, 2, 3]);
  const got: number[] = [];
  while (got.length < 3) got.push(...await rx.recvMany(10));
  await sending;
  assert.deepEqual(got, [1, 2, 3]);
  tx.close();
  rx.close();
});

Deno.test("sendMany from 4 workers into one unbounded channel: runs in one claim, every message in order", async () => {
  const [tx, rx] = channel<[number, number, string]>();
  const COUNT = 5000;
  const url = new URL("./batch/producer.ts", import.meta.url);
  const jobs = [0, 1, 2, 3].map((p) =>
    spawn<number>(url, { tx: tx.clone(), p, count: COUNT, seed: 0x1234 + p })
  );
  tx.close();
  const next = [0, 0, 0, 0];
  for (;;) {
    let batch: [number, number, string][];
    try {
      batch = rx.recvManySync(64, { timeout: 20_000 });
    } catch (error) {
      if (error instanceof RecvError) break;
      throw error;
    }
    for (const [p, seq, filler] of batch) {
      assert.equal(seq, next[p], `producer ${p}`);
      next[p]++;
      assert.ok(filler === String.fromCharCode(97 + seq % 26).repeat(filler.length));
    }
  }
  assert.deepEqual(next, [COUNT, COUNT, COUNT, COUNT]);
  for (const job of jobs) assert.equal(await job.join(), COUNT);
  rx.close();
});

Deno.test("trySendMany with a small maxBytes: runs of large messages, in order, none twice", () => {
  const [tx, rx] = channel<Uint8Array>({ maxBytes: 65536 });
  const values = Array.from({ length: 400 }, (_, i) => new Uint8Array(900).fill(i & 255));
  let sent = 0;
  // 30 at a time: runs of four 900-byte messages per claim, in a 64 KiB channel.
  let got = 0;
  while (sent < values.length) {
    const went = tx.trySendMany(values.slice(sent, sent + 30));
    sent += went;
    for (const v of rx.tryIter()) assert.equal(v[0], got++ & 255);
  }
  for (const v of rx.tryIter()) assert.equal(v[0], got++ & 255);
  assert.equal(got, values.length);
  tx.close();
  rx.close();
});

Deno.test("rendezvous: a batch spends one token per message taken, no more", async () => {
  // recvMany gave one token back too many per batch: a rendezvous channel drifted into a
  // buffered one, admitting sends with nobody waiting.
  const [tx, rx] = syncChannel<number>(0);
  for (let round = 0; round < 3; round++) {
    const pending = rx.recvMany(4);
    await new Promise((r) => setTimeout(r, 5)); // its pump waits, with its token out
    assert.equal(tx.trySend(round), true, "a receiver waits");
    assert.deepEqual(await pending, [round]);
    assert.equal(tx.trySend(99), false, "nobody waits now");
  }
  assert.deepEqual(rx.tryRecvMany(4), { state: "empty" });
  assert.equal(tx.trySend(99), false);
  tx.close();
  rx.close();
});

Deno.test("a deferred decode error comes before the messages after it, pending batches too", async () => {
  const codec = {
    name: "test-picky-2",
    encode: (n: number) => new Uint8Array([n]),
    decode: (bytes: Uint8Array) => {
      if (bytes[0] === 3) throw new Error("cannot decode 3");
      return bytes[0];
    },
  };
  const [tx, rx] = channel<number>({ codec });
  const first = rx.recvMany(10);
  const second = rx.recvMany(10);
  tx.sendManySync([1, 2, 3, 4, 5]);
  assert.deepEqual(await first, [1, 2]);
  await assert.rejects(second, /cannot decode 3/);
  assert.deepEqual(await rx.recvMany(10), [4, 5]);
  tx.close();
  rx.close();
});

Deno.test("a codec that sends into its own bounded channel during a batch finds the batch's room", () => {
  // A batch publishes what it took at its end; a send from inside it waited for room the batch
  // itself held back (and could deadlock two threads).
  let tx: Sender<number> | null = null;
  const codec = {
    name: "test-echo",
    encode: (n: number) => new Uint8Array([n]),
    decode: (bytes: Uint8Array) => {
      if (bytes[0] < 10) tx!.sendSync(bytes[0] + 10, { timeout: 100 });
      return bytes[0];
    },
  };
  const [sender, rx] = syncChannel<number>(3, { codec });
  tx = sender;
  sender.sendManySync([1, 2]);
  assert.deepEqual(rx.recvManySync(2), [1, 2]);
  assert.deepEqual(rx.recvManySync(10), [11, 12]);
  sender.close();
  rx.close();
});

Deno.test("rendezvous: closing a receiver with a recv() pending withdraws its token at once", async () => {
  const [tx, rx] = syncChannel<number>(0);
  const other = rx.clone(); // keeps the channel open; never receives
  const pending = rx.recv();
  await new Promise((r) => setTimeout(r, 5)); // its pump waits, with its token out
  rx.close();
  await assert.rejects(pending, RecvError);
  // Before, the token stayed until the pump woke: this send met nobody and was buffered.
  assert.throws(() => tx.sendSync(1, { timeout: 50 }), { name: "TimeoutError" });
  assert.deepEqual(other.tryRecv(), { state: "empty" });
  tx.close();
  other.close();
});
