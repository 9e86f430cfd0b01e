/**
 * The receiving end of a channel.
 *
 * @module
 */
import { adjustHeld, assertAlive } from "./_lifeline.ts";
import { BUSY, type Chan, CLAIMED, DATA, DISCONNECTED, OK, SLICE_ASYNC_MS, SPIN } from "./_chan.ts";
import * as keepalive from "./_keepalive.ts";
import type { Codec } from "./codec/types.ts";
import { RecvError, timeoutError } from "./errors.ts";
import { endCloneError, markEnd } from "./_brand.ts";
import { adopt, type AdoptOptions, makeHandle, type ReceiverHandle } from "./handle.ts";
import { deadlineOf } from "./sender.ts";

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

/**
 * How long `tryRecv` waits for a message whose producer was interrupted between claiming space
 * and publishing (normally nanoseconds) before it reports "empty" rather than block.
 */
const BUSY_PATIENCE_MS = 20;

const EMPTY_RESULT: TryRecvResult<never> = Object.freeze({ state: "empty" });
const DISCONNECTED_RESULT: TryRecvResult<never> = Object.freeze({ state: "disconnected" });

const OPEN = 0;
const CLOSED = 1;
const MOVED = 2;

interface PendingRecv<T> {
  resolve(value: T): void;
  reject(error: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

interface Held {
  chan: Chan;
  lifeline: Int32Array | null;
}

/** Closes the receiver of `held`'s channel, unless a terminator settled it already. */
function drop(held: Held): void {
  if (held.lifeline === null || adjustHeld(held.lifeline, -1)) held.chan.core.closeReceiver(0);
}

/** Closes receivers that are garbage-collected without `close()`. */
const dropped = new FinalizationRegistry<Held>(drop);

let create: <T>(held: Held, codec: Codec<T>) => Receiver<T>;

/**
 * The receiving end of a channel, made by {@linkcode channel} or {@linkcode syncChannel}. There
 * is only ever one; it can be moved into a worker with {@linkcode Receiver.transfer}.
 *
 * Messages come out in the order they were enqueued (per sender: the order it sent them).
 * Receiving fails with {@linkcode RecvError} only once every sender is closed *and* every
 * buffered message has been taken. Iterate it with `for … of` (blocking) or `for await … of`.
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
  #chan: Chan;
  /** The channel and, for a receiver adopted from a handle, its lifeline (see _lifeline.ts). */
  #held: Held;
  #codec: Codec<T>;
  #state = OPEN;
  #pending: PendingRecv<T>[] = [];
  #pumping = false;
  /**
   * Rendezvous: whether this receiver has published its "receiver waiting" token (see
   * recvWaitBegin). One receiver has at most one: every way of receiving shares it.
   */
  #token = false;

  private constructor(held: Held, codec: Codec<T>) {
    this.#chan = held.chan;
    this.#held = held;
    this.#codec = codec;
    dropped.register(this, held, this);
    markEnd(this);
  }

  static {
    create = <T>(held: Held, codec: Codec<T>) => new Receiver<T>(held, codec);
  }

  /** The gate of every call: this worker is alive and this receiver open. */
  #check(action: string): void {
    assertAlive();
    if (this.#state === OPEN) return;
    throw new TypeError(
      `Cannot ${action}: this receiver was ${this.#state === MOVED ? "transferred" : "closed"}`,
    );
  }

  /**
   * Takes the next message into the channel's `value`. A message the codec fails to decode is
   * consumed all the same, and ends this receiver's wait like any other (see `#took`). With
   * `patienceMs`, an unfinished claim at the head is waited out that long (see `pullWithin`).
   * @returns OK, EMPTY, DISCONNECTED or BUSY (never BUSY with `patienceMs`).
   */
  #pull(republish = true, patienceMs = 0): number {
    const codec = this.#codec as Codec<unknown>;
    try {
      return patienceMs > 0 ? this.#chan.pullWithin(codec, patienceMs) : this.#chan.pull(codec);
    } catch (error) {
      this.#took(republish);
      throw error;
    }
  }

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
    const status = this.#pull(true, BUSY_PATIENCE_MS);
    if (status === OK) return { state: "ok", value: this.#took(true) };
    return status === DISCONNECTED ? DISCONNECTED_RESULT : EMPTY_RESULT;
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
    const deadline = deadlineOf(options?.timeout);
    const chan = this.#chan;
    let status = this.#pull();
    if (status === OK) return this.#took(true);
    if (status === DISCONNECTED) throw new RecvError();
    // A rendezvous sender may only send to a receiver that is waiting: say so with a token
    // (unless pending recv() calls have published it already).
    const rendezvous = chan.bound === 0;
    if (rendezvous && !this.#token) {
      chan.core.recvWaitBegin(0);
      this.#token = true;
    }
    try {
      for (;;) {
        status = this.#pull();
        if (status === OK) return this.#took(true);
        if (status === DISCONNECTED) throw new RecvError();
        if (deadline !== -Infinity) {
          // Spin on the head record's header only: reading the tail, which producers write on
          // every claim, would take its cache line away from them at each turn.
          let spins = 0;
          while (spins < SPIN && chan.core.poll(0) === 0) spins++;
          if (spins < SPIN) continue;
          status = this.#pull();
          if (status === OK) return this.#took(true);
          if (status === DISCONNECTED) throw new RecvError();
        }
        assertAlive();
        const seq = chan.begin(DATA);
        try {
          status = this.#pull();
          if (status === OK) return this.#took(true);
          if (status === DISCONNECTED) throw new RecvError();
          if (performance.now() >= deadline) throw timeoutError("Receiving");
          chan.sleep(DATA, seq, deadline);
        } finally {
          chan.end(DATA);
        }
      }
    } catch (error) {
      // Withdraw the token, unless recv() calls still wait with it. If a sender took it, its
      // message is on the way: take it rather than fail, even though the deadline passed (it was
      // sent within the wait).
      if (this.#token && this.#pending.length === 0) {
        this.#token = false;
        if (chan.core.recvWaitEnd(0) === CLAIMED && isTimeout(error)) {
          const patience = performance.now() + BUSY_PATIENCE_MS;
          do {
            status = this.#pull();
            if (status === OK) return this.#took(true);
          } while (status !== DISCONNECTED && performance.now() < patience);
        }
      }
      throw error;
    }
  }

