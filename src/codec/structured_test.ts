import assert from "node:assert/strict";
import { structured } from "./structured/mod.ts";
import { graphDiff } from "../../tests/_helpers/equal.ts";
import { diffWithStructuredClone, roundTrip } from "../../tests/_helpers/round_trip.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

function cyclicObject() {
  const o: Any = { name: "root", children: [] };
  o.self = o;
  o.children.push({ parent: o }, { parent: o });
  return o;
}

function viewsOnOneBuffer() {
  const b = new ArrayBuffer(32);
  new Uint8Array(b).forEach((_, i, a) => (a[i] = i));
  return [new Uint8Array(b, 3, 5), new DataView(b, 8, 8), new Float64Array(b, 16, 2), b];
}

function resizableViews() {
  const b = new ArrayBuffer(12, { maxByteLength: 64 });
  return [
    new Uint8Array(b, 2),
    new Uint16Array(b, 2, 3),
    new DataView(b, 4),
    new DataView(b, 1, 2),
  ];
}

function errorWithCause() {
  const inner = new RangeError("inner");
  return new TypeError("outer", { cause: { inner, list: [inner] } });
}

function errorSelfCause() {
  const e: Any = new Error("self");
  e.cause = e;
  return e;
}

function sparse() {
  const a: Any = [];
  a[5] = "five";
  a[100_000] = "far";
  a.label = "sparse";
  return a;
}

function arrayWithExtras() {
  const a: Any = [1, , undefined, -0];
  a.extra = "x";
  a["-1"] = "minus one";
  a[4294967295] = "not an index";
  return a;
}

const f16 = (globalThis as Any).Float16Array;

