// The checks tests/browser_test.ts runs in headless Chromium, on the page's main thread, with the
// library as bundled by `deno task bundle` (served as ./mpsc.mjs): channels used with async calls
// only (a browser's main thread cannot block), spawn with tests/runtimes/spawn_peer.mjs (served
// as ./spawn_peer.mjs) as the worker module, dead workers, and what the …Sync calls do on the
// main thread. Each check is posted to the test (see report() in index.html) as it ends; then
// { kind: "done" }.

/** @type {(message: object) => Promise<Response>} */
const report = globalThis.report;

await report({ kind: "start", userAgent: navigator.userAgent });
if (globalThis.crossOriginIsolated !== true) {
  const message = `crossOriginIsolated is ${globalThis.crossOriginIsolated}, not true: no ` +
    `SharedArrayBuffer (typeof SharedArrayBuffer: ${typeof SharedArrayBuffer}); the server ` +
    `must send COOP "same-origin" and COEP "require-corp"`;
  await report({ kind: "fatal", message });
  throw new Error(message);
}
let lib;
try {
  lib = await import(new URL("./mpsc.mjs", import.meta.url).href);
} catch (error) {
  await report({ kind: "fatal", message: `the bundle did not load: ${error}` });
  throw error;
}
const { channel, RecvError, SendError, select, spawn, syncChannel } = lib;
const libUrl = new URL("./mpsc.mjs", import.meta.url).href;
const peer = new URL("./spawn_peer.mjs", import.meta.url);

class CheckError extends Error {}

function assert(condition, message) {
  if (!condition) throw new CheckError(message);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  assert(a === e, `${what}: expected ${e}, got ${a}`);
}

/** Awaits `promise`, which should reject; @returns what it rejected with. */
async function rejection(promise, what) {
  try {
    const value = await promise;
    throw new CheckError(`${what}: resolved with ${JSON.stringify(value)} instead of rejecting`);
  } catch (error) {
    if (error instanceof CheckError) throw error;
    return error;
  }
}

/** Calls `f`, which should throw; @returns what it threw. */
function thrown(f, what) {
  try {
    const value = f();
    throw new CheckError(`${what}: returned ${JSON.stringify(value)} instead of throwing`);
  } catch (error) {
    if (error instanceof CheckError) throw error;
    return error;
  }
}

function describe(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}

