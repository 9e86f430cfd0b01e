/**
 * The receiving end of a channel.
 *
 * @module
 */
import { assertAlive } from "./_lifeline.ts";
import {
  PULL_BUSY,
  PULL_DISCONNECTED,
  PULL_EMPTY,
  type PullStatus,
  type SharedChannel,
} from "./_shared_channel.ts";
export { PULL_BUSY, PULL_DISCONNECTED, PULL_EMPTY };
import { End, madeHere } from "./_end.ts";
import {
  assertCanBlock,
  block,
  deadlineOf,
  DONE,
  PENDING,
  type Progress,
  RETRY,
  SPIN,
  WAIT,
  WaitQueue,
} from "./_wait.ts";
import { type Codec, NOT_BYTES } from "./codec/types.ts";
import { RecvError } from "./errors.ts";
import { brandEndClass, endCloneError } from "./_brand.ts";
import { adopt, type AdoptOptions, type ReceiverHandle } from "./handle.ts";
import { makers } from "./_carry.ts";
import { readableOf } from "./_streams.ts";
import { messagesOf } from "./async_ends.ts";
import {
  abDetached,
  taBuffer,
  taByteOffset,
  taLength,
  taTag,
} from "./codec/structured/intrinsics.ts";

/** Options of {@linkcode Receiver.recv}. */
export interface RecvOptions {
  /**
   * Cancels the wait. The promise then rejects with `signal.reason` and no message is taken:
   * a message that arrives later stays in the channel for the next receive.
   */
  signal?: AbortSignal;
}

/** Options of {@linkcode Receiver.recvSync}. */
export interface RecvSyncOptions {
  /**
   * Longest wait for a message, in milliseconds; `0` takes only a message that is ready. When it
   * passes, `recvSync` throws a `DOMException` named `TimeoutError` and takes nothing.
   * Default: no limit.
   */
  timeout?: number;
}

/** The result of {@linkcode Receiver.tryRecv}. */
export type TryRecvResult<T> =
  | { readonly state: "ok"; readonly value: T }
  | { readonly state: "empty" }
  | { readonly state: "disconnected" };

/** The result of {@linkcode Receiver.tryRecvMany}. */
export type TryRecvManyResult<T> =
  | { readonly state: "ok"; readonly values: T[] }
  | { readonly state: "empty" }
  | { readonly state: "disconnected" };

/** No error waits to be thrown (see `Receiver.#deferred`). */
const NO_ERROR: unique symbol = Symbol("no error");

/**
 * How long `tryRecv` waits for a message whose producer was interrupted between claiming space
 * and publishing (normally nanoseconds) before it reports "empty" rather than block.
 */
const BUSY_PATIENCE_MS = 20;

const EMPTY_RESULT = Object.freeze({ state: "empty" }) as { readonly state: "empty" };
const DISCONNECTED_RESULT = Object.freeze({ state: "disconnected" }) as {
  readonly state: "disconnected";
};

interface PendingRecv<T> {
  /** For `recvMany`: the most messages to take (resolves with an array). */
  limit?: number;
  /** For `recvInto`: where the message's bytes go (resolves with their count). */
  into?: Uint8Array;
  // deno-lint-ignore no-explicit-any
  resolve(value: any): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

let create: <T>(end: (receiver: Receiver<T>) => End, codec: Codec<T>) => Receiver<T>;

/** What select.ts needs of a receiver (set by `Receiver`'s static block). Internal. */
export interface SelectHooks {
  /** Whether `value` is a `Receiver`. */
  is(value: unknown): value is Receiver<unknown>;
  /** The receiver's channel. */
  chan(receiver: Receiver<unknown>): SharedChannel;
  /** Whether the receiver is open (a closed one makes a select throw). */
  open(receiver: Receiver<unknown>): boolean;
  /**
   * Takes a ready message, or says there is none (PULL_EMPTY, PULL_BUSY) or will be none
   * (PULL_DISCONNECTED). @throws as `tryRecv`; TypeError with `recv()` calls pending.
   */
  take(receiver: Receiver<unknown>): unknown;
  /** Rendezvous: publishes the receiver's token (it waits), or withdraws it. */
  waiting(receiver: Receiver<unknown>, waits: boolean): void;
}

/** See `SelectHooks`. Internal. */
export const selectHooks = {} as SelectHooks;

/** Whether `pulled` is a message, not a status. */
function isMessage<T>(pulled: T | PullStatus): pulled is T {
  return pulled !== PULL_EMPTY && pulled !== PULL_BUSY && pulled !== PULL_DISCONNECTED;
}

/**
 * The receiving end of a channel, made by {@linkcode channel} or {@linkcode syncChannel}. It can
 * be moved into a worker with {@linkcode Receiver.transfer}, and cloned with
 * {@linkcode Receiver.clone}: the receivers of a channel share its messages, each message going
 * to exactly one of them (a task queue several workers take from).
 *
 * Messages come out in the order they were enqueued (per sender: the order it sent them, as seen
 * by all the receivers together). Receiving fails with {@linkcode RecvError} only once every
 * sender is closed *and* every buffered message has been taken. Iterate it with `for … of`
 * (blocking) or `for await … of`.
 *
 * @typeParam T The type of the messages.
 * @example
 * ```ts
 * import { channel } from "@wasmring/mpsc";
 *
 * const [tx, rx] = channel<number>();
 * for (let i = 1; i <= 3; i++) tx.sendSync(i);
 * tx.close();
 * let sum = 0;
 * for await (const n of rx) sum += n;
 * console.log(sum); // 6
 * ```
 */
export class Receiver<T> {
  #end: End;
  #chan: SharedChannel;
  #codec: Codec<T>;
  #pending: WaitQueue<PendingRecv<T>>;
  /** Whether the channel is a rendezvous channel (`syncChannel(0)`). */
  #rendezvous: boolean;
  /**
   * Rendezvous: whether this receiver has published its "receiver waiting" token (see
   * recvWaitBegin). One receiver has at most one: every way of receiving shares it.
   */
  #token = false;
  /**
   * The error of a message a batch could not decode, after messages it delivered: thrown by this
   * receiver's next receive (see `pullMany`).
   */
  #deferred: unknown = NO_ERROR;

