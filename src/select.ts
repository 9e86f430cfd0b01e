/**
 * Waiting on several receivers at once, as Go's `select` and crossbeam's `Select` do:
 * {@linkcode select} (a promise), {@linkcode selectSync} (blocking) and {@linkcode trySelect}
 * (never waits). Each takes at most one message, from one receiver.
 *
 * A selector sleeps on one word of the shared memory its channels live in (the arena's select
 * word): it registers on each channel, and a publish on a channel with selectors registered moves
 * that word (see "Selecting" in assembly/wait.ts). So `selectSync` needs channels of one memory
 * — every channel `channel()` makes in a thread shares its arena, and so do the channels of the
 * workers `spawn` starts; an isolated channel (`{ isolated: true }`) has a memory of its own. The
 * async `select` keeps one `Atomics.waitAsync` armed per thread and memory, whatever the number
 * of calls (an `Atomics.waitAsync` cannot be cancelled: one per call would pile up).
 *
 * @module
 */
import {
  PULL_BUSY,
  PULL_DISCONNECTED,
  PULL_EMPTY,
  type Receiver,
  selectHooks,
} from "./receiver.ts";
import type { SharedChannel } from "./_shared_channel.ts";
import type { Mapped } from "./_arena.ts";
import { assertAlive } from "./_lifeline.ts";
import { assertCanBlock, deadlineOf, SPIN } from "./_wait.ts";
import * as keepalive from "./_keepalive.ts";
import { timeoutError } from "./errors.ts";

/** What a select took: a message of `receivers[index]`, or its disconnection (drained). */
export type SelectResult<T> =
  | { readonly index: number; readonly state: "ok"; readonly value: T }
  | { readonly index: number; readonly state: "disconnected" };

/** What {@linkcode trySelect} found: as {@linkcode SelectResult}, or nothing ready. */
export type TrySelectResult<T> = SelectResult<T> | { readonly state: "empty" };

/** The message type of a receiver type. */
export type ReceiverValue<R> = R extends Receiver<infer T> ? T : never;

/**
 * The result of a select over `R`: for a tuple of receivers, a union by index, so that checking
 * `index` narrows `value` to that receiver's type; for an array, {@linkcode SelectResult} of
 * the union of their types.
 */
// deno-lint-ignore no-explicit-any
export type SelectResultOf<R extends readonly Receiver<any>[]> = number extends R["length"]
  ? SelectResult<ReceiverValue<R[number]>>
  : {
    [I in IndexOf<R>]:
      | { readonly index: I; readonly state: "ok"; readonly value: ReceiverValue<R[I & keyof R]> }
      | { readonly index: I; readonly state: "disconnected" };
  }[IndexOf<R>];

/** The indices of a tuple type, as a union of number literals (`[A, B]`: `0 | 1`). */
export type IndexOf<R extends readonly unknown[]> =
  & Exclude<Partial<R>["length"], R["length"]>
  & number;

/** Options of {@linkcode select}. */
export interface SelectOptions {
  /** Cancels the wait: the promise rejects with `signal.reason` and nothing is taken. */
  signal?: AbortSignal;
  /**
   * Look at the receivers in the order given, rather than from a random one (the default, so
   * that a busy receiver does not starve the others).
   */
  biased?: boolean;
}

/** Options of {@linkcode selectSync}. */
export interface SelectSyncOptions {
  /**
   * Longest wait, in milliseconds; `0` takes only what is ready. When it passes, `selectSync`
   * throws a `DOMException` named `TimeoutError` and takes nothing. Default: no limit.
   */
  timeout?: number;
  /** As {@linkcode SelectOptions.biased}. */
  biased?: boolean;
}

/** Longest single sleep of `selectSync`: it looks at its worker's lifelines this often. */
const SLICE_MS = 50;
/** Longest single async sleep; a notify normally ends it much sooner. */
const SLICE_ASYNC_MS = 1000;

/**
 * Takes a message from whichever of `receivers` has one ready now, without waiting.
 *
 * @param receivers One or more receivers (of any channels; the same one twice is allowed).
 * @param options `biased` to look in the order given.
 * @returns `{ index, state: "ok", value }`, `{ index, state: "disconnected" }` for a receiver
 * whose channel is disconnected and drained, or `{ state: "empty" }`.
 * @throws {TypeError} No receivers, something that is not a receiver, a closed or transferred
 * one, or one with `recv()` calls pending.
 * @throws {unknown} What a codec's `decode` throws (that message is consumed).
 * @example
 * ```ts
 * import { channel, trySelect } from "@wasmring/mpsc";
 *
 * const [numbersTx, numbers] = channel<number>();
 * const [wordsTx, words] = channel<string>();
 * wordsTx.sendSync("hi");
 * console.log(trySelect([numbers, words])); // { index: 1, state: "ok", value: "hi" }
 * console.log(trySelect([numbers, words])); // { state: "empty" }
 * ```
 */
