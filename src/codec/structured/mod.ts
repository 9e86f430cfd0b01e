/**
 * The `structured` codec: a binary encoding with `structuredClone` semantics.
 *
 * The public entry of `src/codec/structured/`, whose modules each have one role and their own
 * state: `encode.ts` (the encoder: scratch buffer, identity tracking, shape cache), `decode.ts`
 * (the decoder: shape cache, value and frame stacks), `in_place.ts` (which values are written
 * straight into a channel's ring), `intrinsics.ts` (intrinsics and brand checks), `wire.ts` (the
 * format). This module assembles the codec, and passes on the hooks for channel ends inside
 * messages (`withEndSink`, `withEndSource`: internal, for the channels that carry them).
 *
 * @module
 */

import type { Codec } from "../types.ts";
import { registerDirect } from "../_direct.ts";
import { encode } from "./encode.ts";
import { inPlace } from "./in_place.ts";
import { decode, decodeFrom } from "./decode.ts";
import { decodeInto } from "./into.ts";

export { setEndSink, withEndSink } from "./encode.ts";
export { withEndSource } from "./decode.ts";

/**
 * A binary codec with the semantics of `structuredClone`: whatever `structuredClone(value)`
 * returns, `structured.decode(structured.encode(value))` returns too — same types, prototypes,
 * property order, holes, `-0`, lone surrogates, shared references and cycles. Values
 * `structuredClone` rejects throw the same `DOMException` named `"DataCloneError"`.
 *
 * Differences from `structuredClone`, all because bytes cannot carry identity across threads:
 * `SharedArrayBuffer` (and views on one), `WebAssembly.Module`, `WebAssembly.Memory`, `Blob`,
 * `File` and other Deno host objects except `DOMException` throw `DataCloneError`, and so does a
 * live channel end (`Sender`, `Receiver`), which would arrive as a plain object cut off from its
 * channel (move ends with `transfer()` and `postMessage`); transfer lists do not exist. A
 * built-in object (a `Map`, say) whose prototype was replaced by `Object.prototype` is encoded as
 * a plain object. Values nested deeper than `structuredClone` goes (it gives up with a
 * `RangeError` after a few thousand levels) are encoded too: neither `encode` nor `decode`
 * recurses more than a few dozen levels, so any thread decodes what any thread encoded.
 *
 * `encode` returns a view of a scratch buffer owned by the codec, valid until the next call to
 * `encode` on the same thread (a message larger than 4 MiB gets a buffer of its own, so that the
 * codec keeps no more than that between messages). `decode` copies everything it returns out of
 * `bytes`, and reads nothing outside them. The bytes of large `ArrayBuffer`s are padded to an
 * 8-byte boundary relative to the start of the message: keep messages 8-byte aligned in shared
 * memory, or copying them out is several times slower.
 *
 * @param value The value to encode (for `encode`); `bytes` (for `decode`): the encoded bytes,
 * typically a view of shared memory.
 * @returns `encode` returns the encoded bytes; `decode` returns the decoded value.
 * @throws {DOMException} `DataCloneError` from `encode` when `structuredClone` would throw it,
 * plus any error a getter throws while the value is read.
 * @throws {TypeError} From `decode` when the bytes are not a valid encoding (a length or count
 * larger than the bytes left included: it fails at once, allocating nothing for it).
 *
 * @example Round trip
 * ```ts
 * import { structured } from "./mod.ts";
 * import { deepStrictEqual } from "node:assert/strict";
 *
 * const message = { id: 1, when: new Date(0), tags: new Set(["a"]), body: new Uint8Array([1, 2]) };
 * const bytes = structured.encode(message).slice(); // copy: the view is reused by the next call
 * deepStrictEqual(structured.decode(bytes), structuredClone(message));
 * ```
 *
 * @example Uncloneable values
 * ```ts
 * import { structured } from "./mod.ts";
 *
 * try {
 *   structured.encode({ callback: () => {} });
 * } catch (e) {
 *   if (!(e instanceof DOMException) || e.name !== "DataCloneError") throw e;
 * }
 * ```
 */
// deno-lint-ignore no-explicit-any
export const structured: Codec<any> = Object.freeze({
  name: "structured",
  encode,
  decode,
  decodeFrom,
  decodeInto,
});
registerDirect(structured, inPlace);
