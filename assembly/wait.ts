// The wait words: DATA_SEQ (the consumer waits for data) and SPACE_SEQ (producers wait for
// room, for a ring being linked, or for a rendezvous receiver), with their waiter counts; and the
// rendezvous tokens (RECV_WAITING) a waiting receiver hands to producers.
//
// ## Waiting
// Done by the caller with Atomics.wait/waitAsync on DATA_SEQ or SPACE_SEQ: a waiter reads the
// sequence, increments the waiter count, checks its condition again, and only then waits on the
// value it read. A publisher changes the state, then reads the waiter count and, when it is
// non-zero, increments the sequence and notifies. With sequentially consistent atomics either
// the waiter's re-check sees the change or the publisher sees the waiter.

import {
  CLAIMED, CONS_CALLS, DATA_SEQ, DATA_WAITERS, SELECTORS, OK, PROD_CALLS, RECV_WAITING, SPACE_SEQ,
  SPACE_WAITERS, SPIN_LIMIT,
} from "./layout";
import { attached, blockOk, cfgArena, cfgCh } from "./channel";
import { ARENA_SELECT } from "./arena";
import { gateIn, gateOut } from "./life";

/** Wakes everybody waiting on the sequence word `seq` if its waiter count says anybody is. */
// @ts-ignore: decorator
@inline export function wake(seq: usize, waiters: usize): void {
  // The state change being announced is already stored; reading the count after it pairs with
  // the waiter's increment-then-recheck (see "Waiting" above).
  if (atomic.load<i32>(waiters) != 0) {
    atomic.add<i32>(seq, 1);
    atomic.notify(seq, -1);
  }
}

/**
 * Announces data (a message, or the last sender gone) on channel `ch`: wakes one receiver
 * waiting on DATA_SEQ (`one`: a message, which one receiver takes — no thundering herd with
 * several) or all of them, and every selector registered on the channel.
 */
// @ts-ignore: decorator
@inline export function wakeData(ch: usize, one: bool): void {
  // DATA_WAITERS and SELECTORS in one load (an aligned i64: the path of every publish).
  const both = atomic.load<i64>(ch + DATA_WAITERS);
  if (both == 0) return;
  if (<i32>both != 0) {
    atomic.add<i32>(ch + DATA_SEQ, 1);
    atomic.notify(ch + DATA_SEQ, one ? 1 : -1);
  }
  if (<i32>(both >>> 32) != 0) wakeSelectors(ch);
}

// ── Selecting
// A thread that waits on several channels of one arena (`selectSync`, `select` in JavaScript)
// registers on each (SELECTORS, `selectBegin`), reads the arena's ARENA_SELECT word, looks at
// each channel once more, and only then sleeps on ARENA_SELECT with the value it read. A
// publisher stores its message, then reads SELECTORS (on the line of DATA_WAITERS, which it
// reads anyway) and, when it is not 0, moves ARENA_SELECT and notifies it: either the
// selector's look sees the message or the publisher sees the selector, as with the channel's own
// wait words. Every selector of the arena wakes for a message on any channel a selector waits
// on; each looks at its own channels and sleeps again.

/**
 * Moves and notifies the ARENA_SELECT word of channel `ch`'s arena, found through this
 * instance's validated config of the channel (none: nothing is done; selectors look again at
 * the end of their slice).
 */
function wakeSelectors(ch: usize): void {
  if (cfgCh != ch) return;
  const word = cfgArena + ARENA_SELECT;
  atomic.add<i32>(word, 1);
  atomic.notify(word, -1);
}

/** Registers a selector on channel `ch` (see "Selecting"). @returns OK or a status. */
export function selectBegin(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, CONS_CALLS);
  if (status != OK) return status;
  const checked = attached(ch, gen);
  if (checked == OK) atomic.add<i32>(ch + SELECTORS, 1);
  gateOut(ch, CONS_CALLS);
  return checked;
}

/** Unregisters a selector registered by `selectBegin`. */
export function selectEnd(ch: usize, gen: i32): void {
  if (gateIn(ch, gen, CONS_CALLS) != OK) return;
  atomic.sub<i32>(ch + SELECTORS, 1);
  gateOut(ch, CONS_CALLS);
}

