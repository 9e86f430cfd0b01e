// Channel ends carried inside messages (issue 13): `jobs.send({ n, reply })` moves `reply` with
// the message to the thread that receives it, at any depth; an end in a message that is never
// received is closed when its channel's receiver goes; ownership follows the end; an end that
// cannot travel is a DataCloneError before anything is enqueued.
import assert from "node:assert/strict";
import {
  channel,
  ChannelCorruptedError,
  oneshot,
  type OneshotReceiver,
  type OneshotSender,
  Receiver,
  RecvError,
  Sender,
  SendError,
  spawn,
  structured,
  syncChannel,
} from "../mod.ts";

const worker = new URL("./ends/worker.ts", import.meta.url);

Deno.test("in one thread: an end at any depth arrives usable; the sent object is moved", () => {
  const [jobs, jobsRx] = channel<unknown>();
  const [replyTx, replyRx] = channel<number>();
  const [otherTx, otherRx] = channel<string>();
  jobs.sendSync({
    n: 7,
    deep: [new Map([["k", new Set([replyTx])]])],
    err: new Error("e", { cause: otherRx }),
  });
  assert.throws(() => replyTx.sendSync(1), /this sender was transferred/);
  const job = jobsRx.recvSync() as {
    n: number;
    deep: Map<string, Set<Sender<number>>>[];
    err: Error & { cause: Receiver<string> };
  };
  const reply = [...job.deep[0].get("k")!][0];
  assert.ok(reply instanceof Sender);
  reply.sendSync(job.n * job.n);
  assert.equal(replyRx.recvSync(), 49);
  assert.ok(job.err.cause instanceof Receiver);
  otherTx.sendSync("through the cause");
  assert.equal(job.err.cause.recvSync(), "through the cause");
  for (const end of [reply, replyRx, otherTx, job.err.cause, jobs, jobsRx]) end.close();
});

Deno.test("the same end twice in a message arrives as one object", () => {
  const [c, cr] = channel<Sender<number>[]>();
  const [tx, rx] = channel<number>();
  c.sendSync([tx, tx]);
  const [a, b] = cr.recvSync();
  assert.equal(a, b);
  a.sendSync(1);
  a.close();
  assert.equal(rx.recvSync(), 1);
  assert.throws(() => rx.recvSync(), RecvError, "one end, closed once: disconnected");
});

Deno.test("a receiver closed with messages that carry ends: those ends are closed", () => {
  const [t, r] = channel<number>();
  const [t2, r2] = channel<number>();
  const [c, cr] = channel<unknown>();
  c.sendSync({ r }); // a receiver in flight
  c.sendSync({ t2 }); // a sender in flight
  cr.close();
  assert.throws(() => t.sendSync(1), SendError, "its receiver was closed");
  assert.throws(() => r2.recvSync({ timeout: 1000 }), RecvError, "its only sender was dropped");
  t.close();
  c.close();
});

