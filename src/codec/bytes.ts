/**
 * The `bytes` codec: `Uint8Array` messages, with no encoding at all.
 *
 * @module
 */

import type { Codec } from "./types.ts";

const taTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)!.get!;

/**
 * A codec for `Uint8Array` messages. `encode` returns the view itself (the channel copies it into
 * shared memory); `decode` copies the bytes out into a fresh `Uint8Array` of exactly that length,
 * so a message costs one copy each way. Only the view's bytes travel, not the rest of its buffer.
 *
 * @param value For `encode`: the `Uint8Array` to send. For `decode`: the bytes in shared memory.
 * @returns `encode` returns `value` itself; `decode` returns a new `Uint8Array` backed by a
 * fresh, non-shared `ArrayBuffer`.
 * @throws {TypeError} From `encode` when `value` is not a `Uint8Array`.
 *
 * @example
 * ```ts
 * import { bytes } from "./bytes.ts";
 *
 * const data = new Uint8Array([1, 2, 3]);
 * const wire = bytes.encode(data); // the same view: no copy
 * const copy = bytes.decode(wire);
 * if (copy === data || copy.join() !== "1,2,3") throw new Error("unexpected");
 * ```
 */
export const bytes: Codec<Uint8Array> = Object.freeze({
  name: "bytes",
  encode(value: Uint8Array): Uint8Array {
    if (taTag.call(value) !== "Uint8Array") {
      throw new TypeError("Cannot encode with the bytes codec: the value is not a Uint8Array");
    }
    return value;
  },
  decode(data: Uint8Array): Uint8Array {
    // A new, non-shared ArrayBuffer even when `data` is a view of shared memory (measured faster
    // than data.slice() for views of shared memory in Deno 2.9).
    return new Uint8Array(data);
  },
  decodeInto(memory: Uint8Array, start: number, end: number, target: Uint8Array): number {
    const n = end - start;
    if (n > target.length) return -2 - n;
    target.set(memory.subarray(start, end));
    return n;
  },
});