// ── Waiting. The caller sleeps with Atomics.wait(…, SEQ, seq) between begin and end, after
//    checking its condition once more. Each call enters and leaves the channel (see life.ts);
//    the sleep in between is outside: a sleeper touches nothing (a stale one sleeps at most its
//    slice on a word of a freed block, then finds its channel gone).

/**
 * Registers a consumer about to wait for data. @returns the DATA_SEQ value to wait on (for a
 * caller that cannot enter, the word as it is: its next call reports why).
 */
export function waitDataBegin(ch: usize, gen: i32): i32 {
  if (gateIn(ch, gen, CONS_CALLS) != OK) return blockOk(ch) ? atomic.load<i32>(ch + DATA_SEQ) : 0;
  const seq = atomic.load<i32>(ch + DATA_SEQ);
  atomic.add<i32>(ch + DATA_WAITERS, 1);
  gateOut(ch, CONS_CALLS);
  return seq;
}

/** Unregisters a consumer registered by `waitDataBegin`. */
export function waitDataEnd(ch: usize, gen: i32): void {
  if (gateIn(ch, gen, CONS_CALLS) != OK) return;
  atomic.sub<i32>(ch + DATA_WAITERS, 1);
  gateOut(ch, CONS_CALLS);
}

/** Registers a producer about to wait for room. @returns the SPACE_SEQ value to wait on. */
export function waitSpaceBegin(ch: usize, gen: i32): i32 {
  if (gateIn(ch, gen, PROD_CALLS) != OK) return blockOk(ch) ? atomic.load<i32>(ch + SPACE_SEQ) : 0;
  const seq = atomic.load<i32>(ch + SPACE_SEQ);
  atomic.add<i32>(ch + SPACE_WAITERS, 1);
  gateOut(ch, PROD_CALLS);
  return seq;
}

/** Unregisters a producer registered by `waitSpaceBegin`. */
export function waitSpaceEnd(ch: usize, gen: i32): void {
  if (gateIn(ch, gen, PROD_CALLS) != OK) return;
  atomic.sub<i32>(ch + SPACE_WAITERS, 1);
  gateOut(ch, PROD_CALLS);
}

/**
 * Wakes every thread waiting on either word of the channel (they check their condition again).
 * @returns OK, or a status of `gateIn` (nothing was written: the caller may still `notify`).
 */
export function wakeAll(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, CONS_CALLS);
  if (status != OK) return status;
  atomic.add<i32>(ch + DATA_SEQ, 1);
  atomic.notify(ch + DATA_SEQ, -1);
  atomic.add<i32>(ch + SPACE_SEQ, 1);
  atomic.notify(ch + SPACE_SEQ, -1);
  gateOut(ch, CONS_CALLS);
  return OK;
}

// ── Rendezvous tokens

/** Rendezvous: announces a receiver ready to take one message, giving producers a token. */
export function recvWaitBegin(ch: usize, gen: i32): void {
  if (gateIn(ch, gen, CONS_CALLS) != OK) return;
  atomic.add<i32>(ch + RECV_WAITING, 1);
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
  gateOut(ch, CONS_CALLS);
}

/**
 * Rendezvous: withdraws the token published by `recvWaitBegin`. Tokens are counted, not named
 * (several receivers may wait): RECV_WAITING is the tokens published and neither withdrawn nor
 * spent, less the messages admitted and not yet taken. So it may go below 0: a withdrawal after
 * a producer spent a token leaves a message admitted for a receiver no longer waiting, and the
 * receiver that takes a message without a token out gives one back (`recvWaitBegin`), while
 * one that takes it with its token out just forgets that token (it was spent, its own or another
 * receiver's, which then stands for this one's).
 * @returns OK if withdrawn (or the channel cannot be entered: nobody takes it), or CLAIMED if
 * none was left: a producer took one, and its message is on the way.
 */
export function recvWaitEnd(ch: usize, gen: i32): i32 {
  if (gateIn(ch, gen, CONS_CALLS) != OK) return OK;
  const before = atomic.sub<i32>(ch + RECV_WAITING, 1);
  gateOut(ch, CONS_CALLS);
  return before > 0 ? OK : CLAIMED;
}
