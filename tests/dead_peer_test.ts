// Dead peers never hang the living: a terminated worker's senders are dropped, its receiver
// closed, and a claim it left unfinished is skipped (see src/_settlement.ts).
import assert from "node:assert/strict";
import {
  bytes,
  channel,
  Receiver,
  RecvError,
  Sender,
  SendError,
  structured,
  syncChannel,
} from "../mod.ts";
import { PULL_BUSY, PULL_EMPTY, SharedChannel } from "../src/_shared_channel.ts";
import { CORE, instantiate } from "../src/_core.ts";
import { ADOPTED, HELD, type Lifelined, SETTLED, SETTLING } from "../src/_lifeline.ts";
import { settle } from "../src/_settlement.ts";
import { nextReply } from "./_helpers/workers.ts";

async function spawn(mode: string, handle: unknown, extra?: object): Promise<Worker> {
  const worker = new Worker(new URL("./workers/dead_peer.ts", import.meta.url), {
    type: "module",
  });
  const ready = nextReply(worker, `worker (${mode})`);
  worker.postMessage({ mode, handle, ...extra });
  await ready;
  return worker;
}

Deno.test("the receiver sees disconnection when the worker holding senders is terminated", async () => {
  const [tx, rx] = channel<number>();
  const worker = await spawn("send3", tx.transfer());
  assert.equal(rx.isDisconnected, false);
  worker.terminate();
  assert.deepEqual([rx.recvSync(), rx.recvSync(), rx.recvSync()], [0, 1, 2]);
  assert.throws(
    () => rx.recvSync({ timeout: 5_000 }),
    (e) =>
      e instanceof RecvError && e.reason === "died" && /a sender's worker died/.test(e.message),
  );
});

Deno.test("a close is reported as a close, a death as a death", async () => {
  const [tx, rx] = channel<number>();
  tx.close();
  assert.throws(() => rx.recvSync(), (e) => e instanceof RecvError && e.reason === "closed");
  const [tx2, rx2] = channel<number>();
  rx2.close();
  assert.throws(() => tx2.sendSync(1), (e) => e instanceof SendError && e.reason === "closed");
  // A worker that dies holding the receiver: its senders hear it died.
  const [tx3, rx3] = channel<number>();
  const worker = await spawn("receive", rx3.transfer());
  worker.terminate();
  assert.throws(
    () => tx3.sendSync(1),
    (e) =>
      e instanceof SendError && e.reason === "died" && /receiver's worker died/.test(e.message),
  );
  await assert.rejects(tx3.send(1), (e) => e instanceof SendError && e.reason === "died");
});

Deno.test("an unfinished claim of a terminated producer is skipped", async () => {
  const [tx, rx] = syncChannel<number>(4);
  const worker = await spawn("claim", tx.clone().transfer());
  tx.sendSync(7); // queued behind the dead producer's claim
  // tryRecv waits a little for the claim to be finished, then reports empty rather than block.
  assert.equal(rx.tryRecv().state, "empty", "the claim holds the head");
  worker.terminate();
  assert.equal(rx.recvSync({ timeout: 5_000 }), 7);
  assert.equal(rx.len, 0, "the dead claim gave its slot back");
  for (let i = 0; i < 4; i++) tx.sendSync(i); // the whole bound is usable again
  assert.deepEqual([...rx.tryIter()], [0, 1, 2, 3]);
  tx.close();
  assert.equal(rx.tryRecv().state, "disconnected");
});

/**
 * Waits until a terminated worker's loop, which counts its turns in `turns[0]`, stops: its next
 * call throws AbortError, so it must stop within a moment.
 */
