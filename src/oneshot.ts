/**
 * Oneshot channels: one value, sent once, received once (tokio's `sync::oneshot`).
 *
 * A oneshot channel is a channel of this library with a bound of one message, in the same arena,
 * with the same codecs and the same guarantees (a worker that dies holding the sender is a
 * `RecvError` with `reason: "died"`, never a hang). The wrappers add what makes it oneshot: the
 * sender sends at most one value and is done; the receiver takes at most one and is done; each
 * closes its end as soon as it is done, so that the channel's memory goes back to the arena as
 * soon as the value has been taken.
 *
 * @module
 */
import { brandEndClass, endCloneError, type Mover, moverOf } from "./_brand.ts";
import { makers, ONESHOT } from "./_carry.ts";
import { type ChannelOptions, syncChannel } from "./channel.ts";
import { RecvError, SendError } from "./errors.ts";
import type { AdoptOptions, OneshotHandle, ReceiverHandle, SenderHandle } from "./handle.ts";
import {
  adoptReceiver,
  type Receiver,
  type RecvOptions,
  type RecvSyncOptions,
  type TryRecvResult,
} from "./receiver.ts";
import { adoptSender, Sender } from "./sender.ts";

/**
 * A {@linkcode OneshotSender} in transit: the result of `transfer()`, adopted with
 * `OneshotSender.from()`.
 *
 * @typeParam T The type of the value.
 */
export type OneshotSenderHandle<T> = SenderHandle<T> & OneshotHandle;

/**
 * A {@linkcode OneshotReceiver} in transit: the result of `transfer()`, adopted with
 * `OneshotReceiver.from()`.
 *
 * @typeParam T The type of the value.
 */
export type OneshotReceiverHandle<T> = ReceiverHandle<T> & OneshotHandle;

/** The error of a receive on a oneshot receiver that has taken its value already. */
function taken(): RecvError {
  return new RecvError("Cannot receive: this oneshot receiver has taken its value already");
}

/** How `spawn` moves a oneshot end: as its inner end, into a handle marked oneshot. */
function oneshotMover(inner: Mover, done: () => string | null): Mover {
  return {
    blocker: () => done() ?? inner.blocker(),
    prepare: () => Object.assign(inner.prepare(), { oneshot: true as const }),
    commit: (handle) => inner.commit(handle),
    carry: () => {
      const carried = inner.carry();
      return {
        ...carried,
        flags: carried.flags | ONESHOT,
        lend: () => {
          const why = done();
          if (why !== null) throw new TypeError(`Cannot send a message that carries it: ${why}`);
          carried.lend();
        },
      };
    },
  };
}

/**
 * Creates a oneshot channel: the sender sends one value, the receiver receives it. Like tokio's
 * `sync::oneshot::channel`; cheap enough to make one per request (a few hundred bytes of the
 * arena, about a microsecond), and both ends move to other threads like any end: with
 * `transfer()` and `from()`, or inside `spawn`'s data and results.
 *
 * @typeParam T The type of the value.
 * @param options The codec, the storage limit (the largest value), isolation: as for
 * {@linkcode channel}.
 * @returns The sender and the receiver.
 * @throws {TypeError} A bad codec or `maxBytes`.
 * @throws {RangeError} A `maxBytes` out of range; {@linkcode ArenaFullError} when the arena has
 * no room for one more channel.
 * @example A reply from a worker
 * ```ts
 * import { oneshot, RecvError } from "@wasmring/mpsc";
 *
 * const [tx, rx] = oneshot<number>();
 * tx.send(42); // never blocks
 * console.log(await rx.recv()); // 42
 *
 * const [tx2, rx2] = oneshot<number>();
 * tx2.close(); // dropped unsent
 * try {
 *   rx2.recvSync();
 * } catch (e) {
 *   console.log(e instanceof RecvError); // true
 * }
 * ```
 */
export function oneshot<T>(options?: ChannelOptions<T>): [OneshotSender<T>, OneshotReceiver<T>] {
  const [tx, rx] = syncChannel<T>(1, options);
  return [wrapSender(tx), wrapReceiver(rx)];
}

let wrapSender: <T>(tx: Sender<T>) => OneshotSender<T>;
let wrapReceiver: <T>(rx: Receiver<T>) => OneshotReceiver<T>;

/**
 * The sending end of a {@linkcode oneshot} channel: sends one value, never blocking.
 *
 * @typeParam T The type of the value.
 */
export class OneshotSender<T> {
  #tx: Sender<T>;
  /** Why this sender can send no more: it has sent, or failed to, or null. */
  #done: string | null = null;

