import assert from "node:assert/strict";
import { graphDiff } from "./equal.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

Deno.test("graphDiff sees every difference the codec tests rely on", () => {
  const shared = {};
  const cyc: Any = {};
  cyc.self = cyc;
  const b = new ArrayBuffer(8);
  const extra: Any = [1];
  extra.x = 1;
  const e1 = new Error("m");
  const e2 = new Error("m");
  e2.stack = "other";
  const pairs: [string, unknown, unknown][] = [
    ["-0 vs 0", -0, 0],
    ["holes vs undefined", [, 1], [undefined, 1]],
    ["array extra props", extra, [1]],
    ["identity", [shared, shared], [{}, {}]],
    ["cycle vs tree", cyc, { self: { self: {} } }],
    ["prototype", new (class A {})(), {}],
    ["byteOffset", new Uint8Array(b, 1, 2), new Uint8Array(new ArrayBuffer(8), 2, 2)],
    ["buffer length", new Uint8Array(b, 0, 2), new Uint8Array(new ArrayBuffer(2))],
    ["map order", new Map([[1, 1], [2, 2]]), new Map([[2, 2], [1, 1]])],
    ["set order", new Set([1, 2]), new Set([2, 1])],
    ["error stack", e1, e2],
    ["error name", new TypeError("m"), new RangeError("m")],
    ["error cause", new Error("m", { cause: 1 }), new Error("m", { cause: 2 })],
    ["regexp lastIndex", Object.assign(/a/g, { lastIndex: 1 }), /a/g],
    ["key order", { a: 1, b: 2 }, { b: 2, a: 1 }],
    ["resizable", new ArrayBuffer(1, { maxByteLength: 2 }), new ArrayBuffer(1)],
    ["boxed", new Number(-0), new Number(0)],
    ["date", new Date(NaN), new Date(0)],
    ["string vs boxed", "a", new String("a")],
  ];
  for (const [name, a, b] of pairs) assert.notEqual(graphDiff(a, b), null, name);
  assert.equal(graphDiff(NaN, NaN), null);
  assert.equal(graphDiff({ a: [1, { b: 2 }] }, { a: [1, { b: 2 }] }), null);
});
