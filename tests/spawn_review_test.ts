// Regressions found by reviewing spawn (issue 12), with the library as a user gets it on Deno:
// the workaround's wrappers on Worker.prototype installed (tests/spawn_test.ts runs without).
import assert from "node:assert/strict";
import { channel, type Codec, RecvError, Sender, SendError, spawn } from "../mod.ts";
import { belowCount } from "../src/_thread.ts";
import { nextReply } from "./_helpers/workers.ts";

const misc = new URL("./spawn/misc.ts", import.meta.url);

async function ready(words: Int32Array): Promise<void> {
  for (let i = 0; Atomics.load(words, 0) === 0; i++) {
    if (i > 5000) throw new Error("the worker never got ready");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

Deno.test("a spawn that fails to post its data moves nothing and closes nothing", () => {
  const [tx, rx] = channel<number>();
  const [tx2, rx2] = channel<number>();
  assert.throws(
    () => spawn(misc, { onDone: () => {}, tx, rx2 }),
    (e) => e instanceof DOMException && e.name === "DataCloneError",
  );
  tx.sendSync(1);
  assert.equal(rx.recvSync(), 1);
  tx2.sendSync(2);
  assert.equal(rx2.recvSync(), 2);
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
});

Deno.test("the ends of a worker's own workers are settled when it is terminated", async () => {
  const [tx, rx] = channel<number>();
  const words = new Int32Array(new SharedArrayBuffer(8));
  const middle = spawn(misc, { mode: "middle", end: tx, words });
  await ready(words); // the grandchild holds the sender
  await middle.terminate();
  const error = await rx.recv().catch((e) => e);
  assert.ok(error instanceof RecvError && error.reason === "died", String(error));
});

Deno.test("an end a grandchild adopted from a port is settled when its blocked parent is terminated", async () => {
  // The grandchild reports the end it adopted to every thread above it, not only to its parent,
  // which is blocked and could pass nothing on before it is terminated.
  const [tx, rx] = channel<number>();
  const words = new Int32Array(new SharedArrayBuffer(8));
  const { port1, port2 } = new MessageChannel();
  const middle = spawn(misc, { mode: "relay-middle", port: port2, words }, { transfer: [port2] });
  port1.postMessage(tx.transfer());
  await ready(words); // the grandchild holds the sender
  await middle.terminate();
  port1.close();
  const error = await Promise.race([
    rx.recv().catch((e) => e),
    new Promise((resolve) => setTimeout(() => resolve("still waiting after 5 s"), 5000)),
  ]);
  assert.ok(error instanceof RecvError && error.reason === "died", String(error));
});

Deno.test("threads above forget a worker's workers once they are settled", async () => {
  // A long-lived worker that spawns and joins many short-lived ones must not make the threads
  // above it keep a port and an entry for each.
  const words = new Int32Array(new SharedArrayBuffer(8));
  const job = spawn(misc, { mode: "spawn-many", count: 3, words });
  await ready(words);
  for (let i = 0; belowCount() > 1 && i < 500; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.equal(belowCount(), 1, "the threads below the worker are still remembered here");
  await job.terminate();
  assert.equal(belowCount(), 0);
});

Deno.test("a handle a worker made with transfer() and never posted is closed when it returns", async () => {
  const [tx, rx] = channel<number>();
  const job = spawn<string>(misc, { mode: "transfer-unsent", tx });
  assert.equal(await job.join(), "kept");
  const error = await Promise.race([
    rx.recv().catch((e) => e),
    new Promise((resolve) => setTimeout(() => resolve("still waiting after 5 s"), 5000)),
  ]);
  assert.ok(error instanceof RecvError, String(error));
});

Deno.test("a step inside an uncuttable step runs, though the thread was cut meanwhile", async () => {
  // The outer step holds BUSY, so the ender waits for it: skipping the inner step (settling ends
  // posted to a worker that had ended) would leave them counted.
  const worker = new Worker(new URL("./fixtures/uncut_nested.ts", import.meta.url), {
    type: "module",
  });
  try {
    assert.deepEqual(await nextReply(worker), { result: "inner ran", busy: 0 });
  } finally {
    worker.terminate();
  }
});

Deno.test("a worker holds its function's data until the function settles, garbage collected or not", async () => {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-check",
      "--v8-flags=--expose-gc",
      new URL("./fixtures/hold_data_main.ts", import.meta.url).pathname,
    ],
  }).output();
  const out = new TextDecoder().decode(stdout).trim().split("\n");
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  assert.deepEqual(out, ["empty", "died"], "the sender was closed while its worker lived");
});

