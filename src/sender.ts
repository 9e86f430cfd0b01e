/**
 * The sending end of a channel.
 *
 * @module
 */
import { assertAlive } from "./_lifeline.ts";
import {
  ARENA_FULL,
  DISCONNECTED,
  FULL,
  GROW_FAILED,
  NO_MEMORY,
  OK,
  type PushStatus,
  type SharedChannel,
  TOO_LARGE,
} from "./_shared_channel.ts";
import { End, madeHere } from "./_end.ts";
import {
  assertCanBlock,
  block,
  deadlineOf,
  DONE,
  PENDING,
  type Progress,
  WAIT,
  WaitQueue,
} from "./_wait.ts";
import type { Codec } from "./codec/types.ts";
import { structured } from "./codec/structured/mod.ts";
import { type DirectEncoder, directOf, encodeAside } from "./codec/_direct.ts";
import { ArenaFullError, SendError } from "./errors.ts";
import { brandEndClass, endCloneError } from "./_brand.ts";
import { adopt, type AdoptOptions, type SenderHandle } from "./handle.ts";
import type { CarriedEnd } from "./_brand.ts";
import { encodeCarrying, makers, pushCarried, restoreCarried, takeCarried } from "./_carry.ts";
import { writableOf } from "./_streams.ts";

/**
 * The encoded messages of a batch, copied one after the other into one growing buffer (a
 * million small messages are one allocation, not a million), except those that carry ends,
 * which keep their own bytes.
 */
/** Most bytes and messages one claim of a batch takes (see `Encoded.push`). */
const BATCH_BYTES = 4096;
const BATCH_COUNT = 256;

class Encoded {
  length = 0;
  #buffer = new Uint8Array(1024);
  #used = 0;
  /** Where message i starts in the buffer, and (i + 1) where it ends: one slot more. */
  #bounds: number[] = [0];
  #own: (Uint8Array | undefined)[] = [];

