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
  CLAIMED, DATA_SEQ, DATA_WAITERS, OK, RECV_WAITING, SPACE_SEQ, SPACE_WAITERS, SPIN_LIMIT,
} from "./layout";

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

// ── Waiting. The caller sleeps with Atomics.wait(…, SEQ, seq) between begin and end, after
//    checking its condition once more.

/** Registers a consumer about to wait for data. @returns the DATA_SEQ value to wait on. */
export function waitDataBegin(ch: usize): i32 {
  const seq = atomic.load<i32>(ch + DATA_SEQ);
  atomic.add<i32>(ch + DATA_WAITERS, 1);
  return seq;
}

/** Unregisters a consumer registered by `waitDataBegin`. */
export function waitDataEnd(ch: usize): void {
  atomic.sub<i32>(ch + DATA_WAITERS, 1);
}

/** Registers a producer about to wait for room. @returns the SPACE_SEQ value to wait on. */
export function waitSpaceBegin(ch: usize): i32 {
  const seq = atomic.load<i32>(ch + SPACE_SEQ);
  atomic.add<i32>(ch + SPACE_WAITERS, 1);
  return seq;
}

/** Unregisters a producer registered by `waitSpaceBegin`. */
export function waitSpaceEnd(ch: usize): void {
  atomic.sub<i32>(ch + SPACE_WAITERS, 1);
}

// ── Rendezvous tokens

/** Rendezvous: announces a receiver ready to take one message, giving producers a token. */
export function recvWaitBegin(ch: usize): void {
  atomic.add<i32>(ch + RECV_WAITING, 1);
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
}

/**
 * Rendezvous: withdraws the token published by `recvWaitBegin`.
 * @returns OK if withdrawn, or CLAIMED if a producer took it: its message is on the way.
 */
export function recvWaitEnd(ch: usize): i32 {
  let tokens = atomic.load<i32>(ch + RECV_WAITING);
  for (let turn = 0; tokens > 0 && turn < SPIN_LIMIT; turn++) {
    const seen = atomic.cmpxchg<i32>(ch + RECV_WAITING, tokens, tokens - 1);
    if (seen == tokens) return OK;
    tokens = seen;
  }
  return CLAIMED;
}
