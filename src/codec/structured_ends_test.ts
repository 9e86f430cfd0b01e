// A live channel end (Sender, Receiver) inside a message is a DataCloneError at encode, before
// anything could be enqueued. Issue 11: `tx.send({ reply: otherTx })` arrived as `{ reply: {} }`,
// class instances being cloned as plain objects, silently.

import assert from "node:assert/strict";
import { structured } from "./structured/mod.ts";
import { directOf } from "./_direct.ts";
import { diffWithStructuredClone } from "../../tests/_helpers/round_trip.ts";
import { endCloneError, markEnd } from "../_brand.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

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

Deno.test("structured never writes a channel end in place", () => {
  // The in-place path (see _direct.ts) takes only strings and binary data: an end goes through
  // `encode`, which throws before the channel reserves any space.
  assert.equal(directOf(structured)!.measure(new FakeEnd()), -1);
  assert.equal(directOf(structured)!.measure({ end: new FakeEnd() }), -1);
});
