// node tests/runtimes/spawn.mjs <bundle.mjs>   (or bun …, or deno run -A …)
//
// spawn on Node, Bun and Deno, with the library as bundled by `deno task bundle`: the runtime-
// neutral core of tests/spawn_test.ts and the hello/producers/pipeline examples. Prints one line
// per check, then "all passed on <runtime>"; exits non-zero at the first failure. Run by
// tests/runtimes_test.ts.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";

const bundle = process.argv[2];
if (!bundle) throw new Error("usage: spawn.mjs <bundle.mjs>");
const lib = pathToFileURL(bundle).href;
const runtime = globalThis.Bun
  ? `Bun ${globalThis.Bun.version}`
  : globalThis.Deno
  ? `Deno ${globalThis.Deno.version.deno}`
  : `Node ${process.version}`;
const { channel, RecvError, SendError, spawn, syncChannel, trySelect } = await import(lib);
const peer = new URL("./spawn_peer.mjs", import.meta.url);

function ok(what) {
  console.log(`ok: ${what}`);
}

/** Waits until words[0] is set by a worker. */
async function ready(words) {
  for (let i = 0; Atomics.load(words, 0) === 0; i++) {
    if (i > 5000) throw new Error("the worker never got ready");
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

{
  const [tx, rx] = channel();
  const job = spawn(peer, { mode: "hello", tx });
  assert.throws(() => tx.sendSync("here"), /transferred/);
  assert.equal(await rx.recv(), "Hello from the worker!");
  assert.equal(await job.join(), 42);
  assert.deepEqual(rx.tryRecv(), { state: "disconnected" });
  ok("hello: a moved sender, join(), disconnection when the function returns");
}
{
  const [tx, rx] = channel();
  const jobs = ["A", "B", "C"].map((name) =>
    spawn(peer, { mode: "produce", name, tx: tx.clone() })
  );
  tx.close();
  const seen = new Map([["A", []], ["B", []], ["C", []]]);
  for await (const { name, seq } of rx) seen.get(name).push(seq);
  for (const [, seqs] of seen) assert.deepEqual(seqs, [1, 2, 3, 4, 5]);
  for (const job of jobs) await job.join();
  ok("producers: three workers, per-producer order, disconnection");
}
{
  const [tasks, queue] = channel();
  const [doneTx, done] = channel();
  const jobs = [0, 1, 2].map((id) =>
    spawn(peer, { mode: "pool", id, tasks: queue.clone(), out: doneTx.clone() })
  );
  queue.close();
  doneTx.close();
  tasks.sendManySync(Array.from({ length: 300 }, (_, i) => i));
  tasks.close();
  const seen = new Set();
  for await (const [, n] of done) {
    assert.ok(!seen.has(n), `task ${n} twice`);
    seen.add(n);
  }
  assert.equal(seen.size, 300);
  let answered = 0;
  for (const job of jobs) answered += await job.join();
  assert.equal(answered, 300);
  ok("MPMC: three workers share one queue (rx.clone()); sendMany; each task exactly once");
}
for (const sync of [true, false]) {
  const [aTx, a] = channel();
  const [bTx, b] = channel();
  const [outTx, out] = channel();
  const job = spawn(peer, { mode: "select", a, b, out: outTx, sync, lib });
  aTx.sendManySync([1, 2, 3]);
  bTx.sendSync("four");
  aTx.close();
  bTx.close();
  const got = [];
  for await (const v of out) got.push(v);
  assert.deepEqual(got.filter((v) => typeof v === "number"), [1, 2, 3]);
  assert.deepEqual(got.filter((v) => typeof v === "string"), ["four"]);
  assert.equal(await job.join(), "done");
  ok(`select: a worker waits on two receivers with ${sync ? "selectSync" : "select"}`);
}
{
  const [tx, rx] = channel();
  assert.deepEqual(trySelect([rx]), { state: "empty" });
  tx.close();
  assert.deepEqual(trySelect([rx]), { index: 0, state: "disconnected" });
  ok("trySelect");
}
{
  const [linesTx, linesRx] = channel();
  const [upperTx, upperRx] = syncChannel(1);
  const stage = spawn(peer, { mode: "upper", input: linesRx, output: upperTx });
  for (const line of ["a", "b", "c"]) linesTx.sendSync(line);
  linesTx.close();
  const out = [];
  for await (const line of upperRx) out.push(line);
  assert.deepEqual(out, ["A", "B", "C"]);
  await stage.join();
  ok("pipeline: a stage's loop ends on disconnection, and so does the next");
}
{
  const [tx, rx] = syncChannel(1);
  const words = new Int32Array(new SharedArrayBuffer(4));
  const job = spawn(peer, { mode: "block", rx, words });
  await ready(words);
  await job.terminate();
  await assert.rejects(job.join(), (e) => e.name === "AbortError");
  assert.throws(
    () => tx.sendSync(1, { timeout: 0 }),
    (e) => e instanceof SendError && e.reason === "died",
  );
  ok("terminate() while blocked in recvSync: the receiver is closed, its worker died");
}
for (const reject of [false, true]) {
  const [tx, rx] = channel();
  const job = spawn(peer, { mode: "throw", tx, reject });
  // The error itself, not the runtime's report of it (Bun's is an excerpt of the source).
  const [Class, message] = reject
    ? [TypeError, "the worker rejects"]
    : [RangeError, "the worker fails"];
  await assert.rejects(job.join(), (e) => e instanceof Class && e.message === message);
  assert.equal(rx.recvSync({ timeout: 5000 }), 1);
  assert.throws(
    () => rx.recvSync({ timeout: 5000 }),
    (e) => e instanceof RecvError && e.reason === "died",
  );
  const what = reject ? "rejection" : "error";
  ok(`an unhandled ${what} in the worker: join() rejects with it, class kept; the sender died`);
}
{
  const [tx, rx] = channel();
  const job = spawn(peer, { mode: "exit", tx });
  assert.equal(rx.recvSync({ timeout: 5000 }), 1);
  assert.throws(
    () => rx.recvSync({ timeout: 5000 }),
    (e) => e instanceof RecvError && e.reason === "closed",
  );
  await assert.rejects(job.join(), (e) => e.name === "AbortError");
  ok("process.exit() in the worker: the sender is dropped, join() rejects");
}
{
  const [tx, rx] = channel();
  const pending = rx.recv().then(() => "a value", (e) => e);
  const job = spawn(new URL("./spawn_exit_at_load.mjs", import.meta.url), { tx });
  await assert.rejects(
    job.join(),
    (e) =>
      e.name === "AbortError" &&
      e.message === "The worker exited (code 3) before its function settled",
  );
  const error = await pending;
  assert.ok(error instanceof RecvError && error.reason === "died", String(error));
  ok("process.exit() while the worker's module loads: join() rejects, its sender died");
}
{
  const [tx, rx] = channel();
  const job = spawn(new URL("./no_such_module.mjs", import.meta.url), { tx });
  // Bun's resolution error cannot be cloned: its name and message arrive all the same.
  await assert.rejects(job.join(), (e) => e instanceof Error && /no_such_module/.test(e.message));
  await assert.rejects(rx.recv(), (e) => e instanceof RecvError && e.reason === "died");
  ok("a module that does not exist: join() says which, the sender died");
}
{
  const [tx, rx] = channel();
  const words = new Int32Array(new SharedArrayBuffer(4));
  const job = spawn(peer, { mode: "adopt", lib, words });
  job.worker.postMessage({ a: [{ b: { rx: rx.transfer() } }] });
  await ready(words);
  await job.terminate();
  assert.throws(() => tx.sendSync(1, { timeout: 0 }), SendError);
  ok("a handle posted 3 deep to the worker: settled when it is terminated");
}
{
  const [tx] = channel();
  const [helloTx, helloRx] = channel();
  const job = spawn(peer, { mode: "hello", tx: helloTx });
  assert.throws(() => job.worker.postMessage(tx), (e) => e.name === "DataCloneError");
  assert.equal(await job.join(), 42);
  assert.equal(helloRx.recvSync(), "Hello from the worker!");
  tx.close();
  ok("posting a live end is a DataCloneError");
}
console.log(`all passed on ${runtime} `);
