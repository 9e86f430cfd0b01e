/**
 * Waiting, written once: a blocking driver (`block`) for the `…Sync` calls and an async driver
 * (`WaitQueue`) for the promise-returning ones. Both run an operation's `attempt` until it
 * completes, and between attempts they spin a little, then register on a `Park` (a wait word
 * with a waiter count), attempt once more, and only then sleep — the order that makes a wake-up
 * impossible to miss (see "Waiting" in assembly/wait.ts). The caller gives the park: a channel's
 * data or space word today, any word a thread sleeps on for several channels later. Internal.
 *
 * @module
 */
import { assertAlive } from "./_lifeline.ts";
import * as keepalive from "./_keepalive.ts";
import { timeoutError } from "./errors.ts";

/**
 * The spin policy: how many times a call looks again before it parks. Waking a parked thread
 * costs ~30 µs on an idle CPU; a look costs 10–50 ns. A blocking call spins before its first
 * park only: once woken, the waker has made progress, and with several waiters woken at once
 * (every blocked sender, when room is made) spinning again would burn the CPU the thread that
 * makes progress needs.
 */
export const SPIN = {
  /** A blocking call, before its first park. */
  sync: 2000,
  /** An async call, before each park: it should not hold its thread for long. */
  async: 200,
} as const;

/**
 * An async call that found nothing keeps looking on the microtask queue (`await`, then a look)
 * for this long before it arms `Atomics.waitAsync`, whose wake-up costs several times a blocking
 * wait's: a reply that comes within it is seen without a trip through the event loop.
 */
const SPIN_ASYNC_MICROTASK_MS = 0.05;
/**
 * The most a thread's async calls together spin on the microtask queue between two sleeps in
 * `Atomics.waitAsync` (each of which lets the event loop turn): so that a stream of messages
 * that each come within a spin never holds back timers and I/O for longer than this.
 */
const SPIN_ASYNC_TURN_MS = 0.5;
/**
 * The most looks of one such spin, whatever the clock says: a browser may coarsen
 * `performance.now()` to 100 µs or more, and a spin timed by it alone would hold the event loop
 * for a whole tick.
 */
const SPIN_ASYNC_MICROTASK_LOOKS = 256;
/** Microtask spinning since this thread's last `waitAsync` sleep (see SPIN_ASYNC_TURN_MS). */
let spunThisTurn = 0;
/**
 * Spins in a row that ended without a message: after two, a wait spins only once in 16 (to
 * notice when replies come quickly again), so that a trickle of messages, each arriving after the
 * spin gave up, does not pay a spin per message for nothing.
 */
let spinMisses = 0;
let spinProbe = 0;

/**
 * Whether this thread may block in `Atomics.wait`: a browser's main thread may not (the check
 * comes before the value comparison, so the probe never sleeps).
 */
export const CAN_BLOCK: boolean = (() => {
  try {
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 1, 0);
    return true;
  } catch {
    return false;
  }
})();

/**
 * Sleeps while `words[index]` holds `value`, at most `ms`: in `Atomics.wait`, or, on a thread that
 * may not block, spinning (only for the short waits of non-blocking calls: a few ms at most).
 */
export function nap(words: Int32Array, index: number, value: number, ms: number): void {
  if (CAN_BLOCK) {
    Atomics.wait(words, index, value, ms);
    return;
  }
  const end = performance.now() + ms;
  while (Atomics.load(words, index) === value && performance.now() < end) {
    // spin: this thread may not sleep
  }
}

/**
 * Throws a `TypeError` for the blocking call `call` on a thread that may not block, naming the
 * async call to use instead.
 */
export function assertCanBlock(call: string, instead: string): void {
  if (CAN_BLOCK) return;
  throw new TypeError(
    `Cannot ${call} on this thread: a browser's main thread may not block; use ${instead}`,
  );
}

/** Longest single async sleep; a notify normally ends it much sooner. */
const SLICE_ASYNC_MS = 1000;
/** Async sleep while the next message is still being written. */
const RETRY_ASYNC_MS = 1;

/** A word a thread sleeps on, with its waiter count. */
export interface Park {
  /** Registers as a waiter. @returns the word's value to sleep on. */
  begin(): number;
  /** Unregisters a waiter registered by `begin`. */
  end(): void;
  /**
   * Sleeps while the word holds `seq`, at most until `deadline` (a `performance.now()` time)
   * and at most one slice. Throws `AbortError` if this worker was terminated.
   */
  sleep(seq: number, deadline: number): void;
  /**
   * Sleeps asynchronously while the word holds `seq`, for at most `ms`. @returns whether it
   * slept (false: the word held something else already, and the event loop did not turn).
   */
  sleepAsync(seq: number, ms: number): Promise<boolean>;
  /** Wakes every sleeper (they re-check their condition). */
  wake(): void;
}

