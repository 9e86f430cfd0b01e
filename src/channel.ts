/**
 * Channel constructors.
 *
 * @module
 */
import { MAX_STORAGE, SharedChannel, UNBOUNDED } from "./_shared_channel.ts";
import { type Codec, resolveCodec, structured } from "./codec/mod.ts";
import { newReceiver, type Receiver } from "./receiver.ts";
import { newSender, type Sender } from "./sender.ts";

/** Options of {@linkcode channel} and {@linkcode syncChannel}. */
export interface ChannelOptions<T> {
  /**
   * How messages become bytes and back: a codec, or the name of a built-in or registered one
   * (see `registerCodec`). Default: {@linkcode structured}, the semantics of
   * `structuredClone`/`postMessage`.
   */
  codec?: Codec<T> | string;
  /**
   * Most bytes of shared memory the channel's buffer may use (at least 65536, at most
   * 1 GiB). Storage grows with the backlog up to this; a send that needs more fails with a
   * `RangeError` until the receiver catches up. Default: 256 MiB.
   *
   * It also sets the largest message (encoded): the largest power of two whose ring fits in
   * what the first 32 KiB ring leaves of `maxBytes`, less 8 bytes — 128 MiB − 8 for the
   * default, 32,760 bytes for 65536. An empty channel always takes a message of up to that size;
   * a larger one is a `RangeError` that names it.
   */
  maxBytes?: number;
}

/** Default cap on the storage of one channel: 256 MiB. */
const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;
/** Smallest `maxBytes`: the first ring fits. */
const MIN_MAX_BYTES = 65536;

function create<T>(
  bound: number,
  options: ChannelOptions<T> | undefined,
): [Sender<T>, Receiver<T>] {
  const codec = options?.codec === undefined
    ? structured as Codec<T>
    : resolveCodec<T>(options.codec, "Cannot create a channel");
  const maxBytes = options?.maxBytes ?? DEFAULT_MAX_BYTES;
  if (typeof maxBytes !== "number") {
    throw new TypeError(
      `Cannot create a channel: maxBytes must be a number, not ${typeof maxBytes}`,
    );
  }
  if (!Number.isInteger(maxBytes) || maxBytes < MIN_MAX_BYTES || maxBytes > MAX_STORAGE) {
    throw new RangeError(
      `Cannot create a channel: maxBytes must be an integer from ${MIN_MAX_BYTES} to ` +
        `${MAX_STORAGE}, not ${maxBytes}`,
    );
  }
  const chan = SharedChannel.create(bound, maxBytes);
  return [newSender(chan, codec), newReceiver(chan, codec)];
}

/**
 * Creates an unbounded channel: sends never wait (its storage grows with the backlog, up to
 * `maxBytes`). Like Rust's `std::sync::mpsc::channel`.
 *
 * @typeParam T The type of the messages.
 * @param options The codec and the storage limit.
 * @returns The sender and the receiver.
 * @throws {TypeError} A codec without `name`, `encode` or `decode`, or a non-numeric `maxBytes`.
 * @throws {RangeError} A `maxBytes` out of range.
 * @example
 * ```ts
 * import { channel } from "@wasmring/mpsc";
 *
 * const [tx, rx] = channel<string>();
 * tx.sendSync("hello");
 * console.log(rx.recvSync()); // "hello"
 * ```
 */
export function channel<T>(options?: ChannelOptions<T>): [Sender<T>, Receiver<T>] {
  return create(UNBOUNDED, options);
}

/**
 * Creates a bounded channel holding at most `bound` messages: sends wait while it is full.
 * `bound = 0` makes a rendezvous channel: a send completes only by handing the message to a
 * receiver that is waiting for it. Like Rust's `std::sync::mpsc::sync_channel`.
 *
 * @typeParam T The type of the messages.
 * @param bound Most messages buffered: an integer from 0 to 2147483647.
 * @param options The codec and the storage limit.
 * @returns The sender and the receiver.
 * @throws {RangeError} A negative, fractional, NaN or too large `bound`; a `maxBytes` out of
 * range.
 * @throws {TypeError} A `bound` that is not a number; a bad codec or `maxBytes`.
 * @example
 * ```ts
 * import { syncChannel } from "@wasmring/mpsc";
 *
 * const [tx, rx] = syncChannel<number>(2);
 * tx.sendSync(1);
 * tx.sendSync(2);
 * console.log(tx.trySend(3)); // false: full
 * console.log(rx.recvSync()); // 1
 * ```
 */
export function syncChannel<T>(
  bound: number,
  options?: ChannelOptions<T>,
): [Sender<T>, Receiver<T>] {
  if (typeof bound !== "number") {
    throw new TypeError(`Cannot create a channel: bound must be a number, not ${typeof bound}`);
  }
  if (!Number.isInteger(bound) || bound < 0 || bound > 0x7fffffff) {
    throw new RangeError(
      `Cannot create a channel: bound must be an integer from 0 to 2147483647, not ${bound}`,
    );
  }
  return create(bound, options);
}