/** Every kind of value `structuredClone` supports. */
export const CASES: [string, () => unknown][] = [
  ["undefined", () => undefined],
  ["null", () => null],
  ["true", () => true],
  ["false", () => false],
  ["int", () => 42],
  ["negative int", () => -2147483648],
  ["large int", () => 2 ** 53],
  ["double", () => 3.141592653589793],
  ["-0", () => -0],
  ["NaN", () => NaN],
  ["Infinity", () => Infinity],
  ["-Infinity", () => -Infinity],
  ["bigint 0", () => 0n],
  ["bigint small", () => -5n],
  ["bigint huge", () => -(3n ** 300n)],
  ["bigint 2^64", () => 2n ** 64n],
  ["empty string", () => ""],
  ["ascii string", () => "hello world"],
  ["non-ascii string", () => "héllo wörld ✓ 𝄞"],
  ["lone surrogates", () => "a\ud800b\udc00c\udbff"],
  ["long ascii", () => "abc".repeat(5000)],
  ["long unicode", () => "żółć 𝄞 ".repeat(1000)],
  ["long lone surrogate", () => "x".repeat(500) + "\ud800" + "y".repeat(500)],
  ["boxed number", () => new Number(-0)],
  ["boxed NaN", () => new Number(NaN)],
  ["boxed string", () => new String("boxed \udc00")],
  ["boxed true", () => new Boolean(true)],
  ["boxed false", () => new Boolean(false)],
  ["boxed bigint", () => Object(-(2n ** 70n))],
  ["date", () => new Date(1_700_000_000_123)],
  ["invalid date", () => new Date(NaN)],
  ["regexp", () => /a(b+)c/gimsuyd],
  // deno-lint-ignore no-invalid-regexp -- the linter does not know the v flag's set syntax
  ["regexp v flag", () => new RegExp("[\\p{L}--[a-z]]", "v")],
  ["regexp lastIndex", () => Object.assign(/x/g, { lastIndex: 7 })],
  ["regexp lone surrogate", () => new RegExp("\ud800")],
  ["empty object", () => ({})],
  ["small object", () => ({ id: 1, body: "hello world" })],
  ["nested", () => ({ a: { b: { c: [1, { d: null }] } }, e: undefined })],
  ["integer-like keys", () => ({ b: 1, 2: 2, a: 3, 1: 4, "01": 5, 4294967295: 6 })],
  ["__proto__ key", () => JSON.parse('{"__proto__": {"x": 1}, "y": 2}')],
  ["many keys", () => Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`k${i}`, i]))],
  ["null prototype", () => Object.assign(Object.create(null), { a: 1 })],
  ["class instance", () =>
    new (class Point {
      x = 1;
      y = 2;
      get z() {
        return 3;
      }
    })()],
  ["non-enumerable and symbol keys", () => {
    const o: Any = { visible: 1, [Symbol("s")]: 2 };
    Object.defineProperty(o, "hidden", { value: 3, enumerable: false });
    return o;
  }],
  ["inherited keys dropped", () => Object.assign(Object.create({ inherited: 1 }), { own: 2 })],
  ["getter", () => ({
    get computed() {
      return "got";
    },
  })],
  ["frozen", () => Object.freeze({ a: 1 })],
  ["empty array", () => []],
  ["array", () => [1, "two", null, undefined, { three: 3 }]],
  ["holes", () => [, 1, , 2, ,]],
  ["array extras", arrayWithExtras],
  ["sparse array", sparse],
  ["array length only", () => {
    const a: Any = [];
    a.length = 1000;
    return a;
  }],
  ["array subclass", () => (class Stack extends Array<number> {}).from([1, 2, 3])],
  ["array of objects", () => Array.from({ length: 100 }, (_, i) => ({ id: i, body: "x" }))],
  ["array of mixed shapes", () => [{ a: 1 }, { b: 2 }, { a: 3 }, { a: 1, b: 2 }, { b: 1, a: 2 }]],
  ["map", () => new Map<unknown, unknown>([[1, "one"], ["two", 2], [{ k: 1 }, [3]], [NaN, -0]])],
  ["set", () => new Set<unknown>([1, "1", -0, NaN, { a: 1 }, [2]])],
  ["map subclass", () => new (class M extends Map<number, number> {})([[1, 2]])],
  ["array buffer", () => new Uint8Array([1, 2, 3, 255]).buffer],
  ["empty array buffer", () => new ArrayBuffer(0)],
  ["resizable array buffer", () => new ArrayBuffer(5, { maxByteLength: 50 })],
  ["large array buffer", () => new Uint8Array(3 << 20).map((_, i) => i).buffer],
  ["Int8Array", () => new Int8Array([-128, 127])],
  ["Uint8Array", () => new Uint8Array([0, 255])],
  ["Uint8ClampedArray", () => new Uint8ClampedArray([0, 255])],
  ["Int16Array", () => new Int16Array([-32768, 32767])],
  ["Uint16Array", () => new Uint16Array([65535])],
  ["Int32Array", () => new Int32Array([-(2 ** 31)])],
  ["Uint32Array", () => new Uint32Array([2 ** 32 - 1])],
  ["Float32Array", () => new Float32Array([1.5, -0, NaN])],
  ["Float64Array", () => new Float64Array([Math.PI, -0, NaN])],
  ["BigInt64Array", () => new BigInt64Array([-(2n ** 63n)])],
  ["BigUint64Array", () => new BigUint64Array([2n ** 64n - 1n])],
  ...(f16 ? [["Float16Array", () => new f16([1.5, -0])] as [string, () => unknown]] : []),
  ["DataView", () => new DataView(new ArrayBuffer(8), 2, 4)],
  ["view on part of a buffer", () => new Uint32Array(new ArrayBuffer(64), 8, 4)],
  ["views sharing a buffer", viewsOnOneBuffer],
  ["views on a resizable buffer", resizableViews],
  ["typed array subclass", () => new (class Bytes extends Uint8Array {})(4)],
  ["error", () => new Error("boom")],
  ["error without message", () => new Error()],
  ["EvalError", () => new EvalError("e")],
  ["RangeError", () => new RangeError("r")],
  ["ReferenceError", () => new ReferenceError("r")],
  ["SyntaxError", () => new SyntaxError("s")],
  ["TypeError", () => new TypeError("t")],
  ["URIError", () => new URIError("u")],
  ["error cause", errorWithCause],
  ["error cause undefined", () => new Error("c", { cause: undefined })],
  ["error self cause", errorSelfCause],
  ["error custom name", () => Object.assign(new TypeError("n"), { name: "Custom" })],
  ["error renamed to a standard name", () => Object.assign(new Error("n"), { name: "URIError" })],
  ["error subclass", () => new (class AppError extends Error {})("app")],
  ["error extra props dropped", () => Object.assign(new Error("x"), { code: 42 })],
  ["error without stack", () => {
    const e: Any = new Error("no stack");
    delete e.stack;
    return e;
  }],
  ["error non-string stack", () => Object.assign(new Error("x"), { stack: 42 })],
  ["error non-string message", () => Object.assign(new Error(), { message: 5 })],
  ["AggregateError", () => new AggregateError([1], "agg")],
  ["DOMException", () => new DOMException("not found", "NotFoundError")],
  ["DOMException custom name", () => new DOMException("m", "Whatever")],
  ["cycle", cyclicObject],
  ["shared references", () => {
    const shared = { s: 1 };
    return { a: shared, b: [shared, shared], c: new Map([[shared, shared]]) };
  }],
  ["array cycle", () => {
    const a: Any = [];
    a.push(a, { a });
    a.me = a;
    return a;
  }],
  ["map cycle", () => {
    const m = new Map<unknown, unknown>();
    m.set(m, m);
    return m;
  }],
  ["set cycle", () => {
    const s = new Set<unknown>();
    s.add(s);
    return s;
  }],
  ["shared date and regexp", () => {
    const d = new Date(5);
    const r = /r/;
    return [d, r, d, r];
  }],
  ["Math (ordinary object)", () => Math],
  ["Event (plain object)", () => new Event("x")],
];

