// BigInts: exact, and encoded and decoded in linear time. Issue 11: a 256 KiB BigInt took 1.6 s
// to encode and 3.9 s to decode (64 bits at a time: quadratic); structuredClone takes ~0 ms.

import assert from "node:assert/strict";
import { structured } from "./structured/mod.ts";
import { diffWithStructuredClone } from "../../tests/_helpers/round_trip.ts";

/** A random BigInt of exactly `bytes` bytes (top bit set). */
function randomBigInt(bytes: number): bigint {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(b.subarray(i, i + 65536));
  b[0] |= 0x80;
  return BigInt("0x" + b.toHex());
}

/** The fastest of `runs` encode + decode round trips of `n`, in ms. */
function roundTripMs(n: bigint, runs: number): number {
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const bytes = structured.encode(n);
    const out = structured.decode(bytes);
    const ms = performance.now() - t0;
    assert.ok(out === n, "round trip");
    best = Math.min(best, ms);
  }
  return best;
}

Deno.test("structured round-trips BigInts of every size and sign exactly", () => {
  const values: bigint[] = [
    0n,
    1n,
    -1n,
    127n,
    255n,
    256n,
    -256n,
    2n ** 48n - 1n,
    2n ** 48n,
    2n ** 53n - 1n,
    2n ** 53n,
    -(2n ** 53n) - 1n,
    2n ** 64n - 1n,
    2n ** 64n,
    -(2n ** 64n),
    3n ** 300n,
    -(3n ** 300n),
    randomBigInt(4097),
    -randomBigInt((1 << 20) + 1),
  ];
  for (const n of values) {
    for (const v of [n, Object(n), [n, Object(n), { n }]]) {
      const d = diffWithStructuredClone(structured, v);
      assert.equal(d, null, d ?? "");
    }
  }
  const boxed = structured.decode(structured.encode(Object(-5n)));
  assert.ok(typeof boxed === "object" && boxed instanceof BigInt && boxed.valueOf() === -5n);
});

Deno.test("structured encodes and decodes BigInts in linear time", () => {
  const half = randomBigInt(512 << 10);
  const full = randomBigInt(1 << 20);
  // A quadratic codec takes tens of seconds here: fail at once rather than wait.
  const first = roundTripMs(half, 1);
  assert.ok(first < 1500, `a 512 KiB BigInt took ${first.toFixed(0)} ms`);
  let a = Infinity;
  let b = Infinity;
  for (let r = 0; r < 7; r++) { // interleaved, the fastest of each: the machine may be loaded
    a = Math.min(a, roundTripMs(half, 1));
    b = Math.min(b, roundTripMs(full, 1));
  }
  assert.ok(b <= 2.5 * a + 1, `1 MiB: ${b.toFixed(1)} ms; 512 KiB: ${a.toFixed(1)} ms`);
});
