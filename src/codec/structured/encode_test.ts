// The encoder (encode.ts): getters run as `structuredClone` runs them, identity, arrays' keys,
// views' buffers, channel ends, and the scratch buffer it keeps.

import assert from "node:assert/strict";
import fc from "fast-check";
import { structured } from "./mod.ts";
import { scratchBytes as encoderScratch } from "./encode.ts";
import { endCloneError, markEnd } from "../../_brand.ts";
import { graphDiff } from "../../../tests/_helpers/equal.ts";
import { diffWithStructuredClone, roundTrip } from "../../../tests/_helpers/round_trip.ts";
import { values } from "../../../tests/_helpers/arbitraries.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("structured invokes getters like structuredClone", () => {
  function make(log: string[]) {
    const o: Any = {
      get a() {
        log.push("a");
        delete o.b; // deleted before it is read: skipped
        o.late = 1; // added after the keys were listed: skipped
        return "A";
      },
      b: "B",
      c: "C",
    };
    return o;
  }
  const expectedLog: string[] = [];
  const expected = structuredClone(make(expectedLog));
  const log: string[] = [];
  const actual = roundTrip(structured, make(log));
  assert.deepEqual(log, expectedLog);
  assert.equal(graphDiff(expected, actual), null);
  assert.deepEqual(Object.keys(actual), ["a", "c"]);
});

Deno.test("structured encodes from inside a getter without disturbing the outer encoding", () => {
  // A getter that encodes (e.g. sends on a channel) re-enters the codec mid-message.
  const inner: unknown[] = [];
  function make(nestedValues: unknown[]) {
    const shared = { k: 1, v: "x" };
    const o: Any = {
      first: { k: 0, v: "a" }, // the shape { k, v } is numbered before the getter runs
      shared,
      get nest() {
        for (const value of nestedValues) inner.push(roundTrip(structured, value));
        try {
          structured.encode({ k: 2, f() {} }); // a nested DataCloneError leaves no trace
        } catch { /* expected */ }
        return [shared, { k: 3, v: "after" }];
      },
      last: { k: 4, v: "z" },
    };
    o.self = o;
    return o;
  }
  const nested = [
    { k: 9, v: "inner shape" },
    7.5,
    "short",
    "long ".repeat(100),
    [1, { k: 1, v: "y" }, new Map([[1, 2]])],
  ];
  const expected = structuredClone(make([]));
  const actual = roundTrip(structured, make(nested));
  assert.equal(graphDiff(expected, actual), null);
  assert.equal(inner.length, nested.length);
  inner.forEach((value, i) => assert.equal(graphDiff(structuredClone(nested[i]), value), null));
  // And the encoder is clean afterwards.
  assert.equal(diffWithStructuredClone(structured, make([])), null);
});

Deno.test("structured rethrows a throwing getter's own error", () => {
  const boom = new RangeError("boom");
  const value = {
    ok: 1,
    get bad() {
      throw boom;
    },
  };
  assert.throws(() => structuredClone(value), (e) => e === boom);
  assert.throws(() => structured.encode({ deep: [value] }), (e) => e === boom);
  assert.equal(diffWithStructuredClone(structured, { after: "throw" }), null);
});

Deno.test("structured encode returns a reused scratch view", () => {
  const a = structured.encode({ id: 1, body: "first" });
  const copy = a.slice();
  structured.encode({ id: 2, body: "second" });
  assert.equal(structured.decode(copy).body, "first");
  assert.notDeepEqual([...a], [...copy]); // overwritten by the second encode
});

Deno.test("structured keeps shared references in every phase of identity tracking", () => {
  // Identity is tracked by a short list, then a Set until an object recurs, then a Map: repeat
  // objects first met in each phase, after each switch.
  for (const count of [3, 23, 24, 25, 30, 200]) {
    const objs = Array.from({ length: count }, (_, i) => ({ i }));
    const value: Any = { objs, again: [...objs].reverse(), first: objs[0], last: objs[count - 1] };
    value.self = value;
    assert.equal(diffWithStructuredClone(structured, value), null, `count ${count}`);
    const out = roundTrip(structured, value);
    assert.equal(out.first, out.objs[0]);
    assert.equal(out.again[0], out.objs[count - 1]);
    assert.equal(out.self, out);
  }
});

