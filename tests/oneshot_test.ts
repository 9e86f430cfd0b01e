// oneshot() (issue 13): tokio's sync::oneshot tests ported (send/recv, drops on either side,
// try_recv before, after and without a value, cancel safety), the rules for adopting its
// handles, and its ends moving between threads with spawn, a worker's death included.
import assert from "node:assert/strict";
import {
  channel,
  oneshot,
  OneshotReceiver,
  type OneshotReceiverHandle,
  OneshotSender,
  type OneshotSenderHandle,
  Receiver,
  RecvError,
  Sender,
  SendError,
  spawn,
} from "../mod.ts";

const worker = new URL("./oneshot/worker.ts", import.meta.url);

Deno.test("send then recv: the value, once; the channel's memory goes back", async () => {
  const [tx, rx] = oneshot<{ n: number; at: Date }>();
  assert.equal(tx.isClosed, false);
  tx.send({ n: 1, at: new Date(5) });
  assert.equal(tx.isClosed, true, "done once it has sent");
  assert.deepEqual(await rx.recv(), { n: 1, at: new Date(5) });
  await assert.rejects(
    rx.recv(),
    (e: unknown) => e instanceof RecvError && /taken/.test(e.message),
  );
  assert.throws(() => rx.recvSync(), RecvError);
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
});

Deno.test("recv waiting, then send (tokio async_send_recv)", async () => {
  const [tx, rx] = oneshot<string>();
  const got = rx.recv();
  setTimeout(() => tx.send("later"), 5);
  assert.equal(await got, "later");
});

Deno.test("a sender dropped unsent: RecvError (tokio close_tx)", async () => {
  const [tx, rx] = oneshot<number>();
  const got = rx.recv();
  tx.close();
  await assert.rejects(got, (e: unknown) => e instanceof RecvError && e.reason === "closed");
  const [tx2, rx2] = oneshot<number>();
  {
    using _ = tx2; // disposed unsent
  }
  assert.throws(() => rx2.recvSync({ timeout: 1000 }), RecvError);
});

Deno.test("a receiver dropped: send throws SendError with the value (tokio close_rx)", () => {
  const [tx, rx] = oneshot<{ big: string }>();
  rx.close();
  assert.equal(tx.isClosed, true);
  const value = { big: "x" };
  assert.throws(() => tx.send(value), (e: unknown) => e instanceof SendError && e.value === value);
  assert.throws(() => tx.send(value), /Cannot send: this oneshot sender found its receiver gone/);
});

Deno.test("send twice: a TypeError, the first value stands", () => {
  const [tx, rx] = oneshot<number>();
  tx.send(1);
  assert.throws(
    () => tx.send(2),
    (e: unknown) => e instanceof TypeError && /has sent its value/.test(e.message),
  );
  assert.equal(rx.recvSync(), 1);
});

Deno.test("try_recv: empty, then the value, then disconnected (tokio try_recv_after_completion)", () => {
  const [tx, rx] = oneshot<string>();
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
  assert.deepEqual(rx.tryRecv(), { state: "empty" }, "empty does not finish it");
  tx.send("v");
  assert.deepEqual(rx.tryRecv(), { state: "ok", value: "v" });
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
  const [tx2, rx2] = oneshot<string>();
  tx2.close();
  assert.deepEqual(rx2.tryRecv(), { state: "disconnected" });
});

Deno.test("a receiver closed explicitly: send fails, using it is a TypeError (tokio explicit_close)", async () => {
  const [tx, rx] = oneshot<number>();
  rx.close();
  rx.close(); // idempotent
  assert.throws(() => tx.send(1), SendError);
  assert.throws(() => rx.tryRecv(), TypeError);
  await assert.rejects(rx.recv(), TypeError);
});

Deno.test("cancel safety: an aborted recv or a timed-out recvSync takes nothing", async () => {
  const [tx, rx] = oneshot<number>();
  const controller = new AbortController();
  const first = rx.recv({ signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(first, /stop/);
  assert.throws(
    () => rx.recvSync({ timeout: 5 }),
    (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
  );
  tx.send(9);
  assert.equal(await rx.recv(), 9, "the value is still there for the next receive");
});

Deno.test("a value the codec cannot encode: DataCloneError, nothing sent, the sender still sends", () => {
  const [tx, rx] = oneshot<unknown>();
  assert.throws(
    () => tx.send(() => 1),
    (e: unknown) => e instanceof DOMException && e.name === "DataCloneError",
  );
  assert.equal(tx.isClosed, false);
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
  tx.send("fine");
  assert.equal(rx.recvSync(), "fine");
});

Deno.test("handles: a oneshot end adopts only as one, a plain end never as one", () => {
  const [tx, rx] = oneshot<number>();
  const txh = tx.transfer();
  const rxh = rx.transfer();
  assert.equal(txh.oneshot, true);
  assert.throws(
    () => Sender.from(txh),
    /oneshot sender's handle; adopt it with OneshotSender.from/,
  );
  assert.throws(() => Receiver.from(rxh), /OneshotReceiver.from/);
  const [ptx, prx] = channel<number>();
  const ptxh = ptx.transfer();
  assert.throws(
    () => OneshotSender.from(ptxh as OneshotSenderHandle<number>),
    /channel's sender handle; adopt it with Sender.from/,
  );
  Sender.from(ptxh).close();
  prx.close();
  // The refused adoptions claimed nothing: the right ones work.
  const tx2 = OneshotSender.from(txh);
  const rx2 = OneshotReceiver.from(rxh as OneshotReceiverHandle<number>);
  tx2.send(3);
  assert.equal(rx2.recvSync(), 3);
  assert.throws(() => tx2.transfer(), /has sent its value/);
});

Deno.test("ends in spawn's data: a worker replies through a oneshot; a relay through two", async () => {
  const [reply, answer] = oneshot<number>();
  const job = spawn(worker, { mode: "square", n: 12, reply });
  assert.equal(await answer.recv(), 144);
  assert.equal(await job.join(), "replied");
  assert.throws(() => reply.send(1), TypeError, "moved into the worker");

  const [inTx, inRx] = oneshot<string>();
  const [outTx, outRx] = oneshot<string>();
  const relay = spawn(worker, { mode: "relay", from: inRx, to: outTx });
  inTx.send("hello");
  assert.equal(await outRx.recv(), "hello via a worker");
  assert.equal(await relay.join(), "relayed");
});

Deno.test("a oneshot receiver in a worker's result arrives usable", async () => {
  const job = spawn(worker, { mode: "return" });
  const { rx } = await job.join() as { rx: OneshotReceiver<string> };
  assert.ok(rx instanceof OneshotReceiver);
  assert.equal(await rx.recv(), "sent before the result");
});

Deno.test("the worker holding the sender is terminated: RecvError, reason died, no hang", async () => {
  const [reply, answer] = oneshot<number>();
  const job = spawn(worker, { mode: "hold", reply });
  const got = answer.recv();
  await new Promise((resolve) => setTimeout(resolve, 50));
  await job.terminate();
  await assert.rejects(got, (e: unknown) => e instanceof RecvError && e.reason === "died");
});

Deno.test("10,000 oneshots made, used and dropped in a loop", () => {
  for (let i = 0; i < 10_000; i++) {
    const [tx, rx] = oneshot<number>();
    tx.send(i);
    assert.equal(rx.recvSync(), i);
  }
});
