/**
 * The structured codec's in-place path (see ../_direct.ts): which values are written straight
 * into a channel's ring, and an upper bound of their encoded length. No state of its own: the
 * writing is the encoder's (`encodeInto` in encode.ts, into the ring instead of its scratch
 * buffer). Internal.
 *
 * @module
 */

import { types } from "./brands.ts";
import { DIRECT_MAX, DIRECT_MIN, type DirectEncoder } from "../_direct.ts";
import { encodeInto, encoding } from "./encode.ts";
import {
  abByteLength,
  abDetached,
  abResizable,
  ArrayProto,
  dvBuffer,
  getProto,
  ObjectProto,
  taBuffer,
  taTag,
} from "./intrinsics.ts";

// In place (see ../_direct.ts): long strings, and typed arrays and DataViews, whose encoding reads
// only intrinsic getters (unless their prototype is Object.prototype or Array.prototype: then they
// are encoded as plain objects, whose getters may run). `measure` runs on every message, so it
// uses only checks that cost nothing on an ordinary object: a top-level ArrayBuffer, which would
// need a brand check (~10 ns) on every object sent, goes through the scratch buffer.

/** Bytes a view's encoding adds to its buffer's: tags, varints, alignment padding. */
const BINARY_OVERHEAD = 48;

function measure(value: unknown): number {
  if (encoding()) return -1; // called from a getter: `encode` keeps the outer state apart
  if (typeof value === "string") {
    const n = value.length;
    // UTF-8 takes at most 3 bytes per code unit; lone surrogates are written as 2.
    const bound = 5 + 3 * n;
    return n < DIRECT_MIN || bound > DIRECT_MAX ? -1 : bound;
  }
  if (!ArrayBuffer.isView(value)) return -1;
  const proto = getProto(value);
  if (proto === ObjectProto || proto === ArrayProto) return -1;
  let buffer: ArrayBuffer;
  try {
    buffer = taTag.call(value) === undefined ? dvBuffer.call(value) : taBuffer.call(value);
  } catch {
    return -1;
  }
  if (!types.isArrayBuffer(buffer)) return -1; // shared: `encode` throws the error
  // A buffer posing as a plain object or array is encoded as one (its getters may run).
  const bufferProto = getProto(buffer);
  if (bufferProto === ObjectProto || bufferProto === ArrayProto) return -1;
  // Detached and resizable buffers go the ordinary way (errors; length-tracking checks).
  if (abDetached.call(buffer) || abResizable.call(buffer)) return -1;
  const n: number = abByteLength.call(buffer);
  return n < DIRECT_MIN || n + BINARY_OVERHEAD > DIRECT_MAX ? -1 : n + BINARY_OVERHEAD;
}

/** The structured codec's in-place encoder (registered by mod.ts). */
export const inPlace: DirectEncoder<unknown> = { measure, encodeInto };
