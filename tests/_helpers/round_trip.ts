// Helpers for the codec tests: round trips through shared memory, as a channel does them.

import type { Codec } from "../../src/codec/types.ts";
import { graphDiff } from "./equal.ts";

/** One shared region for all tests, like the ring buffer of a channel. */
const shared = new Uint8Array(new SharedArrayBuffer(1 << 22));

/**
 * Encodes `value`, copies the bytes into shared memory at an odd offset, decodes them there, then
 * overwrites the shared bytes, so that anything the result still aliased would show the damage.
 */
export function roundTrip<T>(codec: Codec<T>, value: T): T {
  const encoded = codec.encode(value);
  if (!(encoded instanceof Uint8Array)) throw new TypeError("encode must return a Uint8Array");
  const offset = 13;
  const view = encoded.length + offset <= shared.length
    ? shared.subarray(offset, offset + encoded.length)
    : new Uint8Array(new SharedArrayBuffer(encoded.length + offset), offset, encoded.length);
  view.set(encoded);
  const decoded = codec.decode(view);
  view.fill(0xa5);
  return decoded;
}

/**
 * Round-trips `value` through `codec` and compares the result with `structuredClone(value)`.
 *
 * @returns null when they match exactly, else the first difference.
 */
export function diffWithStructuredClone(codec: Codec<unknown>, value: unknown): string | null {
  const expected = structuredClone(value);
  const actual = roundTrip(codec, value);
  return graphDiff(expected, actual);
}
