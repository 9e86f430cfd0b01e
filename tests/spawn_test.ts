// spawn() and JoinHandle (issue 12): ends moved into a worker at any depth, join() values and
// errors, and every end a spawned worker holds — however it got there — settled when it ends.
//
// spawn must not rely on the Deno workaround's wrappers on Worker.prototype (src/_deno_35657.ts):
// this file puts the originals back as soon as the library has installed them, so every test
// here runs without them.
import assert from "node:assert/strict";
import {
  channel,
  type EndHandle,
  type JoinHandle,
  Receiver,
  RecvError,
  Sender,
  SendError,
  spawn,
  syncChannel,
} from "../mod.ts";
import type { Death, Path, PeerData } from "./spawn/peer.ts";
import { nest } from "./spawn/peer.ts";

const original = {
  postMessage: Worker.prototype.postMessage,
  terminate: Worker.prototype.terminate,
};
channel()[0].close(); // installs the wrappers (on Deno)…
Object.assign(Worker.prototype, original); // …and this undoes them

const peer = new URL("./spawn/peer.ts", import.meta.url);
const forwarder = new URL("./spawn/forwarder.ts", import.meta.url);
const hello = new URL("./spawn/hello.ts", import.meta.url);

Deno.test("the wrappers on Worker.prototype are undone for this file", () => {
  assert.equal(Worker.prototype.postMessage, original.postMessage);
  assert.equal(Worker.prototype.terminate, original.terminate);
});

Deno.test("hello: a sender moved into a worker, its result joined, then disconnection", async () => {
  const [tx, rx] = channel<string>();
  const worker = spawn<number>(hello, { tx });
  assert.throws(() => tx.sendSync("here"), /transferred/);
  assert.equal(await rx.recv(), "Hello from the worker!");
  assert.equal(await worker.join(), 42);
  assert.equal(await worker.join(), 42, "join() can be called again");
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
});