Deno.test("terminate() lets a worker finish a step it must not be stopped in", async () => {
  // Adopting an end and reporting it, or settling its own ends: stopped halfway, the worker
  // would leave an end counted for ever (Node and Bun stop a worker at any instruction).
  const words = new Int32Array(new SharedArrayBuffer(12));
  const job = spawn(misc, { mode: "busy-step", words });
  await ready(words);
  const stopped = job.terminate();
  await new Promise((resolve) => setTimeout(resolve, 100));
  const ticks = Atomics.load(words, 1);
  await new Promise((resolve) => setTimeout(resolve, 60));
  assert.ok(Atomics.load(words, 1) > ticks, "the worker was stopped in the middle of its step");
  await stopped;
  assert.equal(Atomics.load(words, 2), 1, "terminate() resolved before the step was over");
});

// As process.exit(n) on Node and Bun: code 0 closes the sender, another code is a death.
for (const code of [0, 3]) {
  Deno.test(`Deno.exit(${code}) in a spawned worker: join() settles, its sender is dropped`, async () => {
    const [tx, rx] = channel<number>();
    const job = spawn(misc, { mode: "deno-exit", tx, code });
    await assert.rejects(
      job.join(),
      (e) =>
        e instanceof DOMException && e.name === "AbortError" &&
        e.message === `The worker exited (code ${code}) before its function settled`,
    );
    assert.equal(rx.recvSync({ timeout: 10_000 }), 1);
    assert.throws(
      () => rx.recvSync({ timeout: 10_000 }),
      (e) => e instanceof RecvError && e.reason === (code === 0 ? "closed" : "died"),
    );
  });
}

Deno.test("Worker.prototype.terminate called on a spawned worker settles its ends", async () => {
  const [tx, rx] = channel<string>();
  const job = spawn<string>(misc, { mode: "wait", rx });
  Worker.prototype.terminate.call(job.worker);
  await assert.rejects(job.join(), (e) => e instanceof DOMException && e.name === "AbortError");
  assert.throws(() => tx.sendSync("late"), (e) => e instanceof SendError && e.reason === "died");
});

Deno.test("a parent blocked in recvSync hears of a worker whose module failed to load", () => {
  const [tx, rx] = channel<number>();
  spawn(new URL("./spawn/no_such_module.ts", import.meta.url), { tx });
  // Blocked: this thread cannot run its event loop; the worker itself closes what it got.
  assert.throws(
    () => rx.recvSync({ timeout: 10_000 }),
    (e) => e instanceof RecvError && e.reason === "died",
  );
});

Deno.test("a parent blocked in recvSync hears of a worker that failed to adopt an end", () => {
  const unregistered: Codec<number> = {
    name: "review-unregistered",
    encode: (n) => new Uint8Array([n]),
    decode: (b) => b[0],
  };
  const [, crx] = channel({ codec: unregistered });
  const [tx, rx] = channel<number>();
  spawn(misc, { mode: "async", a: 1, b: 2, tx, first: crx });
  assert.throws(
    () => rx.recvSync({ timeout: 10_000 }),
    (e) => e instanceof RecvError && e.reason === "died",
  );
});

Deno.test("ends in a worker's result move to the parent, as a thread's result to join()", async () => {
  const [tx, rx] = channel<string>();
  const job = spawn<{ got: [typeof rx]; made: Map<string, ReturnType<typeof channel<number>>[1]> }>(
    misc,
    { mode: "return-ends", rx },
  );
  const result = await job.join();
  const back = result.got[0];
  tx.sendSync("round trip");
  assert.equal(back.recvSync({ timeout: 5_000 }), "round trip");
  const made = result.made.get("rx")!;
  assert.equal(made.recvSync({ timeout: 5_000 }), 7);
  // Its sender was closed when the worker's function returned.
  assert.throws(() => made.recvSync({ timeout: 5_000 }), RecvError);
  assert.equal(await job.join(), result, "join() again gives the same, already adopted");
});

Deno.test("a result holding an end that cannot move: join() says why", async () => {
  await assert.rejects(
    spawn(misc, { mode: "return-closed" }).join(),
    (e) =>
      e instanceof TypeError &&
      /Cannot return from a spawned worker: this sender was closed/.test(e.message),
  );
});