// deno-lint-ignore no-explicit-any
export function trySelect<const R extends readonly Receiver<any>[]>(
  receivers: R,
  options?: { biased?: boolean },
): SelectResultOf<R> | { readonly state: "empty" } {
  const list = checked(receivers, "trySelect");
  const biased = options?.biased === true;
  const chans = list.map((receiver) => selectHooks.chan(receiver));
  // The channels' counts first; all of them only when those say nothing is ready (the counts
  // are untrusted memory, like everything shared).
  return look<ReceiverValue<R[number]>, SelectResultOf<R>>(list, chans, biased, false) ??
    look<ReceiverValue<R[number]>, SelectResultOf<R>>(list, chans, biased, true) ?? EMPTY;
}

/**
 * Takes a message from whichever of `receivers` has one first, blocking the thread until one
 * does: Go's `select` over receives, crossbeam's `Select::select`.
 *
 * Fair by default: when several are ready, each is as likely to be chosen. A receiver whose
 * channel is disconnected and drained counts as ready (`state: "disconnected"`): a loop over
 * several sources removes it and goes on. It spins briefly, then sleeps (no CPU used). Cancel
 * safety: when the timeout passes, nothing was taken.
 *
 * @param receivers One or more receivers of channels in one shared memory (see the module doc).
 * @param options `timeout` in milliseconds, `biased`.
 * @returns `{ index, state: "ok", value }` or `{ index, state: "disconnected" }`.
 * @throws {TypeError} As {@linkcode trySelect}; also receivers in different memories (an
 * isolated channel among others).
 * @throws {DOMException} `TimeoutError` after `timeout` ms; `AbortError` when this worker was
 * terminated.
 * @throws {RangeError} A bad `timeout`.
 * @example
 * ```ts
 * import { channel, selectSync } from "@wasmring/mpsc";
 *
 * const [dataTx, data] = channel<number>();
 * const [stopTx, stop] = channel<void>();
 * dataTx.sendSync(1);
 * stopTx.close();
 * const seen = [];
 * for (;;) {
 *   const r = selectSync([data, stop], { biased: true });
 *   if (r.index === 1) break; // stop: closed
 *   if (r.state === "ok") seen.push(r.value);
 * }
 * console.log(seen); // [1]
 * ```
 */
// deno-lint-ignore no-explicit-any
export function selectSync<const R extends readonly Receiver<any>[]>(
  receivers: R,
  options?: SelectSyncOptions,
): SelectResultOf<R> {
  const list = checked(receivers, "selectSync");
  assertCanBlock("selectSync", "await select(receivers)");
  const deadline = deadlineOf(options?.timeout);
  const biased = options?.biased === true;
  const chans = list.map((receiver) => selectHooks.chan(receiver));
  const view = oneMemory(chans);
  let found = look<ReceiverValue<R[number]>, SelectResultOf<R>>(list, chans, biased, false);
  if (found !== null) return found;
  if (deadline !== -Infinity) {
    // Spin on the channels' counts (cheap) before registering and sleeping.
    for (let spins = 0; spins < SPIN.sync; spins += chans.length) {
      if (!chans.some((chan) => chan.hint())) continue;
      found = look(list, chans, biased, false);
      if (found !== null) return found;
    }
  }
  const registered: SharedChannel[] = [];
  try {
    for (const chan of chans) {
      chan.selectBegin();
      registered.push(chan);
    }
    for (const receiver of list) selectHooks.waiting(receiver, true);
    const index = chans[0].selectWord;
    for (let full = true;;) {
      const words = view.i32(index);
      const seq = Atomics.load(words, index);
      found = look(list, chans, biased, full);
      if (found !== null) return found;
      const now = performance.now();
      if (now >= deadline) throw timeoutError("Selecting");
      // Woken: the channels' counts say which to look at; a whole slice without a wake: all.
      full = Atomics.wait(words, index, seq, Math.min(deadline - now, SLICE_MS)) === "timed-out";
      assertAlive();
    }
  } finally {
    for (const chan of registered) chan.selectEnd();
    for (const receiver of list) selectHooks.waiting(receiver, false);
  }
}