Deno.test("structured round-trips every supported kind like structuredClone", () => {
  for (const [name, make] of CASES) {
    // Several times: later rounds take the cached-shape and compiled-shape paths.
    for (let round = 0; round < 6; round++) {
      const d = diffWithStructuredClone(structured, make());
      assert.equal(d, null, `${name} (round ${round}): ${d}`);
    }
  }
});

Deno.test("structured decodes everything out of shared memory", () => {
  const b = new ArrayBuffer(8);
  const value = { view: new Uint8Array(b, 2, 4), text: "x".repeat(200), map: new Map([[1, b]]) };
  new Uint8Array(b).set([1, 2, 3, 4, 5, 6, 7, 8]);
  const out = roundTrip(structured, value) as typeof value;
  // roundTrip overwrote the shared bytes after decoding: the result must be intact.
  assert.equal(graphDiff(structuredClone(value), out), null);
  assert.ok(out.view.buffer instanceof ArrayBuffer);
  assert.ok(!(out.view.buffer instanceof SharedArrayBuffer));
  assert.ok(out.map.get(1) instanceof ArrayBuffer);
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

// deno-lint-ignore no-explicit-any
const G = globalThis as any;
type Case = [string, () => unknown];
/** Values structuredClone rejects with DataCloneError (checked below), plus ones we reject. */
export const UNCLONEABLE: [string, () => unknown][] = [
  ["function", () => () => 1],
  ["async function", () => async () => {}],
  ["class", () => class {}],
  ["bound function", () => (() => 1).bind(null)],
  ["symbol", () => Symbol("s")],
  ["Symbol object", () => Object(Symbol("s"))],
  ["WeakMap", () => new WeakMap()],
  ["WeakSet", () => new WeakSet()],
  ["WeakRef", () => new WeakRef({})],
  ["FinalizationRegistry", () => new FinalizationRegistry(() => {})],
  ["Promise", () => Promise.resolve(1)],
  ["Proxy", () => new Proxy({}, {})],
  ["Proxy of array", () => new Proxy([], {})],
  ["generator", () => (function* () {})()],
  ["array iterator", () => [1][Symbol.iterator]()],
  ["map iterator", () => new Map().keys()],
  ["iterator helper", () => [1].values().map((x) => x)],
  ["Intl.NumberFormat", () => new Intl.NumberFormat()],
  ["Intl.Locale", () => new Intl.Locale("en")],
  ["object with toJSON method", () => ({ toJSON() {} })],
  ["Request", () => new Request("http://example.com")],
  ["Headers", () => new Headers()],
  ["URL", () => new URL("http://example.com")],
  ["MessagePort", () => new MessageChannel().port1],
  ["WebAssembly.Global", () => new WebAssembly.Global({ value: "i32" }, 1)],
  ["detached ArrayBuffer", () => {
    const b = new ArrayBuffer(4);
    b.transfer();
    return b;
  }],
  ["view on a detached buffer", () => {
    const b = new ArrayBuffer(4);
    const v = new Uint8Array(b);
    b.transfer();
    return v;
  }],
  ["view out of bounds", () => {
    const b = new ArrayBuffer(8, { maxByteLength: 16 });
    const v = new Uint8Array(b, 4, 4);
    b.resize(2);
    return v;
  }],
  ...(G.Temporal ? [["Temporal.Instant", () => G.Temporal.Now.instant()] as Case] : []),
  ...(G.DisposableStack ? [["DisposableStack", () => new G.DisposableStack()] as Case] : []),
];
/** structuredClone accepts these (sharing memory or a host object); a channel cannot. */
const REJECTED_BY_DESIGN: [string, () => unknown][] = [
  ["SharedArrayBuffer", () => new SharedArrayBuffer(4)],
  ["view on a SharedArrayBuffer", () => new Uint8Array(new SharedArrayBuffer(4))],
  [
    "shared WebAssembly.Memory",
    () => new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }),
  ],
  [
    "WebAssembly.Module",
    () => new WebAssembly.Module(new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])),
  ],
  ["Blob", () => new Blob(["x"])],
  ["File", () => new File(["x"], "x.txt")],
];

