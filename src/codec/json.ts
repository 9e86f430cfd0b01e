/**
 * The `json` codec: values as JSON text.
 *
 * @module
 */

import type { Codec } from "./types.ts";
import { utf8 } from "./_text.ts";
import { DIRECT_MAX, registerDirect } from "./_direct.ts";

let buf = new Uint8Array(1024);
const encoder = new TextEncoder();

function stringify(value: unknown): string {
  const text = JSON.stringify(value);
  if (text === undefined) {
    throw new TypeError(
      `Cannot encode with the json codec: JSON cannot represent ${
        value === undefined ? "undefined" : typeof value
      }`,
    );
  }
  return text;
}

/** The scratch buffer grows up to this size; a larger message gets a buffer of its own. */
const SCRATCH_KEPT = 4 << 20;

function encode(value: unknown): Uint8Array {
  const text = stringify(value);
  let b = buf;
  if (b.length < 3 * text.length) {
    b = new Uint8Array(Math.max(3 * text.length, Math.min(2 * b.length, SCRATCH_KEPT)));
    if (b.length <= SCRATCH_KEPT) buf = b; // else its returned view alone keeps it alive
  }
  const { written } = encoder.encodeInto(text, b);
  return b.subarray(0, written);
}

// In place (see _direct.ts): every value. `measure` runs JSON.stringify (and with it any toJSON
// and getters) once; `encodeInto` writes the text it made. (It cannot hand a value back to
// `encode`: that would run the user's code twice.)

/** The text of the value last measured, until `encodeInto` writes it. */
let measured = "";
/** Texts shorter than this are measured exactly, so that they leave no unwritten bytes. */
const SCAN_MAX = 128;

function measure(value: unknown): number {
  const text = measured = stringify(value);
  const n = text.length;
  // Exact for short texts (cheap) and for huge ones (three bytes a unit would exceed DIRECT_MAX).
  return n < SCAN_MAX || 3 * n > DIRECT_MAX ? utf8Length(text) : 3 * n;
}

/**
 * The length of `TextEncoder`'s UTF-8 for `text`. JSON.stringify escapes lone surrogates, but
 * not inside `JSON.rawJSON` values: those become U+FFFD, 3 bytes, as TextEncoder writes them.
 */
function utf8Length(text: string): number {
  let bytes = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < n) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next < 0xe000) {
        bytes += 4; // a surrogate pair: one code point
        i++;
      } else {
        bytes += 3;
      }
    } else {
      bytes += 3; // the rest of the BMP, and lone surrogates (U+FFFD)
    }
  }
  return bytes;
}

function encodeInto(_value: unknown, target: Uint8Array, start: number, bound: number): number {
  const text = measured;
  measured = "";
  return start + encoder.encodeInto(text, target.subarray(start, start + bound)).written;
}

/**
 * A codec that sends `JSON.stringify(value)` as UTF-8 and decodes with `JSON.parse`: JSON's
 * semantics, not `structuredClone`'s (`undefined` properties vanish, `Date`s become strings).
 *
 * `encode` returns a view of a scratch buffer owned by the codec, valid until the next call.
 *
 * @param value For `encode`: the value to send. For `decode`: the encoded bytes.
 * @returns `encode` returns the UTF-8 JSON text; `decode` returns the parsed value.
 * @throws {TypeError} From `encode` when JSON cannot represent the value (`undefined`, a function
 * or a symbol at the top level, a `bigint`, a cycle). From `decode`, a `SyntaxError` for bytes
 * that are not JSON.
 *
 * @example
 * ```ts
 * import { json } from "./json.ts";
 *
 * const bytes = json.encode({ id: 1, tags: ["a"] }).slice();
 * const value = json.decode(bytes) as { id: number; tags: string[] };
 * if (value.id !== 1 || value.tags[0] !== "a") throw new Error("unexpected");
 * ```
 */
export const json: Codec<unknown> = Object.freeze({
  name: "json",
  encode,
  decode(bytes: Uint8Array): unknown {
    return JSON.parse(utf8(bytes, 0, bytes.length));
  },
});
registerDirect(json, { measure, encodeInto });
