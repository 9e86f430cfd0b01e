// Arrays' keys exactly as structuredClone keeps them: indices (dense, holes, sparse up to
// 2^32 - 2), and extra properties, among them keys that look numeric but are not indices.
// Issue 11: `Object.assign([1, 2], { "1.5": "x" })` arrived without "1.5".

import assert from "node:assert/strict";
import fc from "fast-check";
import { structured } from "./structured/mod.ts";
import { diffWithStructuredClone } from "../../tests/_helpers/round_trip.ts";
import { values } from "../../tests/_helpers/arbitraries.ts";

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

// deno-lint-ignore no-explicit-any
type Any = any;

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
