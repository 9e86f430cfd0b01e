// The structured decoder reads a message straight out of a channel's ring (`decodeFrom`, see
// `pull` in src/_shared_channel.ts): it must read nothing past the message's end, and no count in the
// message may make it allocate or loop before the count is checked against the bytes left.
// Issue 11: a 6-byte "array of 2^32 − 1 elements" took 9 s and 1.5 GiB to fail.

import assert from "node:assert/strict";
import { structured } from "./mod.ts";
import * as W from "./wire.ts";
import { roundTrip } from "../../../tests/_helpers/round_trip.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const MALFORMED = "Cannot decode structured value: the bytes are malformed";

/** The bytes of `message`, then `tail` bytes of valid-looking data, in one shared buffer. */
function inRing(message: number[], tail: Uint8Array | number[]): Uint8Array {
  const ring = new Uint8Array(new SharedArrayBuffer(8 + message.length + tail.length));
  ring.set(message, 8);
  ring.set(tail, 8 + message.length);
  return ring;
}

/**
 * A ring of 8 MiB of zeros (UNDEFINED tags: valid values) with `message` at offset 8: a decoder
 * reading past the message's end loops over millions of values (seconds, not microseconds).
 */
const zeros = new Uint8Array(new SharedArrayBuffer(8 << 20));
function inZeros(message: number[]): Uint8Array {
  zeros.fill(0, 0, 64);
  zeros.set(message, 8);
  return zeros;
}

/**
 * Asserts that `f` throws the decoder's malformed-bytes TypeError within `ms` (generous: the
 * machine may be loaded; decoding past the end took seconds).
 */
function assertMalformedFast(f: () => unknown, ms: number, label: string): void {
  const t0 = performance.now();
  assert.throws(f, (e) => {
    assert.ok(e instanceof TypeError, `${label}: ${e}`);
    assert.equal(e.message, MALFORMED, label);
    return true;
  }, label);
  const took = performance.now() - t0;
  assert.ok(took < ms, `${label}: took ${took.toFixed(0)} ms`);
}

Deno.test("structured decodeFrom fails at once on an array count larger than the message", () => {
  // What issue 11 sent with the bytes codec: an ARRAY of 2^32 - 1 elements, 6 bytes long,
  // followed in the ring by 16 MiB of other messages (here: UNDEFINED tags, valid values).
  const message = [W.ARRAY, 0xff, 0xff, 0xff, 0xff, 0x0f];
  const ring = inZeros(message);
  assertMalformedFast(() => structured.decode(new Uint8Array(message)), 1000, "decode");
  assertMalformedFast(
    () => structured.decodeFrom!(ring, 8, 8 + message.length),
    1000,
    "decodeFrom",
  );
});

Deno.test("structured decodeFrom never interprets the bytes after the message's end", () => {
  // An array of one element whose element is missing; the bytes after the end hold an array
  // whose length would throw a RangeError (2^32: "Invalid array length") if it were decoded.
  const message = [W.ARRAY, 1];
  const tail = [W.ARRAY, 0x80, 0x80, 0x80, 0x80, 0x10];
  const ring = inRing(message, tail);
  assertMalformedFast(() => structured.decodeFrom!(ring, 8, 8 + message.length), 1000, "tail");
  // Every proper prefix of real messages, followed by the rest of the message and more.
  const values: unknown[] = [
    { id: 1, body: "hello", list: [1, , 3], map: new Map([[1, { a: 1 }]]), set: new Set([2]) },
    [new Uint8Array([1, 2, 3]), new Date(5), /x/g, new Error("e", { cause: 1n << 80n })],
    Object.assign([1, 2, 3], { extra: "x" }),
    Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i / 3])),
    "a string long enough to be written as UTF-8 rather than ASCII: ✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓✓",
  ];
  for (const value of values) {
    const bytes = [...structured.encode(value)];
    const ringed = inRing(bytes, bytes);
    assert.deepEqual(structured.decodeFrom!(ringed, 8, 8 + bytes.length), structuredClone(value));
    for (let n = 1; n < bytes.length; n++) {
      assertMalformedFast(() => structured.decodeFrom!(ringed, 8, 8 + n), 1000, `prefix ${n}`);
    }
  }
});