  add(bytes: Uint8Array, own: boolean): void {
    if (own) {
      this.#own[this.length] = bytes;
    } else {
      const n = bytes.length;
      if (this.#used + n > this.#buffer.length) {
        const grown = new Uint8Array(Math.max(2 * this.#buffer.length, this.#used + n));
        grown.set(this.#buffer.subarray(0, this.#used));
        this.#buffer = grown;
      }
      const buffer = this.#buffer;
      const at = this.#used;
      if (n <= 16) { for (let i = 0; i < n; i++) buffer[at + i] = bytes[i]; }
      else buffer.set(bytes, at);
      this.#used += n;
    }
    this.#bounds.push(this.#used);
    this.length++;
  }

  /** Message `i`'s bytes, as a view (the ends' key for one that carries them). */
  get(i: number): Uint8Array {
    return this.#own[i] ?? this.#buffer.subarray(this.#bounds[i], this.#bounds[i + 1]);
  }

  /** Message `i`'s own bytes if it carries ends, else undefined (see `push`). */
  own(i: number): Uint8Array | undefined {
    return this.#own[i];
  }

  /**
   * Enqueues message `i` (one that carries no ends) on `chan` for `owner` — with the messages
   * after it that carry none either, up to BATCH_BYTES, in one claim, if `chan` is unbounded (see
   * `pushBatch`). @returns the status, and how many went (`sent`).
   */
  push(chan: SharedChannel, i: number, owner: number): PushStatus {
    const bounds = this.#bounds;
    let to = i + 1;
    if (chan.bound < 0) {
      let total = 0;
      while (
        to < this.length && to - i < BATCH_COUNT && this.#own[to] === undefined &&
        (total += bounds[to + 1] - bounds[to] + 8) <= BATCH_BYTES
      ) to++;
    }
    if (to - i > 1) {
      const status = chan.pushBatch(this.#buffer, bounds, i, to, owner);
      this.sent = to - i;
      // A claim for all of them may not fit where one message does: then one by one.
      if (status === OK || status === FULL || status === DISCONNECTED) return status;
    }
    this.sent = 1;
    return chan.push(this.#buffer, owner, bounds[i], bounds[i + 1] - bounds[i]);
  }

  /** How many messages the last `push` sent (if it returned OK). */
  sent = 1;
}

/** Options of {@linkcode Sender.send}. */
export interface SendOptions {
  /**
   * Cancels the wait for room. The returned promise then rejects with `signal.reason` and the
   * message is not enqueued.
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode Sender.sendSync}. */
export interface SendSyncOptions {
  /**
   * Longest wait for room, in milliseconds. When it passes, `sendSync` throws a `DOMException`
   * named `TimeoutError` and the message is not enqueued. Default: no limit.
   */
  timeout?: number;
}

/** A pending `closed()`. */
interface ClosedWaiter {
  resolve(): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface PendingSend<T> {
  bytes: Uint8Array;
  value: T;
  /** For a message of a `sendMany` batch: set once an earlier one failed (this one is dropped). */
  batch?: { failed: boolean };
  resolve(): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

let create: <T>(end: (sender: Sender<T>) => End, codec: Codec<T>, owner: number) => Sender<T>;

/**
 * The sending end of a channel, made by {@linkcode channel} or {@linkcode syncChannel}.
 *
 * A channel may have many senders ({@linkcode Sender.clone}); messages from one sender arrive in
 * the order it sent them. A sender can be moved into a worker: `worker.postMessage(
 * tx.transfer())` there, `Sender.from(handle)` in the worker.
 *
 * Close every sender when done ({@linkcode Sender.close}, or `using tx = …`): the receiver
 * reports disconnection once all of them are closed and it has taken every buffered message.
 *
 * @typeParam T The type of the messages.
 * @example Sending from the main thread
 * ```ts
 * import { channel } from "@wasmring/mpsc";
 *
 * const [tx, rx] = channel<{ id: number }>();
 * tx.sendSync({ id: 1 });
 * await tx.send({ id: 2 });
 * tx.close();
 * console.log([...rx]); // [{ id: 1 }, { id: 2 }]
 * ```
 */
export class Sender<T> {
  #end: End;
  #chan: SharedChannel;
  #codec: Codec<T>;
  /** Owner id written in this sender's claims (shared by its clones in this thread). */
  #owner: number;
  #pending: WaitQueue<PendingSend<T>>;
  /** The codec's in-place encoder (built-in codecs only; see codec/_direct.ts). */
  #direct: DirectEncoder<T> | null;
  /**
   * Whether the codec is the built-in structured one, whose encoding of a number, a boolean,
   * `null` or `undefined` runs no user code and finds no ends (see `#first`).
   */
  #structured: boolean;
  /** Calls of `closed()` waiting for the receiver to go (made at the first). */
  #closing: WaitQueue<ClosedWaiter> | null = null;
  /** The ends lent to this sender's messages not sent yet, by message (see _carry.ts). */
  #carrying = new Map<Uint8Array, CarriedEnd[]>();

  private constructor(end: (sender: Sender<T>) => End, codec: Codec<T>, owner: number) {
    this.#end = end(this);
    this.#chan = this.#end.chan;
    this.#codec = codec;
    this.#direct = directOf(codec);
    this.#structured = codec === structured;
    this.#owner = owner;
    this.#pending = new WaitQueue(this.#chan.space, {
      attempt: (entry) => this.#sendPending(entry),
      open: () => this.#end.open,
    });
  }

  static {
    brandEndClass(
      this.prototype,
      (end) =>
        #end in end ? end.#end.mover(() => end.#calls(), end.#codec as Codec<unknown>) : null,
    );
  }

  static {
    create = <T>(end: (sender: Sender<T>) => End, codec: Codec<T>, owner: number) =>
      new Sender<T>(end, codec, owner);
    // A sender a message carried here: held as one made here (see _carry.ts).
    makers.sender = newSender;
  }

  /**
   * The gate of every call: this sender is open. (Whether this worker is alive is checked where
   * a message is claimed, `SharedChannel.push`, and by the calls that claim none.)
   */
  #check(action: string): void {
    this.#end.check(action);
  }

  /** Async calls pending (`send()`, `closed()`): an end with some cannot move. */
  #calls(): number {
    return this.#pending.length + (this.#closing?.length ?? 0);
  }

  /** Maps a status of `push` to a result: true sent, false full; throws for the rest. */
  #outcome(status: PushStatus, value: T, bytes: number): boolean {
    if (status === OK) return true;
    if (status === FULL) return false;
    if (status === DISCONNECTED) {
      throw new SendError(value, undefined, { reason: this.#chan.peersGone("sender") });
    }
    if (status === TOO_LARGE) {
      throw new RangeError(
        `Cannot send a message of ${bytes} bytes: this channel takes at most ` +
          `${this.#chan.largest} bytes (set by its maxBytes)`,
      );
    }
    if (status === NO_MEMORY) {
      throw new RangeError(
        `Cannot send a message of ${bytes} bytes: the channel's storage is at maxBytes; ` +
          `the receiver must take messages first (an empty channel takes up to ` +
          `${this.#chan.largest} bytes)`,
      );
    }
    if (status === ARENA_FULL || status === GROW_FAILED) {
      throw new ArenaFullError(
        status === ARENA_FULL ? "cap" : "memory",
        this.#chan.arenaCap,
        `Cannot send a message of ${bytes} bytes`,
      );
    }
    throw new Error(`Cannot send: unexpected core status ${status}`);
  }

  /**
   * Encodes `value` and, if `attempt`, tries once to enqueue it: in place when the codec can
   * (large strings, typed arrays; see codec/_direct.ts), else by copying `encode`'s bytes.
   * @returns null if sent; else the message's bytes for the waits — with `keep`, a buffer of
   * their own; without, possibly the codec's scratch space, reused by its next encode.
   * @throws what the codec throws, and what `#outcome` throws.
   */
  #first(value: T, attempt: boolean, keep: boolean): Uint8Array | null {
    const type = typeof value;
    if (
      this.#structured &&
      (type === "number" || type === "boolean" || type === "undefined" || value === null)
    ) {
      // A lone primitive: no user code runs and no end can be in it, so neither the search for
      // ends nor a second look at this sender is needed.
      const bytes = this.#codec.encode(value);
      if (attempt && this.#outcome(this.#chan.push(bytes, this.#owner), value, bytes.length)) {
        return null;
      }
      return keep ? bytes.slice() : bytes;
    }
    const direct = this.#direct;
    const bound = direct === null ? -1 : direct.measure(value);
    if (bound < 0) {
      const bytes = encodeCarrying(this.#chan, this.#codec, value, encodedBytes);
      const ends = takeCarried();
      if (ends !== null) return this.#firstCarrying(bytes, ends, value, attempt);
      // Encoding runs user code (getters, toJSON, a custom codec), which may close this sender.
      this.#check("send");
      if (attempt && this.#outcome(this.#chan.push(bytes, this.#owner), value, bytes.length)) {
        return null;
      }
      return keep ? bytes.slice() : bytes;
    }
    this.#check("send"); // `measure` ran the value's user code
    let status: PushStatus = FULL;
    if (attempt) {
      status = this.#chan.pushInto(direct!, value, bound, this.#owner);
      if (status === OK || status === DISCONNECTED) {
        this.#outcome(status, value, bound); // throws SendError when DISCONNECTED
        return null;
      }
    }
    // No room for the bound: encode aside, exactly, for the waits (measure must not run again:
    // it may run user code), or to retry when the bound exceeded a limit the message may not.
    const bytes = encodeAside(direct!, value, bound);
    if (
      status !== FULL && this.#outcome(this.#chan.push(bytes, this.#owner), value, bytes.length)
    ) {
      return null;
    }
    return bytes;
  }

  /**
   * `#first` for a message that carries `ends` (lent to it): tries once if `attempt`; else, or
   * if the channel is full, keeps the ends lent to the bytes returned, until the message is sent
   * or given up (`#settle`).
   */
  #firstCarrying(
    bytes: Uint8Array,
    ends: CarriedEnd[],
    value: T,
    attempt: boolean,
  ): Uint8Array | null {
    // The codec's scratch bytes serve the first attempt; waits get a copy of their own.
    this.#carrying.set(bytes, ends);
    try {
      this.#check("send");
      if (attempt && this.#outcome(this.#push(bytes), value, bytes.length)) {
        this.#settle(bytes, true);
        return null;
      }
    } catch (error) {
      this.#settle(bytes, false);
      throw error;
    }
    this.#carrying.delete(bytes);
    const own = bytes.slice();
    this.#carrying.set(own, ends);
    return own;
  }

  /** Enqueues `bytes` (with the ends lent to them, if any). */
  #push(bytes: Uint8Array): PushStatus {
    const ends = this.#carrying.size === 0 ? undefined : this.#carrying.get(bytes);
    return ends === undefined
      ? this.#chan.push(bytes, this.#owner)
      : pushCarried(this.#chan, bytes, this.#owner, ends);
  }

  /** A message with ends lent to it was sent (they went with it), or not (they come back). */
  #settle(bytes: Uint8Array | null, sent: boolean): void {
    if (bytes === null || this.#carrying.size === 0) return;
    const ends = this.#carrying.get(bytes);
    if (ends === undefined) return;
    this.#carrying.delete(bytes);
    if (!sent) restoreCarried(ends);
  }

  /**
   * Sends `value` if the channel has room now.
   *
   * On a bounded channel "room" is a free slot; on a rendezvous channel (`syncChannel(0)`) it is
   * a receiver waiting in a receive call. An unbounded channel always has room.
   *
   * @param value The message.
   * @returns `true` if the message was enqueued, `false` if the channel was full (nothing sent;
   * also while earlier `send()` calls of this sender still wait, to keep their order).
   * @throws {SendError} The receiver is gone; the error carries `value`.
   * @throws {DOMException} `DataCloneError` when the codec cannot encode `value`.
   * @throws {RangeError} The message does not fit within the channel's `maxBytes`
   * ({@linkcode ArenaFullError}, a `RangeError`, when it does but the channels' arena is full).
   * @throws {TypeError} This sender was closed or transferred.
   * @example
   * ```ts
   * import { syncChannel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = syncChannel<number>(1);
   * console.log(tx.trySend(1)); // true
   * console.log(tx.trySend(2)); // false: the one slot is taken
   * console.log(rx.recvSync()); // 1
   * ```
   */
  trySend(value: T): boolean {
    this.#check("send");
    // With send() calls pending, only encode (for its errors): a send now would overtake them.
    if (this.#pending.length > 0) {
      assertAlive();
      this.#settle(this.#first(value, false, false), false);
      return false;
    }
    const bytes = this.#first(value, true, false);
    this.#settle(bytes, false);
    return bytes === null;
  }

  /**
   * Sends `value`, blocking the thread while a bounded channel is full (a rendezvous channel:
   * until a receiver takes it).
   *
   * Cancel safety: when the timeout passes, the message was not enqueued.
   *
   * @param value The message.
   * @param options `timeout` in milliseconds.
   * @throws {SendError} The receiver is gone (also when it goes while this call waits); the
   * error carries `value`.
   * @throws {DOMException} `TimeoutError` after `timeout` ms without room; `DataCloneError` when
   * the codec cannot encode `value`; `AbortError` when this worker was terminated.
   * @throws {RangeError} The message does not fit within the channel's `maxBytes`, or a bad
   * `timeout`.
   * @throws {TypeError} This sender was closed or transferred, or has `send()` calls pending.
   * @example
   * ```ts
   * import { syncChannel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = syncChannel<string>(1);
   * tx.sendSync("a");
   * try {
   *   tx.sendSync("b", { timeout: 10 }); // full, and nobody receives
   * } catch (e) {
   *   console.log((e as DOMException).name); // "TimeoutError"
   * }
   * console.log(rx.recvSync()); // "a"
   * ```
   */
  sendSync(value: T, options?: SendSyncOptions): void {
    this.#check("send");
    assertCanBlock("sendSync", "await tx.send(value)");
    const deadline = deadlineOf(options?.timeout);
    if (this.#pending.length > 0) {
      throw new TypeError("Cannot sendSync while send() calls of this sender are pending");
    }
    const bytes = this.#first(value, true, false);
    if (bytes === null) return;
    let sent = false;
    try {
      const status = block(this.#chan.space, deadline, "Sending", this.#attempt, bytes);
      sent = this.#outcome(status, value, bytes.length);
    } finally {
      this.#settle(bytes, sent);
    }
  }

  /**
   * One attempt of `sendSync`: enqueues `bytes`, or says to wait for room. (It allocates
   * nothing: on a full bounded channel most sends come here.)
   */
  #attempt = (bytes: Uint8Array): PushStatus | typeof PENDING => {
    const status = this.#push(bytes);
    return status === FULL ? PENDING : status;
  };

  /**
   * Sends `value`, waiting without blocking the thread while a bounded channel is full (a
   * rendezvous channel: until a receiver takes it).
   *
   * Calls of one sender complete in call order. Cancel safety: if `signal` aborts before the
   * message was enqueued, the promise rejects with `signal.reason` and the message is never
   * enqueued; if it aborts later, the send has already succeeded.
   *
   * @param value The message.
   * @param options `signal` to cancel the wait.
   * @returns A promise that resolves once the message is enqueued.
   * @throws {SendError} (rejects) The receiver is gone; the error carries `value`.
   * @throws {DOMException} (rejects) `DataCloneError` when the codec cannot encode `value`
   * (nothing is enqueued); `signal.reason` when aborted.
   * @throws {RangeError} (rejects) The message does not fit within `maxBytes`.
   * @throws {TypeError} (rejects) This sender was closed or transferred.
   * @example
   * ```ts
   * import { syncChannel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = syncChannel<number>(1);
   * await tx.send(1);
   * const second = tx.send(2); // waits: the slot is taken
   * console.log(await rx.recv()); // 1, which makes room for 2
   * await second;
   * console.log(await rx.recv()); // 2
   * ```
   */
  send(value: T, options?: SendOptions): Promise<void> {
    const signal = options?.signal;
    let bytes: Uint8Array | null;
    try {
      this.#check("send");
      signal?.throwIfAborted();
      // Kept: the codec's scratch space is reused by its next encode.
      bytes = this.#first(value, this.#pending.length === 0, true);
      if (bytes === null) return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    const sent = bytes;
    return new Promise<void>((resolve, reject) => {
      this.#pending.add({
        bytes: sent,
        value,
        resolve: () => {
          this.#settle(sent, true);
          resolve();
        },
        reject: (error) => {
          this.#settle(sent, false);
          reject(error);
        },
        signal,
      });
    });
  }

  /**
   * One attempt of a pending `send()` (the oldest): enqueues it, or says to wait for room. A
   * throw of `push` (this worker was terminated) rejects it: the message was not sent.
   */
  #sendPending(entry: PendingSend<T>): Progress {
    if (entry.batch?.failed) {
      entry.reject(null);
      return DONE;
    }
    const status = this.#push(entry.bytes);
    if (status === FULL) return WAIT;
    if (this.#outcome(status, entry.value, entry.bytes.length)) entry.resolve();
    return DONE;
  }

  /**
   * Encodes every value of a batch, keeping their bytes (and the ends they carry lent) for the
   * sends: all or nothing — if one cannot be encoded, nothing is sent and what was lent comes back.
   */
  #encodeAll(values: readonly T[]): Encoded {
    const all = new Encoded();
    try {
      for (const value of values) {
        const bytes = this.#first(value, false, false)!;
        // A message that carries ends keeps its own bytes (they are the key of its lent ends).
        all.add(bytes, this.#carrying.size > 0 && this.#carrying.has(bytes));
      }
    } catch (error) {
      for (let i = 0; i < all.length; i++) this.#settle(all.get(i), false);
      throw error;
    }
    return all;
  }

  /**
   * Sends the messages of a batch that fit now, in order, from the first.
   * @returns how many went.
   * @throws what a send throws, as `#batchFailed` words it (the rest give their ends back).
   */
  #sendWhatFits(all: Encoded, values: readonly T[]): number {
    let sent = 0;
    try {
      while (sent < all.length) {
        const went = this.#pushRun(all, values, sent);
        if (went === 0) break;
        sent += went;
      }
    } catch (error) {
      throw this.#batchFailed(values, all, sent, error);
    }
    return sent;
  }

  /**
   * Enqueues message `i` of a batch (with the ends lent to it, if any), and the messages after it
   * that fit the same claim (see `Encoded.push`).
   * @returns how many went; 0 when the channel is full.
   * @throws what `#outcome` throws.
   */
  #pushRun(all: Encoded, values: readonly T[], i: number): number {
    const own = all.own(i);
    const status = own === undefined ? all.push(this.#chan, i, this.#owner) : this.#push(own);
    if (status === FULL) return 0;
    if (status !== OK) this.#outcome(status, values[i], all.get(i).length); // throws
    if (own === undefined) return all.sent;
    this.#settle(own, true);
    return 1;
  }

  /**
   * Ends a batch at message `sent` with `error`: the messages not sent give their ends back, and
   * the error says how many went (a `SendError` carries the values not sent).
   */
  #batchFailed(values: readonly T[], all: Encoded, sent: number, error: unknown): unknown {
    for (let i = sent; i < all.length; i++) this.#settle(all.get(i), false);
    if (error instanceof SendError) {
      error = new SendError(values.slice(sent), undefined, { reason: error.reason });
    }
    if (error !== null && typeof error === "object") {
      Object.defineProperty(error, "sent", { value: sent, enumerable: true });
    }
    return error;
  }

  /**
   * Sends the values that fit now, in order, stopping at the first that does not; never waits.
   * Every value is encoded first: one the codec cannot encode throws and nothing is sent.
   *
   * @param values The messages.
   * @returns How many were sent (the first that many of `values`).
   * @throws {SendError} Every receiver is gone (`value`: the values not sent; `sent`: how many
   * were).
   * @throws {DOMException} `DataCloneError` when the codec cannot encode a value (nothing sent).
   * @throws {RangeError} A message does not fit within the channel's `maxBytes`.
   * @throws {TypeError} This sender was closed or transferred.
   * @example
   * ```ts
   * import { syncChannel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = syncChannel<number>(2);
   * console.log(tx.trySendMany([1, 2, 3])); // 2: room for two
   * console.log(rx.tryRecvMany(10)); // { state: "ok", values: [1, 2] }
   * ```
   */
  trySendMany(values: Iterable<T>): number {
    this.#check("send");
    assertAlive();
    const list = [...values];
    const all = this.#encodeAll(list);
    if (this.#pending.length > 0) return this.#batchFailed(list, all, 0, null), 0;
    const sent = this.#sendWhatFits(all, list);
    this.#batchFailed(list, all, sent, null);
    return sent;
  }

  /**
   * Sends every value, in order, blocking the thread while a bounded channel is full. Every
   * value is encoded first: one the codec cannot encode throws and nothing is sent.
   *
   * @param values The messages.
   * @param options `timeout` in milliseconds, for the whole batch.
   * @throws {SendError} Every receiver is gone (`value`: the values not sent; `sent`: how many
   * were).
   * @throws {DOMException} `TimeoutError` (with `sent`); `DataCloneError` (nothing sent);
   * `AbortError` when this worker was terminated (with `sent`).
   * @throws {RangeError} A message does not fit within `maxBytes`, or a bad `timeout`.
   * @throws {TypeError} This sender was closed or transferred, or has `send()` calls pending.
   * @example
   * ```ts
   * import { syncChannel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = syncChannel<number>(2);
   * tx.sendManySync([1, 2]);
   * try {
   *   tx.sendManySync([3, 4], { timeout: 10 }); // full, and nobody receives
   * } catch (e) {
   *   console.log((e as DOMException).name, (e as { sent: number }).sent); // "TimeoutError" 0
   * }
   * ```
   */
  sendManySync(values: Iterable<T>, options?: SendSyncOptions): void {
    this.#check("send");
    assertCanBlock("sendManySync", "await tx.sendMany(values)");
    const deadline = deadlineOf(options?.timeout);
    if (this.#pending.length > 0) {
      throw new TypeError("Cannot sendManySync while send() calls of this sender are pending");
    }
    assertAlive();
    const list = [...values];
    const all = this.#encodeAll(list);
    let sent = 0;
    try {
      while (sent < all.length) {
        const went = this.#pushRun(all, list, sent);
        if (went > 0) {
          sent += went;
          continue;
        }
        // Full: wait for room for this one, then go on.
        const bytes = all.get(sent);
        const status = block(this.#chan.space, deadline, "Sending", this.#attempt, bytes);
        this.#outcome(status, list[sent], bytes.length);
        this.#settle(bytes, true);
        sent++;
      }
    } catch (error) {
      throw this.#batchFailed(list, all, sent, error);
    }
  }

  /**
   * Sends every value, in order, waiting without blocking the thread while a bounded channel is
   * full. Every value is encoded first: one the codec cannot encode rejects and nothing is sent.
   * Served in call order with this sender's `send()` calls. Cancel safety: if `signal` aborts,
   * the promise rejects with `signal.reason` carrying `sent` (the first `sent` values went; the
   * rest never will).
   *
   * @param values The messages.
   * @param options `signal` to cancel the wait.
   * @returns A promise that resolves once every value is enqueued.
   * @throws {SendError} (rejects) Every receiver is gone (`value`: the values not sent; `sent`).
   * @throws {DOMException} (rejects) `DataCloneError` (nothing sent); `signal.reason`.
   * @throws {RangeError} (rejects) A message does not fit within `maxBytes`.
   * @throws {TypeError} (rejects) This sender was closed or transferred.
   * @example
   * ```ts
   * import { syncChannel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = syncChannel<number>(1);
   * const done = tx.sendMany([1, 2, 3]); // waits for room, message by message
   * console.log(await rx.recv(), await rx.recv(), await rx.recv()); // 1 2 3
   * await done;
   * ```
   */
  sendMany(values: Iterable<T>, options?: SendOptions): Promise<void> {
    const signal = options?.signal;
    let list: T[];
    let all: Encoded;
    try {
      this.#check("send");
      signal?.throwIfAborted();
      assertAlive();
      list = [...values];
      all = this.#encodeAll(list);
    } catch (error) {
      return Promise.reject(error);
    }
    let sent = 0;
    if (this.#pending.length === 0) {
      try {
        sent = this.#sendWhatFits(all, list);
      } catch (error) {
        return Promise.reject(error);
      }
      if (sent === all.length) return Promise.resolve();
    }
    // The rest waits in the queue, all at once (a later send() comes after the whole batch).
    return new Promise<void>((resolve, reject) => {
      const batch = { failed: false };
      let done = sent;
      for (let i = sent; i < all.length; i++) {
        const bytes = all.get(i);
        this.#pending.add({
          bytes,
          value: list[i],
          batch,
          resolve: () => {
            this.#settle(bytes, true);
            if (++done === all.length) resolve();
          },
          reject: (error) => {
            if (batch.failed) return;
            batch.failed = true;
            reject(this.#batchFailed(list, all, done, error));
          },
          signal,
        });
      }
    });
  }

  /**
   * Makes another sender for the same channel. The receiver sees disconnection only when every
   * sender is closed.
   *
   * @returns A new, open sender.
   * @throws {TypeError} This sender was closed or transferred.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<string>();
   * const tx2 = tx.clone();
   * tx.sendSync("one");
   * tx.close();
   * tx2.sendSync("two"); // still connected through tx2
   * tx2.close();
   * console.log([...rx]); // ["one", "two"]
   * ```
   */
  clone(): Sender<T> {
    this.#check("clone");
    assertAlive();
    return create(
      (sender) => this.#end.clone(sender, () => this.#chan.addSender()),
      this.#codec,
      this.#owner,
    );
  }

  /**
   * Closes this sender. When it was the last one, the receiver reports disconnection after
   * taking the buffered messages. Idempotent; `using` calls it at the end of the scope.
   * `send()` calls still waiting for room reject with a `TypeError` and send nothing.
   *
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * {
   *   using scoped = tx;
   *   scoped.sendSync(7);
   * } // closed here
   * console.log(rx.recvSync()); // 7
   * console.log(rx.tryRecv().state); // "disconnected"
   * ```
   */
  close(): void {
    if (!this.#end.close()) return;
    this.#pending.rejectAll(() =>
      new TypeError("Cannot send: the sender was closed while the send waited")
    );
    this.#closing?.rejectAll(() =>
      new TypeError("Cannot wait for the receiver: the sender was closed while it waited")
    );
  }

  /** Closes this sender: `using tx = …`. See {@linkcode Sender.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Moves this sender into a handle for `postMessage`. This object becomes unusable; the
   * channel's sender count does not change. Adopt the handle with {@linkcode Sender.from} in the
   * receiving thread (once).
   *
   * @returns A handle to post to a worker.
   * @throws {TypeError} This sender was closed or transferred, or has `send()` calls pending.
   * @example
   * ```ts ignore
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<string>();
   * const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
   * worker.postMessage(tx.transfer());
   * console.log(await rx.recv()); // whatever the worker sends
   * ```
   */
  transfer(): SenderHandle<T> {
    this.#check("transfer");
    assertAlive();
    const codec = this.#codec as Codec<unknown>;
    return this.#end.transfer(codec, this.#calls()) as SenderHandle<T>;
  }

  /**
   * Adopts a sender moved here with {@linkcode Sender.transfer}.
   *
   * @param handle The handle, as received from `postMessage`.
   * @param options The channel's codec, required if it is a custom one.
   * @returns The sender.
   * @throws {TypeError} Not a sender handle, already adopted, damaged, or a codec mismatch.
   * @example
   * ```ts ignore
   * // worker.ts
   * import { Sender, type SenderHandle } from "@wasmring/mpsc";
   *
   * self.onmessage = (e: MessageEvent<SenderHandle<string>>) => {
   *   using tx = Sender.from(e.data);
   *   tx.sendSync("Hello from the worker!");
   * };
   * ```
   */
  static from<T>(handle: SenderHandle<T>, options?: AdoptOptions<T>): Sender<T> {
    return adoptSender(handle, options, false);
  }

  /** Messages buffered in the channel (racy: informational only). */
  get len(): number {
    return this.#end.usable().length;
  }

  /** The channel's bound in messages (0: rendezvous), or `Infinity` when unbounded. */
  get capacity(): number {
    return this.#end.capacity();
  }

  /** Whether the receiver is gone (racy: a `false` may be stale by the time it is read). */
  get isDisconnected(): boolean {
    return !this.#end.usable().receiverOpen;
  }

  /**
   * How many receivers the channel has, in every thread: clones, and receivers in flight in
   * messages or handles; 0 once every one is closed or died with its worker (racy,
   * informational: for finding out who is still there).
   */
  get receivers(): number {
    return this.#end.usable().receivers;
  }

  /**
   * Waits until every receiver is gone: closed, or its worker died (tokio's `Sender::closed`).
   * For a producer that should stop making work nobody will take.
   *
   * @param options `signal` to stop waiting (the promise rejects with its reason).
   * @returns A promise that resolves once the channel has no receiver.
   * @throws {TypeError} (rejects) This sender was closed or transferred (also while waiting).
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * setTimeout(() => rx.close(), 5);
   * await tx.closed();
   * console.log(tx.isDisconnected); // true
   * ```
   */
  closed(options?: { signal?: AbortSignal }): Promise<void> {
    const signal = options?.signal;
    try {
      this.#check("wait for the receiver");
      signal?.throwIfAborted();
      if (!this.#end.usable().receiverOpen) return Promise.resolve();
    } catch (error) {
      return Promise.reject(error);
    }
    // Woken where senders wait for room: a receiver's close wakes every sender there.
    this.#closing ??= new WaitQueue(this.#chan.space, {
      attempt: (waiter) => {
        if (this.#chan.receiverOpen) return WAIT;
        waiter.resolve();
        return DONE;
      },
      open: () => this.#end.open,
    });
    return new Promise<void>((resolve, reject) => {
      this.#closing!.add({ resolve, reject, signal });
    });
  }

  /**
   * A sender cannot be serialized: inside a message sent with the `json` codec it throws a
   * `DataCloneError` instead of arriving as `{}`. Move a sender with {@linkcode Sender.transfer}.
   *
   * @throws {DOMException} `DataCloneError`, always.
   */
  toJSON(): never {
    throw endCloneError();
  }

  /** The stream of `writable`, made the first time it is asked for. */
  #writable: WritableStream<T> | undefined;

  /**
   * A `WritableStream` that sends what is written to it, for `pipeTo` and `pipeThrough`. The
   * same stream every time, as Deno's `FsFile.writable`.
   *
   * Each write is a {@linkcode Sender.send}: it waits for room on a full bounded channel, so a
   * writer (and a `pipeTo`) waits with it (high-water mark 1: the channel is the buffer).
   * Closing the stream closes this sender; so does aborting it — a send in progress is
   * cancelled and its chunk not enqueued — and so does a failed write ({@linkcode SendError},
   * a `DataCloneError` from the codec…), which errors the stream. Sending directly while the
   * stream is written to interleaves the messages.
   *
   * @example Piping a stream into a channel
   * ```ts
   * import { syncChannel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = syncChannel<number>(2);
   * const piped = ReadableStream.from([1, 2, 3]).pipeTo(tx.writable); // waits for room
   * const received: number[] = [];
   * for await (const n of rx) received.push(n); // ends: the pipe closed tx
   * await piped;
   * console.log(received); // [1, 2, 3]
   * ```
   */
  get writable(): WritableStream<T> {
    return this.#writable ??= writableOf(this);
  }
}

const taTag = Object.getOwnPropertyDescriptor(
  Object.getPrototypeOf(Uint8Array.prototype),
  Symbol.toStringTag,
)!.get!;

/**
 * Runs `codec.encode(value)` and checks that it returned a `Uint8Array`.
 * @throws {TypeError} naming the codec and what it returned instead; nothing is sent.
 */
export function encodedBytes<T>(codec: Codec<T>, value: T): Uint8Array {
  const bytes = codec.encode(value) as unknown;
  if (ArrayBuffer.isView(bytes) && taTag.call(bytes) === "Uint8Array") return bytes as Uint8Array;
  throw new TypeError(
    `Cannot send: codec "${codec.name}" returned ${describe(bytes)} from encode, not a Uint8Array`,
  );
}

/** Names the type of `value` for an error message. */
function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return `a ${typeof value}`;
  const name = ArrayBuffer.isView(value)
    ? taTag.call(value) ?? "DataView"
    : (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor
      ?.name;
  if (typeof name !== "string" || name === "") return "an object";
  return `${/^[AEIOU]/.test(name) ? "an" : "a"} ${name}`;
}

/** Adopts a sender's handle: of a oneshot channel's (see oneshot.ts), or of another channel's. */
export function adoptSender<T>(
  handle: SenderHandle<T>,
  options: AdoptOptions<T> | undefined,
  oneshot: boolean,
): Sender<T> {
  const { chan, codec, lifeline, owner } = adopt<T>(handle, "sender", options, oneshot);
  return create((sender) => new End(sender, "sender", chan, lifeline), codec, owner);
}

/** Creates a sender over `chan` (for `channel()`). */
export function newSender<T>(chan: SharedChannel, codec: Codec<T>): Sender<T> {
  const owner = chan.newOwner();
  return create((sender) => madeHere(sender, "sender", chan, owner), codec, owner);
}