Deno.test("a worker that closes itself while its module loads: join() settles, its ends are too", async () => {
  const [tx, rx] = channel<number>();
  const job = spawn(new URL("./spawn/close_at_load.ts", import.meta.url), { tx });
  await assert.rejects(job.join(), (e) => e instanceof DOMException && e.name === "AbortError");
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
});

Deno.test("the mark a closing worker posts is not seen by the worker's listeners", async () => {
  const [tx, rx] = channel<number>();
  const job = spawn(misc, { mode: "async", a: 1, b: 1, tx });
  const seen: unknown[] = [];
  job.worker.onmessage = (e) => seen.push(e.data);
  await job.join();
  assert.deepEqual(seen, []);
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
});

/** `promise`, or a rejection if it has not settled within `ms` (instead of a test that hangs). */
function within<T>(promise: Promise<T>, ms = 10_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not settled within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

// Deno tells a parent nothing when its worker exits; the worker's entry does, until the library
// takes over. Ends the worker never adopted are lost with it, however it exited: "died".
for (
  const [how, when, code] of [
    ["Deno.exit", "top", 0],
    ["Deno.exit", "await", 3],
    ["process.exit", "top", 3],
    ["process.exit", "await", 0],
  ] as const
) {
  const where = when === "top" ? "its top-level code" : "a top-level await";
  Deno.test(`${how}(${code}) in ${where} of a spawned worker's module: join() rejects, its ends died`, async () => {
    const [tx, rx] = channel<number>();
    const pending = rx.recv().then(() => "a value", (e) => e);
    const query = `how=${how.split(".")[0].toLowerCase()}&when=${when}&code=${code}`;
    const job = spawn(new URL(`./spawn/exit_at_load.ts?${query}`, import.meta.url), { tx });
    await assert.rejects(
      within(job.join()),
      (e) =>
        e instanceof DOMException && e.name === "AbortError" &&
        e.message === `The worker exited (code ${code}) before its function settled`,
    );
    const error = await within(pending);
    assert.ok(error instanceof RecvError && error.reason === "died", String(error));
  });
}

Deno.test("an error a spawned worker leaves unhandled: join() rejects with it, class kept", async () => {
  await assert.rejects(
    within(spawn(misc, { mode: "unhandled", message: "nobody catches this" }).join()),
    (e) => e instanceof RangeError && e.message === "nobody catches this",
  );
  await assert.rejects(
    within(spawn(misc, { mode: "unhandled", reject: true, message: "nobody awaits this" }).join()),
    (e) => e instanceof TypeError && e.message === "nobody awaits this",
  );
  const uncloneable = { mode: "unhandled", uncloneable: true, message: "a function in it" };
  // What cannot be cloned arrives by its message (and name, if it has one).
  await assert.rejects(
    within(spawn(misc, uncloneable).join()),
    (e) => e instanceof Error && e.message === "a function in it",
  );
});

Deno.test("ends in an array's other property, an Error's cause, a sparse array arrive adopted", async () => {
  const [tx, rx] = channel<string>();
  const list = Object.assign([1, 2], { extra: tx.clone() });
  const error = new TypeError("bad", { cause: { tx: tx.clone() } });
  const sparse: unknown[] = [];
  sparse.length = 2 ** 31;
  sparse[2 ** 30] = tx;
  const job = spawn(misc, { mode: "hidden", list, error, sparse });
  assert.throws(() => tx.sendSync("here"), /transferred/, "moved");
  assert.equal(await job.join(), "hidden");
  assert.deepEqual([rx.recvSync(), rx.recvSync(), rx.recvSync()], [
    "extra beside 2 elements",
    "cause of a TypeError: bad",
    `1 of ${2 ** 31} in a sparse array`,
  ]);
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" }, "closed when the function returned");
  assert.ok(
    (error.cause as { tx: unknown }).tx instanceof Sender,
    "the caller's data is unchanged",
  );
});

Deno.test("an end where structuredClone drops it: spawn refuses, and nothing moves", () => {
  const [tx, rx] = channel<number>();
  for (
    const data of [
      { when: Object.assign(new Date(0), { tx }) },
      { error: Object.assign(new Error("e"), { tx }) },
      { map: Object.assign(new Map(), { inside: { tx } }) },
    ]
  ) {
    assert.throws(
      () => spawn(misc, { mode: "async", a: 1, b: 2, ...data }),
      (e) =>
        e instanceof TypeError &&
        /^Cannot spawn: a channel end is held by a property of an? (Date|Error|Map), which structuredClone does not copy/
          .test(e.message),
    );
  }
  tx.sendSync(1);
  assert.equal(rx.recvSync(), 1);
});
