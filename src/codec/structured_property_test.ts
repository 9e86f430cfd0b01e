import assert from "node:assert/strict";
import fc from "fast-check";
import { structured } from "./structured/mod.ts";
import { diffWithStructuredClone } from "../../tests/_helpers/round_trip.ts";
import { largeValues, values } from "../../tests/_helpers/arbitraries.ts";
import { directOf } from "./_direct.ts";

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

Deno.test("structured writes large strings and views in place exactly as encode does", () => {
  const direct = directOf(structured)!;
  const target = new Uint8Array(new SharedArrayBuffer(1 << 16));
  fc.assert(
    fc.property(largeValues, fc.nat(7), (v, skew) => {
      const bound = direct.measure(v);
      assert.ok(bound >= 0, "large values are written in place");
      const start = 8 * skew; // 8-byte aligned, as in the ring
      target.fill(0xa5);
      const end = direct.encodeInto(v, target, start, bound);
      assert.ok(end <= start + bound);
      assert.ok(target.subarray(end).every((b) => b === 0xa5), "nothing past the end");
      assert.deepEqual(target.slice(start, end), structured.encode(v));
      const d = diffWithStructuredClone(structured, v);
      assert.equal(d, null, d ?? "");
    }),
    { numRuns: 300 },
  );
});
