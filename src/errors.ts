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
 * channels are unaffected. Messages already received are unaffected; none is delivered from
 * outside the channel's own rings.
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

/** A `DOMException` named `TimeoutError`, as thrown by timed-out blocking calls. */
export function timeoutError(action: string): DOMException {
  return new DOMException(`${action} timed out`, "TimeoutError");
}
