/**
 * A codec turns values into bytes and back.
 *
 * Channels call {@linkcode Codec.encode} on the sending thread and copy the returned bytes into
 * shared memory (the built-in codecs also write large values in place, by a path of their own);
 * they call {@linkcode Codec.decode} on the receiving thread with a view of the
 * bytes *in shared memory*, valid only for the duration of the call.
 *
 * @typeParam T The type of value the codec carries.
 */
export interface Codec<T> {
  /**
   * The codec's name. Handles record it so that the adopting thread can check that it decodes
   * with the same codec. Built-in codecs are restored by this name.
   */
  readonly name: string;
  /**
   * Encodes `value`.
   *
   * The returned view may point into a scratch buffer owned by the codec; the channel copies it
   * before the next call to `encode`.
   *
   * @param value The value to encode.
   * @returns The encoded bytes.
   * @throws {DOMException} `DataCloneError` (or any other error) when the value cannot be encoded.
   */
  encode(value: T): Uint8Array;
  /**
   * Decodes one message.
   *
   * @param bytes The encoded bytes. They live in a `SharedArrayBuffer` and are reused after the
   * call returns: copy anything that must outlive the call.
   * @returns The decoded value.
   */
  decode(bytes: Uint8Array): T;
  /**
   * Optional fast path of {@linkcode Codec.decode}: decodes `memory[start, end)` without the
   * cost of a view (a `subarray` costs about as much as decoding a number). Channels call it
   * instead of `decode` when present; it must return what `decode(memory.subarray(start, end))`
   * would. The same rules hold: `memory` is shared and reused after the call.
   *
   * @param memory A view of the whole shared memory.
   * @param start Offset of the message's first byte.
   * @param end Offset after its last byte.
   * @returns The decoded value.
   */
  decodeFrom?(memory: Uint8Array, start: number, end: number): T;
  /**
   * Optional fast path of `Receiver.recvInto`: copies the bytes of a message that decodes to a
   * `Uint8Array` — `memory[start, end)` — into `target`, without making that array.
   *
   * @param memory A view of the whole shared memory.
   * @param start Offset of the message's first byte.
   * @param end Offset after its last byte.
   * @param target Where the bytes go.
   * @returns The number of bytes written; or {@linkcode NOT_BYTES} (-1) if the message is not a
   * `Uint8Array`; or `-2 - n` if it is one of `n` bytes, more than `target` holds (nothing is
   * written in either case). Any other answer is taken for a failed decode: the message is
   * consumed and the receive throws a `TypeError` naming the codec.
   * @throws Whatever `decode` would throw for a malformed message.
   */
  decodeInto?(memory: Uint8Array, start: number, end: number, target: Uint8Array): number;
}

/** What {@linkcode Codec.decodeInto} returns for a message that is not a `Uint8Array`. */
export const NOT_BYTES = -1;