/**
 * Takes a message from whichever of `receivers` has one first, waiting without blocking the
 * thread: Go's `select` over receives, as a promise. Fair by default, as
 * {@linkcode selectSync}; receivers may be of channels in any memories.
 *
 * While it is pending the process stays alive. Cancel safety: if `signal` aborts, the promise
 * rejects with `signal.reason` and nothing is taken.
 *
 * @param receivers One or more receivers.
 * @param options `signal` to cancel the wait, `biased`.
 * @returns A promise of `{ index, state: "ok", value }` or `{ index, state: "disconnected" }`.
 * @throws {TypeError} (rejects) As {@linkcode trySelect}.
 * @example
 * ```ts
 * import { channel, select } from "@wasmring/mpsc";
 *
 * const [jobsTx, jobs] = channel<string>();
 * const [shutdownTx, shutdown] = channel<void>();
 * setTimeout(() => jobsTx.sendSync("job 1"), 5);
 * setTimeout(() => shutdownTx.sendSync(), 20);
 * for (;;) {
 *   const r = await select([jobs, shutdown]);
 *   if (r.index === 1) break;
 *   if (r.state === "ok") console.log(r.value); // "job 1"
 * }
 * ```
 */
// deno-lint-ignore no-explicit-any
export function select<const R extends readonly Receiver<any>[]>(
  receivers: R,
  options?: SelectOptions,
): Promise<SelectResultOf<R>> {
  const signal = options?.signal;
  const biased = options?.biased === true;
  let list: Receiver<unknown>[];
  try {
    list = checked(receivers, "select");
    signal?.throwIfAborted();
    const chans = list.map((receiver) => selectHooks.chan(receiver));
    const found = look<ReceiverValue<R[number]>, SelectResultOf<R>>(list, chans, biased, false);
    if (found !== null) return Promise.resolve(found);
  } catch (error) {
    return Promise.reject(error);
  }
  return new Promise((resolve, reject) => {
    new PendingSelect(list, biased, resolve as (result: unknown) => void, reject, signal).start();
  });
}

const EMPTY = Object.freeze({ state: "empty" }) as { readonly state: "empty" };

/** The receivers of a call, checked. */
function checked(receivers: readonly unknown[], call: string): Receiver<unknown>[] {
  if (!Array.isArray(receivers)) {
    throw new TypeError(`Cannot ${call}: receivers must be an array of receivers`);
  }
  if (receivers.length === 0) {
    throw new TypeError(`Cannot ${call} over no receivers: it would wait for ever`);
  }
  for (let i = 0; i < receivers.length; i++) {
    if (!selectHooks.is(receivers[i])) {
      throw new TypeError(`Cannot ${call}: receivers[${i}] is not a Receiver`);
    }
  }
  return receivers as Receiver<unknown>[];
}

/** The one memory the channels of `chans` live in. @throws {TypeError} if they are several. */
function oneMemory(chans: SharedChannel[]): Mapped {
  const view = chans[0].mapped;
  for (let i = 1; i < chans.length; i++) {
    if (chans[i].mapped.memory !== view.memory) {
      throw new TypeError(
        `Cannot selectSync: receivers[${i}]'s channel lives in another shared memory than ` +
          `receivers[0]'s (an isolated channel, or another arena), and one thread sleeps on one ` +
          `word: use channels of one arena, or await select()`,
      );
    }
  }
  return view;
}

/**
 * The orders `look` draws, one per nesting depth (a take may run a codec that selects again),
 * reused: a select allocates none.
 */
const orders: Int32Array[] = [];
let depth = 0;

/**
 * One look at every receiver, in a random order (or the order given, `biased`): the first one
 * that has a message, or is disconnected and drained, decides. Unless `full`, a receiver whose
 * channel's counts say nothing is ready (`hint`; `chans` are the receivers' channels) is skipped
 * without a call into the core (unless it was closed: the take says so).
 */
function look<T, S = SelectResult<T>>(
  receivers: Receiver<unknown>[],
  chans: SharedChannel[] | null,
  biased: boolean,
  full: boolean,
): S | null {
  const n = receivers.length;
  const skip = full || chans === null ? null : chans;
  if (biased || n === 1) {
    for (let i = 0; i < n; i++) {
      if (skip !== null && !skip[i].hint() && selectHooks.open(receivers[i])) continue;
      const found = take<T>(receivers, i);
      if (found !== null) return found as S;
    }
    return null;
  }
  // A fresh random permutation (Fisher–Yates), so that every ready receiver is as likely.
  let picks = orders[depth];
  if (picks === undefined || picks.length < n) orders[depth] = picks = new Int32Array(n);
  for (let i = 0; i < n; i++) picks[i] = i;
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    const t = picks[i];
    picks[i] = picks[j];
    picks[j] = t;
  }
  depth++;
  try {
    for (let k = 0; k < n; k++) {
      if (skip !== null && !skip[picks[k]].hint() && selectHooks.open(receivers[picks[k]])) {
        continue;
      }
      const found = take<T>(receivers, picks[k]);
      if (found !== null) return found as S;
    }
    return null;
  } finally {
    depth--;
  }
}