Deno.test("structured decoder checks every count against the bytes left", () => {
  const huge = [0xff, 0xff, 0xff, 0xff, 0x0f]; // 2^32 - 1
  const huger = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f]; // 2^53 - 1 and more
  const ascii = (s: string) => [W.STR_ASCII, s.length, ...[...s].map((c) => c.charCodeAt(0))];
  const messages: [string, number[]][] = [
    ["array length", [W.ARRAY, ...huge]],
    ["array extras", [W.ARRAY, 0, ...huge]],
    ["sparse count", [W.SPARSE, ...huge, ...huge]],
    ["sparse length", [W.SPARSE, ...huger, 0, 0]],
    ["sparse index", [W.SPARSE, 2, 1, 5, W.NULL, 0]],
    ["object count", [W.OBJECT, ...huge]],
    ["map count", [W.MAP, ...huge]],
    ["set count", [W.SET, ...huge]],
    ["shape keys", [W.SHAPE_NEW, ...huge, 4, ...ascii("ab")]],
    ["shape block", [W.SHAPE_NEW, 1, ...huge, ...ascii("ab")]],
    ["shape id", [W.SHAPE_REF, 0]],
    ["ascii length", [W.STR_ASCII, ...huge]],
    ["utf-16 length", [W.STR_UTF16, ...huge]],
    ["utf-8 length", [W.STR_UTF8, 0xff, 0xff, 0xff, 0xff]],
    ["bigint length", [W.BIGINT, 0, ...huge]],
    ["buffer length", [W.BUFFER, 0, ...huge, 0]],
    ["buffer padding", [W.BUFFER, 0, 0, 200]],
    ["resizable buffer max below length", [W.BUFFER, 1, 1, 2, 0, 7, 7]],
    ["view bounds", [W.VIEW, 1, 0, 100, 100, W.BUFFER, 0, 0, 0]],
    ["view buffer not a buffer", [W.VIEW, 1, 0, 0, 0, W.NULL]],
    ["ref ahead", [W.REF, 0]],
    ["varint too long", [W.ARRAY, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01]],
    ["regexp flags", [W.REGEXP, ...ascii("a"), ...ascii("zz")]],
    ["error kind", [W.ERROR, 99, 0]],
    ["unknown tag", [99]],
  ];
  for (const [label, message] of messages) {
    assertMalformedFast(() => structured.decode(new Uint8Array(message)), 1000, label);
    const ring = inZeros(message);
    assertMalformedFast(() => structured.decodeFrom!(ring, 8, 8 + message.length), 1000, label);
  }
  // And the decoder is clean afterwards.
  assert.deepEqual(structured.decode(structured.encode({ after: [1, "x"] })), { after: [1, "x"] });
});

Deno.test("structured decodeFrom rejects bounds outside its view", () => {
  const bytes = structured.encode({ a: 1 }).slice();
  for (const [start, end] of [[0, bytes.length + 1], [-1, bytes.length], [3, 3], [4, 2]]) {
    assert.throws(() => structured.decodeFrom!(bytes, start, end), TypeError, `${start}..${end}`);
  }
  const five = structured.encode(7).slice(); // the lone-number fast path checks them too
  assert.throws(() => structured.decodeFrom!(five, 1, 6), TypeError);
});

Deno.test("structured decode rejects malformed bytes", () => {
  const good = structured.encode({ id: 1, body: "hello" }).slice();
  assert.throws(() => structured.decode(good.subarray(0, good.length - 2)), TypeError);
  assert.throws(() => structured.decode(new Uint8Array([255])), TypeError);
  assert.throws(() => structured.decode(new Uint8Array(0)), TypeError);
  const trailing = new Uint8Array([...good, 0]);
  assert.throws(() => structured.decode(trailing), TypeError);
  assert.deepEqual(structured.decode(good), { id: 1, body: "hello" });
});

Deno.test("structured decodes from a view that grows with its resizable buffer", () => {
  const resizable = new ArrayBuffer(16, { maxByteLength: 64 });
  const view = new Uint8Array(resizable); // length-tracking: the same object as it grows
  view.set(structured.encode(1.5));
  assert.equal(structured.decodeFrom!(view, 0, 9), 1.5);
  resizable.resize(64);
  const bytes = structured.encode({ x: 2.5, y: "z" }).slice();
  view.set(bytes, 20);
  assert.deepEqual(structured.decodeFrom!(view, 20, 20 + bytes.length), { x: 2.5, y: "z" });
});

Deno.test("structured keeps cycles through compiled shapes", () => {
  // The same shape, first acyclic (so it gets compiled), then inside a cycle.
  for (let i = 0; i < 10; i++) roundTrip(structured, { left: 1, right: 2 });
  const o: Any = { left: 1, right: null };
  o.right = o;
  const out = roundTrip(structured, [o, { left: o, right: [o] }]) as Any;
  assert.equal(out[0].right, out[0]);
  assert.equal(out[1].left, out[0]);
  assert.equal(out[1].right[0], out[0]);
});

// Deep messages: the decoder keeps its containers on a stack of its own (see mod_test.ts for
// values of any depth through the whole codec).

