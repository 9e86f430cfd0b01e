/**
 * Lifelines: the shared words that tell whether the thread holding a channel end is alive, and
 * how many ends it holds. Internal.
 *
 * Every handle carries a *claim* (shared by all copies of the handle: adopted once, the owner id
 * its senders write in their claims, and where its channel is) and a *lifeline* (one per
 * posting). The thread
 * that posts a handle to a worker cuts the lifelines it posted there when it terminates that
 * worker (see _settlement.ts). A thread that adopted a handle looks at its lifelines whenever
 * a blocking call wakes (at least every 50 ms) and before every send: once one is cut, this
 * worker was terminated, and every call throws an `AbortError`, so that the worker unwinds to
 * its event loop, where Deno stops it (Deno's `worker.terminate()` does not stop a worker
 * that runs synchronous code: denoland/deno#35657, seen on Deno 2.9.6).
 *
 * A lifeline also counts the ends its thread holds (HELD): whoever settles them takes that
 * count with one CAS (to SETTLING), so each end is settled exactly once, by its thread or by
 * a terminator.
 *
 * @module
 */
import { parentWords, T_CUT } from "./_thread.ts";

/** The `protocol` of handles (see handle.ts). */
export const PROTOCOL = "@wasmring/mpsc@1";

/**
 * Index of the "adopted" flag in a claim: 0 until a thread adopts the handle (1), or a thread
 * closes its end because the worker it was posted to ended first (ABANDONED).
 */
export const ADOPTED = 0;
/** The ADOPTED flag of a handle nobody adopted before the worker it was posted to ended. */
export const ABANDONED = 2;
/** Index of the owner id that the adopting thread's senders write in their claims. */
export const OWNER = 1;
/**
 * Index of the offset of the end's channel (its control block) in the handle's memory, and of
 * that block's generation: so that whoever settles the end — with nothing but the claim, the
 * lifeline and the memory — closes it on its own channel, not on another one in the same arena.
 */
export const CHANNEL = 2;
export const CHANNEL_GEN = 3;
/** Words of a claim. */
export const CLAIM_WORDS = 4;
/** Index of the "worker terminated" flag in a lifeline. */
export const CUT = 0;
/**
 * Index of the count of ends the adopting thread holds (SETTLING, SETTLED: settled for it by a
 * terminator, or by its own `self.close()`).
 */
export const HELD = 1;
/** Index of a lifeline's random id, to recognise one this thread posted when it comes back. */
export const ID = 2;
/**
 * Index of where the adopting thread's senders have a claim in progress: its payload address,
 * or 0 (none; a stale address is harmless: `markDead` checks the claim is still there). A
 * terminator marks that claim dead (see `markDead` in assembly/ends.ts), so that the consumer
 * can skip it however many producers die. A sender stores it, then looks at CUT; a terminator
 * stores CUT, then reads it: one of them sees the other (see `SharedChannel.#claim`).
 */
export const CLAIM_AT = 3;
/**
 * Index of the rendezvous tokens that the adopting thread's receivers have out (a receiver's
 * lifeline: CLAIM_AT is a sender's), so that whoever settles them withdraws those too — else a
 * worker terminated while it waited would leave a rendezvous channel admitting a message with
 * nobody waiting (see `SharedChannel.offerToken`).
 */
export const TOKENS_OUT = CLAIM_AT;
/** Words of a lifeline. */
export const LIFELINE_WORDS = 4;
/** HELD once the ends have been settled. */
export const SETTLED = -1;
/** HELD while a thread settles the ends; SETTLED follows once their channels say so. */
export const SETTLING = -2;

/** A handle as far as lifelines are concerned. */
export interface Lifelined {
  readonly kind: "sender" | "receiver";
  readonly claim: Int32Array;
  readonly lifeline: Int32Array;
  readonly memory: WebAssembly.Memory;
}

/** The handles adopted in this thread whose ends may still be held. */
const adopted: Lifelined[] = [];

/**
 * Creates the claim of a new handle for an end of the channel at `offset` (of `generation`),
 * whose senders will claim as `owner`.
 */
export function createClaim(owner: number, offset: number, generation: number): Int32Array {
  const claim = new Int32Array(new SharedArrayBuffer(CLAIM_WORDS * 4));
  claim[OWNER] = owner;
  claim[CHANNEL] = offset;
  claim[CHANNEL_GEN] = generation;
  return claim;
}

/** Creates a lifeline: nothing held yet, not cut. */
export function createLifeline(): Int32Array {
  const lifeline = new Int32Array(new SharedArrayBuffer(LIFELINE_WORDS * 4));
  lifeline[ID] = crypto.getRandomValues(new Int32Array(1))[0];
  return lifeline;
}

/**
 * Counts one more (`delta` = 1) or one fewer (-1) end held under `lifeline`.
 * @returns false if the terminator has settled the ends already (nothing to do then).
 */
export function adjustHeld(lifeline: Int32Array, delta: number): boolean {
  for (let held = Atomics.load(lifeline, HELD);;) {
    if (held < 0) return false; // SETTLING or SETTLED
    const seen = Atomics.compareExchange(lifeline, HELD, held, held + delta);
    if (seen === held) return true;
    held = seen;
  }
}

/** Notes a handle adopted in this thread: `assertAlive` looks at its lifeline from now on. */
export function remember(handle: Lifelined): void {
  // Forget handles whose ends are all closed or moved on (as a parent forgets them at its next
  // posting): `assertAlive` runs on every send and must not grow with the handles ever adopted.
  if (adopted.length >= pruneAt) {
    pruneAt = prune(adopted, (h) => Atomics.load(h.lifeline, HELD) !== 0);
  }
  adopted.push(handle);
}

/** Length below which a list is not pruned (see `prune`). */
export const PRUNE_LEAST = 16;

let pruneAt = PRUNE_LEAST;

/**
 * Keeps in `list` (in place, in order) only what `keep` accepts. Called once a list has reached
 * the length returned by the last call, so that pruning as it grows costs linear time, not
 * quadratic.
 * @returns the length at which to prune next: twice what was kept, at least `least`.
 */
export function prune<T>(list: T[], keep: (item: T) => boolean, least = PRUNE_LEAST): number {
  let kept = 0;
  for (const item of list) if (keep(item)) list[kept++] = item;
  list.length = kept;
  return Math.max(2 * kept, least);
}

/** The handles adopted in this thread (see `remember`). */
export function adoptedHere(): readonly Lifelined[] {
  return adopted;
}

/** Throws an `AbortError` if this thread's worker was terminated. */
export function assertAlive(): void {
  const thread = parentWords();
  if (thread !== null && Atomics.load(thread, T_CUT) !== 0) throw terminated();
  for (let i = 0; i < adopted.length; i++) {
    if (Atomics.load(adopted[i].lifeline, CUT) !== 0) throw terminated();
  }
}

/** The error every channel call throws in a thread being ended. */
export function terminated(): DOMException {
  return new DOMException("Cannot use a channel: this worker was terminated", "AbortError");
}
