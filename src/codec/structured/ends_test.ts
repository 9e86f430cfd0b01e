// Channel ends inside messages (`withEndSink` in encode.ts, `withEndSource` in decode.ts): an end
// is written as END and the index its sink gives it, once per message, a REF after that; decoded,
// it is what the source gives for that index. Without a sink (or a source) nothing changes.

import assert from "node:assert/strict";
import { structured, withEndSink, withEndSource } from "./mod.ts";
import * as W from "./wire.ts";
import { directOf } from "../_direct.ts";
import { endCloneError, markEnd } from "../../_brand.ts";
import { graphDiff } from "../../../tests/_helpers/equal.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** Stands in for a Sender, as in encode_test.ts: a class instance marked as a live end. */
class FakeEnd {
  constructor(public id: number) {
    markEnd(this);
  }
}

interface Sent {
  bytes: Uint8Array;
  /** The ends the sink was given, in order: end `ends[i]` was written as index `i`. */
  ends: object[];
}

/** Encodes `value` with a sink that numbers the ends in the order it is given them. */
function send(value: unknown): Sent {
  const ends: object[] = [];
  const bytes = withEndSink((end) => ends.push(end) - 1, () => structured.encode(value)).slice();
  return { bytes, ends };
}

/**
 * Decodes `sent` with a source that gives, for each end, a plain object with its id: what
 * `structuredClone` makes of a FakeEnd. Checks that the source is asked for each end once.
 */
function receive(sent: Sent): unknown {
  const asked: number[] = [];
  const value = withEndSource((index) => {
    asked.push(index);
    return { id: (sent.ends[index] as FakeEnd).id };
  }, () => structured.decode(sent.bytes));
  assert.deepEqual(asked, sent.ends.map((_, i) => i), "the source is asked once per end");
  return value;
}

/** Round trip: the result must be `structuredClone(value)` exactly, identities included. */
function assertRoundTrip(value: unknown, ends: number, where = ""): void {
  const sent = send(value);
  assert.equal(sent.ends.length, ends, `${where}: ends given to the sink`);
  assert.equal(new Set(sent.ends).size, ends, `${where}: each end once`);
  const d = graphDiff(structuredClone(value), receive(sent));
  assert.equal(d, null, `${where}: ${d}`);
}

function deep(v: unknown, levels: number): unknown {
  for (let i = 0; i < levels; i++) v = i % 2 ? { v } : [v];
  return v;
}

/** A sparse array (the encoder's SPARSE path): few elements in a long length. */
function sparse(...items: unknown[]): unknown[] {
  const a: unknown[] = [];
  a.length = 1000;
  items.forEach((v, i) => a[100 * i + 7] = v);
  return a;
}

Deno.test("structured writes an end at top level as END and its index", () => {
  const end = new FakeEnd(1);
  const sent = send(end);
  assert.deepEqual(sent.ends, [end]);
  assert.deepEqual([...sent.bytes], [W.END, 0]);
  const token = {};
  assert.equal(withEndSource(() => token, () => structured.decode(sent.bytes)), token);
});

Deno.test("structured passes an end anywhere in a message to the sink", () => {
  const places: [string, (end: unknown) => unknown][] = [
    ["in an object", (end) => ({ reply: end })],
    ["in an array", (end) => [1, "two", end]],
    ["in an array with extra properties", (end) => Object.assign([1, end], { x: end })],
    ["in a sparse array", (end) => sparse(1, end, { x: 2 })],
    ["as a map key", (end) => new Map([[end, 1]])],
    ["as a map value", (end) => new Map([[1, end]])],
    ["in a set", (end) => new Set([1, end])],
    ["as an error cause", (end) => new Error("e", { cause: end })],
    ["in a class instance", (end) => Object.assign(new (class Box {})(), { end })],
    ["in a null-prototype object", (end) => Object.assign(Object.create(null), { end })],
    ["in an object of many keys", (end) => Object.fromEntries([["end", end], ...keys(40)])],
    ["100 levels deep", (end) => deep({ end }, 100)], // past the encoder's nested calls
    ["after other objects", (end) => ({ a: { b: 1 }, c: [{ d: 2 }], end })],
  ];
  for (const [where, wrap] of places) assertRoundTrip(wrap(new FakeEnd(7)), 1, where);
});

