/**
 * Settling the ends of threads that end, so that their peers never wait for them for ever.
 * Internal.
 *
 * Every end a thread holds is counted under a *lifeline* (see _lifeline.ts) that some other
 * thread can reach: the one that posted it the handle (on Deno, for a plain `Worker`: see
 * _deno_35657.ts), or its parent, if `spawn` started it (it reports every end it comes to hold:
 * see _thread.ts). When the thread ends — terminated, dead of an unhandled error, its function
 * returned, `self.close()` — that thread *cuts* the lifelines (every later call in the dead
 * thread throws `AbortError`, so a thread blocked in `recvSync`/`sendSync` unwinds) and settles
 * the dead thread's accounts: the senders it held are dropped (the receiver sees disconnection
 * once the others are gone), a receiver it held is closed (senders get `SendError`), and a claim
 * its senders left unfinished in the ring (they record where, CLAIM_AT) is marked dead, so that
 * it is skipped. Whoever settles a lifeline's ends takes its HELD count with one CAS (to
 * SETTLING), so each end is settled exactly once, by its thread or by another, and a thread that
 * finds another one settling waits until it is done. A handle the dead thread never adopted is
 * settled too, unless some other thread adopted it.
 *
 * Posting one handle to two workers is allowed (the second adoption throws); each posting gets
 * a lifeline of its own, so that ending the worker that did not adopt it leaves the one that did
 * alone.
 *
 * @module
 */
import { isDefaultArena } from "./_arena.ts";
import { takeSlot } from "./_slots.ts";
import {
  ABANDONED,
  adjustHeld,
  ADOPTED,
  CHANNEL,
  CHANNEL_GEN,
  CLAIM_AT,
  createClaim,
  createLifeline,
  CUT,
  HELD,
  ID,
  type Lifelined,
  OWNER,
  remember,
  SETTLED,
  SETTLING,
  terminated,
} from "./_lifeline.ts";
import { endCloneError } from "./_brand.ts";
import { SharedChannel } from "./_shared_channel.ts";
import { report, spawned, uncut } from "./_thread.ts";
import { droppedProblem, find } from "./_walk.ts";
import { nap } from "./_wait.ts";

/** Longest wait for another thread to finish settling (it runs synchronous code: microseconds). */
const SETTLING_PATIENCE_MS = 1000;

/**
 * Workers whose postings their owner (`spawn`) watches itself, with the owner's `terminate`:
 * wrappers leave their postings alone and send a terminate to their owner.
 */
export const ownWorkers: WeakMap<object, () => void> = new WeakMap();

/** Handles made in this thread. */
const made = new WeakSet<object>();
/** Handles posted from this thread (a second posting gets a lifeline of its own). */
const posted = new WeakSet<object>();
/** Ids of the lifelines this thread posted to workers. */
const postedIds = new Set<number>();

/** Notes a handle made in this thread (see `handlesFor`). */
export function track(handle: object): void {
  made.add(handle);
}

/**
 * Finds the handles anywhere in `message`, which this thread is about to post to a worker, and
 * gives each a lifeline of its own for this posting, unless it is a handle made here and never
 * posted (a handle posted before, or received from another thread and being forwarded, keeps
 * its lifeline for the other posting). If such a handle comes back unadopted and is adopted
 * here, it is held under a fresh lifeline (see `claim`).
 * @returns the handles, for the poster to settle when that worker ends.
 * @throws {DOMException} `DataCloneError` if the message holds a live end (`structuredClone`
 * would make it `{}`: `transfer()` was forgotten), or an end or a handle where
 * `structuredClone` drops it (see _walk.ts: it would never arrive).
 */