// Arrays' keys exactly as structuredClone keeps them: indices (dense, holes, sparse up to
// 2^32 - 2), and extra properties, among them keys that look numeric but are not indices.
// Issue 11: `Object.assign([1, 2], { "1.5": "x" })` arrived without "1.5".

/** Keys that look numeric but are not array indices, and some that are. */
const NUMERIC_LOOKING = [
  "1.5",
  "0.5",
  "-1",
  "-0",
  "01",
  "00",
  "1.0",
  "1e3",
  "1e+21",
  " 1",
  "1 ",
  "0x10",
  "Infinity",
  "NaN",
  "4294967295", // 2^32 - 1: not an index
  "4294967296",
  "9007199254740993",
];
const INDICES = ["0", "1", "7", "40", "4294967294"]; // 2^32 - 2: the largest index

function bases(): Any[][] {
  const sparse: Any[] = [];
  sparse[100_000] = "far";
  return [
    [],
    [1, 2],
    [1, , 3],
    Array.from({ length: 40 }, (_, i) => i), // long enough for the sparse encoding's test
    sparse,
  ];
}

Deno.test("structured keeps numeric-looking keys of arrays as structuredClone does", () => {
  assert.equal(diffWithStructuredClone(structured, Object.assign([1, 2], { "1.5": "x" })), null);
  for (const key of [...NUMERIC_LOOKING, ...INDICES]) {
    for (const base of bases()) {
      const a: Any = base.slice();
      a[key] = { key };
      a.after = "extra";
      const d = diffWithStructuredClone(structured, a);
      assert.equal(d, null, `[${base.length}] + ${JSON.stringify(key)}: ${d}`);
      const d2 = diffWithStructuredClone(structured, { nested: [a, a] });
      assert.equal(d2, null, `nested [${base.length}] + ${JSON.stringify(key)}: ${d2}`);
    }
  }
});

/** Arrays built by a random sequence of assignments and deletions, with any kind of key. */
const arrays = fc.tuple(
  fc.nat(50),
  fc.array(
    fc.tuple(
      fc.oneof(
        fc.nat(60).map(String), // in or past the length
        fc.constantFrom(...NUMERIC_LOOKING, ...INDICES),
        fc.string({ maxLength: 4 }).filter((k) => k !== "length"),
        fc.integer({ min: 0, max: 4294967294 }).map(String),
      ),
      fc.oneof(values, fc.constant(undefined)),
      fc.boolean(), // delete instead
    ),
    { maxLength: 12 },
  ),
).map(([length, ops]) => {
  const a: Any = new Array(length);
  for (let i = 0; i < length; i += 3) a[i] = i;
  for (const [key, value, remove] of ops) {
    if (remove) delete a[key];
    else a[key] = value;
  }
  return a;
});

Deno.test("structured matches structuredClone on arrays with any keys", () => {
  fc.assert(
    fc.property(arrays, (a) => {
      const d = diffWithStructuredClone(structured, a);
      assert.equal(d, null, d ?? "");
      const d2 = diffWithStructuredClone(structured, { list: [a, { a }] });
      assert.equal(d2, null, d2 ?? "");
    }),
    { numRuns: Number(Deno.env.get("CODEC_FUZZ_RUNS") ?? 1000) },
  );
});

// A view's buffer is written as an ArrayBuffer whatever its prototype says, as V8's serializer
// does (it goes by the object's internal type): the encoder used to write a buffer posing as a
// plain object as one, and the decoder then rejected the message the encoder had accepted.

Deno.test("structured writes a view's buffer as an ArrayBuffer whatever its prototype", () => {
  for (const proto of [Object.prototype, Array.prototype, null]) {
    const buffer = new ArrayBuffer(16);
    new Uint8Array(buffer).set([1, 2, 3, 4]);
    Object.setPrototypeOf(buffer, proto);
    const value = { a: new Uint8Array(buffer, 1, 2), b: new DataView(buffer, 4) };
    const out = structured.decode(structured.encode(value).slice()) as typeof value;
    assert.deepEqual([...out.a], [2, 3]);
    assert.equal(out.a.buffer, out.b.buffer);
    assert.ok(out.a.buffer instanceof ArrayBuffer);
    assert.equal(out.a.buffer.byteLength, 16);
    Object.setPrototypeOf(buffer, ArrayBuffer.prototype);
    assert.equal(diffWithStructuredClone(structured, value), null);
  }
});

