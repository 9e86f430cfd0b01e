/**
 * Errors of channel operations, after Rust's `std::sync::mpsc`.
 *
 * @module
 */

/**
 * Why a channel is disconnected: its peers closed their ends (`"closed"`: `close()`, `using`, a
 * spawned worker's function returned), or a worker died holding one (`"died"`: terminated,
 * failed with an error its function threw or nobody handled, or its end was lost with it). A
 * pipeline can tell a producer that finished from one that crashed half way.
 */
export type DisconnectReason = "closed" | "died";

/** Options of the error constructors. */
export interface DisconnectOptions {
  /** Why the channel is disconnected. Default: `"closed"`. */
  reason?: DisconnectReason;
}

/**
 * A send failed because the receiver is gone (closed, or its worker died: see
 * {@linkcode SendError.reason}). The message was not enqueued; it is returned in
 * {@linkcode SendError.value}.
 *
 * @typeParam T The channel's message type.
 * @example Catching a send to a closed receiver
 * ```ts
 * import { channel, SendError } from "@wasmring/mpsc";
 *
 * const [tx, rx] = channel<string>();
 * rx.close();
 * try {
 *   tx.sendSync("lost?");
 * } catch (e) {
 *   if (!(e instanceof SendError)) throw e;
 *   console.log(e.value); // "lost?": the very value passed to the send
 * }
 * ```
 */
export class SendError<T> extends Error {
  /** The message that could not be sent. */
  readonly value: T;
  /** `"died"` if the receiver's worker died holding it, else `"closed"`. */
  readonly reason: DisconnectReason;
  /**
   * For a batch ({@linkcode Sender.sendMany} and co.): how many of its values were sent before
   * this error; `value` then holds the rest, in order. Undefined for a single send.
   */
  declare readonly sent?: number;
  /**
   * Creates a send error carrying the unsent value.
   *
   * @param value The message that could not be sent.
   * @param message The error message (default: says whether the receiver was closed or died).
   * @param options Why the channel is disconnected.
   */
  constructor(value: T, message?: string, options?: DisconnectOptions) {
    const reason = options?.reason ?? "closed";
    super(
      message ??
        (reason === "died"
          ? "Cannot send on a disconnected channel: the receiver's worker died"
          : "Cannot send on a disconnected channel"),
    );
    this.name = "SendError";
    this.value = value;
    this.reason = reason;
  }
}

/**
 * A receive failed because every sender is gone and every buffered message was taken: nothing
 * will ever arrive. {@linkcode RecvError.reason} says whether a sender's worker died holding it
 * (then some messages it meant to send may never have been sent).
 *
 * @example Draining until disconnection
 * ```ts
 * import { channel, RecvError } from "@wasmring/mpsc";
 *
 * const [tx, rx] = channel<number>();
 * tx.sendSync(1);
 * tx.close();
 * console.log(rx.recvSync()); // 1: buffered messages come first
 * try {
 *   rx.recvSync();
 * } catch (e) {
 *   if (!(e instanceof RecvError)) throw e;
 * }
 * ```
 */
export class RecvError extends Error {
  /** `"died"` if a sender's worker died holding it, else `"closed"`. */
  readonly reason: DisconnectReason;
  /**
   * Creates a receive error.
   *
   * @param message The error message (default: says whether a sender's worker died).
   * @param options Why the channel is disconnected.
   */
  constructor(message?: string, options?: DisconnectOptions) {
    const reason = options?.reason ?? "closed";
    super(
      message ??
        (reason === "died"
          ? "Cannot receive on a disconnected channel: a sender's worker died"
          : "Cannot receive on a disconnected channel"),
    );
    this.name = "RecvError";
    this.reason = reason;
  }
}

