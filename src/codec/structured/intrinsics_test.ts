// The brand checks (intrinsics.ts), through the encoder, their one user: every value
// `structuredClone` rejects is rejected, at any depth, and so are the values it shares that a
// channel cannot carry.

import assert from "node:assert/strict";
import { structured } from "./mod.ts";
import { diffWithStructuredClone } from "../../../tests/_helpers/round_trip.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

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
