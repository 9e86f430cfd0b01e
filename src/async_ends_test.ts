// AsyncSender/AsyncReceiver (type level: local ends implement them) and pipe between local ends.
import assert from "node:assert/strict";
import { channel, RecvError, SendError, syncChannel } from "../mod.ts";
import { type AsyncReceiver, type AsyncSender, pipe } from "./async_ends.ts";

Deno.test("local Sender and Receiver implement AsyncSender and AsyncReceiver", () => {
  const [localTx, localRx] = channel<number>();
  // Type-level: these lines fail `deno check` if the local ends stop implementing the interfaces.
  const s: AsyncSender<number> = localTx;
  const r: AsyncReceiver<number> = localRx;
  assert.equal(typeof s.send, "function");
  assert.equal(typeof r.recv, "function");
  localTx.close();
  localRx.close();
});

Deno.test("pipe moves every message in order, then closes the destination", async () => {
  const [aTx, aRx] = channel<number>();
  const [bTx, bRx] = channel<number>();
  for (let i = 0; i < 100; i++) aTx.sendSync(i);
  aTx.close();
  assert.equal(await pipe(aRx, bTx), 100);
  assert.deepEqual([...bRx], Array.from({ length: 100 }, (_, i) => i));
  assert.throws(() => bRx.recvSync({ timeout: 0 }), RecvError);
  aRx.close();
});

Deno.test("pipe waits for room in a bounded destination (backpressure)", async () => {
  const [aTx, aRx] = channel<number>();
  const [bTx, bRx] = syncChannel<number>(2);
  for (let i = 0; i < 10; i++) aTx.sendSync(i);
  aTx.close();
  const piped = pipe(aRx, bTx);
  await new Promise((r) => setTimeout(r, 20));
  // Two in the destination, one in hand waiting for room: the source still holds the rest.
  assert.equal(bRx.len, 2);
  assert.equal(aRx.len, 7);
  const got: number[] = [];
  for await (const n of bRx) got.push(n);
  assert.equal(await piped, 10);
  assert.deepEqual(got, Array.from({ length: 10 }, (_, i) => i));
  aRx.close();
});

Deno.test("pipe stops on abort and leaves both ends open", async () => {
  const [aTx, aRx] = channel<number>();
  const [bTx, bRx] = channel<number>();
  const controller = new AbortController();
  const piped = pipe(aRx, bTx, { signal: controller.signal });
  aTx.sendSync(1);
  assert.equal(await bRx.recv(), 1);
  controller.abort(new Error("stop"));
  await assert.rejects(piped, /stop/);
  aTx.sendSync(2);
  assert.equal(aRx.recvSync(), 2);
  bTx.sendSync(3);
  assert.equal(bRx.recvSync(), 3);
  for (const end of [aTx, aRx, bTx, bRx]) end.close();
});

Deno.test("pipe rejects with SendError when the destination is gone", async () => {
  const [aTx, aRx] = channel<number>();
  const [bTx, bRx] = channel<number>();
  bRx.close();
  aTx.sendSync(5);
  await assert.rejects(pipe(aRx, bTx), (e) => e instanceof SendError && e.value === 5);
  for (const end of [aTx, aRx, bTx]) end.close();
});