/** Looks at `receivers[i]`: a result, or null (nothing ready). */
function take<T>(receivers: Receiver<unknown>[], i: number): SelectResult<T> | null {
  const taken = selectHooks.take(receivers[i]);
  if (taken === PULL_EMPTY || taken === PULL_BUSY) return null;
  if (taken === PULL_DISCONNECTED) return { index: i, state: "disconnected" };
  return { index: i, state: "ok", value: taken as T };
}

/**
 * The async selects of this thread waiting on one memory, served by one pump: one
 * `Atomics.waitAsync` armed at a time on the memory's select word, whatever the number of calls.
 */
class SelectPark {
  readonly waiters = new Set<PendingSelect>();
  #view: Mapped;
  #index: number;
  #pumping = false;

  constructor(view: Mapped, index: number) {
    this.#view = view;
    this.#index = index;
  }

  add(waiter: PendingSelect): void {
    this.waiters.add(waiter);
    if (!this.#pumping) this.#pump();
  }

  /**
   * Removes `waiter`, settled outside the pump (aborted, or its receiver closed); the last one
   * out ends the pump's sleep, which would keep the process alive for the rest of its slice.
   */
  remove(waiter: PendingSelect): void {
    if (!this.waiters.delete(waiter) || this.waiters.size > 0 || !this.#pumping) return;
    Atomics.notify(this.#view.i32(this.#index), this.#index);
  }

  async #pump(): Promise<void> {
    this.#pumping = true;
    keepalive.hold();
    try {
      for (let full = true; this.waiters.size > 0;) {
        const words = this.#view.i32(this.#index);
        const seq = Atomics.load(words, this.#index);
        for (const waiter of [...this.waiters]) waiter.look(full);
        if (this.waiters.size === 0) break;
        const result = Atomics.waitAsync(words, this.#index, seq, SLICE_ASYNC_MS);
        // Woken: the channels' counts say which to look at; a whole slice without a wake: all.
        full = (result.async ? await result.value : result.value) === "timed-out";
      }
    } finally {
      this.#pumping = false;
      keepalive.release();
    }
  }
}

/** This thread's parks, by memory. */
const parks = new WeakMap<WebAssembly.Memory, SelectPark>();

/** A pending `select()`: registered on its channels and in the parks of their memories. */
class PendingSelect {
  #receivers: Receiver<unknown>[];
  #biased: boolean;
  #resolve: (result: unknown) => void;
  #reject: (error: unknown) => void;
  #signal: AbortSignal | undefined;
  #onAbort = (): void => this.#finish(() => this.#reject(this.#signal!.reason));
  #registered: SharedChannel[] = [];
  /** The receivers' channels. */
  #chans: SharedChannel[];
  #parks: SelectPark[] = [];
  #done = false;

  constructor(
    receivers: Receiver<unknown>[],
    biased: boolean,
    resolve: (result: unknown) => void,
    reject: (error: unknown) => void,
    signal: AbortSignal | undefined,
  ) {
    this.#receivers = receivers;
    this.#chans = receivers.map((receiver) => selectHooks.chan(receiver));
    this.#biased = biased;
    this.#resolve = resolve;
    this.#reject = reject;
    this.#signal = signal;
  }

  /** Registers, then looks once more (a message sent before registering moved no word). */
  start(): void {
    try {
      for (const receiver of this.#receivers) {
        const chan = selectHooks.chan(receiver);
        chan.selectBegin();
        this.#registered.push(chan);
        const memory = chan.mapped.memory;
        let park = parks.get(memory);
        if (park === undefined) {
          parks.set(memory, park = new SelectPark(chan.mapped, chan.selectWord));
        }
        if (!this.#parks.includes(park)) this.#parks.push(park);
      }
      for (const receiver of this.#receivers) selectHooks.waiting(receiver, true);
      this.#signal?.addEventListener("abort", this.#onAbort, { once: true });
    } catch (error) {
      this.#finish(() => this.#reject(error));
      return;
    }
    this.look(true);
    if (!this.#done) { for (const park of this.#parks) park.add(this); }
  }

  /** One look (from a pump; see `look`): settles the call if a receiver is ready, or throws. */
  look(full: boolean): void {
    if (this.#done) return;
    let found: SelectResult<unknown> | null;
    try {
      found = look(this.#receivers, this.#chans, this.#biased, full);
    } catch (error) {
      this.#finish(() => this.#reject(error));
      return;
    }
    if (found !== null) this.#finish(() => this.#resolve(found));
  }

  /** Leaves the parks and the channels, then settles the call (once). */
  #finish(settle: () => void): void {
    if (this.#done) return;
    this.#done = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    for (const park of this.#parks) park.remove(this);
    for (const chan of this.#registered) chan.selectEnd();
    for (const receiver of this.#receivers) {
      try {
        selectHooks.waiting(receiver, false);
      } catch { /* closed meanwhile: its token went with it */ }
    }
    settle();
  }
}