/** What an attempt returns while the operation cannot complete yet. */
export const PENDING: unique symbol = Symbol("pending");

/** Converts a `timeout` option to a `performance.now()` deadline. */
export function deadlineOf(timeout: number | undefined): number {
  if (timeout === undefined) return Infinity;
  if (typeof timeout !== "number" || Number.isNaN(timeout) || timeout < 0) {
    throw new RangeError(`Cannot wait: timeout must be a non-negative number, not ${timeout}`);
  }
  // timeout: 0 means "only what is ready now": no spinning.
  return timeout === 0 ? -Infinity : performance.now() + timeout;
}

/**
 * Blocks the thread until `attempt(arg)` completes, or `deadline` passes (then throws a
 * `TimeoutError` saying `what`, e.g. "Receiving"). Spins SPIN.sync times before the first park
 * — on `poll` if given (a cheap look that says an attempt may succeed), else on `attempt` — but
 * not with a deadline of -Infinity (timeout 0). Throws `AbortError` if this worker is
 * terminated while it waits, and whatever `attempt` throws.
 */
export function block<A, R>(
  park: Park,
  deadline: number,
  what: string,
  attempt: (arg: A) => R | typeof PENDING,
  arg: A,
  poll?: () => boolean,
): R {
  // One budget for the whole spin: a poll that keeps saying "ready" while attempts keep failing
  // (another receiver at the head) must not spin past the deadline.
  let spins = deadline !== -Infinity ? SPIN.sync : 0;
  for (;;) {
    let result = attempt(arg);
    if (result !== PENDING) return result;
    if (spins > 0) {
      if (poll !== undefined) {
        while (spins > 0 && !poll()) spins--;
        if (spins > 0) {
          spins--;
          continue;
        }
      } else {
        for (; spins > 0; spins--) {
          result = attempt(arg);
          if (result !== PENDING) return result;
        }
      }
    }
    assertAlive();
    const seq = park.begin();
    try {
      result = attempt(arg);
      if (result !== PENDING) return result;
      if (performance.now() >= deadline) throw timeoutError(what);
      park.sleep(seq, deadline);
    } finally {
      park.end();
    }
  }
}

/** A pending async call. */
export interface Waiter {
  reject(error: unknown): void;
  signal?: AbortSignal;
  onAbort?: () => void;
}

/** `attempt` settled the waiter (resolved or rejected it). */
export const DONE = 0;
/** The waiter cannot complete yet: park. */
export const WAIT = 1;
/** The waiter will complete in a moment (the next message is being written): look again soon. */
export const RETRY = 2;
/** What an async attempt made of the oldest waiter. */
export type Progress = typeof DONE | typeof WAIT | typeof RETRY;

/** The operation a `WaitQueue` runs for its waiters. */
export interface AsyncOp<E extends Waiter> {
  /** Tries to complete `waiter` (the oldest): settles it and returns DONE, or says why not. */
  attempt(waiter: E): Progress;
  /** A cheap look for spinning (see `block`); without it, an async call does not spin. */
  poll?(): boolean;
  /** Called before each park (e.g. to offer a rendezvous token). */
  beforePark?(): void;
  /** Called when the queue stops serving (empty, or closed), and when an abort empties it. */
  idle?(): void;
  /** Whether the end is still open: a closed end's queue stops. */
  open(): boolean;
}

/**
 * Pending async calls of one end, served in call order by one pump: the oldest is attempted
 * until it completes, parking asynchronously in between. While any is pending the process
 * stays alive (see _keepalive.ts); an aborted waiter leaves the queue at once and wakes the
 * pump, so that it looks at what it should serve now.
 */
export class WaitQueue<E extends Waiter> {
  #waiters: E[] = [];
  #pumping = false;
  /** The waiter whose attempt is running (it may run user code: a codec, a getter). */
  #serving: E | null = null;
  /** Whether `#serving` was aborted during its attempt. */
  #servingAborted = false;
  #park: Park;
  #op: AsyncOp<E>;

  constructor(park: Park, op: AsyncOp<E>) {
    this.#park = park;
    this.#op = op;
  }

  /** Waiters pending. */
  get length(): number {
    return this.#waiters.length;
  }