Deno.test("a send that fails gives the ends back: SendError, abort, timeout", async () => {
  const [t, r] = channel<number>();
  // SendError: the carrier's receiver is gone.
  const [c, cr] = channel<unknown>();
  cr.close();
  assert.throws(() => c.sendSync({ t }), SendError);
  t.sendSync(1);
  assert.equal(r.recvSync(), 1);
  // Aborted while a bounded channel is full: lent meanwhile, usable after.
  const [bt, br] = syncChannel<unknown>(1);
  bt.sendSync(0);
  const controller = new AbortController();
  const pending = bt.send({ t }, { signal: controller.signal });
  assert.throws(() => t.sendSync(2), /inside a message being sent/);
  controller.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  t.sendSync(2);
  assert.equal(r.recvSync(), 2);
  // Timed out.
  assert.throws(
    () => bt.sendSync({ t }, { timeout: 5 }),
    (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
  );
  t.sendSync(3);
  assert.equal(r.recvSync(), 3);
  // trySend on a full channel: false, the end stays.
  assert.equal(bt.trySend({ t }), false);
  t.sendSync(4);
  assert.equal(r.recvSync(), 4);
  assert.equal(br.recvSync(), 0);
  for (const end of [t, r, c, bt, br]) end.close();
});

Deno.test("an end that cannot travel: DataCloneError or TypeError, nothing enqueued", () => {
  const [c, cr] = channel<unknown>();
  const [iso, isoRx] = channel<unknown>({ isolated: true });
  const [t, r] = channel<number>();
  assert.throws(
    () => iso.sendSync({ t }),
    (e: unknown) =>
      e instanceof DOMException && e.name === "DataCloneError" && /isolated/.test(e.message),
  );
  const [it, ir] = channel<number>({ isolated: true });
  assert.throws(
    () => c.sendSync({ it }),
    (e: unknown) =>
      e instanceof DOMException && e.name === "DataCloneError" && /another arena/.test(e.message),
  );
  t.close();
  assert.throws(() => c.sendSync({ t }), /this sender was closed/);
  assert.throws(() => c.sendSync({ r, t }), /this sender was closed/);
  assert.deepEqual(cr.tryRecv(), { state: "empty" }, "nothing enqueued");
  assert.throws(() => r.recvSync({ timeout: 0 }), RecvError, "r was given back, usable");
  it.sendSync(1);
  assert.equal(ir.recvSync(), 1);
  for (const end of [c, cr, iso, isoRx, r, it, ir]) end.close();
});

Deno.test("a worker serves jobs, replying through the end each job carries", async () => {
  const [jobs, jobsRx] = channel<{ n: number; reply: Sender<number> }>();
  const job = spawn(worker, { mode: "square", jobs: jobsRx });
  const replies: Receiver<number>[] = [];
  for (let n = 0; n < 100; n++) {
    const [reply, answer] = channel<number>();
    jobs.sendSync({ n, reply });
    replies.push(answer);
  }
  jobs.close();
  for (let n = 0; n < 100; n++) {
    assert.equal(await replies[n].recv(), n * n);
    await assert.rejects(replies[n].recv(), RecvError, "the worker closed it");
  }
  assert.equal(await job.join(), 100);
});

Deno.test("oneshot replies through a worker", async () => {
  const [jobs, jobsRx] = channel<{ n: number; reply: OneshotSender<number> }>();
  const job = spawn(worker, { mode: "oneshot", jobs: jobsRx });
  for (let n = 0; n < 50; n++) {
    const [reply, answer] = oneshot<number>();
    jobs.sendSync({ n, reply });
    assert.equal(await answer.recv(), n + 1);
  }
  jobs.close();
  assert.equal(await job.join(), 50);
});

Deno.test("a worker's own channel: its receiver travels up in a message of the shared arena", async () => {
  const [up, upRx] = channel<{ rx: Receiver<string> }>();
  const job = spawn(worker, { mode: "make", up });
  const { rx } = await upRx.recv();
  assert.deepEqual([...rx], ["made 0", "made 1", "made 2"]);
  assert.equal(await job.join(), "made");
});

Deno.test("an end passed on through three workers", async () => {
  const links = [channel<{ path: string[]; tx: Sender<string> }>()];
  for (let i = 0; i < 3; i++) links.push(channel());
  const jobs = ["a", "b", "c"].map((name, i) =>
    spawn(worker, { mode: "forward", name, from: links[i][1], to: links[i + 1][0] })
  );
  const [tx, rx] = channel<string>();
  links[0][0].sendSync({ path: [], tx });
  const last = await links[3][1].recv();
  assert.deepEqual(last.path, ["a", "b", "c"]);
  last.tx.sendSync("came back");
  last.tx.close();
  assert.deepEqual([...rx], ["came back"]);
  assert.deepEqual(await Promise.all(jobs.map((job) => job.join())), ["a", "b", "c"]);
});

Deno.test("the worker that took an end is terminated: the end is settled with it", async () => {
  const [c, cr] = channel<unknown>();
  const [ready, readyRx] = channel<string>();
  const job = spawn(worker, { mode: "hold", from: cr, ready });
  const [tx, rx] = channel<number>();
  c.sendSync({ tx });
  assert.equal(await readyRx.recv(), "holding");
  const got = rx.recv();
  await job.terminate();
  await assert.rejects(got, (e: unknown) => e instanceof RecvError && e.reason === "died");
});

Deno.test("a worker holding 600 ends it received (3 tables of slots) is terminated: all settled", async () => {
  const [c, cr] = channel<{ tx: Sender<number> }>();
  const [ready, readyRx] = channel<string>();
  const job = spawn(worker, { mode: "hoard", from: cr, ready, count: 600 });
  const receivers: Receiver<number>[] = [];
  for (let i = 0; i < 600; i++) {
    const [tx, rx] = channel<number>();
    c.sendSync({ tx });
    receivers.push(rx);
  }
  assert.equal(await readyRx.recv(), "hoarding");
  await job.terminate();
  for (const rx of receivers) {
    assert.throws(
      () => rx.recvSync({ timeout: 1000 }),
      (e: unknown) => e instanceof RecvError && e.reason === "died",
    );
  }
  c.close();
});

Deno.test("the worker holding a receiver dies: the ends in flight in its channel are closed", async () => {
  const [jobs, jobsRx] = channel<{ reply: OneshotSender<number> }>();
  const [ready, readyRx] = channel<string>();
  const job = spawn(worker, { mode: "stuck", jobs: jobsRx, ready });
  assert.equal(await readyRx.recv(), "stuck");
  const answers: OneshotReceiver<number>[] = [];
  for (let i = 0; i < 20; i++) {
    const [reply, answer] = oneshot<number>();
    jobs.sendSync({ reply });
    answers.push(answer);
  }
  await job.terminate();
  for (const answer of answers) await assert.rejects(answer.recv(), RecvError);
  jobs.close();
});

Deno.test("a worker with narrower permissions has an arena of its own: its ends stay there", async () => {
  const [up, upRx] = channel<unknown>({ isolated: true });
  const job = spawn(worker, { mode: "sandboxed", up }, { deno: { permissions: "none" } });
  assert.match(String(await job.join()), /^DataCloneError: .*in another arena/);
  upRx.close();
});

/** Where `end`'s channel is (from a clone's handle), to find its entry in a message. */
function whereIs(end: Sender<number>): { memory: WebAssembly.Memory; offset: number; gen: number } {
  const handle = end.clone().transfer();
  Sender.from(handle).close();
  return { memory: handle.memory, offset: handle.offset, gen: handle.generation };
}

/** The ends-table entry in flight for the channel at `offset` (of `gen`): its state's index. */
function entryState(memory: WebAssembly.Memory, offset: number, gen: number): number {
  const i32 = new Int32Array(memory.buffer);
  for (let i = 0; i + 2 < i32.length; i++) {
    if (i32[i] === 1 && i32[i + 1] === offset && i32[i + 2] === gen) return i;
  }
  throw new Error("no entry in flight found");
}

Deno.test("ends nested 20 channels deep in undelivered messages are closed", () => {
  // c[i] carries c[i+1]'s receiver; the last one carries a sender whose receiver waits.
  const [tx, rx] = channel<number>();
  const chans = Array.from({ length: 20 }, () => channel<unknown>());
  chans[19][0].sendSync({ tx });
  for (let i = 18; i >= 0; i--) chans[i][0].sendSync({ rx: chans[i + 1][1] });
  for (const [t] of chans) t.close();
  chans[0][1].close();
  assert.throws(() => rx.recvSync({ timeout: 1000 }), RecvError);
});

Deno.test("an entry's state written over: ChannelCorruptedError; its ends closed with the receiver", () => {
  const [c, cr] = channel<unknown>();
  const [t, r] = channel<number>();
  const [t2, r2] = channel<number>();
  const { memory, offset, gen } = whereIs(t);
  c.sendSync({ t, t2 });
  // Marked dropped while the receiver is open: only a write puts it there.
  const i32 = new Int32Array(memory.buffer);
  Atomics.store(i32, entryState(memory, offset, gen), 3);
  assert.throws(() => cr.recvSync({ timeout: 100 }), ChannelCorruptedError);
  cr.close(); // its scan drops what is still in flight: t2's sender
  assert.throws(() => r2.recvSync({ timeout: 1000 }), RecvError, "t2 was closed with the channel");
  // t's entry, written over, is lost: its receiver keeps waiting (the one end a write cost).
  assert.throws(
    () => r.recvSync({ timeout: 10 }),
    (e: unknown) => e instanceof DOMException && e.name === "TimeoutError",
  );
  c.close();
  r.close();
});

Deno.test("close() on an end lent to a pending send: done when the send fails and gives it back", async () => {
  const [bt, br] = syncChannel<unknown>(1);
  bt.sendSync(0);
  const [t, r] = channel<number>();
  const controller = new AbortController();
  const pending = bt.send({ t }, { signal: controller.signal });
  t.close(); // lent: closed once it comes back
  controller.abort(new Error("stop"));
  await assert.rejects(pending, /stop/);
  assert.throws(() => t.sendSync(1), /this sender was closed/);
  assert.throws(() => r.recvSync({ timeout: 1000 }), RecvError);
  for (const end of [bt, br, r]) end.close();
});

Deno.test("a message carries at most MAX_ENDS ends: more is a DataCloneError, every end usable", () => {
  const [c, cr] = channel<unknown>();
  const ends = Array.from({ length: 4097 }, () => channel<number>());
  assert.throws(
    () => c.sendSync(ends.map(([t]) => t)),
    (e: unknown) =>
      e instanceof DOMException && e.name === "DataCloneError" && /at most 4096/.test(e.message),
  );
  ends[4096][0].sendSync(1);
  assert.equal(ends[4096][1].recvSync(), 1);
  for (const [t, r] of ends) {
    t.close();
    r.close();
  }
  c.close();
  cr.close();
});

Deno.test("spawn with narrower permissions refuses an end of this thread's arena", () => {
  const [up, upRx] = channel<unknown>();
  assert.throws(
    () => spawn(worker, { mode: "sandboxed", up }, { deno: { permissions: "none" } }),
    (e: unknown) => e instanceof TypeError && /narrower permissions/.test(e.message),
  );
  up.sendSync("still here");
  assert.equal(upRx.recvSync(), "still here");
  up.close();
  upRx.close();
});

Deno.test("a channel a worker's module makes at its top level is the worker's: settled as it ends", async () => {
  const [up, upRx] = channel<{ rx: Receiver<number> }>();
  const job = spawn(new URL("./spawn/top_level.ts", import.meta.url), { up });
  const { rx } = await upRx.recv(); // it travelled in a message: the worker shares this arena
  assert.equal(await job.join(), "made at the top level");
  assert.equal(rx.recvSync(), 1);
  assert.throws(() => rx.recvSync({ timeout: 1000 }), RecvError, "its sender was closed");
  upRx.close();
});

Deno.test("an entry written over after one adopted: the adopted end is closed, not left counted", () => {
  const [c, cr] = channel<unknown>();
  const [t, r] = channel<number>();
  const [t2, r2] = channel<number>();
  const second = whereIs(t2);
  c.sendSync({ t, t2 });
  // The second entry's channel word written over: its check fails after the first was taken.
  const i32 = new Int32Array(second.memory.buffer);
  const state = entryState(second.memory, second.offset, second.gen);
  Atomics.store(i32, state + 1, second.offset + 64);
  assert.throws(() => cr.recvSync({ timeout: 100 }), ChannelCorruptedError);
  assert.throws(() => r.recvSync({ timeout: 1000 }), RecvError, "t was adopted, then closed");
  cr.close();
  c.close();
  r2.close();
});

Deno.test("a codec that encodes the value twice: each end is carried once", () => {
  const twice = {
    name: "structured-twice",
    encode(value: unknown) {
      structured.encode(value); // measured first, say: it meets the same ends
      return structured.encode(value).slice();
    },
    decode: (bytes: Uint8Array) => structured.decode(bytes),
  };
  const [c, cr] = channel<{ t: Sender<number> }>({ codec: twice });
  const [t, r] = channel<number>();
  c.sendSync({ t });
  const { t: got } = cr.recvSync();
  got.sendSync(5);
  got.close();
  assert.equal(r.recvSync(), 5);
  assert.throws(() => r.recvSync({ timeout: 1000 }), RecvError);
  c.close();
  cr.close();
});