/** Waits until the peer says it holds its end. */
async function ready(words: Int32Array): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (Atomics.load(words, 0) === 0) {
    if (performance.now() > deadline) throw new Error("the peer never got its end");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** Starts a peer that gets the end of `kind` of a fresh bound-1 channel by `path`. */
async function start(path: Path, death: Death, kind: "sender" | "receiver") {
  const [tx, rx] = syncChannel<number>(1);
  const end = kind === "sender" ? tx : rx;
  const mine = kind === "sender" ? rx : tx;
  const words = new Int32Array(new SharedArrayBuffer(8));
  const data: PeerData = { path, death, words };
  const extra: JoinHandle<string>[] = [];
  let job: JoinHandle<string>;
  if (path === "data") {
    data.end = end;
    job = spawn(peer, data);
  } else if (path === "port" || path === "forward") {
    const { port1, port2 } = new MessageChannel();
    data.port = port2;
    job = spawn(peer, data, { transfer: [port2] });
    if (path === "port") {
      port1.postMessage(end.transfer());
    } else {
      // The second worker gets the handle posted, and forwards it on port1 without adopting it.
      const fwd = spawn<string>(forwarder, { port: port1, words }, { transfer: [port1] });
      extra.push(fwd);
      fwd.worker.postMessage(end.transfer());
    }
  } else {
    const handle = end.transfer();
    job = spawn(peer, data);
    job.worker.postMessage(
      path === "map" ? new Map([["end", handle]]) : nest(handle, Number(path.slice(4))),
    );
  }
  await ready(words);
  for (const other of extra) assert.equal(await other.join(), "forwarded");
  return { job, mine, extra };
}

/** Ends the peer as `death` says, and checks what join() says. */
async function end(job: JoinHandle<string>, death: Death): Promise<void> {
  switch (death) {
    case "idle":
    case "blocked":
    case "polling":
      await job.terminate();
      await assert.rejects(job.join(), (e) => e instanceof DOMException && e.name === "AbortError");
      return;
    case "selfclose":
      await assert.rejects(job.join(), /closed itself/);
      return;
    case "throw":
      await assert.rejects(job.join(), /the peer fails/);
      return;
    case "return":
      assert.equal(await job.join(), "returned");
      return;
    case "reject":
      await assert.rejects(job.join(), RangeError);
      return;
  }
}

/**
 * The peer's end is settled: its channel says so to the end kept here, at once, and says
 * whether the peer closed it or died holding it.
 */
function assertSettled(mine: Sender<number> | Receiver<number>, death: Death): void {
  const reason = death === "selfclose" || death === "return" ? "closed" : "died";
  if (mine instanceof Receiver) {
    // Drain what the peer sent (a blocked sender filled the channel), then disconnection.
    for (let i = 0; i < 3; i++) {
      try {
        mine.recvSync({ timeout: 0 });
      } catch (e) {
        assert.ok(e instanceof RecvError, `disconnected, not ${e}`);
        assert.equal(e.reason, reason);
        return;
      }
    }
    assert.fail("the receiver never saw disconnection");
  } else {
    assert.throws(
      () => mine.sendSync(1, { timeout: 0 }),
      (e) => e instanceof SendError && e.reason === reason,
    );
  }
}

const paths: Path[] = ["data", "post0", "post1", "post3", "post10", "map", "port", "forward"];
const deaths: Death[] = ["idle", "blocked", "polling", "selfclose", "throw", "return", "reject"];
for (const path of paths) {
  for (const death of deaths) {
    for (const kind of ["sender", "receiver"] as const) {
      Deno.test(`a ${kind} that reached a spawned worker by ${path} is settled when it ends by ${death}`, async () => {
        const { job, mine } = await start(path, death, kind);
        await end(job, death);
        assertSettled(mine, death);
      });
    }
  }
}

Deno.test("a handle whose forwarder ends before anyone adopts it is closed, and says so", async () => {
  const [tx, rx] = channel<number>();
  const { port1, port2 } = new MessageChannel();
  const fwd = spawn(forwarder, { port: port1 }, { transfer: [port1] });
  fwd.worker.postMessage(tx.transfer());
  assert.equal(await fwd.join(), "forwarded");
  const handle = await new Promise<EndHandle & { kind: "sender" }>((resolve) => {
    port2.onmessage = (e) => resolve(e.data);
  });
  port2.close();
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
  assert.throws(() => Sender.from(handle), /ended before anyone adopted it/);
});

const misc = new URL("./spawn/misc.ts", import.meta.url);

Deno.test("join() gives an async function's result, cloned", async () => {
  const result = await spawn(misc, { mode: "async", a: 2, b: 3 }).join();
  assert.deepEqual(result, { sum: 5, at: new Date(0), map: new Map([[1, "one"]]) });
});

Deno.test("join() rejects with the worker's error, its class kept", async () => {
  await assert.rejects(spawn(misc, { mode: "typeerror", what: "x" }).join(), {
    name: "TypeError",
    message: "bad input: x",
  });
});

Deno.test("join() rejects with DataCloneError when the result cannot be cloned", async () => {
  await assert.rejects(
    spawn(misc, { mode: "uncloneable" }).join(),
    (e) => e instanceof DOMException && e.name === "DataCloneError",
  );
});

Deno.test("a module without a default export function: join() says so", async () => {
  const url = new URL("./spawn/no_default.ts", import.meta.url);
  await assert.rejects(spawn(url).join(), /default export is missing/);
});

Deno.test("ends deep in arrays, objects, Maps and Sets arrive adopted", async () => {
  const [tx, back] = channel<string>();
  const [out, rx] = channel<string>();
  let node: Record<string, unknown> = { set: new Set([new Map([["tx", tx]])]), rx };
  for (let i = 0; i < 8; i++) node = { next: [node] };
  const job = spawn(misc, { mode: "deep", root: node });
  out.sendSync("hi");
  assert.equal(back.recvSync({ timeout: 10_000 }), "got hi");
  assert.equal(await job.join(), "deep");
  assert.deepEqual(back.tryRecv(), { state: "disconnected" });
  assert.throws(() => out.sendSync("again"), SendError);
});

Deno.test("the data's shared references and cycles survive the move", async () => {
  const [tx] = channel<string>();
  const shared = { tx };
  const cycle: Record<string, unknown> = { a: shared, b: shared };
  cycle.self = cycle;
  // structuredClone keeps identity; the worker gets one adopted sender, reachable twice.
  const job = spawn(misc, { mode: "async", a: 1, b: 1, cycle });
  assert.deepEqual(await job.join(), { sum: 2, at: new Date(0), map: new Map([[1, "one"]]) });
  assert.equal(cycle.self, cycle, "the caller's data is not modified");
  assert.equal(cycle.a, shared);
});

Deno.test("an end that cannot move is a TypeError, and nothing moves", () => {
  const [tx, rx] = channel<number>();
  const [closed] = channel<number>();
  closed.close();
  assert.throws(
    () => spawn(misc, { mode: "wait", rx, closed }),
    /Cannot spawn: this sender was closed/,
  );
  tx.sendSync(1);
  assert.equal(rx.recvSync(), 1, "the receiver did not move");
});

Deno.test("data that cannot be cloned is a DataCloneError, and nothing moves", () => {
  const [tx, rx] = channel<number>();
  const { port1 } = new MessageChannel();
  for (const bad of [() => 1, port1]) {
    assert.throws(
      () => spawn(misc, { mode: "wait", rx, bad }),
      (e) => e instanceof DOMException && e.name === "DataCloneError",
    );
  }
  port1.close();
  tx.sendSync(1);
  assert.equal(rx.recvSync(), 1, "the receiver did not move");
});

Deno.test("a relative string module is a TypeError that says to pass a URL", () => {
  assert.throws(() => spawn("./spawn/misc.ts"), /new URL\("\.\/worker\.ts", import\.meta\.url\)/);
});

Deno.test("a custom codec travels by name when both threads register it", async () => {
  const { point } = await import("./spawn/point_codec.ts");
  const [tx, rx] = channel({ codec: point });
  const job = spawn(misc, { mode: "point", tx });
  assert.deepEqual(await rx.recv(), { x: 1.5, y: -2 });
  assert.equal(await job.join(), "sent");
});

Deno.test("an unregistered custom codec is a TypeError in the worker, never garbled data", async () => {
  const { point } = await import("./spawn/point_codec.ts");
  const [tx, rx] = channel({ codec: point });
  const job = spawn(new URL("./spawn/no_codec.ts", import.meta.url), { tx });
  await assert.rejects(
    job.join(),
    (e) => e instanceof TypeError && /registerCodec/.test(e.message),
  );
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" }, "the end was settled");
});

Deno.test("join({ signal }) stops waiting; the worker runs on", async () => {
  const [tx, rx] = channel<string>();
  const job = spawn<string>(misc, { mode: "wait", rx });
  const controller = new AbortController();
  const joined = job.join({ signal: controller.signal });
  controller.abort(new Error("enough"));
  await assert.rejects(joined, /enough/);
  tx.sendSync("now");
  assert.equal(await job.join(), "now");
});

Deno.test("await using terminates the worker and settles its ends", async () => {
  const [tx, rx] = channel<string>();
  {
    await using _job = spawn<string>(misc, { mode: "wait", rx });
  }
  assert.throws(() => tx.sendSync("late"), SendError);
});

Deno.test("spawn works inside a spawned worker", async () => {
  const [tx, rx] = channel<string>();
  const job = spawn<number>(misc, { mode: "nested", tx });
  assert.equal(await rx.recv(), "Hello from the worker!");
  assert.equal(await job.join(), 42);
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
});

Deno.test("the ends of a channel made in a spawned worker are settled when it is terminated", async () => {
  const words = new Int32Array(new SharedArrayBuffer(4));
  const job = spawn(misc, { mode: "made-here", words });
  const handle = await new Promise<EndHandle & { kind: "sender" }>((resolve) => {
    job.worker.onmessage = (e) => resolve(e.data);
  });
  const tx = Sender.from<number>(handle);
  tx.sendSync(1);
  await job.terminate();
  assert.throws(() => tx.sendSync(2, { timeout: 0 }), SendError);
});

Deno.test("posting a live end to a spawned worker is a DataCloneError naming transfer()", () => {
  const [tx] = channel<number>();
  const job = spawn(misc, { mode: "async", a: 0, b: 0 });
  assert.throws(
    () => job.worker.postMessage({ tx }),
    (e) =>
      e instanceof DOMException && e.name === "DataCloneError" && /transfer\(\)/.test(e.message),
  );
  tx.sendSync(1); // still usable
  return job.terminate();
});

Deno.test("worker.terminate() on a spawned worker is JoinHandle.terminate()", async () => {
  const [tx, rx] = channel<string>();
  const job = spawn<string>(misc, { mode: "wait", rx });
  job.worker.terminate();
  await assert.rejects(job.join(), (e) => e instanceof DOMException && e.name === "AbortError");
  assert.throws(() => tx.sendSync("late"), SendError);
});

Deno.test("a module that fails to load: join() rejects, the ends in its data are settled", async () => {
  const [tx, rx] = channel<number>();
  const job = spawn(new URL("./spawn/no_such_module.ts", import.meta.url), { tx });
  await assert.rejects(job.join());
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
});

Deno.test("messages posted right after spawn reach the function's listeners, in order", async () => {
  const [tx, rx] = channel<string>();
  const job = spawn(misc, { mode: "echo", tx });
  for (const word of ["one", "two", "three"]) job.worker.postMessage(word);
  assert.deepEqual([await rx.recv(), await rx.recv(), await rx.recv()], ["one", "two", "three"]);
  await job.terminate();
});