function keys(n: number): [string, number][] {
  return Array.from({ length: n }, (_, i) => [`k${i}`, i]);
}

Deno.test("structured gives the sink an end met twice once, and decodes it as one object", () => {
  const end = new FakeEnd(1);
  const shared = { x: 1 };
  const value = {
    a: end,
    list: [shared, end],
    m: new Map([[end, end]]),
    s: new Set([end]),
    shared,
  };
  assertRoundTrip(value, 1);
  // The value the source gives stands wherever the end stood.
  const sent = send(value);
  assert.deepEqual(sent.ends, [end]);
  const token = { token: true };
  const out = withEndSource(() => token, () => structured.decode(sent.bytes)) as Any;
  assert.equal(out.a, token);
  assert.equal(out.list[1], token);
  assert.deepEqual([...out.m], [[token, token]]);
  assert.equal([...out.s][0], token);
  // Objects after the end keep their ids: the end took one, as it did when encoded.
  assert.equal(out.shared, out.list[0]);
});

Deno.test("structured gives the sink different ends in the order it writes them", () => {
  const a = new FakeEnd(1);
  const b = new FakeEnd(2);
  const c = new FakeEnd(3);
  const value = { first: a, nested: { list: [b, a], m: new Map([[c, b]]) } };
  assertRoundTrip(value, 3);
  const given: object[] = [];
  // Indices the sink chooses, in two-byte varints too.
  const bytes = withEndSink((end) => 200 + given.push(end), () => structured.encode(value)).slice();
  assert.deepEqual(given, [a, b, c]);
  const asked: number[] = [];
  const out = withEndSource((index) => {
    asked.push(index);
    return `end ${index}`;
  }, () => structured.decode(bytes));
  assert.deepEqual(asked, [201, 202, 203]);
  assert.deepEqual(out, {
    first: "end 201",
    nested: { list: ["end 202", "end 201"], m: new Map([["end 203", "end 202"]]) },
  });
});

Deno.test("structured still refuses an end outside withEndSink", () => {
  const expected = endCloneError();
  const end = new FakeEnd(1);
  const refused = (e: unknown) => {
    assert.ok(e instanceof DOMException);
    assert.equal(e.name, "DataCloneError");
    assert.equal(e.message, expected.message);
    return true;
  };
  assert.throws(() => structured.encode({ end }), refused);
  withEndSink(() => 0, () => structured.encode({ end }));
  assert.throws(() => structured.encode({ end }), refused, "after a withEndSink returned");
  assert.throws(() => withEndSink(() => 0, () => 1) && structured.encode([end]), refused);
});

Deno.test("structured restores the outer sink after a nested withEndSink, even one that throws", () => {
  const end = new FakeEnd(1);
  const outer: object[] = [];
  const inner: object[] = [];
  withEndSink((e) => outer.push(e) - 1, () => {
    structured.encode([end]);
    withEndSink((e) => inner.push(e) - 1, () => structured.encode([end, end]));
    structured.encode([end]);
    assert.throws(
      () =>
        withEndSink(() => 0, () => {
          throw new Error("inside fn");
        }),
      /inside fn/,
    );
    structured.encode([end]);
  });
  assert.equal(outer.length, 3);
  assert.equal(inner.length, 1);
  assert.throws(() => structured.encode(end), DOMException);
});

Deno.test("structured fails on an END tag outside withEndSource as on malformed bytes", () => {
  const sent = send({ end: new FakeEnd(1) });
  let malformed: unknown;
  try {
    structured.decode(new Uint8Array([W.ARRAY, 5]));
  } catch (e) {
    malformed = e;
  }
  assert.ok(malformed instanceof TypeError);
  assert.throws(() => structured.decode(sent.bytes), (e) => {
    assert.ok(e instanceof TypeError);
    assert.equal(e.message, malformed.message);
    return true;
  });
  // The source is gone once withEndSource returns, also after a throw in it.
  withEndSource(() => 1, () => structured.decode(sent.bytes));
  assert.throws(() => withEndSource(() => 1, () => structured.decode(new Uint8Array([99]))));
  assert.throws(() => structured.decode(sent.bytes), TypeError);
  assert.deepEqual(structured.decode(structured.encode({ after: [1] })), { after: [1] });
});