  private constructor(tx: Sender<T>) {
    this.#tx = tx;
  }

  static {
    wrapSender = <T>(tx: Sender<T>) => new OneshotSender<T>(tx);
    brandEndClass(
      this.prototype,
      (end) =>
        #tx in end ? oneshotMover(moverOf(end.#tx)!, () => end.#done && `this ${end.#done}`) : null,
    );
  }

  /**
   * Sends the value. Never blocks: the channel has room for it. The sender is done afterwards
   * (its end is closed), whether the send succeeded or not.
   *
   * @param value The value.
   * @throws {SendError} The receiver is gone (closed, or its worker died); the error carries
   * `value`.
   * @throws {DOMException} `DataCloneError` when the codec cannot encode `value` (nothing was
   * sent, and the sender can still send); `AbortError` when this worker was terminated.
   * @throws {RangeError} The encoded value does not fit within the channel's `maxBytes`
   * (nothing was sent; the sender can still send).
   * @throws {TypeError} This sender has sent its value, or was closed or transferred.
   * @example
   * ```ts
   * import { oneshot } from "@wasmring/mpsc";
   *
   * const [tx, rx] = oneshot<string>();
   * tx.send("done");
   * console.log(rx.recvSync()); // "done"
   * ```
   */
  send(value: T): void {
    if (this.#done !== null) throw new TypeError(`Cannot send: this ${this.#done}`);
    let sent: boolean;
    try {
      sent = this.#tx.trySend(value);
    } catch (error) {
      // The receiver is gone: nothing will ever be sent (other failures leave the sender ready).
      if (error instanceof SendError) this.#finish("oneshot sender found its receiver gone");
      throw error;
    }
    // Nothing else ever takes the one slot: only another copy of this end, which `from` refuses.
    if (!sent) throw new Error("Internal error: a oneshot channel was full");
    this.#finish("oneshot sender has sent its value");
  }

  #finish(why: string): void {
    this.#done = why;
    this.#tx.close();
  }