  private constructor(end: (receiver: Receiver<T>) => End, codec: Codec<T>) {
    this.#end = end(this);
    this.#chan = this.#end.chan;
    this.#codec = codec;
    this.#rendezvous = this.#chan.bound === 0;
    this.#pending = new WaitQueue(this.#chan.data, {
      attempt: (entry) => this.#recvPending(entry),
      poll: () => this.#chan.poll(),
      beforePark: () => this.#offerToken(),
      idle: () => this.#dropToken(),
      open: () => this.#end.open,
    });
  }

  static {
    brandEndClass(
      this.prototype,
      (end) =>
        #end in end
          ? end.#end.mover(() => end.#pending.length, end.#codec as Codec<unknown>)
          : null,
    );
  }

  static {
    selectHooks.is = (value: unknown): value is Receiver<unknown> =>
      typeof value === "object" && value !== null && #end in value;
    selectHooks.chan = (receiver) => receiver.#chan;
    selectHooks.open = (receiver) => receiver.#end.open;
    selectHooks.take = (receiver) => receiver.#selectTake();
    selectHooks.waiting = (receiver, waits) => {
      if (waits) receiver.#offerToken();
      else if (receiver.#pending.length === 0) receiver.#dropToken();
    };
    create = <T>(end: (receiver: Receiver<T>) => End, codec: Codec<T>) =>
      new Receiver<T>(end, codec);
    // A receiver a message carried here: held as one made here (see _carry.ts).
    makers.receiver = newReceiver;
  }

  /**
   * The gate of every call: this worker is alive and this receiver open; a receive first throws
   * the error a batch deferred (see `#deferred`).
   */
  #check(action: string): void {
    assertAlive();
    this.#end.check(action);
    if (this.#deferred !== NO_ERROR && action === "receive") {
      const error = this.#deferred;
      this.#deferred = NO_ERROR;
      throw error;
    }
  }

  /**
   * Takes the next message. A message the codec fails to decode is consumed all the same, and
   * ends this receiver's wait like any other (see `#took`). With `patienceMs`, an unfinished
   * claim at the head is waited out that long (see `pullWithin`).
   * @returns the message, or PULL_EMPTY, PULL_DISCONNECTED or PULL_BUSY (never PULL_BUSY with
   * `patienceMs`).
   */
  #pull(republish = true, patienceMs = 0): T | PullStatus {
    try {
      return patienceMs > 0
        ? this.#chan.pullWithin(this.#codec, patienceMs)
        : this.#chan.pull(this.#codec);
    } catch (error) {
      this.#took(republish);
      throw error;
    }
  }

  /**
   * One attempt of `recvSync` and `recv`: the message if one is ready, else PENDING.
   * @throws {RecvError} when every sender is gone and every message taken.
   */
  #attempt(): T | typeof PENDING {
    const pulled = this.#pull();
    if (isMessage(pulled)) {
      this.#took(true);
      return pulled;
    }
    if (pulled === PULL_DISCONNECTED) throw this.#disconnected();
    return PENDING;
  }

  /** One look of a select (see `SelectHooks.take`). */
  #selectTake(): T | PullStatus {
    this.#check("receive");
    if (this.#pending.length > 0) {
      throw new TypeError("Cannot select on a receiver that has recv() calls pending");
    }
    const pulled = this.#pull();
    if (isMessage(pulled)) this.#took(true);
    return pulled;
  }

  /** The error of a receive on a disconnected channel, saying whether a sender died. */
  #disconnected(): RecvError {
    return new RecvError(undefined, { reason: this.#chan.peersGone("receiver") });
  }

  /** `#attempt` for the wait driver (a method called directly is cheaper on the fast path). */
  #attempts = (): T | typeof PENDING => this.#attempt();

  /** A cheap look for spinning: the head record is published. */
  #poll = (): boolean => this.#chan.poll();

  /**
   * Takes a message if one is ready, without waiting.
   *
   * @returns `{ state: "ok", value }`, or `{ state: "empty" }` when no send has completed that
   * was not received yet (or the next message's producer has been stuck mid-write for 20 ms), or
   * `{ state: "disconnected" }` when, moreover, every sender is closed.
   * @throws {TypeError} This receiver was closed or transferred.
   * @throws {unknown} Whatever the codec's `decode` throws; that message is consumed.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<string>();
   * console.log(rx.tryRecv()); // { state: "empty" }
   * tx.sendSync("hi");
   * console.log(rx.tryRecv()); // { state: "ok", value: "hi" }
   * tx.close();
   * console.log(rx.tryRecv()); // { state: "disconnected" }
   * ```
   */
  tryRecv(): TryRecvResult<T> {
    this.#check("receive");
    const pulled = this.#pull(true, BUSY_PATIENCE_MS);
    if (isMessage(pulled)) {
      this.#took(true);
      return { state: "ok", value: pulled };
    }
    return pulled === PULL_DISCONNECTED ? DISCONNECTED_RESULT : EMPTY_RESULT;
  }

  /**
   * Takes the next message, blocking the thread until one arrives.
   *
   * It spins briefly, then sleeps in `Atomics.wait` (no CPU used). Cancel safety: when the
   * timeout passes, no message was taken.
   *
   * @param options `timeout` in milliseconds (`0`: only a ready message).
   * @returns The message.
   * @throws {RecvError} Every sender is closed and every message taken.
   * @throws {DOMException} `TimeoutError` after `timeout` ms without a message; `AbortError`
   * when this worker was terminated.
   * @throws {RangeError} A bad `timeout`.
   * @throws {TypeError} This receiver was closed or transferred.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * tx.sendSync(42);
   * console.log(rx.recvSync()); // 42
   * try {
   *   rx.recvSync({ timeout: 5 });
   * } catch (e) {
   *   console.log((e as DOMException).name); // "TimeoutError"
   * }
   * ```
   */
  recvSync(options?: RecvSyncOptions): T {
    this.#check("receive");
    assertCanBlock("recvSync", "await rx.recv()");
    const deadline = deadlineOf(options?.timeout);
    const now = this.#attempt();
    if (now !== PENDING) return now;
    return this.#blockFor(this.#attempts, undefined, deadline);
  }

  /**
   * The wait of `recvSync` and `recvManySync`, once a first `attempt` found nothing: blocks
   * until `attempt(arg)` takes something (or throws), or `deadline` passes.
   */
  #blockFor<A, R>(attempt: (arg: A) => R | typeof PENDING, arg: A, deadline: number): R {
    // A rendezvous sender may only send to a receiver that is waiting: say so with a token
    // (unless pending recv() calls have published it already).
    this.#offerToken();
    try {
      return block(this.#chan.data, deadline, "Receiving", attempt, arg, this.#poll);
    } catch (error) {
      // Withdraw the token, unless recv() calls still wait with it. If a sender took it, its
      // message is on the way: take it rather than fail, even though the deadline passed (it was
      // sent within the wait).
      if (this.#token && this.#pending.length === 0) {
        this.#token = false;
        if (!this.#chan.withdrawToken() && isTimeout(error)) {
          const patience = performance.now() + BUSY_PATIENCE_MS;
          do {
            const taken = attempt(arg);
            if (taken !== PENDING) return taken;
          } while (performance.now() < patience);
        }
      }
      throw error;
    }
  }

  /**
   * One attempt of the batch calls: up to `limit` ready messages (at least one), else PENDING.
   * @throws {RecvError} when every sender is gone and every message taken.
   */
  #attemptMany(limit: number, republish = true): T[] | typeof PENDING {
    const taken = this.#takeMany(limit, republish);
    if (taken === PULL_DISCONNECTED) throw this.#disconnected();
    return taken;
  }

  /**
   * `#attemptMany`, with disconnection as a value. `republish`: as `#took`'s (false for the pump,
   * which serves a pending call: that call is the one served, and the pump offers its own token
   * when it parks again).
   */
  #takeMany(limit: number, republish = true): T[] | typeof PENDING | typeof PULL_DISCONNECTED {
    // An error an earlier batch deferred comes first (a pending recvMany() does not pass
    // through `#check`).
    if (this.#deferred !== NO_ERROR) {
      const error = this.#deferred;
      this.#deferred = NO_ERROR;
      throw error;
    }
    const values: T[] = [];
    let pulled: number | PullStatus;
    try {
      pulled = this.#chan.pullMany(this.#codec, limit, values, this.#defer, this.#open);
    } catch (error) {
      this.#took(republish);
      throw error;
    }
    if (typeof pulled === "number") {
      // Each message taken spent a token (see `#took`), and so did one whose decode failed
      // after these (it was consumed too).
      const taken = pulled + (this.#deferred === NO_ERROR ? 0 : 1);
      for (let i = 0; i < taken; i++) this.#took(false);
      if (republish && this.#rendezvous && this.#pending.length > 0) this.#offerToken();
      return values;
    }
    return pulled === PULL_DISCONNECTED ? PULL_DISCONNECTED : PENDING;
  }

  /** Whether this receiver is still open (a codec's decode may close it mid-batch). */
  #open = (): boolean => this.#end.open;

  #defer = (error: unknown): void => {
    this.#deferred = error;
  };

  #attemptsMany = (limit: number): T[] | typeof PENDING => this.#attemptMany(limit);

  /**
   * Takes up to `limit` messages that are ready now, without waiting: like tokio's
   * `try_recv` in a loop, but with one call into the channel's core per message and the head
   * held from the first to the last (other receivers of the channel wait meanwhile).
   *
   * @param limit The most messages to take: an integer ≥ 1.
   * @returns `{ state: "ok", values }` with 1 to `limit` messages in order, `{ state: "empty" }`
   * or `{ state: "disconnected" }` (as {@linkcode Receiver.tryRecv}).
   * @throws {RangeError} A bad `limit`.
   * @throws {TypeError} This receiver was closed or transferred.
   * @throws {unknown} What the codec's `decode` throws for the first message (consumed). For a
   * later one, the messages before it are returned and its error is thrown by the next receive.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * for (let i = 0; i < 5; i++) tx.sendSync(i);
   * console.log(rx.tryRecvMany(3)); // { state: "ok", values: [0, 1, 2] }
   * console.log(rx.tryRecvMany(3)); // { state: "ok", values: [3, 4] }
   * console.log(rx.tryRecvMany(3)); // { state: "empty" }
   * ```
   */
  tryRecvMany(limit: number): TryRecvManyResult<T> {
    this.#check("receive");
    checkLimit(limit);
    const values = this.#takeMany(limit);
    if (values === PULL_DISCONNECTED) return DISCONNECTED_RESULT;
    if (values !== PENDING) return { state: "ok", values };
    // The next message is being written, or another receiver holds the head: a moment's patience.
    const pulled = this.#pull(true, BUSY_PATIENCE_MS);
    if (isMessage(pulled)) {
      this.#took(true);
      return { state: "ok", values: [pulled] };
    }
    return pulled === PULL_DISCONNECTED ? DISCONNECTED_RESULT : EMPTY_RESULT;
  }

  /**
   * Takes the messages that are ready, at least one and at most `limit`, blocking the thread
   * until one arrives — tokio's `recv_many` as a blocking call. One call into the channel's core
   * per message, the head held from the first to the last, and the batch published at once at
   * its end: a receiver terminated mid-batch leaves all of it to the next one. A batch also ends
   * where the ring it reads from ends, or once it has taken half of that ring (the next call goes
   * on).
   *
   * @param limit The most messages to take: an integer ≥ 1.
   * @param options `timeout` in milliseconds (`0`: only ready messages).
   * @returns 1 to `limit` messages, in order; never empty.
   * @throws {RecvError} Every sender is closed and every message taken.
   * @throws {DOMException} `TimeoutError` after `timeout` ms without a message (nothing taken);
   * `AbortError` when this worker was terminated.
   * @throws {RangeError} A bad `limit` or `timeout`.
   * @throws {TypeError} This receiver was closed or transferred.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * for (let i = 0; i < 3; i++) tx.sendSync(i);
   * tx.close();
   * console.log(rx.recvManySync(100)); // [0, 1, 2]
   * ```
   */
  recvManySync(limit: number, options?: RecvSyncOptions): T[] {
    this.#check("receive");
    assertCanBlock("recvManySync", "await rx.recvMany(limit)");
    checkLimit(limit);
    const deadline = deadlineOf(options?.timeout);
    const now = this.#attemptMany(limit);
    if (now !== PENDING) return now;
    return this.#blockFor(this.#attemptsMany, limit, deadline);
  }

  /**
   * Takes the messages that are ready, at least one and at most `limit`, waiting without
   * blocking the thread until one arrives: tokio's `recv_many` (which appends to a buffer; this
   * resolves with a new array). Served in call order with this receiver's `recv()` calls.
   * Cancel safety: if `signal` aborts, the promise rejects with `signal.reason` and nothing is
   * taken.
   *
   * @param limit The most messages to take: an integer ≥ 1.
   * @param options `signal` to cancel the wait.
   * @returns A promise of 1 to `limit` messages, in order; never empty.
   * @throws {RecvError} (rejects) Every sender is closed and every message taken.
   * @throws {RangeError} (rejects) A bad `limit`.
   * @throws {TypeError} (rejects) This receiver was closed or transferred.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<string>();
   * setTimeout(() => {
   *   tx.sendSync("a");
   *   tx.sendSync("b");
   * }, 10);
   * console.log(await rx.recvMany(10)); // ["a", "b"] (or ["a"], if "b" came later)
   * ```
   */
  recvMany(limit: number, options?: RecvOptions): Promise<T[]> {
    const signal = options?.signal;
    try {
      this.#check("receive");
      checkLimit(limit);
      signal?.throwIfAborted();
      if (this.#pending.length === 0) {
        const now = this.#attemptMany(limit);
        if (now !== PENDING) return Promise.resolve(now);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T[]>((resolve, reject) => {
      this.#pending.add({ resolve, reject, signal, limit });
    });
  }

  /**
   * Receives a message that is a `Uint8Array` into `target`, blocking until one arrives: no
   * array is made for it (the `bytes` and structured codecs copy its bytes straight from shared
   * memory; another codec's decoded `Uint8Array` is copied). Like `Deno.FsFile.readSync`, it
   * returns how many bytes it wrote, from `target[0]`.
   *
   * A message that is not a `Uint8Array`, or is longer than `target`, is not taken: it stays
   * first in the channel (take it with `recvSync`, or with a larger `target`) and the call
   * throws.
   *
   * @param target Where the bytes go.
   * @param options `timeout` in milliseconds, as `recvSync`'s.
   * @returns The message's length in bytes (written to `target[0 … length)`).
   * @throws {RecvError} Every sender is closed and every message taken.
   * @throws {RangeError} The next message is longer than `target` (its length is in the
   * message); it stays in the channel.
   * @throws {TypeError} `target` is not a `Uint8Array`; or the next message is not one (it
   * stays in the channel); or this receiver was closed or transferred.
   * @throws {DOMException} `TimeoutError` when `timeout` passes.
   * @example
   * ```ts
   * import { bytes, channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel({ codec: bytes });
   * tx.sendSync(new Uint8Array([1, 2, 3]));
   * const buffer = new Uint8Array(64 * 1024); // reused for every message
   * const n = rx.recvIntoSync(buffer);
   * console.log(buffer.subarray(0, n)); // Uint8Array(3) [ 1, 2, 3 ]
   * ```
   */
  recvIntoSync(target: Uint8Array, options?: RecvSyncOptions): number {
    this.#check("receive");
    assertCanBlock("recvIntoSync", "await rx.recvInto(target)");
    const view = intoView(target);
    const deadline = deadlineOf(options?.timeout);
    const now = this.#attemptInto(view);
    if (now !== PENDING) return now;
    return this.#blockFor(this.#attemptsInto, view, deadline);
  }

  /**
   * Receives a message that is a `Uint8Array` into `target`, waiting without blocking the
   * thread: `recvIntoSync`'s async twin, served in call order with this receiver's `recv()`
   * calls. Cancel safety: if `signal` aborts, the promise rejects with `signal.reason` and
   * nothing is taken.
   *
   * @param target Where the bytes go (do not touch it until the promise settles).
   * @param options `signal` to cancel the wait.
   * @returns A promise of the message's length in bytes.
   * @throws {RecvError} (rejects) Every sender is closed and every message taken.
   * @throws {RangeError} (rejects) The next message is longer than `target`; it stays.
   * @throws {TypeError} (rejects) As `recvIntoSync`.
   * @example
   * ```ts
   * import { bytes, channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel({ codec: bytes });
   * setTimeout(() => tx.sendSync(new TextEncoder().encode("hi")), 10);
   * const buffer = new Uint8Array(1024);
   * const n = await rx.recvInto(buffer);
   * console.log(new TextDecoder().decode(buffer.subarray(0, n))); // "hi"
   * ```
   */
  recvInto(target: Uint8Array, options?: RecvOptions): Promise<number> {
    const signal = options?.signal;
    let view: Uint8Array;
    try {
      this.#check("receive");
      view = intoView(target);
      signal?.throwIfAborted();
      if (this.#pending.length === 0) {
        const now = this.#attemptInto(view);
        if (now !== PENDING) return Promise.resolve(now);
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<number>((resolve, reject) => {
      this.#pending.add({ resolve, reject, signal, into: view });
    });
  }

  /**
   * One attempt of `recvIntoSync` and `recvInto`: the bytes written if a message was taken,
   * else PENDING. @throws RecvError, RangeError or TypeError (see `recvIntoSync`).
   */
  #attemptInto(target: Uint8Array, republish = true): number | typeof PENDING {
    let n: number | PullStatus;
    try {
      n = this.#chan.pullInto(this.#codec, target);
    } catch (error) {
      this.#took(republish); // consumed by a failed decode
      throw error;
    }
    if (typeof n !== "number") {
      if (n === PULL_DISCONNECTED) throw this.#disconnected();
      return PENDING;
    }
    if (n === NOT_BYTES) {
      throw new TypeError("Cannot receive into a buffer: the next message is not a Uint8Array");
    }
    if (n < 0) {
      throw new RangeError(
        `Cannot receive into a buffer of ${target.length} bytes: the next message has ${
          -2 - n
        } bytes`,
      );
    }
    this.#took(republish);
    return n;
  }

  /** `#attemptInto` for the wait driver. */
  #attemptsInto = (target: Uint8Array): number | typeof PENDING => this.#attemptInto(target);

  /**
   * Accounts for a message just pulled (or consumed by a failed decode). On a rendezvous
   * channel every message was admitted by spending a token some receiver published: taking it
   * with a token out ends this receiver's wait (its token stands for the one spent, whoever
   * published that); taking it with none out gives one back, for the receiver whose token was
   * spent (see `recvWaitEnd` in assembly/wait.ts). With `republish`, a fresh token is published
   * at once for recv() calls still pending (their pump may be asleep; it republishes by itself
   * when it takes).
   */
  #took(republish: boolean): void {
    if (this.#token) {
      this.#token = false;
      this.#chan.spendToken();
    } else if (this.#rendezvous) this.#chan.returnToken();
    if (republish && this.#rendezvous && this.#pending.length > 0) this.#offerToken();
  }

  /** Rendezvous: publishes this receiver's token, unless it has one out. */
  #offerToken(): void {
    if (!this.#rendezvous || this.#token) return;
    this.#chan.offerToken();
    this.#token = true;
  }

  /**
   * Takes the next message, waiting without blocking the thread.
   *
   * Several calls may be pending; they are served in call order. While one is pending the
   * process stays alive, as with a pending timer. Cancel safety: if `signal` aborts, the promise
   * rejects with `signal.reason` and no message is taken.
   *
   * @param options `signal` to cancel the wait.
   * @returns A promise of the message.
   * @throws {RecvError} (rejects) Every sender is closed and every message taken, or this
   * receiver was closed while the call waited.
   * @throws {TypeError} (rejects) This receiver was closed or transferred.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<string>();
   * setTimeout(() => tx.sendSync("later"), 10);
   * console.log(await rx.recv()); // "later"
   * try {
   *   await rx.recv({ signal: AbortSignal.timeout(10) });
   * } catch (e) {
   *   console.log((e as DOMException).name); // "TimeoutError"
   * }
   * ```
   */
  recv(options?: RecvOptions): Promise<T> {
    const signal = options?.signal;
    let spun = false;
    try {
      this.#check("receive");
      signal?.throwIfAborted();
      if (this.#pending.length === 0) {
        let now = this.#attempt();
        if (now !== PENDING) return Promise.resolve(now);
        // A reply on its way is usually a microsecond out: look a little (as the pump would)
        // before a promise and a pump are made for the wait — a round trip through two async
        // receivers costs 1.0–1.4× a blocking one so, against 4–5× without. (Not on a
        // rendezvous channel: no sender can send before this receiver offers its token.)
        if (!this.#rendezvous) {
          for (let spins = 0; spins < SPIN.async; spins++) {
            if (!this.#chan.poll()) continue;
            now = this.#attempt();
            if (now !== PENDING) return Promise.resolve(now);
            break;
          }
          spun = true;
        }
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.add({ resolve, reject, signal }, spun);
    });
  }

  /**
   * One attempt of a pending `recv()` (the oldest). A message the codec fails to decode
   * rejects it (the message is consumed; the next call takes the next one).
   */
  #recvPending(entry: PendingRecv<T>): Progress {
    if (this.#deferred !== NO_ERROR) {
      // An error an earlier batch deferred comes first, for whichever call is served next.
      const error = this.#deferred;
      this.#deferred = NO_ERROR;
      entry.reject(error);
      return DONE;
    }
    if (entry.into !== undefined) {
      const n = this.#attemptInto(entry.into, false); // throws: rejects the entry
      if (n === PENDING) return WAIT;
      entry.resolve(n);
      return DONE;
    }
    if (entry.limit !== undefined) {
      const values = this.#attemptMany(entry.limit, false); // throws RecvError: rejects it
      if (values === PENDING) return WAIT;
      entry.resolve(values);
      return DONE;
    }
    const pulled = this.#pull(false);
    if (isMessage(pulled)) {
      this.#took(false);
      entry.resolve(pulled);
      return DONE;
    }
    if (pulled === PULL_DISCONNECTED) {
      entry.reject(this.#disconnected());
      return DONE;
    }
    return pulled === PULL_BUSY ? RETRY : WAIT;
  }

  /**
   * Withdraws the pump's rendezvous token. If a sender already took it, its message stays in the
   * channel for the next receive.
   */
  #dropToken(): void {
    if (!this.#token) return;
    this.#token = false;
    this.#chan.withdrawToken();
  }

  /**
   * Iterates over the messages, blocking between them, until disconnection — like Rust's
   * `for x in rx`. Breaking out of the loop leaves the receiver open.
   *
   * @returns An iterator of the messages.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<string>();
   * tx.sendSync("a");
   * tx.sendSync("b");
   * tx.close();
   * for (const s of rx) console.log(s); // "a", then "b"
   * ```
   */
  [Symbol.iterator](): Iterator<T> {
    assertCanBlock("iterate a receiver with for … of", "for await (const value of rx)");
    return {
      next: (): IteratorResult<T> => {
        try {
          return { done: false, value: this.recvSync() };
        } catch (error) {
          if (error instanceof RecvError) return { done: true, value: undefined };
          throw error;
        }
      },
    };
  }

  /**
   * Iterates over the messages, waiting asynchronously between them, until disconnection.
   * Breaking out of the loop leaves the receiver open.
   *
   * @returns An async iterator of the messages.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * setTimeout(() => {
   *   tx.sendSync(1);
   *   tx.close();
   * }, 10);
   * for await (const n of rx) console.log(n); // 1
   * ```
   */
  [Symbol.asyncIterator](): AsyncIterator<T> {
    return messagesOf(() => this.recv());
  }

  /**
   * The messages that are ready now, without waiting.
   *
   * @returns An iterable that ends at the first empty (or disconnected) channel.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * tx.sendSync(1);
   * tx.sendSync(2);
   * console.log([...rx.tryIter()]); // [1, 2]; tx is still open
   * ```
   */
  tryIter(): Iterable<T> {
    return {
      [Symbol.iterator]: (): Iterator<T> => ({
        next: (): IteratorResult<T> => {
          const result = this.tryRecv();
          return result.state === "ok"
            ? { done: false, value: result.value }
            : { done: true, value: undefined };
        },
      }),
    };
  }

  /**
   * Closes the receiver. Pending `recv()` calls reject with {@linkcode RecvError}. If it was the
   * channel's last receiver (no clone left open), every later send fails with
   * {@linkcode SendError}, blocked senders wake at once, and messages still buffered are
   * dropped. Idempotent; `using rx = …` calls it at the end of the scope.
   *
   * @example
   * ```ts
   * import { channel, SendError } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * rx.close();
   * try {
   *   tx.sendSync(1);
   * } catch (e) {
   *   console.log(e instanceof SendError); // true
   * }
   * ```
   */
  close(): void {
    // A rendezvous token out goes first, while the end still holds its place (and its lifeline
    // slot, which another end may take once it is released): no send may meet this receiver
    // once it is closed, and no late withdrawal may count against that other end.
    if (this.#token && this.#end.open) {
      this.#token = false;
      this.#chan.withdrawToken();
    }
    if (!this.#end.close()) return;
    this.#pending.rejectAll(() => new RecvError("The receiver was closed"));
    this.#chan.data.wake();
  }

  /** Closes this receiver: `using rx = …`. See {@linkcode Receiver.close}. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Another receiver of the same channel, in this thread: the two (and every further clone, in
   * any worker) share the messages, each going to exactly one of them — whichever asks first;
   * a waiting receiver is woken per message, one at a time. Senders see the channel closed only
   * once every receiver is closed. Like crossbeam's `Receiver::clone` and async-channel's.
   *
   * A clone has its own pending `recv()` calls and its own iterators, and is moved and closed on
   * its own: move it into a worker with {@linkcode Receiver.transfer} for a task pool.
   *
   * @returns The new receiver.
   * @throws {TypeError} This receiver was closed or transferred.
   * @example
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * const rx2 = rx.clone();
   * tx.sendSync(1);
   * tx.sendSync(2);
   * tx.close();
   * console.log(rx.recvSync(), rx2.recvSync()); // 1 2: each message once
   * console.log(rx2.tryRecv().state); // "disconnected"
   * ```
   */
  clone(): Receiver<T> {
    this.#check("clone");
    return create(
      (receiver) => this.#end.clone(receiver, () => this.#chan.addReceiver()),
      this.#codec,
    );
  }

  /**
   * Moves this receiver into a handle for `postMessage`. This object becomes unusable. Adopt the
   * handle with {@linkcode Receiver.from} in the receiving thread (once).
   *
   * @returns A handle to post to a worker.
   * @throws {TypeError} This receiver was closed or transferred, or has `recv()` calls pending.
   * @example
   * ```ts ignore
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<number>();
   * const worker = new Worker(new URL("./worker.ts", import.meta.url), { type: "module" });
   * worker.postMessage(rx.transfer());
   * tx.sendSync(1);
   * ```
   */
  transfer(): ReceiverHandle<T> {
    this.#check("transfer");
    const codec = this.#codec as Codec<unknown>;
    return this.#end.transfer(codec, this.#pending.length) as ReceiverHandle<T>;
  }

  /**
   * Adopts a receiver moved here with {@linkcode Receiver.transfer}.
   *
   * @param handle The handle, as received from `postMessage`.
   * @param options The channel's codec, required if it is a custom one.
   * @returns The receiver.
   * @throws {TypeError} Not a receiver handle, already adopted, damaged, or a codec mismatch.
   * @example
   * ```ts ignore
   * // worker.ts
   * import { Receiver, type ReceiverHandle } from "@wasmring/mpsc";
   *
   * self.onmessage = (e: MessageEvent<ReceiverHandle<number>>) => {
   *   using rx = Receiver.from(e.data);
   *   for (const n of rx) console.log(n);
   * };
   * ```
   */
  static from<T>(handle: ReceiverHandle<T>, options?: AdoptOptions<T>): Receiver<T> {
    return adoptReceiver(handle, options, false);
  }

  /** Messages buffered in the channel (racy: informational only). */
  get len(): number {
    return this.#end.usable().length;
  }

  /** Whether no message is buffered (racy: informational only). */
  get isEmpty(): boolean {
    return this.len === 0;
  }

  /** The channel's bound in messages (0: rendezvous), or `Infinity` when unbounded. */
  get capacity(): number {
    return this.#end.capacity();
  }

  /** Whether every sender is closed (racy; buffered messages may remain). */
  get isDisconnected(): boolean {
    return this.#end.usable().senders <= 0;
  }

  /**
   * How many senders the channel has, in every thread: clones, and senders in flight in
   * messages or handles (racy, informational: a `for (const v of rx)` that never ends is often
   * a clone nobody closed, which this shows).
   */
  get senders(): number {
    return Math.max(0, this.#end.usable().senders);
  }

  /**
   * A receiver cannot be serialized: inside a message sent with the `json` codec it throws a
   * `DataCloneError` instead of arriving as `{}`. Move a receiver with
   * {@linkcode Receiver.transfer}.
   *
   * @throws {DOMException} `DataCloneError`, always.
   */
  toJSON(): never {
    throw endCloneError();
  }

  /** The stream of `readable`, made the first time it is asked for. */
  #readable: ReadableStream<T> | undefined;

  /**
   * The messages as a `ReadableStream`, for `pipeTo`, `pipeThrough`, a `Response` body… The same
   * stream every time, as Deno's `FsFile.readable`.
   *
   * It takes a message only when a reader asks for one (high-water mark 0): messages it has not
   * handed out stay in the channel. It ends once every sender is closed and every message taken,
   * and errors with any other error of `recv()`. When it ends, errors or is cancelled
   * (`reader.cancel()`, leaving a `for await` over it early, a `pipeTo` whose destination fails),
   * it closes this receiver: senders then get {@linkcode SendError}. Cancel safety: a cancel
   * aborts the receive in progress, which takes nothing; buffered messages are dropped with the
   * receiver, as by `close()`. Receiving directly (`recv`, `for await … of rx`) while the stream
   * is read interleaves: each message goes to one of them.
   *
   * @example Piping a channel into a byte stream
   * ```ts
   * import { channel } from "@wasmring/mpsc";
   *
   * const [tx, rx] = channel<string>();
   * tx.sendSync("hello, ");
   * tx.sendSync("streams");
   * tx.close();
   * const body = rx.readable.pipeThrough(new TextEncoderStream());
   * console.log(await new Response(body).text()); // "hello, streams"
   * ```
   */
  get readable(): ReadableStream<T> {
    return this.#readable ??= readableOf(this);
  }
}

/** Checks the `limit` of a batch call. */
function checkLimit(limit: number): void {
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 0x7fffffff) {
    throw new RangeError(
      `Cannot receive: limit must be an integer from 1 to 2147483647, not ${limit}`,
    );
  }
}

/**
 * The receive target of `recvInto`: a plain `Uint8Array` over the bytes of `target`, read through
 * the intrinsic getters — so that a subclass, a proxy or a detached buffer fails here, before a
 * message is taken, and never inside the copy (which would have consumed it).
 * @throws {TypeError} `target` is not a `Uint8Array`, or its buffer is detached.
 */
function intoView(target: Uint8Array): Uint8Array {
  // The tag getter says undefined of anything that is not a typed array (a proxy of one too).
  if (taTag.call(target) !== "Uint8Array") {
    const what = target === null || typeof target !== "object"
      ? `a ${target === null ? "null" : typeof target}`
      : "an object that is not a Uint8Array";
    throw new TypeError(`Cannot receive into ${what}: a Uint8Array is needed`);
  }
  const buffer = taBuffer.call(target) as ArrayBuffer;
  if (abDetached.call(buffer)) {
    throw new TypeError("Cannot receive into a Uint8Array whose buffer is detached");
  }
  return new Uint8Array(buffer, taByteOffset.call(target), taLength.call(target));
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}

/** Adopts a receiver's handle: of a oneshot channel's (see oneshot.ts), or of another one's. */
export function adoptReceiver<T>(
  handle: ReceiverHandle<T>,
  options: AdoptOptions<T> | undefined,
  oneshot: boolean,
): Receiver<T> {
  const { chan, codec, lifeline } = adopt<T>(handle, "receiver", options, oneshot);
  return create((receiver) => new End(receiver, "receiver", chan, lifeline), codec);
}

/** Creates a receiver over `chan` (for `channel()`). */
export function newReceiver<T>(chan: SharedChannel, codec: Codec<T>): Receiver<T> {
  return create((receiver) => madeHere(receiver, "receiver", chan), codec);
}
