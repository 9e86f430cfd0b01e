/**
 * Channel constructors.
 *
 * @module
 */
import { MAX_STORAGE, SharedChannel, UNBOUNDED } from "./_shared_channel.ts";
// deno-lint-ignore no-unused-vars
import type { ArenaFullError } from "./errors.ts";
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
   * 1 GiB): its share of the arena it lives in. Storage grows with the backlog up to this; a
   * send that needs more fails with a `RangeError` until the receiver catches up. Default:
   * 256 MiB.
   *
   * It also sets the largest message (encoded): the largest power of two whose ring (with 256
   * bytes of bookkeeping) fits in what the first ring leaves of `maxBytes`, less 8 bytes —
   * 128 MiB − 8 for the default, 32,760 bytes for 65536. An empty channel always takes a
   * message of up to that size, as long as its arena has room (else an `ArenaFullError`); a
   * larger one is a `RangeError` that names it.
   */
  maxBytes?: number;
  /**
   * Give the channel a shared memory of its own, as every channel had before arenas, instead of
   * the arena that every other channel made in this thread shares (default: `false`).
   *
   * Any thread that holds an end of a channel holds its whole memory: in an arena, it can read
   * and write every other channel there. Give a channel its own memory when it connects to a
   * worker that must not see anything else — a worker spawned with narrower permissions, a
   * sandbox for untrusted code. It costs what a channel used to: `maxBytes` of address space
   * reserved (256 MiB by default) and a core instance per thread that uses it (50–90 µs),
   * against a few hundred bytes in the arena.
   */
  isolated?: boolean;
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
  const isolated = options?.isolated ?? false;
  if (typeof isolated !== "boolean") {
    throw new TypeError(
      `Cannot create a channel: isolated must be a boolean, not ${typeof isolated}`,
    );
  }
  const chan = SharedChannel.create(bound, maxBytes, { isolated });
  return [newSender(chan, codec), newReceiver(chan, codec)];
}

/**
 * Creates an unbounded channel: sends never wait (its storage grows with the backlog, up to
 * `maxBytes`). Like Rust's `std::sync::mpsc::channel`.
 *
 * The channel lives in this thread's arena: one shared memory for all the channels made here
 * (1 GiB of address space at most, reserved on the first channel; pages are used as channels
 * need them), where a channel costs a few kilobytes and a few microseconds, and its memory goes
 * back to the arena once both of its sides are closed. `{ isolated: true }` gives it a memory
 * of its own instead (see {@linkcode ChannelOptions.isolated}).
 *
 * @typeParam T The type of the messages.
 * @param options The codec, the storage limit, isolation.
 * @returns The sender and the receiver.
 * @throws {TypeError} A codec without `name`, `encode` or `decode`, or a non-numeric `maxBytes`.
 * @throws {RangeError} A `maxBytes` out of range; {@linkcode ArenaFullError} (a `RangeError`)
 * when the arena has no room for one more channel.
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
 * Like {@linkcode channel}, it lives in this thread's arena unless `isolated`.
 *
 * @typeParam T The type of the messages.
 * @param bound Most messages buffered: an integer from 0 to 2147483647.
 * @param options The codec, the storage limit, isolation.
 * @returns The sender and the receiver.
 * @throws {RangeError} A negative, fractional, NaN or too large `bound`; a `maxBytes` out of
 * range; {@linkcode ArenaFullError} when the arena has no room for one more channel.
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
