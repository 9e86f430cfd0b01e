// The in-place path (in_place.ts, see ../_direct.ts): large strings and views are written
// straight into a channel's ring, exactly as `encode` writes them; nothing that may run user code
// is.

import assert from "node:assert/strict";
import fc from "fast-check";
import { structured } from "./mod.ts";
import { directOf } from "../_direct.ts";
import { markEnd } from "../../_brand.ts";
import { diffWithStructuredClone } from "../../../tests/_helpers/round_trip.ts";
import { largeValues } from "../../../tests/_helpers/arbitraries.ts";

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

Deno.test("structured never writes a channel end in place", () => {
  // The in-place path (see ../_direct.ts) takes only strings and binary data: an end goes
  // through `encode`, which throws before the channel reserves any space.
  // A stand-in for a Sender, as in encode_test.ts: a class instance with state, marked as an end.
  const end = Object.assign(new (class FakeEnd {})(), { id: 7 });
  markEnd(end);
  assert.equal(directOf(structured)!.measure(end), -1);
  assert.equal(directOf(structured)!.measure({ end }), -1);
});