/**
 * The channel's shared memory was found in a state the protocol never produces: a thread that
 * holds one of its ends (any end carries the whole memory) wrote over its control words or
 * record headers. The channel is unusable from then on, in every thread: every later call on
 * either end throws (or rejects with) this error, except `close()`, which never throws. Other
 * channels are unaffected — unless what was written over is the bookkeeping of the arena the
 * channels share (see `channel()`): then every channel in that arena is unusable, and the message
 * says so. Messages already received are unaffected; none is delivered from outside the
 * channel's own rings.
 *
 * @example Telling corruption from disconnection
 * ```ts
 * import { channel, ChannelCorruptedError } from "@wasmring/mpsc";
 *
 * const [tx, rx] = channel<number>();
 * tx.sendSync(1);
 * try {
 *   console.log(rx.recvSync()); // 1
 * } catch (e) {
 *   if (e instanceof ChannelCorruptedError) console.error(`channel ${e.channelId} is unusable`);
 *   else throw e;
 * }
 * ```
 */
export class ChannelCorruptedError extends Error {
  /** The id of the corrupted channel (random, fixed at creation; for logs). */
  readonly channelId: number;
  /**
   * Creates the error for channel `channelId`.
   *
   * @param channelId The channel's id.
   * @param detail What was found, for the message.
   */
  constructor(channelId: number, detail = "its shared memory was overwritten") {
    super(`Channel ${channelId} is corrupted: ${detail}`);
    this.name = "ChannelCorruptedError";
    this.channelId = channelId;
  }
}

/**
 * Which limit an {@linkcode ArenaFullError} hit: `"cap"`, the arena's cap (shared by every
 * channel in it); `"memory"`, the runtime could not grow the arena's memory below its cap;
 * `"reserve"`, the runtime could not reserve an arena's memory at all.
 */
export type ArenaLimit = "cap" | "memory" | "reserve";

/**
 * A channel could not get shared memory from its arena: the memory that many channels live in
 * (every `channel()` and `syncChannel()` of a thread shares one, of 1 GiB at most; an
 * `{ isolated: true }` channel has one of its own). This is not the channel's own `maxBytes`,
 * whose limit stays a plain `RangeError`: {@linkcode ArenaFullError.limit} says which limit was
 * hit. Nothing was sent, or created. Closing channels gives their memory back to the arena
 * (a drained channel keeps its rings until it is closed).
 *
 * @example Telling the arena's limit from the channel's own
 * ```ts
 * import { ArenaFullError, channel } from "@wasmring/mpsc";
 *
 * const [tx, rx] = channel<Uint8Array>();
 * try {
 *   tx.sendSync(new Uint8Array(1024));
 * } catch (e) {
 *   if (e instanceof ArenaFullError) console.error(`arena full (${e.limit})`);
 *   else throw e; // RangeError: this channel's maxBytes
 * }
 * console.log(rx.recvSync().length); // 1024
 * ```
 */
export class ArenaFullError extends RangeError {
  /** Which limit was hit. */
  readonly limit: ArenaLimit;
  /** The arena's cap in bytes. */
  readonly cap: number;
  /**
   * Creates the error.
   *
   * @param limit Which limit was hit.
   * @param cap The arena's cap in bytes.
   * @param action What failed, for the message (e.g. "Cannot create a channel").
   * @param options The `cause`, if any.
   */
  constructor(limit: ArenaLimit, cap: number, action = "Cannot allocate", options?: ErrorOptions) {
    const size = cap >= 1 << 30 && cap % (1 << 30) === 0
      ? `${cap / (1 << 30)} GiB`
      : `${Math.round(cap / (1 << 20))} MiB`;
    super(
      limit === "cap"
        ? `${action}: the arena of channels is full: its cap of ${size} is shared by every ` +
          `channel in it (a channel's maxBytes is only its share); close channels no longer ` +
          `used, or create a channel with { isolated: true } for a memory of its own`
        : limit === "memory"
        ? `${action}: the runtime could not grow the arena of channels (below its cap of ` +
          `${size}): the process is out of memory or address space`
        : `${action}: the runtime could not reserve an arena of channels (${size} of address ` +
          `space): the process is out of memory or address space`,
      options,
    );
    this.name = "ArenaFullError";
    this.limit = limit;
    this.cap = cap;
  }
}

/** A `DOMException` named `TimeoutError`, as thrown by timed-out blocking calls. */
export function timeoutError(action: string): DOMException {
  return new DOMException(`${action} timed out`, "TimeoutError");
}
