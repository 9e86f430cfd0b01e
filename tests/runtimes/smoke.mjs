// node tests/runtimes/smoke.mjs <bundle.mjs>   (or bun …, or deno run -A …)
//
// Loads the library as bundled by `deno bundle mod.ts` and uses it on Node, Bun or Deno:
// channels in one thread, a bounded channel, the structured codec's round trip (and what it
// rejects), and a worker_threads worker that adopts a sender. Prints one line per check, then
// "all passed on <runtime>"; exits non-zero at the first failure. Run by tests/runtimes_test.ts.
import assert from "node:assert/strict";
import { pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";

const bundle = process.argv[2];
if (!bundle) throw new Error("usage: smoke.mjs <bundle.mjs>");
const runtime = globalThis.Bun
  ? `Bun ${globalThis.Bun.version}`
  : globalThis.Deno
  ? `Deno ${globalThis.Deno.version.deno}`
  : `Node ${process.version}`;
const { channel, RecvError, structured, syncChannel } = await import(
  pathToFileURL(bundle).href
);

function ok(what) {
  console.log(`ok: ${what}`);
}

function assertDataCloneError(f, what) {
  assert.throws(f, (e) => e?.name === "DataCloneError", what);
}

// --- one thread ------------------------------------------------------------------------------
{
  const [tx, rx] = channel();
  tx.sendSync("hello");
  assert.equal(rx.recvSync(), "hello");
  await tx.send(42);
  assert.equal(await rx.recv(), 42);
  const later = rx.recv();
  tx.sendSync("later");
  assert.equal(await later, "later");
  assert.deepEqual(rx.tryRecv(), { state: "empty" });
  tx.close();
  assert.throws(() => rx.recvSync(), RecvError);
  await assert.rejects(rx.recv(), RecvError);
  rx.close();
  ok("channel(): sendSync/recvSync, send/recv, disconnection");
}
{
  const [tx, rx] = syncChannel(2);
  assert.equal(tx.trySend(1), true);
  assert.equal(tx.trySend(2), true);
  assert.equal(tx.trySend(3), false);
  assert.equal(rx.recvSync(), 1);
  assert.equal(tx.trySend(3), true);
  assert.deepEqual([rx.recvSync(), rx.recvSync()], [2, 3]);
  tx.close();
  rx.close();
  ok("syncChannel(2): trySend reports full");
}

// --- the structured codec --------------------------------------------------------------------
{
  const [tx, rx] = channel();
  const shared = { name: "shared" };
  const value = {
    map: new Map([["a", 1], [2, { deep: [1, 2, { deeper: true }] }]]),
    set: new Set([1, "two", 3n]),
    date: new Date(1_700_000_000_000),
    bytes: new Uint8Array([1, 2, 3]),
    floats: new Float64Array([0.5, -0, NaN]),
    big: -(2n ** 100n) + 1n,
    nested: { a: { b: { c: [shared, shared] } } },
    regexp: /a.c/gi,
    error: new RangeError("out of range", { cause: "because" }),
    domException: new DOMException("stopped", "AbortError"),
  };
  tx.sendSync(value);
  const got = rx.recvSync();
  assert.deepEqual(got.map, value.map);
  assert.deepEqual(got.set, value.set);
  assert.ok(got.date instanceof Date && got.date.getTime() === value.date.getTime());
  assert.ok(got.bytes instanceof Uint8Array);
  assert.deepEqual(got.bytes, value.bytes);
  assert.deepEqual(got.floats, value.floats);
  assert.ok(Object.is(got.floats[1], -0));
  assert.equal(got.big, value.big);
  assert.deepEqual(got.nested, value.nested);
  assert.equal(got.nested.a.b.c[0], got.nested.a.b.c[1]); // shared, as sent
  assert.equal(got.regexp.source, "a.c");
  assert.equal(got.regexp.flags, "gi");
  assert.ok(got.error instanceof RangeError);
  assert.equal(got.error.message, "out of range");
  assert.equal(got.error.cause, "because");
  assert.equal(got.error.stack, value.error.stack);
  assert.ok(got.domException instanceof DOMException);
  assert.equal(got.domException.name, "AbortError");
  assert.equal(got.domException.message, "stopped");
  tx.close();
  rx.close();
  ok("structured round trip: Map, Set, Date, typed arrays, BigInt, nested, Error, DOMException");
}
{
  assertDataCloneError(() => structured.encode({ f() {} }), "a function");
  assertDataCloneError(() => structured.encode(new Blob(["x"])), "a Blob");
  assertDataCloneError(() => structured.encode([new URL("http://example.com/")]), "a URL");
  const detached = new ArrayBuffer(8);
  const view = new Uint8Array(detached);
  structuredClone(detached, { transfer: [detached] });
  assertDataCloneError(() => structured.encode(detached), "a detached ArrayBuffer");
  assertDataCloneError(() => structured.encode(view), "a view on a detached ArrayBuffer");
  assert.equal(structured.decode(structured.encode(new ArrayBuffer(0))).byteLength, 0);
  const resizable = structured.decode(structured.encode(new ArrayBuffer(2, { maxByteLength: 8 })));
  assert.equal(resizable.resizable, true);
  assert.equal(resizable.maxByteLength, 8);
  ok("structured rejects functions, Blob, URL, detached buffers; keeps resizable buffers");
}
{
  // A Float16Array, encoded where the runtime has one: the Uint16Array's kind byte, changed.
  const bytes = structured.encode(new Uint16Array([0x3c00]));
  assert.deepEqual([bytes[0], bytes[1]], [23, 4]); // VIEW, Uint16Array
  bytes[1] = 12; // Float16Array
  if (typeof globalThis.Float16Array === "function") {
    const f16 = structured.decode(bytes);
    assert.ok(f16 instanceof globalThis.Float16Array);
    assert.equal(f16[0], 1);
    ok("structured decodes a Float16Array");
  } else {
    assert.throws(() => structured.decode(bytes), (e) => {
      assert.equal(e.name, "DataCloneError");
      assert.match(e.message, /this runtime has no Float16Array/);
      return true;
    });
    ok("structured reports a Float16Array this runtime lacks as a DataCloneError");
  }
}

// --- a worker_threads worker -----------------------------------------------------------------
{
  const COUNT = 10_000;
  const [tx, rx] = channel();
  const worker = new Worker(new URL("./worker.mjs", import.meta.url), {
    workerData: { bundle, count: COUNT },
  });
  const exited = new Promise((resolve, reject) => {
    worker.once("error", reject);
    worker.once("exit", resolve);
  });
  worker.postMessage(tx.transfer());
  // Half blocking, half awaited.
  for (let i = 0; i < COUNT / 2; i++) assert.equal(rx.recvSync(), i);
  for (let i = COUNT / 2; i < COUNT; i++) assert.equal(await rx.recv(), i);
  assert.throws(() => rx.recvSync(), RecvError);
  assert.equal(await exited, 0);
  rx.close();
  ok(`worker_threads: Sender.from(handle), ${COUNT} numbers in order, then RecvError`);
}

console.log(`all passed on ${runtime}`);