Deno.test("structured throws what the sink throws, and leaves nothing behind", () => {
  const refusal = new DOMException("Cannot send this end", "DataCloneError");
  const value = deep({ first: {}, end: new FakeEnd(1) }, 100);
  assert.throws(() =>
    withEndSink(() => {
      throw refusal;
    }, () => structured.encode(value)), (e) => e === refusal);
  assert.throws(
    () => withEndSink(() => -1, () => structured.encode(value)),
    RangeError,
    "an index the wire cannot carry",
  );
  assertRoundTrip({ after: [{ x: 1 }], end: new FakeEnd(2) }, 1);
});

Deno.test("structured gives an end to the sink of the encoding it is in, not of an outer one", () => {
  // A getter that encodes a message of its own (say, one it sends on another channel).
  const end = new FakeEnd(1);
  const outerEnds: object[] = [];
  let innerEnds: object[] = [];
  let nested: () => unknown = () => {};
  const value = {
    get x() {
      return nested();
    },
    end,
  };
  const encodeOuter = () =>
    withEndSink((e) => outerEnds.push(e) - 1, () => structured.encode(value));
  nested = () => structured.encode({ end }); // no sink of its own
  assert.throws(encodeOuter, DOMException);
  assert.equal(outerEnds.length, 0);
  nested = () => withEndSink((e) => innerEnds.push(e) - 1, () => structured.encode([end]));
  encodeOuter();
  assert.deepEqual(outerEnds, [end]);
  assert.deepEqual(innerEnds, [end]);
  innerEnds = [];
  // An encoding without ends does not disturb the sink.
  nested = () => structured.decode(structured.encode({ y: [1] }));
  outerEnds.length = 0;
  const bytes = encodeOuter().slice();
  assert.deepEqual(outerEnds, [end]);
  assert.deepEqual(withEndSource(() => "end", () => structured.decode(bytes)), {
    x: { y: [1] },
    end: "end",
  });
});

Deno.test("structured writes an end on the in-place path as encode does", () => {
  // A channel never writes an end in place (`measure` declines anything but strings and binary
  // data: see in_place_test.ts), but the in-place writer is the encoder's, sink included.
  const direct = directOf(structured)!;
  const end = new FakeEnd(1);
  assert.equal(direct.measure(end), -1);
  assert.equal(direct.measure([end]), -1);
  const value = { end, list: [end, "x".repeat(600)] };
  const target = new Uint8Array(new SharedArrayBuffer(4096));
  const given: object[] = [];
  const written = withEndSink(
    (e) => given.push(e) - 1,
    () => direct.encodeInto(value, target, 8, 2048),
  );
  assert.deepEqual(given, [end]);
  assert.deepEqual(target.slice(8, written), send(value).bytes);
  assert.throws(() => direct.encodeInto(value, target, 8, 2048), DOMException);
});

Deno.test("structured round-trips ends deep in a large value, past the nested calls", () => {
  // Ends below the encoder's and decoder's RECURSION budgets (32 levels), where containers wait
  // in frames; not deeper than structuredClone goes, to compare with it.
  const ends = Array.from({ length: 5 }, (_, i) => new FakeEnd(i));
  let v: unknown = { bottom: ends[0] };
  for (let i = 1; i <= 1200; i++) {
    if (i % 300 === 0) v = { v, end: ends[i / 300], again: ends[0] };
    else if (i % 7 === 0) v = new Map([[ends[i % 5], v]]);
    else if (i % 11 === 0) v = new Set([v, ends[i % 5]]);
    else if (i % 13 === 0) v = new Error("e", { cause: v });
    else v = i % 2 ? { v } : [v];
  }
  const wide = Array.from(
    { length: 2000 },
    (_, i) => ({ i, end: ends[i % 5], deep: [[[ends[4]]]] }),
  );
  assertRoundTrip({ v, wide }, 5);
});