function assertDataCloneError(f: () => unknown, label: string) {
  assert.throws(f, (e) => {
    assert.ok(e instanceof DOMException, `${label}: ${e}`);
    assert.equal(e.name, "DataCloneError", label);
    return true;
  }, label);
}

Deno.test("structured rejects what structuredClone rejects, at any depth", () => {
  for (const [name, make] of UNCLONEABLE) {
    assertDataCloneError(() => structuredClone(make()), `structuredClone ${name}`);
    const nestings: [string, (v: unknown) => unknown][] = [
      ["top level", (v) => v],
      ["in an object", (v) => ({ id: 1, deep: { deeper: { v } } })],
      ["in an array", (v) => [1, [2, [3, v]]]],
      ["as a map value", (v) => new Map([["k", { v }]])],
      ["as a map key", (v) => new Map([[v, 1]])],
      ["in a set", (v) => new Set([1, v])],
      ["as an error cause", (v) => new Error("e", { cause: [v] })],
      ["in a class instance", (v) =>
        new (class Box {
          constructor(public v: unknown) {}
        })(v)],
      ["after a cycle", (v) => {
        const o: Any = { v: null };
        o.o = o;
        o.v = v;
        return o;
      }],
    ];
    for (const [where, wrap] of nestings) {
      assertDataCloneError(() => structured.encode(wrap(make())), `${name} ${where}`);
      // The scratch state is clean afterwards.
      const d = diffWithStructuredClone(structured, { id: 2, body: ["after", name] });
      assert.equal(d, null, `after ${name} ${where}: ${d}`);
    }
  }
});

Deno.test("structured rejects shared memory and host objects that structuredClone shares", () => {
  for (const [name, make] of REJECTED_BY_DESIGN) {
    structuredClone(make()); // accepted there
    assertDataCloneError(() => structured.encode(make()), name);
    assertDataCloneError(() => structured.encode({ nested: [make()] }), `nested ${name}`);
  }
});

Deno.test("structured encode returns a reused scratch view", () => {
  const a = structured.encode({ id: 1, body: "first" });
  const copy = a.slice();
  structured.encode({ id: 2, body: "second" });
  assert.equal(structured.decode(copy).body, "first");
  assert.notDeepEqual([...a], [...copy]); // overwritten by the second encode
});

Deno.test("structured handles deep nesting and large values", () => {
  let deep: Any = "leaf";
  for (let i = 0; i < 2000; i++) deep = i % 2 ? { d: deep } : [deep];
  assert.equal(diffWithStructuredClone(structured, deep), null);
  const big = Array.from({ length: 50_000 }, (_, i) => ({ i, s: `item ${i}`, f: i / 3 }));
  assert.equal(diffWithStructuredClone(structured, big), null);
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

Deno.test("structured codec object shape", () => {
  assert.equal(structured.name, "structured");
  assert.ok(Object.isFrozen(structured));
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

Deno.test("structured round-trips lone numbers exactly", () => {
  for (const n of [0, -0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 0.5, -1e-300, NaN, Infinity]) {
    assert.ok(Object.is(roundTrip(structured, n), n), String(n));
  }
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