  /**
   * Returns the message just pulled. On a rendezvous channel, taking a message ends this
   * receiver's wait: its token was spent by a sender (CLAIMED), or, if the message was admitted
   * earlier, it is withdrawn. With `republish`, a fresh token is published at once for recv()
   * calls still pending (their pump may be asleep; it republishes by itself when it takes).
   */
  #took(republish: boolean): T {
    const value = this.#chan.value as T;
    if (this.#token) {
      this.#token = false;
      this.#chan.core.recvWaitEnd(0);
    }
    if (republish && this.#pending.length > 0 && this.#chan.bound === 0) {
      this.#chan.core.recvWaitBegin(0);
      this.#token = true;
    }
    return value;
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
    try {
      this.#check("receive");
      signal?.throwIfAborted();
      if (this.#pending.length === 0) {
        const status = this.#pull();
        if (status === OK) return Promise.resolve(this.#took(true));
        if (status === DISCONNECTED) throw new RecvError();
      }
    } catch (error) {
      return Promise.reject(error);
    }
    return new Promise<T>((resolve, reject) => {
      const entry: PendingRecv<T> = { resolve, reject, signal };
      if (signal) {
        entry.onAbort = () => {
          const at = this.#pending.indexOf(entry);
          if (at < 0) return;
          this.#pending.splice(at, 1);
          // Nobody waits any more: withdraw the token now, not when the pump next wakes.
          if (this.#pending.length === 0) this.#dropToken();
          reject(signal.reason);
          this.#chan.wakeAll(DATA);
        };
        signal.addEventListener("abort", entry.onAbort, { once: true });
      }
      this.#pending.push(entry);
      if (!this.#pumping) this.#pump();
    });
  }

  /** Serves the pending receives in order. */
  async #pump(): Promise<void> {
    this.#pumping = true;
    keepalive.hold();
    const chan = this.#chan;
    const token = chan.bound === 0;
    try {
      while (this.#pending.length > 0 && this.#state === OPEN) {
        let status: number;
        try {
          status = this.#pull(false);
        } catch (error) {
          // The codec failed on this message (it is consumed): report it to the call that took
          // it and go on with the next.
          this.#settle(this.#pending.shift()!, undefined, error ?? new Error(String(error)));
          continue;
        }
        if (status === BUSY) {
          // An unfinished claim at the head: let the event loop run, then look again.
          const seq = chan.begin(DATA);
          try {
            await chan.sleepAsync(DATA, seq, 1);
          } finally {
            chan.end(DATA);
          }
          continue;
        }
        if (status === OK) {
          const value = this.#took(false);
          this.#settle(this.#pending.shift()!, value, undefined);
          continue;
        }
        if (status === DISCONNECTED) {
          for (const entry of this.#pending.splice(0)) {
            this.#settle(entry, undefined, new RecvError());
          }
          break;
        }
        if (token && !this.#token) {
          chan.core.recvWaitBegin(0);
          this.#token = true;
        }
        // A short spin: an async receiver should not hold its thread for long.
        let ready = false;
        for (let spins = 0; spins < SPIN / 10 && !ready; spins++) ready = chan.core.poll(0) === 1;
        if (ready) continue;
        const seq = chan.begin(DATA);
        try {
          if (chan.ready()) continue;
          await chan.sleepAsync(DATA, seq, SLICE_ASYNC_MS);
        } finally {
          chan.end(DATA);
        }
      }
    } finally {
      this.#dropToken();
      this.#pumping = false;
      keepalive.release();
    }
  }

  /**
   * Withdraws the pump's rendezvous token. If a sender already took it, its message stays in the
   * channel for the next receive.
   */
  #dropToken(): void {
    if (!this.#token) return;
    this.#token = false;
    this.#chan.core.recvWaitEnd(0);
  }

  #settle(entry: PendingRecv<T>, value: T | undefined, error: unknown): void {
    if (entry.onAbort) entry.signal!.removeEventListener("abort", entry.onAbort);
    if (error === undefined) entry.resolve(value as T);
    else entry.reject(error);
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
    return {
      next: async (): Promise<IteratorResult<T>> => {
        try {
          return { done: false, value: await this.recv() };
        } catch (error) {
          if (error instanceof RecvError) return { done: true, value: undefined };
          throw error;
        }
      },
    };
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
   * Closes the receiver: every later send fails with {@linkcode SendError}, and blocked senders
   * wake at once. Messages still buffered are dropped. Pending `recv()` calls reject with
   * {@linkcode RecvError}. Idempotent; `using rx = …` calls it at the end of the scope.
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
    if (this.#state !== OPEN) return;
    this.#state = CLOSED;
    dropped.unregister(this);
    drop(this.#held);
    for (const entry of this.#pending.splice(0)) {
      this.#settle(entry, undefined, new RecvError("The receiver was closed"));
    }
    this.#chan.wakeAll(DATA);
  }

  /** Closes this receiver: `using rx = …`. See {@linkcode Receiver.close}. */
  [Symbol.dispose](): void {
    this.close();
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
    if (this.#pending.length > 0) {
      throw new TypeError("Cannot transfer a receiver while its recv() calls are pending");
    }
    this.#state = MOVED;
    dropped.unregister(this);
    if (this.#held.lifeline !== null) adjustHeld(this.#held.lifeline, -1);
    return makeHandle("receiver", this.#chan, this.#codec as Codec<unknown>) as ReceiverHandle<
      T
    >;
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
    const { chan, codec, lifeline } = adopt<T>(handle, "receiver", options);
    return create({ chan, lifeline }, codec);
  }

  /** Messages buffered in the channel (racy: informational only). */
  get len(): number {
    this.#chan.assertUsable();
    return this.#chan.core.length(0);
  }

  /** Whether no message is buffered (racy: informational only). */
  get isEmpty(): boolean {
    return this.len === 0;
  }

  /** The channel's bound in messages (0: rendezvous), or `Infinity` when unbounded. */
  get capacity(): number {
    this.#chan.assertUsable();
    const bound = this.#chan.bound;
    return bound < 0 ? Infinity : bound;
  }

  /** Whether every sender is closed (racy; buffered messages may remain). */
  get isDisconnected(): boolean {
    this.#chan.assertUsable();
    return this.#chan.core.senderCount(0) <= 0;
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
}

function isTimeout(error: unknown): boolean {
  return error instanceof DOMException && error.name === "TimeoutError";
}

/** Creates a receiver over `chan` (for `channel()`). */
export function newReceiver<T>(chan: Chan, codec: Codec<T>): Receiver<T> {
  return create({ chan, lifeline: null }, codec);
}
