/**
 * `decodeInto` of the structured codec (see `Codec.decodeInto`): a message that is one
 * `Uint8Array` — VIEW (kind Uint8Array) followed by its BUFFER written in full, as `encode` writes
 * a lone array — has its bytes copied straight into the caller's array, with no array made.
 * Anything else is decoded in full, and copied if it is a `Uint8Array`.
 *
 * @module
 */
import * as W from "./wire.ts";
import { decodeFrom } from "./decode.ts";
import { NOT_BYTES } from "../types.ts";

const VIEW_UINT8 = 1; // W.VIEW_CTORS[1] is Uint8Array

/** Where `varint` left off. */
let at = 0;

/** Reads a varint at `p` of `b` (below `end`), leaving `at` after it. @returns it, or -1. */
function varint(b: Uint8Array, p: number, end: number): number {
  let n = 0;
  let shift = 0;
  for (let i = 0; i < 5 && p < end; i++) {
    const byte = b[p++];
    n += (byte & 0x7f) * 2 ** shift;
    if (byte < 0x80) {
      at = p;
      return n;
    }
    shift += 7;
  }
  return -1;
}

/** The structured codec's `decodeInto` (see `Codec.decodeInto`). */
export function decodeInto(
  memory: Uint8Array,
  start: number,
  end: number,
  target: Uint8Array,
): number {
  // VIEW kind flags offset length BUFFER bflags n pad 0*pad bytes: a lone, fixed-length
  // Uint8Array over a buffer of its own, not resizable.
  if (
    end - start > 8 && memory[start] === W.VIEW && memory[start + 1] === VIEW_UINT8 &&
    memory[start + 2] === 0
  ) {
    const offset = varint(memory, start + 3, end);
    const length = offset < 0 ? -1 : varint(memory, at, end);
    if (length >= 0 && memory[at] === W.BUFFER && memory[at + 1] === 0) {
      const n = varint(memory, at + 2, end);
      if (n >= 0 && at < end) {
        const bytesAt = at + 1 + memory[at];
        if (bytesAt + n === end && offset + length <= n) {
          if (length > target.length) return -2 - length;
          target.set(memory.subarray(bytesAt + offset, bytesAt + offset + length));
          return length;
        }
      }
    }
  }
  const value = decodeFrom(memory, start, end);
  if (!(value instanceof Uint8Array)) return NOT_BYTES;
  if (value.length > target.length) return -2 - value.length;
  target.set(value);
  return value.length;
}