export function handlesFor(message: unknown): Lifelined[] {
  const found = find(message);
  if (found === null) return [];
  if (found.dropped.length > 0) {
    throw new DOMException(
      `Cannot post this message: ${droppedProblem(found.dropped[0])}`,
      "DataCloneError",
    );
  }
  if (found.ends.length > 0) throw endCloneError();
  const list: Lifelined[] = [];
  for (const value of found.handles) {
    const handle = value as Lifelined & { lifeline: Int32Array; claim: unknown };
    if (!(handle.claim instanceof Int32Array) || !(handle.lifeline instanceof Int32Array)) {
      continue; // damaged: adoption will say so
    }
    if (posted.has(handle) || !made.has(handle)) handle.lifeline = createLifeline();
    posted.add(handle);
    postedIds.add(handle.lifeline[ID]);
    list.push(handle as Lifelined);
  }
  return list;
}

/**
 * Adopts `handle` in this thread: claims it (once, across all its copies) and counts the end
 * as held under a lifeline that another thread will settle if this one ends: the one posted
 * with the handle (and, with `keep`, an end `spawn` moved here: its parent holds that lifeline);
 * or, in a thread that `spawn` started, a fresh one reported to its parent (the handle may have
 * come by any path); or a fresh one if the handle's lifeline is one this
 * thread posted to a worker (it came back unadopted: ending that worker must not touch it).
 * @returns the lifeline the end is held under, or an error message.
 */
export function claim(handle: Lifelined, keep = false, fresh = false): Int32Array | string {
  // Claimed and counted, and reported, or neither: a thread above settles what it heard of.
  return uncut(() => claimNow(handle, keep, fresh), () => {
    throw terminated();
  });
}

function claimNow(handle: Lifelined, keep: boolean, fresh: boolean): Int32Array | string {
  const before = Atomics.compareExchange(handle.claim, ADOPTED, 0, 1);
  if (before === ABANDONED) {
    return "the worker it was posted to ended before anyone adopted it, and its end was closed";
  }
  if (before !== 0) return "this handle was already adopted";
  fresh ||= !keep && (spawned() || postedIds.has(handle.lifeline[ID]));
  if (fresh) handle = { ...handle, lifeline: createLifeline() };
  if (!adjustHeld(handle.lifeline, 1)) {
    // The terminator settled this lifeline between our claim and now, and saw the handle as
    // adopted: the end is ours to close (its worker died).
    closeEnds(handle, 1, true);
    return "the worker it was posted to was terminated";
  }
  if (fresh) report(handle);
  remember(handle);
  return handle.lifeline;
}

/**
 * In a thread that `spawn` started: a lifeline for an end made here (by `channel()`) or
 * received in a message, in a slot of a table the threads above know of (see _slots.ts), so
 * that the end is settled if this thread ends. Elsewhere: null (the end is held directly).
 */
export function heldHere(
  kind: "sender" | "receiver",
  chan: SharedChannel,
  owner: number,
): Int32Array | null {
  if (!spawned()) return null;
  if (isDefaultArena(chan.memory)) {
    return uncut(() => takeSlot(kind, chan.memory, chan.offset, chan.generation, owner), () => {
      throw terminated();
    });
  }
  // An isolated channel (a memory of its own, dear already): a claim and lifeline of its own,
  // reported on its own, rather than a table of slots per memory that outlives it.
  const claim = createClaim(owner, chan.offset, chan.generation);
  claim[ADOPTED] = 1;
  const handle = { kind, memory: chan.memory, claim, lifeline: createLifeline() };
  handle.lifeline[HELD] = 1;
  return uncut(() => {
    report(handle);
    remember(handle);
    return handle.lifeline;
  }, () => {
    throw terminated();
  });
}

/**
 * Ends the lives of `handles`' lifelines: cuts them (the calls of the thread that holds their
 * ends throw `AbortError` from now on), settles their ends, and wakes the channels' sleepers
 * (so that a thread blocked on one unwinds now; sleepers elsewhere wake within a slice).
 * `died`: the thread that held them died (its peers' errors say so), rather than finished.
 */