Deno.test("structured decodes 100,000 levels without recursion", () => {
  const D = 100_000; // ten times what any call stack holds
  const leaf = [W.INT32, 7, 0, 0, 0];
  const ascii = (s: string) => [W.STR_ASCII, s.length, ...[...s].map((c) => c.charCodeAt(0))];
  /** A message of `head` D times, the leaf, then `tail` D times. */
  function message(head: number[], tail: number[], first: number[] = head): Uint8Array {
    const bytes = new Uint8Array(
      first.length + (D - 1) * head.length + leaf.length + D * tail.length,
    );
    bytes.set(first);
    let p = first.length;
    for (let i = 1; i < D; i++, p += head.length) bytes.set(head, p);
    bytes.set(leaf, p);
    p += leaf.length;
    for (let i = 0; i < D; i++, p += tail.length) bytes.set(tail, p);
    return bytes;
  }
  const cases: [string, Uint8Array, (c: Any) => unknown][] = [
    ["array", message([W.ARRAY, 1], [0]), (c) => c[0]],
    ["array extras", message([W.ARRAY, 0, 1, ...ascii("x")], []), (c) => c.x],
    ["sparse array", message([W.SPARSE, 1, 1, 0], [0]), (c) => c[0]],
    ["object", message([W.OBJECT, 1, ...ascii("a")], []), (c) => c.a],
    [
      "shaped object",
      message([W.SHAPE_REF, 0], [], [W.SHAPE_NEW, 1, 3, ...ascii("a")]),
      (c) => c.a,
    ],
    [
      "cyclic shape",
      message([W.SHAPE_REF + W.SHAPE_CYCLIC, 0], [], [
        W.SHAPE_NEW + W.SHAPE_CYCLIC,
        1,
        3,
        ...ascii("a"),
      ]),
      (c) => c.a,
    ],
    ["map", message([W.MAP, 1, W.NULL], []), (c) => c.get(null)],
    ["set", message([W.SET, 1], []), (c) => [...c][0]],
    ["error cause", message([W.ERROR, 0, W.ERROR_HAS_CAUSE], []), (c) => c.cause],
  ];
  for (const [name, bytes, unwrap] of cases) {
    let c = structured.decode(bytes) as Any;
    for (let i = 0; i < D; i++) c = unwrap(c);
    assert.equal(c, 7, name);
  }
});

// Short ASCII strings come out of a cache keyed by their length and a few of their bytes (see
// `cachedAscii`): strings that agree on those and differ elsewhere must still come out as sent.
Deno.test("structured decodes short ASCII strings exactly, whatever is cached", () => {
  const strings: string[] = [];
  // Same length, first and last three characters; they differ in the middle only.
  for (let n = 3; n <= 34; n++) {
    for (const c of "abcXYZ09 ~") {
      const middle = n > 4 ? c.repeat(n - 4) : "";
      strings.push(("q" + middle + "end").slice(0, n));
      strings.push("q" + middle.slice(1) + c + "end".slice(0, n - middle.length - 1));
    }
  }
  // Names as the demo makes them, and all the lengths around the cache's bounds.
  for (let i = 0; i < 2000; i++) strings.push(`user${String(i).padStart(4, "0")}`);
  for (let n = 0; n <= 40; n++) strings.push("x".repeat(n), "y".repeat(n), `${"x".repeat(n)}!`);
  for (let round = 0; round < 3; round++) {
    for (const s of strings) {
      assert.equal(roundTrip(structured, s), s);
      const record = { id: 1, user: s, tags: [s, "web"] };
      assert.deepEqual(roundTrip(structured, record), record);
    }
    // All in one message too: one array of them, then reversed (other neighbours in each slot).
    assert.deepEqual(roundTrip(structured, strings), strings);
    strings.reverse();
  }
});

Deno.test("structured decodes arrays mixing short strings with other elements", () => {
  const long = "z".repeat(200); // its length takes two varint bytes: not the inlined path
  const sparse: unknown[] = ["a", , "abc"]; // a hole
  const extra = Object.assign(["web", "promo"], { note: "kept" });
  const values: unknown[] = [
    ["web", "mobile", "promo"],
    ["api", 1, -0, "bulk", null, undefined, long, "ż", "", "ab"],
    sparse,
    extra,
    [["nested", "x"], { tag: "obj" }, "after"],
    Array.from({ length: 300 }, (_, i) => `t${i}`),
  ];
  for (const value of values) {
    const got = roundTrip(structured, value);
    assert.deepEqual(got, structuredClone(value));
    assert.deepEqual(Object.keys(got as object), Object.keys(structuredClone(value) as object));
  }
});

Deno.test("structured decodes an array's ASCII string whose length takes two varint bytes", () => {
  // The encoder writes strings this long as UTF-8, but the format allows STR_ASCII for them: the
  // inlined one-byte-length path of `readArray` must leave them to the general one.
  const text = "a".repeat(130);
  const message = [W.ARRAY, 2, W.STR_ASCII, 0x80 | 2, 1, ...new TextEncoder().encode(text)];
  message.push(W.STR_ASCII, 3, 0x62, 0x63, 0x64, 0); // "bcd", then no extra properties
  const ring = inRing(message, [W.UNDEFINED]);
  assert.deepEqual(structured.decodeFrom!(ring, 8, 8 + message.length), [text, "bcd"]);
});

Deno.test("structured keeps booleans in objects, before and after their shape is compiled", () => {
  // The demo's enriched record; the decoder compiles a shape once it recurs (COMPILE_AFTER).
  for (let i = 0; i < 12; i++) {
    const record = { id: i, user: `user${i}`, cents: i * 120, flagged: i % 3 === 0, seen: i % 2 };
    assert.deepEqual(roundTrip(structured, record), record);
    const mixed = { a: true, b: false, c: [true, false], d: { e: i % 2 === 0 } };
    assert.deepEqual(roundTrip(structured, mixed), mixed);
  }
});