  /**
   * Queues `waiter` (with its signal's abort listener) and makes sure the pump runs. `spun`: the
   * caller has just looked SPIN.async times itself (see `recv` in receiver.ts), so a pump started
   * now does not repeat that spin before its first park.
   */
  add(waiter: E, spun = false): void {
    const signal = waiter.signal;
    if (signal) {
      waiter.onAbort = () => {
        // During its own attempt, the attempt decides (see `#step`).
        if (waiter === this.#serving) {
          this.#servingAborted = true;
          return;
        }
        this.#leave(waiter, signal.reason);
        this.#park.wake();
      };
      signal.addEventListener("abort", waiter.onAbort, { once: true });
    }
    this.#waiters.push(waiter);
    if (!this.#pumping) this.#pump(spun);
  }

  /** Removes `waiter` (pending, not being served) and rejects it with `reason`. */
  #leave(waiter: E, reason: unknown): void {
    const at = this.#waiters.indexOf(waiter);
    if (at < 0) return;
    this.#waiters.splice(at, 1);
    forget(waiter);
    if (this.#waiters.length === 0) this.#op.idle?.();
    waiter.reject(reason);
  }

  /** Rejects every waiter with `error()`. */
  rejectAll(error: () => unknown): void {
    for (const waiter of this.#waiters.splice(0)) {
      forget(waiter);
      waiter.reject(error());
    }
  }

  /**
   * Attempts the oldest waiter, removing it when it is settled (a throw rejects it). An abort
   * during the attempt counts only if the attempt did not complete: a message taken (or sent)
   * belongs to the call, as an abort that comes after it would find.
   */
  #step(waiter: E): Progress {
    let progress: Progress;
    this.#serving = waiter;
    this.#servingAborted = false;
    try {
      progress = this.#op.attempt(waiter);
    } catch (error) {
      progress = DONE;
      waiter.reject(error ?? new Error(String(error)));
    } finally {
      this.#serving = null;
    }
    if (progress === DONE) {
      if (this.#waiters[0] === waiter) this.#waiters.shift();
      forget(waiter);
    } else if (this.#servingAborted) {
      this.#leave(waiter, waiter.signal!.reason);
      return DONE;
    }
    return progress;
  }

  async #pump(spun: boolean): Promise<void> {
    this.#pumping = true;
    keepalive.hold();
    const op = this.#op;
    const park = this.#park;
    try {
      // A poll that said "ready" earns one more attempt, not a spin without end (another
      // receiver may take what it saw).
      let polled = false;
      while (this.#waiters.length > 0 && op.open()) {
        const progress = this.#step(this.#waiters[0]);
        if (progress === DONE) {
          polled = false;
          continue;
        }
        if (progress === WAIT) {
          op.beforePark?.();
          if (op.poll !== undefined && !polled) {
            polled = true;
            let ready = false;
            for (let spins = spun ? SPIN.async : 0; spins < SPIN.async && !ready; spins++) {
              ready = op.poll();
            }
            spun = false;
            if (ready) continue;
            // Then on the microtask queue, letting other promises run (see
            // SPIN_ASYNC_MICROTASK_MS), within this turn's budget.
            if (
              spunThisTurn < SPIN_ASYNC_TURN_MS && (spinMisses < 2 || (++spinProbe & 15) === 0)
            ) {
              const start = performance.now();
              const until = start + SPIN_ASYNC_MICROTASK_MS;
              let now = start;
              let looks = 0;
              do {
                await null;
                if (this.#waiters.length === 0 || !op.open()) break;
                ready = op.poll();
                now = performance.now();
              } while (!ready && now < until && ++looks < SPIN_ASYNC_MICROTASK_LOOKS);
              spunThisTurn += now - start;
              spinMisses = ready ? 0 : spinMisses + 1;
              if (ready || this.#waiters.length === 0 || !op.open()) continue;
            }
          }
        }
        polled = false;
        const seq = park.begin();
        try {
          // Look again once registered; a RETRY only lets the event loop run first.
          if (progress === WAIT && this.#step(this.#waiters[0]) !== WAIT) continue;
          const slept = await park.sleepAsync(
            seq,
            progress === WAIT ? SLICE_ASYNC_MS : RETRY_ASYNC_MS,
          );
          if (slept) spunThisTurn = 0; // the event loop turned
        } finally {
          park.end();
        }
      }
    } finally {
      this.#pumping = false;
      op.idle?.();
      keepalive.release();
    }
  }
}

function forget(waiter: Waiter): void {
  if (waiter.onAbort) waiter.signal!.removeEventListener("abort", waiter.onAbort);
}