/** Waits until words[0] is set by the worker of `job`, or it ends. */
async function ready(words, job) {
  let ended = null;
  job.join().then(
    (value) => ended = `returned ${JSON.stringify(value)}`,
    (error) => ended = describe(error),
  );
  while (Atomics.load(words, 0) === 0) {
    if (ended !== null) throw new CheckError(`the worker ended before it got ready: ${ended}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

/** @type {[string, () => Promise<string | void>][]} Each returns details for the report. */
const checks = [];
const check = (name, fn) => checks.push([name, fn]);

check("channel(): async send and recv in one thread, then disconnection", async () => {
  const [tx, rx] = channel();
  await tx.send(1);
  await tx.send("two");
  equal(await rx.recv(), 1, "first message");
  equal(await rx.recv(), "two", "second message");
  const later = rx.recv(); // waits: nothing is there yet
  await tx.send({ three: 3 });
  equal(await later, { three: 3 }, "a message a pending recv() waited for");
  tx.close();
  const error = await rejection(rx.recv(), "recv() after the sender closed");
  assert(error instanceof RecvError, `expected a RecvError, got ${describe(error)}`);
  equal(error.reason, "closed", "RecvError.reason");
});

check("a structured value round trip (Map, Date, typed arrays, nested objects)", async () => {
  const [tx, rx] = channel();
  const value = {
    map: new Map([["a", 1], ["b", { deep: [1, 2, new Set(["x"])] }]]),
    when: new Date(Date.UTC(2024, 1, 29, 12, 34, 56, 789)),
    bytes: new Uint8Array([1, 2, 3, 255]),
    floats: new Float64Array([0.5, -0, Infinity]),
    nested: { list: [{ a: null, b: undefined, c: -1n }], text: "héllo ✓" },
  };
  value.nested.self = value.nested;
  await tx.send(value);
  const got = await rx.recv();
  assert(got.map instanceof Map && got.map.size === 2, "a Map");
  equal(got.map.get("a"), 1, "map.get('a')");
  assert(got.map.get("b").deep[2] instanceof Set && got.map.get("b").deep[2].has("x"), "a Set");
  assert(got.when instanceof Date, "a Date");
  equal(got.when.toISOString(), "2024-02-29T12:34:56.789Z", "the Date");
  assert(got.bytes instanceof Uint8Array, "a Uint8Array");
  equal([...got.bytes], [1, 2, 3, 255], "the Uint8Array");
  assert(got.floats instanceof Float64Array, "a Float64Array");
  assert(Object.is(got.floats[1], -0) && got.floats[2] === Infinity, "-0 and Infinity");
  equal(got.nested.list[0].a, null, "null");
  assert("b" in got.nested.list[0] && got.nested.list[0].b === undefined, "undefined");
  assert(got.nested.list[0].c === -1n, "a bigint");
  equal(got.nested.text, "héllo ✓", "a string");
  assert(got.nested.self === got.nested, "a cycle");
});

check("spawn: hello, then join() gives 42", async () => {
  const [tx, rx] = channel();
  const job = spawn(peer, { mode: "hello", tx });
  const moved = await rejection(tx.send("here"), "send() on a moved sender");
  assert(/transferred/.test(String(moved)), `a moved sender: ${describe(moved)}`);
  equal(await rx.recv(), "Hello from the worker!", "the message");
  equal(await job.join(), 42, "join()");
  const error = await rejection(rx.recv(), "recv() after the worker returned");
  assert(error instanceof RecvError, `expected a RecvError, got ${describe(error)}`);
  equal(error.reason, "closed", "RecvError.reason");
});

check("producers: three workers, per-producer order, then disconnection", async () => {
  const [tx, rx] = channel();
  const jobs = ["A", "B", "C"].map((name) =>
    spawn(peer, { mode: "produce", name, tx: tx.clone() })
  );
  tx.close();
  const seen = new Map([["A", []], ["B", []], ["C", []]]);
  for await (const { name, seq } of rx) seen.get(name).push(seq);
  for (const [name, seqs] of seen) equal(seqs, [1, 2, 3, 4, 5], `producer ${name}`);
  for (const job of jobs) equal(await job.join(), undefined, "join()");
});

check("MPMC: three workers share one queue (rx.clone()); each task exactly once", async () => {
  const [tasks, queue] = channel();
  const [doneTx, done] = channel();
  const jobs = [0, 1, 2].map((id) =>
    spawn(peer, { mode: "pool", id, tasks: queue.clone(), out: doneTx.clone() })
  );
  queue.close();
  doneTx.close();
  await tasks.sendMany(Array.from({ length: 300 }, (_, i) => i));
  tasks.close();
  const seen = new Set();
  for await (const [, n] of done) {
    assert(!seen.has(n), `task ${n} twice`);
    seen.add(n);
  }
  equal(seen.size, 300, "tasks done");
  let answered = 0;
  for (const job of jobs) answered += await job.join();
  equal(answered, 300, "tasks answered");
});

check(
  "select: a worker in selectSync over two receivers; the main thread in await select",
  async () => {
    const [aTx, a] = channel();
    const [bTx, b] = channel();
    const [outTx, out] = channel();
    const job = spawn(peer, { mode: "select", a, b, out: outTx, sync: true, lib: libUrl });
    await aTx.sendMany([1, 2, 3]);
    await bTx.send("four");
    aTx.close();
    bTx.close();
    const got = [];
    for (;;) {
      const r = await select([out]);
      if (r.state === "disconnected") break;
      got.push(r.value);
    }
    equal(got.filter((v) => typeof v === "number"), [1, 2, 3], "from a");
    equal(got.filter((v) => typeof v === "string"), ["four"], "from b");
    equal(await job.join(), "done", "join()");
  },
);

check("pipeline: a worker's for…of over a Receiver, uppercase into a Sender", async () => {
  const [linesTx, linesRx] = channel();
  const [upperTx, upperRx] = syncChannel(1);
  const stage = spawn(peer, { mode: "upper", input: linesRx, output: upperTx });
  for (const line of ["a", "b", "c"]) await linesTx.send(line);
  linesTx.close();
  const out = [];
  for await (const line of upperRx) out.push(line);
  equal(out, ["A", "B", "C"], "the stage's output");
  equal(await stage.join(), undefined, "join()");
});

check("terminate() a worker blocked in recvSync: send() rejects, reason 'died'", async () => {
  const [tx, rx] = syncChannel(1);
  const words = new Int32Array(new SharedArrayBuffer(4));
  const job = spawn(peer, { mode: "block", rx, words });
  await ready(words, job);
  await job.terminate();
  const joined = await rejection(job.join(), "join() of a terminated worker");
  equal(joined?.name, "AbortError", `join() rejected with ${describe(joined)}: its name`);
  const error = await rejection(tx.send(1), "send() to the terminated worker's receiver");
  assert(error instanceof SendError, `expected a SendError, got ${describe(error)}`);
  equal(error.reason, "died", "SendError.reason");
});

check("an unhandled error in a worker: join() rejects, recv() rejects, reason 'died'", async () => {
  const [tx, rx] = channel();
  const job = spawn(peer, { mode: "throw", tx });
  const joined = await rejection(job.join(), "join() of a worker that failed");
  // The error itself, not the browser's report of it ("Uncaught RangeError: …", no class).
  assert(
    joined instanceof RangeError && joined.message === "the worker fails",
    `join(): ${describe(joined)}`,
  );
  equal(await rx.recv(), 1, "what the worker sent before it failed");
  const error = await rejection(rx.recv(), "recv() after the worker failed");
  assert(error instanceof RecvError, `expected a RecvError, got ${describe(error)}`);
  equal(error.reason, "died", "RecvError.reason");
  return `join() rejected with ${describe(joined)}`;
});

// The …Sync calls would block the main thread, where Atomics.wait is not allowed: each throws a
// TypeError naming the async call to use — even where it would not have to wait (a message
// ready, room to send), so that a program does not work by luck and then fail under load.
check("…Sync calls on the main thread throw a TypeError naming the async call", async () => {
  const messages = [];
  const expectTypeError = (what, f, instead) => {
    const error = thrown(f, what);
    assert(error instanceof TypeError, `${what}: expected a TypeError, got ${describe(error)}`);
    assert(
      error.message.includes(instead),
      `${what}: the message names ${instead}: ${error.message}`,
    );
    messages.push(`${what}: ${describe(error)}`);
  };
  {
    const [tx, rx] = channel();
    expectTypeError("rx.recvSync() (empty channel)", () => rx.recvSync(), "await rx.recv()");
    expectTypeError("for (const x of rx)", () => {
      for (const x of rx) return x;
    }, "for await");
    await tx.send("ready");
    expectTypeError("rx.recvSync() (a message ready)", () => rx.recvSync(), "await rx.recv()");
    equal(await rx.recv(), "ready", "the message is still there for recv()");
    expectTypeError("tx.sendSync() (room)", () => tx.sendSync("x"), "await tx.send(value)");
  }
  {
    const [tx, rx] = syncChannel(1);
    await tx.send("fills it");
    expectTypeError("tx.sendSync() (full channel)", () => tx.sendSync("more"), "await tx.send");
    equal(await rx.recv(), "fills it", "recv() after sendSync threw");
    await tx.send("after");
    equal(await rx.recv(), "after", "send() and recv() after sendSync threw");
  }
  return messages.join("\n");
});

for (const [name, fn] of checks) {
  await report({ kind: "begin", name });
  const started = performance.now();
  let result;
  try {
    const detail = await fn();
    result = { kind: "check", name, ok: true, detail: detail ?? undefined };
  } catch (error) {
    const stack = error instanceof Error && !(error instanceof CheckError) ? error.stack : "";
    result = { kind: "check", name, ok: false, error: `${describe(error)}\n${stack ?? ""}` };
  }
  result.ms = Math.round(performance.now() - started);
  await report(result);
}
await report({ kind: "done", checks: checks.length });
