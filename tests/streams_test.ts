// Web Streams over channel ends (`rx.readable`, `tx.writable`; src/_streams.ts): pipes in and
// out, backpressure, the end of a stream at disconnection, cancel and abort closing the end (and
// taking or sending nothing after), errors, and a pipe through a spawned worker.
//
// Every await that could hang is bounded by the 30 s watchdog.
import assert from "node:assert/strict";
import {
  bytes,
  channel,
  type Codec,
  RecvError,
  SendError,
  spawn,
  syncChannel,
} from "@wasmring/mpsc";
import { readableOf } from "../src/_streams.ts";
import { delay, within } from "./workers/mpsc_harness.ts";

/** Lets pending async channel calls and stream steps run. */
async function tick(): Promise<void> {
  for (let i = 0; i < 3; i++) await delay(0);
}

/** Whether `p` is still pending after a few turns of the event loop. */
async function isPending(p: Promise<unknown>): Promise<boolean> {
  const PENDING = Symbol("pending");
  const settled = p.then(() => "fulfilled", () => "rejected");
  await tick();
  return await Promise.race([settled, Promise.resolve(PENDING)]) === PENDING;
}

/** `p` must reject with a `RecvError`. */
async function rejectsWithRecvError(p: Promise<unknown>, what: string): Promise<void> {
  await assert.rejects(within(p, what), (e: unknown) => {
    assert.ok(e instanceof RecvError, `expected a RecvError, got ${e}`);
    return true;
  });
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

Deno.test("pipeTo: a stream into tx.writable, then rx.readable read to its end", async () => {
  const [tx, rx] = channel<number>();
  await within(ReadableStream.from(range(100)).pipeTo(tx.writable), "the pipe");
  assert.equal(rx.senders, 0, "the end of the pipe closed the sender");
  assert.deepEqual(await within(Array.fromAsync(rx.readable), "the readable"), range(100));
  await assert.rejects(rx.recv(), /receiver was closed/, "the end of the stream closed rx");
});

Deno.test("readable and writable: the same stream every time", () => {
  const [tx, rx] = channel<number>();
  assert.equal(rx.readable, rx.readable);
  assert.equal(tx.writable, tx.writable);
  assert.ok(rx.readable instanceof ReadableStream);
  assert.ok(tx.writable instanceof WritableStream);
  tx.close();
  rx.close();
});

Deno.test("readable: takes a message only when a reader asks for one", async () => {
  const [tx, rx] = channel<number>();
  for (const n of [1, 2, 3]) tx.sendSync(n);
  const reader = rx.readable.getReader();
  await tick();
  assert.equal(tx.len, 3, "nothing is taken before a read");
  assert.deepEqual(await within(reader.read(), "a read"), { done: false, value: 1 });
  await tick();
  assert.equal(tx.len, 2, "one read, one message taken: no read-ahead");
  reader.releaseLock();
  assert.equal(await rx.recv(), 2, "a direct recv gets the next message");
  tx.close();
  rx.close();
});

Deno.test("backpressure: writes beyond a syncChannel(2)'s bound stay pending until read", async () => {
  const [tx, rx] = syncChannel<number>(2);
  const writer = tx.writable.getWriter();
  const writes = [1, 2, 3, 4].map((n) => writer.write(n));
  await within(Promise.all(writes.slice(0, 2)), "the writes with room");
  assert.ok(await isPending(writes[2]), "the third write waits for room");
  assert.ok(await isPending(writes[3]));
  assert.equal(tx.len, 2);
  assert.ok(writer.desiredSize !== null && writer.desiredSize <= 0, "the writer sees backpressure");
  const reader = rx.readable.getReader();
  assert.deepEqual(await within(reader.read(), "a read"), { done: false, value: 1 });
  await within(writes[2], "the third write, once a message was read");
  assert.ok(await isPending(writes[3]), "the fourth still waits");
  assert.equal(tx.len, 2);
  const closing = writer.close();
  for (const n of [2, 3, 4]) {
    assert.deepEqual(await within(reader.read(), "a read"), { done: false, value: n });
  }
  await within(closing, "the writer's close");
  assert.deepEqual(await within(reader.read(), "the end"), { done: true, value: undefined });
});

Deno.test("readable: ends once every sender is closed and every message taken", async () => {
  const [tx, rx] = channel<string>();
  const tx2 = tx.clone();
  tx.sendSync("a");
  tx.close();
  const reader = rx.readable.getReader();
  assert.deepEqual(await within(reader.read(), "a read"), { done: false, value: "a" });
  const pending = reader.read();
  assert.ok(await isPending(pending), "a sender is still open");
  tx2.sendSync("b");
  tx2.close();
  assert.deepEqual(await within(pending, "a read"), { done: false, value: "b" });
  assert.deepEqual(await within(reader.read(), "the end"), { done: true, value: undefined });
  await within(reader.closed, "the stream's closing");
});

Deno.test("cancel: closes the receiver, and the messages not read stay unread", async () => {
  const [tx, rx] = channel<number>();
  for (const n of [1, 2, 3]) tx.sendSync(n);
  const reader = rx.readable.getReader();
  assert.deepEqual(await within(reader.read(), "a read"), { done: false, value: 1 });
  await tick();
  assert.equal(tx.len, 2, "the two messages not read are still in the channel");
  await within(reader.cancel("done"), "the cancel");
  assert.equal(tx.isDisconnected, true);
  assert.throws(() => tx.sendSync(4), SendError);
  tx.close();
});

Deno.test("cancel: a read waiting for a message ends, and senders get SendError", async () => {
  const [tx, rx] = channel<number>();
  const reader = rx.readable.getReader();
  const read = reader.read();
  assert.ok(await isPending(read));
  await within(reader.cancel(), "the cancel");
  assert.deepEqual(await within(read, "the pending read"), { done: true, value: undefined });
  await assert.rejects(within(tx.send(1), "a send"), SendError);
  tx.close();
});

Deno.test("cancel: the recv in progress is aborted before the close, and takes nothing", async () => {
  // readableOf over the real receiver, with a close() that leaves it open, to look after it.
  const [tx, rx] = channel<number>();
  let signal: AbortSignal | undefined;
  let abortedAtClose: boolean | undefined;
  const stream = readableOf<number>({
    recv: (options) => {
      signal = options?.signal;
      return rx.recv(options);
    },
    close: () => abortedAtClose = signal?.aborted,
  });
  const reader = stream.getReader();
  const read = reader.read();
  assert.ok(await isPending(read));
  await within(reader.cancel(), "the cancel");
  assert.equal(abortedAtClose, true, "close() came after the abort");
  assert.deepEqual(await within(read, "the pending read"), { done: true, value: undefined });
  tx.sendSync(7);
  await tick(); // a recv still pending would take 7 now
  assert.deepEqual(rx.tryRecv(), { state: "ok", value: 7 }, "the aborted recv took nothing");
  tx.close();
  rx.close();
});

Deno.test("pipeTo into a destination that fails: cancels the readable, closes the receiver", async () => {
  const [tx, rx] = channel<number>();
  for (const n of [1, 2, 3]) tx.sendSync(n);
  const written: number[] = [];
  const failing = new WritableStream<number>({
    write(n) {
      written.push(n);
      if (n === 2) throw new Error("disk full");
    },
  });
  await assert.rejects(within(rx.readable.pipeTo(failing), "the pipe"), /disk full/);
  assert.deepEqual(written, [1, 2]);
  assert.equal(tx.isDisconnected, true);
  assert.throws(() => tx.sendSync(4), SendError);
  tx.close();
});

Deno.test("pipeThrough a TextEncoderStream: strings in, bytes out", async () => {
  const [tx, rx] = channel<string>();
  const [bytesTx, bytesRx] = channel<Uint8Array>({ codec: bytes });
  const piped = rx.readable.pipeThrough(new TextEncoderStream()).pipeTo(bytesTx.writable);
  const words = ["héllo", ", ", "wörld", "!"];
  for (const word of words) await tx.send(word);
  tx.close();
  await within(piped, "the pipe");
  const chunks = await within(Array.fromAsync(bytesRx.readable), "the bytes");
  assert.equal(chunks.length, words.length, "one chunk per message");
  const text = await new Response(ReadableStream.from(chunks)).text();
  assert.equal(text, words.join(""));
});

Deno.test("across a worker: a spawned worker pipes rx.readable through a transform into tx.writable", async () => {
  const [inTx, inRx] = syncChannel<number>(4);
  const [outTx, outRx] = syncChannel<number>(4);
  await using job = spawn<number>(new URL("./streams/doubler.ts", import.meta.url), {
    rx: inRx,
    tx: outTx,
  });
  const N = 1000;
  const fed = ReadableStream.from(range(N)).pipeTo(inTx.writable);
  const out = await within(Array.fromAsync(outRx.readable), "the doubled numbers");
  await within(fed, "the feeding pipe");
  assert.deepEqual(out, range(N).map((n) => 2 * n));
  assert.equal(await within(job.join(), "the worker"), N);
});

Deno.test("abort: closes the sender; the receiver drains, then gets RecvError", async () => {
  const [tx, rx] = syncChannel<number>(1);
  const writer = tx.writable.getWriter();
  await within(writer.write(1), "a write with room");
  const waiting = writer.write(2); // the channel is full: waits for room
  assert.ok(await isPending(waiting));
  await within(writer.abort(new Error("stop")), "the abort");
  await assert.rejects(within(waiting, "the waiting write"), /stop/);
  assert.equal(rx.senders, 0);
  assert.equal(await within(rx.recv(), "the message sent"), 1);
  await rejectsWithRecvError(rx.recv(), "disconnection");
  assert.equal(rx.len, 0, "the aborted write enqueued nothing");
  rx.close();
});

Deno.test("writable: a chunk the codec cannot encode errors the stream and closes the sender", async () => {
  const [tx, rx] = channel<unknown>();
  const writer = tx.writable.getWriter();
  await within(writer.write("fine"), "a write");
  await assert.rejects(
    within(writer.write(() => "a function"), "a bad write"),
    (e: unknown) => e instanceof DOMException && e.name === "DataCloneError",
  );
  await assert.rejects(within(writer.closed, "the writer's closing"), { name: "DataCloneError" });
  assert.equal(rx.senders, 0);
  assert.equal(await within(rx.recv(), "the message sent"), "fine");
  await rejectsWithRecvError(rx.recv(), "disconnection");
  rx.close();
});

Deno.test("writable: a SendError errors the stream", async () => {
  const [tx, rx] = channel<number>();
  rx.close();
  const writer = tx.writable.getWriter();
  await assert.rejects(within(writer.write(1), "a write"), (e: unknown) => {
    assert.ok(e instanceof SendError, `expected a SendError, got ${e}`);
    assert.equal(e.value, 1);
    return true;
  });
  await assert.rejects(within(writer.closed, "the writer's closing"), SendError);
});

Deno.test("readable: a message the codec cannot decode errors the stream and closes the receiver", async () => {
  const picky: Codec<number> = {
    name: "streams-test-picky",
    encode: (n) => new Uint8Array([n]),
    decode: (b) => {
      if (b[0] === 13) throw new RangeError("Cannot decode 13");
      return b[0];
    },
  };
  const [tx, rx] = channel<number>({ codec: picky });
  for (const n of [1, 13, 2]) tx.sendSync(n);
  const reader = rx.readable.getReader();
  assert.deepEqual(await within(reader.read(), "a read"), { done: false, value: 1 });
  await assert.rejects(within(reader.read(), "the bad read"), /Cannot decode 13/);
  assert.equal(tx.isDisconnected, true);
  assert.throws(() => tx.sendSync(3), SendError);
  tx.close();
});