export function cutAll(handles: Iterable<Lifelined>, died: boolean): void {
  for (const handle of handles) {
    Atomics.store(handle.lifeline, CUT, 1);
    settle(handle, died);
    // Through this thread's one view of the memory (see _arena.ts): thousands of ends cost no
    // instantiation each. A channel settled away meanwhile is only notified.
    SharedChannel.wakeAll(handle.memory, handle.claim[CHANNEL], handle.claim[CHANNEL_GEN]);
  }
}

/**
 * Closes the end of a handle that nobody adopted and nobody will (it was collected unsent, or
 * the worker it was moved to failed before adopting it): unless some thread adopted it
 * meanwhile. `died`: say so to its peers.
 */
export function abandon(handle: Lifelined, died = false): void {
  if (Atomics.compareExchange(handle.claim, ADOPTED, 0, ABANDONED) === 0) {
    closeEnds(handle, 1, died);
  }
}

/**
 * Whether nothing is left to settle for `handle`: its lifeline was settled, or it was adopted
 * and every end held under its lifeline is gone.
 */
export function finished(handle: Lifelined): boolean {
  const held = Atomics.load(handle.lifeline, HELD);
  return held === SETTLED || (held === 0 && Atomics.load(handle.claim, ADOPTED) !== 0);
}

/**
 * Closes the ends a dead worker held under `handle`'s lifeline; or the end itself if nobody
 * adopted the handle (it is lost with the worker). Exactly one caller does it: the first to
 * change HELD to SETTLING. A caller that finds another one settling waits until it is done, so
 * that when `terminate()` returns, the worker's ends are settled whoever did it (a worker that
 * posts its last message and calls `self.close()` races its terminator).
 */
export function settle(handle: Lifelined, died: boolean): void {
  const lifeline = handle.lifeline;
  for (let held = Atomics.load(lifeline, HELD);;) {
    if (held === SETTLED) return;
    if (held === SETTLING) {
      const deadline = performance.now() + SETTLING_PATIENCE_MS;
      while (Atomics.load(lifeline, HELD) === SETTLING && performance.now() < deadline) {
        nap(lifeline, HELD, SETTLING, 10);
      }
      return;
    }
    const seen = Atomics.compareExchange(lifeline, HELD, held, SETTLING);
    if (seen !== held) {
      held = seen;
      continue;
    }
    try {
      // Not adopted under this lifeline: if not adopted at all, it is lost with the worker.
      if (held > 0) closeEnds(handle, held, died);
      else if (Atomics.compareExchange(handle.claim, ADOPTED, 0, ABANDONED) === 0) {
        closeEnds(handle, 1, true); // lost with the worker
      }
    } finally {
      Atomics.store(lifeline, HELD, SETTLED);
      Atomics.notify(lifeline, HELD);
    }
    return;
  }
}

/**
 * Closes `count` ends of `handle`'s kind on its channel (where its claim says), for a thread that
 * cannot; `died`: that thread died (recorded first, for the peers' errors).
 */
function closeEnds(handle: Lifelined, count: number, died: boolean): void {
  const { claim, memory } = handle;
  const chan = SharedChannel.open(memory, claim[CHANNEL], claim[CHANNEL_GEN], 0);
  if (chan.validate() !== "ok") return;
  if (died) chan.markDied(handle.kind);
  if (handle.kind === "receiver") {
    // The lock first: a receiver closed while it holds it would keep every other one waiting.
    chan.settleHolder(handle.claim[OWNER]);
    chan.withdrawTokensOf(handle.lifeline);
    for (let i = 0; i < count; i++) chan.closeReceiver();
    return;
  }
  // A claim in progress is marked dead before the senders are dropped, so that a consumer that
  // sees no sender left also sees the claim as nobody's.
  const at = Atomics.load(handle.lifeline, CLAIM_AT);
  if (at > 0) chan.markDead(at, handle.claim[OWNER]);
  for (let i = 0; i < count; i++) chan.dropSender();
}