async function assertLoopStops(turns: Int32Array): Promise<void> {
  const start = performance.now();
  let last = -1;
  while (performance.now() - start < 5_000) {
    const now = Atomics.load(turns, 0);
    if (now === last) break;
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.equal(Atomics.load(turns, 0), last, "the loop stopped");
}

// Issue 11: a worker looping on tryRecv survived terminate() (Deno 2.9.6 does not stop
// synchronous code) and the process never exited: every call in a terminated worker throws.
Deno.test("a worker looping on tryRecv and a getter stops when terminated", async () => {
  const [tx, rx] = channel<number>();
  const turns = new Int32Array(new SharedArrayBuffer(4));
  const worker = await spawn("tryloop", rx.transfer(), { turns: turns.buffer });
  worker.terminate();
  await assertLoopStops(turns);
  assert.throws(() => tx.sendSync(1), SendError);
  tx.close();
});

// Found by a review: trySend on a full channel looked at the worker's lifeline only once it had
// claimed space, so a worker polling a full channel survived terminate().
Deno.test("a worker looping on trySend into a full channel stops when terminated", async () => {
  const [tx, rx] = syncChannel<number>(1);
  tx.sendSync(0); // full: every trySend returns false
  const turns = new Int32Array(new SharedArrayBuffer(4));
  const worker = await spawn("trysendloop", tx.clone().transfer(), { turns: turns.buffer });
  worker.terminate();
  await assertLoopStops(turns);
  assert.equal(rx.recvSync(), 0);
  tx.close();
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" }, "the worker's sender was dropped");
  rx.close();
});

// Issue 11: only the last 16 dead owners were remembered, so a 17th producer that died mid-claim
// before the consumer looked left a claim that could never be skipped. There is no table now:
// the terminator marks the claim itself.
Deno.test("however many producers die mid-claim, every dead claim is skipped", async () => {
  const [tx, rx] = channel<number>();
  const workers: Worker[] = [];
  for (let i = 0; i < 20; i++) workers.push(await spawn("claim", tx.clone().transfer()));
  tx.sendSync(7); // queued behind 20 dead claims
  assert.equal(rx.tryRecv().state, "empty", "the claims hold the head");
  for (const worker of workers) worker.terminate();
  assert.equal(rx.recvSync({ timeout: 10_000 }), 7);
  assert.equal(rx.len, 0, "every dead claim gave its admission back");
  tx.close();
  assert.throws(() => rx.recvSync({ timeout: 5_000 }), RecvError);
});

Deno.test("senders get SendError when the worker holding the receiver is terminated", async () => {
  const [tx, rx] = syncChannel<string>(1);
  const worker = await spawn("receive", rx.transfer());
  tx.sendSync("fills the slot");
  const blocked = tx.send("waits for room");
  worker.terminate();
  const error = await blocked.then(() => undefined, (e) => e);
  assert.ok(error instanceof SendError, String(error));
  assert.equal(error.value, "waits for room");
  assert.throws(() => tx.sendSync("later"), SendError);
  tx.close();
});

Deno.test("a worker that ends itself with self.close() releases the ends it held", async () => {
  const [tx, rx] = channel<number>();
  await spawn("selfclose", tx.transfer());
  assert.equal(rx.recvSync({ timeout: 5_000 }), 1);
  assert.throws(() => rx.recvSync({ timeout: 5_000 }), RecvError);
});

Deno.test("a terminated worker busy sending stops, and nothing it sent is corrupted", async () => {
  const [tx, rx] = channel<Uint8Array>({ codec: bytes });
  const worker = await spawn("flood", tx.clone().transfer());
  await new Promise((r) => setTimeout(r, 50));
  worker.terminate();
  tx.sendSync(new Uint8Array([7]));
  tx.close();
  let count = 0;
  let mine = 0;
  for (const message of rx) {
    if (message.length === 1) {
      assert.equal(message[0], 7);
      mine++;
      continue;
    }
    // Every flood message is whole: 4096 bytes of one value, in order.
    assert.equal(message.length, 4096);
    assert.ok(message.every((b) => b === (count & 0xff)), `message ${count} is damaged`);
    count++;
  }
  assert.equal(mine, 1);
  assert.ok(count > 0);
});

Deno.test("terminating a worker that forwarded a handle without adopting it changes nothing", async () => {
  const [tx, rx] = channel<number>();
  const worker = new Worker(new URL("./workers/dead_peer.ts", import.meta.url), {
    type: "module",
  });
  const back = new Promise<MessageEvent>((resolve) => worker.onmessage = resolve);
  worker.postMessage({ mode: "forward", handle: tx.transfer() });
  // The worker posts it back with self.postMessage; adopt it here, then terminate the worker.
  const tx2 = Sender.from<number>((await back).data);
  worker.terminate();
  await new Promise((r) => setTimeout(r, 20));
  tx2.sendSync(1, { timeout: 1_000 });
  assert.equal(rx.recvSync({ timeout: 1_000 }), 1);
  assert.equal(rx.isDisconnected, false);
  tx2.close();
  assert.throws(() => rx.recvSync({ timeout: 1_000 }), RecvError);
});

Deno.test("a worker that dies of an uncaught error releases the ends it held", async () => {
  const [tx, rx] = channel<number>();
  const worker = await spawn("throw", tx.transfer());
  const failed = new Promise<void>((resolve) => {
    worker.onerror = (e) => {
      e.preventDefault(); // the parent handles it; the worker is gone all the same
      resolve();
    };
  });
  assert.equal(rx.recvSync({ timeout: 5_000 }), 1);
  await failed;
  assert.throws(() => rx.recvSync({ timeout: 5_000 }), RecvError);
  worker.terminate();
});

Deno.test("a worker's finished handles are forgotten, its live ones still settled", async () => {
  const [txA, rxA] = channel<number>();
  const [txB, rxB] = channel<number>();
  const worker = new Worker(new URL("./workers/dead_peer.ts", import.meta.url), {
    type: "module",
  });
  const ready = () => new Promise<void>((resolve) => worker.onmessage = () => resolve());
  let next = ready();
  worker.postMessage({ mode: "sendclose", handle: txA.transfer() }); // adopted, then closed
  await next;
  next = ready();
  worker.postMessage({ mode: "send3", handle: txB.transfer() }); // adopted, still held
  await next;
  assert.equal(rxA.recvSync(), 5);
  assert.throws(() => rxA.recvSync({ timeout: 1_000 }), RecvError);
  worker.terminate();
  assert.deepEqual([rxB.recvSync(), rxB.recvSync(), rxB.recvSync()], [0, 1, 2]);
  assert.throws(() => rxB.recvSync({ timeout: 5_000 }), RecvError);
});

// The grace before a dead producer's claim is skipped runs from when its death is seen, not
// from when the claim was first seen unfinished: a producer can sit in a large claim for long
// (a big copy, an in-place encode, a descheduled thread) before it is terminated, and would
// then still be writing into space already given to another message.
Deno.test("a dead producer's claim is skipped only after a grace counted from its death", () => {
  const chan = SharedChannel.create(-1, 64 << 20, { initialCapacity: 1024 });
  chan.addSender();
  const owner = chan.newOwner();
  const producer = instantiate(chan.memory); // the producer's own core instance
  const claimed = 4 << 20; // 4 MiB: a grace of 100 ms + 10 ms per MB
  const at = producer.reserve(chan.offset, chan.generation, claimed, owner);
  assert.ok(at >= CORE.FIRST_OFFSET);
  const busyUntil = performance.now() + 300;
  while (performance.now() < busyUntil) assert.equal(chan.pull(structured), PULL_BUSY);
  assert.equal(producer.markDead(chan.offset, chan.generation, at, owner), CORE.OK);
  const dead = performance.now();
  let pulled: unknown;
  while ((pulled = chan.pull(structured)) === PULL_BUSY) {
    assert.ok(performance.now() - dead < 10_000, "watchdog: never skipped");
  }
  const waited = performance.now() - dead;
  assert.equal(pulled, PULL_EMPTY);
  assert.ok(waited >= 100 + claimed / 100_000, `skipped ${waited.toFixed(1)} ms after the death`);
});

// A worker that posts its last message and calls `self.close()` settles its own ends while its
// parent, on that message, terminates it: the parent's `terminate()` must return only once they
// are settled, whoever does it (it returned at once, and `isDisconnected` was sometimes false).
Deno.test("a terminator that finds the worker settling its own ends waits until they are", async () => {
  const [tx, rx] = syncChannel<number>(1);
  const handle = rx.transfer() as unknown as Lifelined;
  Atomics.store(handle.claim, ADOPTED, 1);
  Atomics.store(handle.lifeline, HELD, SETTLING); // the worker has begun
  const worker = new Worker(new URL("./workers/slow_settler.ts", import.meta.url), {
    type: "module",
  });
  try {
    await new Promise((resolve) => {
      worker.onmessage = resolve;
      const { memory, offset, generation: gen, lifeline } = handle as unknown as {
        memory: WebAssembly.Memory;
        offset: number;
        generation: number;
        lifeline: Int32Array;
      };
      worker.postMessage({ memory, offset, gen, lifeline, ms: 100 });
    });
    const start = performance.now();
    settle(handle, true); // as terminate() does
    assert.equal(tx.isDisconnected, true, "settled when settle returns");
    assert.ok(performance.now() - start >= 50, "it waited for the worker");
    assert.equal(Atomics.load(handle.lifeline, HELD), SETTLED);
  } finally {
    worker.terminate();
    tx.close();
  }
});

// Issue 12: the wrapper saw handles only at the top level of a message or among the first 16
// entries of a top-level array or object. `worker.postMessage({ cfg: { rx: rx.transfer() } })`
// then `terminate()` left the receiver counted as alive: sendSync succeeded into a dead channel,
// then blocked for ever.
for (
  const [name, wrap, path] of [
    ["{ cfg: { rx } }", (h: unknown) => ({ cfg: { rx: h } }), ["cfg", "rx"]],
    ["20 entries in, in an array", (h: unknown) => [...Array(20).fill(0), h], ["20"]],
    ["10 deep", (h: unknown) => {
      let v = h;
      for (let i = 0; i < 10; i++) v = { v };
      return v;
    }, Array(10).fill("v")],
    ["inside a Map", (h: unknown) => ({ m: new Map([["k", h]]) }), [
      "m",
      "k",
    ]],
    // structuredClone copies these too (the walk once did not look there).
    ["in an array's other property", (h: unknown) => ({ a: Object.assign([1], { h }) }), [
      "a",
      "h",
    ]],
    ["as an Error's cause", (h: unknown) => ({ e: new Error("e", { cause: h }) }), [
      "e",
      "cause",
    ]],
    ["far into a sparse array", (h: unknown) => Object.assign(new Array(2 ** 31), { 7: h }), [
      "7",
    ]],
  ] as const
) {
  Deno.test(`a receiver posted ${name} to a plain worker is settled when it is terminated`, async () => {
    const [tx, rx] = channel<number>();
    const worker = await spawn("deep", undefined, { deep: wrap(rx.transfer()), path });
    worker.terminate();
    assert.throws(() => tx.sendSync(1), SendError);
  });
}

Deno.test("posting a live end to a plain worker is a DataCloneError naming transfer()", () => {
  const [tx] = channel<number>();
  const worker = new Worker(new URL("./workers/echo.ts", import.meta.url), { type: "module" });
  try {
    for (const message of [tx, { cfg: { tx } }, new Map([[1, [tx]]])]) {
      assert.throws(
        () => worker.postMessage(message),
        (e) =>
          e instanceof DOMException && e.name === "DataCloneError" &&
          /transfer\(\)/.test(e.message),
      );
    }
    tx.sendSync(1); // still usable
  } finally {
    worker.terminate();
  }
});

Deno.test("posting an end or a handle where structuredClone drops it is a DataCloneError", () => {
  const [tx, rx] = channel<number>();
  const worker = new Worker(new URL("./workers/echo.ts", import.meta.url), { type: "module" });
  const rxHandle = rx.transfer();
  try {
    for (
      const [message, what, where] of [
        [{ when: Object.assign(new Date(0), { tx }) }, "end", "a Date"],
        [[Object.assign(new Error("e"), { rx: rxHandle })], "handle", "an Error"],
        [new Set([Object.assign(new Uint8Array(1).buffer, { tx })]), "end", "an ArrayBuffer"],
      ] as const
    ) {
      assert.throws(
        () => worker.postMessage(message),
        (e) =>
          e instanceof DOMException && e.name === "DataCloneError" &&
          e.message.startsWith(`Cannot post this message: a channel ${what} is held by a `) &&
          e.message.includes(`property of ${where}, which structuredClone does not copy`),
      );
    }
    tx.sendSync(1); // still usable, and its receiver's handle still adoptable
    assert.equal(Receiver.from(rxHandle).recvSync(), 1);
  } finally {
    worker.terminate();
  }
});
