/**
 * The `string` codec: string messages, faithful to every UTF-16 code unit.
 *
 * @module
 */

import type { Codec } from "./types.ts";
import { latin1, utf16, utf8 } from "./_text.ts";
import { DIRECT_MAX, DIRECT_MIN, registerDirect } from "./_direct.ts";

// Wire format: one flag byte, then the text. UTF8: well-formed text as UTF-8. UTF16: code units,
// little-endian (strings with lone surrogates, and short non-ASCII strings).
const UTF8 = 0;
const UTF16 = 1;
const SHORT = 64;

let buf = new Uint8Array(1024);
let outViews: (Uint8Array | undefined)[] = [];
const encoder = new TextEncoder();

/** The scratch buffer grows up to this size; a larger message gets a buffer of its own. */
const SCRATCH_KEPT = 4 << 20;

function reserve(n: number): Uint8Array {
  if (n > buf.length) {
    const next = new Uint8Array(Math.max(n, Math.min(2 * buf.length, SCRATCH_KEPT)));
    if (next.length > SCRATCH_KEPT) return next; // its returned view alone keeps it alive
    buf = next;
    outViews = [];
  }
  return buf;
}

/** The first `n` bytes of `b`, a buffer from `reserve`. */
function output(b: Uint8Array, n: number): Uint8Array {
  if (n < 256 && b === buf) return outViews[n] ??= buf.subarray(0, n);
  return b.subarray(0, n);
}

/** Writes `s` as UTF-16 code units at `b[p..]`. @returns the offset after them. */
function writeUnits(s: string, b: Uint8Array, p: number): number {
  const n = s.length;
  b[p++] = UTF16;
  for (let i = 0; i < n; i++, p += 2) {
    const u = s.charCodeAt(i);
    b[p] = u;
    b[p + 1] = u >> 8;
  }
  return p;
}

function checkString(value: unknown): asserts value is string {
  if (typeof value !== "string") {
    throw new TypeError("Cannot encode with the string codec: the value is not a string");
  }
}

function encode(value: string): Uint8Array {
  checkString(value);
  const n = value.length;
  if (n < SHORT) {
    const b = reserve(1 + n);
    b[0] = UTF8;
    for (let i = 0; i < n; i++) {
      const c = value.charCodeAt(i);
      if (c > 0x7f) {
        const u = reserve(1 + 2 * n);
        return output(u, writeUnits(value, u, 0));
      }
      b[i + 1] = c;
    }
    return output(b, 1 + n);
  }
  const b = reserve(1 + 3 * n);
  return output(b, write(value, b, 0, b.length));
}

/**
 * Writes a string of SHORT code units or more at `b[p..end)`, which holds 1 + 3 × its length.
 * @returns the offset after it.
 */
function write(value: string, b: Uint8Array, p: number, end: number): number {
  if (!value.isWellFormed()) return writeUnits(value, b, p);
  b[p] = UTF8;
  const { written } = encoder.encodeInto(value, b.subarray(p + 1, end));
  return p + 1 + written;
}

// In place (see _direct.ts): long strings.

function measure(value: string): number {
  checkString(value);
  const n = value.length;
  return n < DIRECT_MIN || 1 + 3 * n > DIRECT_MAX ? -1 : 1 + 3 * n;
}

function encodeInto(value: string, target: Uint8Array, start: number, bound: number): number {
  return write(value, target, start, start + bound);
}

function decode(bytes: Uint8Array): string {
  const n = bytes.length - 1;
  if (n < 0) throw new TypeError("Cannot decode with the string codec: no bytes");
  if (bytes[0] === UTF16) {
    if (n % 2 !== 0) throw new TypeError("Cannot decode with the string codec: odd length");
    return utf16(bytes, 1, n >> 1);
  }
  if (bytes[0] !== UTF8) throw new TypeError("Cannot decode with the string codec: bad flag");
  if (n <= SHORT) {
    let i = 1;
    while (i <= n && bytes[i] < 0x80) i++;
    if (i > n) return latin1(bytes, 1, n);
  }
  return utf8(bytes, 1, n);
}

/**
 * A codec for string messages. Well-formed text travels as UTF-8; strings with lone surrogates
 * travel as UTF-16 code units, so every string round-trips exactly.
 *
 * `encode` returns a view of a scratch buffer owned by the codec, valid until the next call.
 *
 * @param value For `encode`: the string to send. For `decode`: the encoded bytes.
 * @returns `encode` returns the encoded bytes; `decode` returns the string.
 * @throws {TypeError} From `encode` when `value` is not a string; from `decode` for bytes that
 * are not an encoding.
 *
 * @example
 * ```ts
 * import { string } from "./string.ts";
 *
 * const text = "lone \ud800 surrogate";
 * if (string.decode(string.encode(text).slice()) !== text) throw new Error("not faithful");
 * ```
 */
export const string: Codec<string> = Object.freeze({ name: "string", encode, decode });
registerDirect(string, { measure, encodeInto });