// A live channel end (Sender, Receiver) inside a message is a DataCloneError at encode, before
// anything could be enqueued. Issue 11: `tx.send({ reply: otherTx })` arrived as `{ reply: {} }`,
// class instances being cloned as plain objects, silently.

/** Stands in for a Sender: a class instance marked as a live end, with state of its own. */
class FakeEnd {
  id = 7;
  constructor() {
    markEnd(this);
  }
}

function deep(v: unknown, levels: number): unknown {
  for (let i = 0; i < levels; i++) v = i % 2 ? { v } : [v];
  return v;
}

Deno.test("structured rejects a channel end anywhere in a message with a DataCloneError", () => {
  const expected = endCloneError();
  const places: [string, (end: unknown) => unknown][] = [
    ["top level", (end) => end],
    ["in an object", (end) => ({ reply: end })],
    ["in an array", (end) => [1, "two", end]],
    ["as a map key", (end) => new Map([[end, 1]])],
    ["as a map value", (end) => new Map([[1, end]])],
    ["in a set", (end) => new Set([end])],
    ["as an error cause", (end) => new Error("e", { cause: end })],
    ["in a class instance", (end) => Object.assign(new (class Box {})(), { end })],
    ["in a null-prototype object", (end) => Object.assign(Object.create(null), { end })],
    ["100 levels deep", (end) => deep({ end }, 100)], // past the encoder's nested calls
    ["after other objects", (end) => ({ a: { b: 1 }, c: [{ d: 2 }], end })],
  ];
  for (const [where, wrap] of places) {
    const value = wrap(new FakeEnd());
    structuredClone(value); // which would clone the end as a plain object
    assert.throws(() => structured.encode(value), (e) => {
      assert.ok(e instanceof DOMException, `${where}: ${e}`);
      assert.equal(e.name, "DataCloneError", where);
      assert.equal(e.message, expected.message, where);
      return true;
    }, where);
    // Nothing left behind: the next message encodes as usual.
    assert.equal(diffWithStructuredClone(structured, { after: [where, { x: 1 }] }), null, where);
  }
});

Deno.test("structured still clones unmarked class instances as plain objects", () => {
  class Point {
    x = 1;
    y = 2;
  }
  assert.equal(diffWithStructuredClone(structured, { p: new Point(), list: [new Point()] }), null);
  const out = structured.decode(structured.encode(new Point())) as Any;
  assert.equal(Object.getPrototypeOf(out), Object.prototype);
  assert.deepEqual(out, { x: 1, y: 2 });
});

// The encoder's scratch buffer: bounded after a large message that throws, and reused by the
// messages that fit it (see mod_test.ts for both scratches after large messages).

const MiB = 1 << 20;
/** What the codec may keep between messages: a 4 MiB encoder scratch and some change. */
const BOUND = 6 * MiB;

Deno.test("structured keeps a bounded scratch after a large message that throws", () => {
  assert.throws(() => structured.encode(["x".repeat(20_000_000), () => {}]), DOMException);
  assert.ok(structured.encode({ next: 1 }).buffer.byteLength <= 4 * MiB);
  assert.ok(encoderScratch() <= BOUND, `encoder keeps ${encoderScratch()} B`);
});

Deno.test("structured still reuses its scratch for messages that fit it", () => {
  // Grown to fit both first, as the tests that ran before this one in its former file left it.
  structured.encode({ body: "z".repeat(200_000) });
  const a = structured.encode({ body: "y".repeat(100_000) });
  const b = structured.encode({ body: "z".repeat(200_000) });
  assert.equal(a.buffer, b.buffer);
});

// A packed array is recognised by comparing its last key with its last index (`indexKey`, from
// a table for small arrays): an array whose keys count equals its length but whose last key is a
// property, not an index, must keep its hole and its property.
Deno.test("structured keeps holes and properties of arrays as long as their key count", () => {
  for (const len of [1, 2, 3, 63, 64, 65, 100]) {
    const a: unknown[] = Array.from({ length: len }, (_, i) => `v${i}`);
    delete a[len - 1]; // a hole at the end…
    (a as unknown as Record<string, unknown>).x = "extra"; // …and a key in its place
    assert.equal(Object.keys(a).length, len);
    const got = roundTrip(structured, a) as unknown[];
    assert.deepEqual(got, structuredClone(a), `length ${len}`);
    assert.equal(len - 1 in got, false, `length ${len}: the hole`);
    assert.equal((got as unknown as Record<string, unknown>).x, "extra", `length ${len}`);
  }
});