  /**
   * Whether the receiver is gone: a `send` would throw `SendError` (racy: a `false` may be stale
   * by the time it is read). `true` also once this sender is done.
   */
  get isClosed(): boolean {
    if (this.#done !== null) return true;
    try {
      return this.#tx.isDisconnected;
    } catch (error) {
      if (error instanceof TypeError) return true; // closed or transferred
      throw error;
    }
  }

  /**
   * Drops the sender without sending: the receiver gets a `RecvError`. Idempotent; never throws.
   */
  close(): void {
    if (this.#done === null) this.#done = "oneshot sender was closed";
    this.#tx.close();
  }

  /** Closes the sender (`using tx = ...`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Moves the sender to another thread: post the handle, adopt it there with
   * {@linkcode OneshotSender.from}. This object becomes unusable.
   *
   * @returns A handle to post to a worker.
   * @throws {TypeError} This sender has sent its value, or was closed or transferred.
   */
  transfer(): OneshotSenderHandle<T> {
    if (this.#done !== null) throw new TypeError(`Cannot transfer: this ${this.#done}`);
    const handle = Object.assign(this.#tx.transfer(), { oneshot: true as const });
    this.#done = "oneshot sender was transferred";
    return handle;
  }

  /**
   * Adopts a oneshot sender moved here with {@linkcode OneshotSender.transfer}.
   *
   * @param handle The handle, as received.
   * @param options The channel's codec, required if it is a custom one.
   * @returns The sender.
   * @throws {TypeError} Not a oneshot sender's handle (a plain sender's handle is refused too),
   * already adopted, damaged, or a codec mismatch.
   */
  static from<T>(handle: OneshotSenderHandle<T>, options?: AdoptOptions<T>): OneshotSender<T> {
    return new OneshotSender(adoptSender(handle, options, true));
  }

  /**
   * A sender cannot be serialized (see `Sender.toJSON`).
   *
   * @throws {DOMException} `DataCloneError`, always.
   */
  toJSON(): never {
    throw endCloneError();
  }
}

/**
 * The receiving end of a {@linkcode oneshot} channel: receives one value, or a `RecvError` if
 * the sender was dropped without sending.
 *
 * @typeParam T The type of the value.
 */
export class OneshotReceiver<T> {
  #rx: Receiver<T>;
  /**
   * Whether the value was taken, or the sender found gone unsent: every later receive is a
   * `RecvError` (after `close()` or `transfer()`, the inner receiver's `TypeError`).
   */
  #done = false;

  private constructor(rx: Receiver<T>) {
    this.#rx = rx;
  }

  static {
    wrapReceiver = <T>(rx: Receiver<T>) => new OneshotReceiver<T>(rx);
    brandEndClass(
      this.prototype,
      (end) =>
        #rx in end
          ? oneshotMover(
            moverOf(end.#rx)!,
            () => end.#done ? "oneshot receiver has taken its value" : null,
          )
          : null,
    );
  }

  /** Ends the receiver's use: the value was taken, or will never come. */
  #finish(): void {
    this.#done = true;
    this.#rx.close();
  }

  /** Runs a receive, finishing the receiver on its value or on `RecvError`. */
  #settle<R>(receive: () => R): R {
    try {
      const value = receive();
      this.#finish();
      return value;
    } catch (error) {
      if (error instanceof RecvError) this.#finish();
      throw error;
    }
  }

  /**
   * Waits for the value.
   *
   * Cancel safety: when `signal` aborts, the value (if it comes later) stays for the next
   * receive.
   *
   * @param options `signal` to cancel the wait.
   * @returns The value.
   * @throws {RecvError} The sender was dropped without sending (`reason: "died"` if its worker
   * died), or this receiver has taken its value already.
   * @throws {TypeError} This receiver was closed or transferred.
   * @example
   * ```ts
   * import { oneshot } from "@wasmring/mpsc";
   *
   * const [tx, rx] = oneshot<number>();
   * setTimeout(() => tx.send(7), 1);
   * console.log(await rx.recv()); // 7
   * ```
   */
  async recv(options?: RecvOptions): Promise<T> {
    if (this.#done) throw taken();
    const receiving = this.#rx.recv(options);
    try {
      const value = await receiving;
      this.#finish();
      return value;
    } catch (error) {
      if (error instanceof RecvError) this.#finish();
      throw error;
    }
  }

  /**
   * Waits for the value, blocking the thread (no CPU used while it sleeps).
   *
   * @param options `timeout` in milliseconds (`0`: only a value that is there).
   * @returns The value.
   * @throws {RecvError} The sender was dropped without sending, or the value was taken already.
   * @throws {DOMException} `TimeoutError` after `timeout` ms without the value (the receiver
   * can try again); `AbortError` when this worker was terminated.
   * @throws {TypeError} This receiver was closed or transferred.
   */
  recvSync(options?: RecvSyncOptions): T {
    if (this.#done) throw taken();
    return this.#settle(() => this.#rx.recvSync(options));
  }

  /**
   * Takes the value if it is there.
   *
   * @returns `{ state: "ok", value }`; `{ state: "empty" }` while the sender may still send;
   * `{ state: "disconnected" }` once it was dropped unsent, or the value was taken already.
   * @throws {TypeError} This receiver was closed or transferred.
   */
  tryRecv(): TryRecvResult<T> {
    if (this.#done) return { state: "disconnected" };
    const result = this.#rx.tryRecv();
    if (result.state !== "empty") this.#finish();
    return result;
  }

  /**
   * Drops the receiver: a later `send` throws `SendError`; a value sent already is dropped.
   * Idempotent; never throws.
   */
  close(): void {
    this.#rx.close();
  }

  /** Closes the receiver (`using rx = ...`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Moves the receiver to another thread: post the handle, adopt it there with
   * {@linkcode OneshotReceiver.from}. This object becomes unusable.
   *
   * @returns A handle to post to a worker.
   * @throws {TypeError} This receiver has taken its value, or was closed or transferred, or has
   * a `recv()` pending.
   */
  transfer(): OneshotReceiverHandle<T> {
    if (this.#done) throw new TypeError("Cannot transfer: this oneshot receiver is done");
    return Object.assign(this.#rx.transfer(), { oneshot: true as const });
  }

  /**
   * Adopts a oneshot receiver moved here with {@linkcode OneshotReceiver.transfer}.
   *
   * @param handle The handle, as received.
   * @param options The channel's codec, required if it is a custom one.
   * @returns The receiver.
   * @throws {TypeError} Not a oneshot receiver's handle, already adopted, damaged, or a codec
   * mismatch.
   */
  static from<T>(
    handle: OneshotReceiverHandle<T>,
    options?: AdoptOptions<T>,
  ): OneshotReceiver<T> {
    return new OneshotReceiver(adoptReceiver(handle, options, true));
  }

  /**
   * A receiver cannot be serialized (see `Receiver.toJSON`).
   *
   * @throws {DOMException} `DataCloneError`, always.
   */
  toJSON(): never {
    throw endCloneError();
  }
}

// A oneshot end a message carried here: the end made for it, wrapped (see _carry.ts).
makers.oneshot = (end) =>
  end instanceof Sender ? wrapSender(end) : wrapReceiver(end as Receiver<unknown>);
