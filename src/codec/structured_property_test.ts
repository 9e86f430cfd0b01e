import assert from "node:assert/strict";
import fc from "fast-check";
import { structured } from "./structured.ts";
import { diffWithStructuredClone } from "./_test_util.ts";
import { values } from "./_arbitraries.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const RUNS = Number(Deno.env.get("CODEC_FUZZ_RUNS") ?? 2500);

Deno.test(`structured matches structuredClone on ${RUNS} random values`, () => {
  fc.assert(
    fc.property(values, (v) => {
      const d = diffWithStructuredClone(structured, v);
      assert.equal(d, null, d ?? "");
    }),
    { numRuns: RUNS },
  );
});

Deno.test("structured matches structuredClone on fc.anything()", () => {
  const anything = fc.anything({
    withBigInt: true,
    withBoxedValues: true,
    withDate: true,
    withMap: true,
    withSet: true,
    withNullPrototype: true,
    withObjectString: true,
    withSparseArray: true,
    withTypedArray: true,
    withUnicodeString: true,
  });
  fc.assert(
    fc.property(anything, (v) => {
      const d = diffWithStructuredClone(structured, v);
      assert.equal(d, null, d ?? "");
    }),
    { numRuns: 1000 },
  );
});
