// Deep values: whatever `structuredClone` carries, the structured codec carries, and any thread
// can decode it — the encoder and the decoder keep their containers on stacks of their own, not
// on the call stack.
// Issue 11: a plain object nested 2,500 deep was sent, then the receiver threw "Maximum call
// stack size exceeded" and the message was gone.

import assert from "node:assert/strict";
import fc from "fast-check";
import { structured } from "./structured/mod.ts";
import * as W from "./structured/wire.ts";
import { values } from "../../tests/_helpers/arbitraries.ts";
import { diffWithStructuredClone } from "../../tests/_helpers/round_trip.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** How each container kind nests: wrap a value, and find it again in the clone. */
const KINDS: [string, (v: unknown) => unknown, (c: Any) => unknown][] = [
  ["plain object", (v) => ({ a: v }), (c) => c.a],
  ["object with many keys", (v) => {
    const o: Any = {};
    for (let i = 0; i < 40; i++) o[`k${i}`] = i; // past the shaped-object limit: OBJECT tag
    o.z = v;
    return o;
  }, (c) => c.z],
  ["array", (v) => [v], (c) => c[0]],
  ["array with extras", (v) => Object.assign([1, , 3], { x: v }), (c) => c.x],
  ["sparse array", (v) => {
    const a: unknown[] = [];
    a[1000] = v;
    return a;
  }, (c) => c[1000]],
  ["map key", (v) => new Map([[v, 1]]), (c) => [...c.keys()][0]],
  ["map value", (v) => new Map([[1, v]]), (c) => c.get(1)],
  ["set", (v) => new Set([v]), (c) => [...c][0]],
  ["error cause", (v) => new Error("e", { cause: v }), (c) => c.cause],
  ["null-prototype object", (v) => Object.assign(Object.create(null), { a: v }), (c) => c.a],
];

function nest(wrap: (v: unknown) => unknown, depth: number): unknown {
  let v: unknown = "leaf";
  for (let i = 0; i < depth; i++) v = wrap(v);
  return v;
}

/** Follows `unwrap` down `depth` levels (no recursion) and checks the leaf. */
function assertNested(c: unknown, unwrap: (c: Any) => unknown, depth: number, label: string) {
  for (let i = 0; i < depth; i++) {
    assert.ok(c !== null && typeof c === "object", `${label}: level ${i}`);
    c = unwrap(c);
  }
  assert.equal(c, "leaf", label);
}

Deno.test("structured carries every container as deep as structuredClone does, and deeper", () => {
  // Where structuredClone accepts the value, so must the codec; where it gives up (its
  // recursion is bounded by the stack), the codec may go on, but whatever it accepts decodes.
  for (const depth of [2500, 4000, 10_000]) {
    for (const [name, wrap, unwrap] of KINDS) {
      const label = `${name} ${depth} deep`;
      const value = nest(wrap, depth);
      let cloned = true;
      try {
        // (Deno prints warnings when structuredClone overflows its stack on an error chain.)
        if (name === "error cause" && depth > 2500) throw new RangeError("not tried");
        assertNested(structuredClone(value), unwrap, depth, `structuredClone ${label}`);
      } catch (e) {
        assert.ok(e instanceof RangeError || (e as Error).name === "DataCloneError", `${e}`);
        cloned = false;
      }
      let bytes: Uint8Array;
      try {
        bytes = structured.encode(value).slice();
      } catch (e) {
        assert.ok(!cloned, `${label}: structuredClone accepts it, encode threw ${e}`);
        continue;
      }
      assertNested(structured.decode(bytes), unwrap, depth, label);
    }
  }
});

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

Deno.test("structured decodes 2,500 levels in a thread with a small stack", async () => {
  // A process whose V8 stack is a tenth of the default (984 KiB): like a worker whose stack is
  // smaller than the sender's.
  const value = nest((v) => ({ a: [new Map([[0, new Set([v])]])] }), 2500);
  const bytes = structured.encode(value).slice();
  const code = `
    import { structured } from ${
    JSON.stringify(new URL("./structured/mod.ts", import.meta.url).href)
  };
    const bytes = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
    let c = structured.decode(bytes), depth = 0;
    while (c !== "leaf") { c = [...c.a[0].get(0)][0]; depth++; }
    console.log(depth);`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", "--v8-flags=--stack-size=100", code],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(bytes);
  await writer.close();
  const { code: status, stdout, stderr } = await child.output();
  const err = new TextDecoder().decode(stderr);
  assert.equal(status, 0, err);
  assert.equal(new TextDecoder().decode(stdout).trim(), "2500");
});

/** A random value at the bottom of 30 to 90 random containers, each with random siblings. */
const deepValues = fc.tuple(
  values,
  fc.array(fc.tuple(fc.nat(8), values, values), { minLength: 30, maxLength: 90 }),
).map(([leaf, levels]) => {
  let v: unknown = leaf;
  for (const [kind, before, after] of levels) {
    switch (kind) {
      case 0:
        v = { before, v, after };
        break;
      case 1:
        v = [before, v, after];
        break;
      case 2:
        v = new Map<unknown, unknown>([[before, after], ["v", v], [after, before]]);
        break;
      case 3:
        v = new Set([before, v, after]);
        break;
      case 4:
        v = new Error("e", { cause: { before, v, after } });
        break;
      case 5:
        v = Object.assign([before, , v], { after }); // a hole and an extra property
        break;
      case 6: {
        const a: unknown[] = [before];
        a[50] = v; // sparse
        a[60] = after;
        v = a;
        break;
      }
      case 7: {
        const o: Any = { before, after };
        for (let i = 0; i < 40; i++) o[`k${i}`] = i; // the OBJECT tag
        o.v = v;
        v = o;
        break;
      }
      default:
        v = Object.assign(Object.create(null), { v, after });
    }
  }
  return v;
});

Deno.test("structured matches structuredClone on random values nested past its call depth", () => {
  fc.assert(
    fc.property(deepValues, (v) => {
      const d = diffWithStructuredClone(structured, v);
      assert.equal(d, null, d ?? "");
    }),
    { numRuns: Number(Deno.env.get("CODEC_FUZZ_RUNS") ?? 300) },
  );
});
