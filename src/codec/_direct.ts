/**
 * Writing messages straight into a channel's ring instead of encoding them into a scratch buffer
 * and copying that: the sender reserves an upper bound of the encoded length, the codec writes
 * in place, and the core publishes what was written (`commitLength` in assembly/producer.ts).
 *
 * Internal, for the built-in codecs only: the ring relies on the writer leaving every byte of the
 * reservation past the reported end untouched (they must still read 0), and on it running no user
 * code while the reservation is held (the receiver waits on it, and a worker terminated meanwhile
 * could write into space already given to another message). Neither is a promise a user's codec
 * could be held to.
 *
 * @module
 */
import type { Codec } from "./types.ts";
import { IN_PLACE_MAX } from "../_shared_channel.ts";

/** Values at least this large are worth the reservation of a bound; smaller ones are copied. */
export const DIRECT_MIN = 512;
/**
 * Largest bound written in place: the core records at most so many unwritten bytes of a
 * reservation (IN_PLACE_MAX), and a claim held for long delays the receiver (larger values are
 * copied).
 */
export const DIRECT_MAX = IN_PLACE_MAX;

/** A codec's in-place encoder. */
export interface DirectEncoder<T> {
  /**
   * Prepares `value` for `encodeInto`, running any user code its encoding needs (getters,
   * `toJSON`) and throwing what `encode` would throw.
   * @returns An upper bound of the encoded length (at most DIRECT_MAX), or -1 when `value` is to
   * be sent with `encode` instead (for the structured and string codecs: values under
   * DIRECT_MIN, over DIRECT_MAX, and values whose encoding may run user code).
   */
  measure(value: T): number;
  /**
   * Writes the bytes `encode(value)` would return at `target[start..]`, right after
   * `measure(value)` returned `bound`. Runs no user code and writes nothing past the end.
   * @returns The offset after the last byte written, at most `start + bound`.
   */
  encodeInto(value: T, target: Uint8Array, start: number, bound: number): number;
}

// deno-lint-ignore no-explicit-any
const encoders = new WeakMap<Codec<any>, DirectEncoder<any>>();

/** Registers the in-place encoder of a built-in codec. */
export function registerDirect<T>(codec: Codec<T>, encoder: DirectEncoder<T>): void {
  encoders.set(codec, encoder);
}

/** @returns the in-place encoder of `codec`, or null (custom codecs have none). */
export function directOf<T>(codec: Codec<T>): DirectEncoder<T> | null {
  return encoders.get(codec) ?? null;
}

/**
 * Encodes `value` with `encoder` into a buffer of its own (for a send that has to wait for room
 * after `measure` ran: the wait must not run the value's user code a second time).
 */
export function encodeAside<T>(encoder: DirectEncoder<T>, value: T, bound: number): Uint8Array {
  const own = new Uint8Array(bound);
  return own.subarray(0, encoder.encodeInto(value, own, 0, bound));
}
