// The channel calls as the spec files use them: on a channel named by its control block alone,
// with the generation an end would carry read from the arena (for a freed block: none, and the
// call finds the channel gone). Every channel is created in a fresh arena of its own at the
// memory's end (nothing but an arena may grow the memory after it: see arena.spec.ts); a test
// that wants several channels in one arena uses `arena` and `channelIn`.
import * as core from "../index";
import {
  ARENA, ARENA_HEADER_SIZE, BLOCK_HEADER, FIRST_RING, OK, PAGE, PROD_CALLS, UNBOUNDED, arenaClassBytes,
  arenaGeneration, arenaInit,
} from "../index";

// The test runtime's heap grows the memory too: give it room up front, so that it never grows
// again after an arena is set up (as arena.spec.ts does).
heap.free(heap.alloc(32 << 20));

export const MB: u32 = 1 << 20;

/** A fresh arena in a page at the memory's end, that may span `capPages` pages. */
export function arena(capPages: i32): usize {
  const a = <usize>memory.grow(1) * PAGE;
  expect<i32>(arenaInit(a, capPages * PAGE)).toBe(OK);
  return a;
}

/** A channel in the arena at `a`. */
export function channelIn(
  a: usize,
  bound: u32 = UNBOUNDED,
  capacity: i32 = 64,
  maxBytes: u32 = MB,
): usize {
  const ch = core.create(a, bound, maxBytes, capacity, 0);
  expect<bool>(ch >= core.FIRST_OFFSET).toBe(true, "created");
  return <usize>ch;
}

/** A fresh channel in a fresh arena that holds its quota. */
export function channel(bound: u32 = UNBOUNDED, capacity: i32 = 64, maxBytes: u32 = MB): usize {
  const bytes = <i64>ARENA_HEADER_SIZE + BLOCK_HEADER + arenaClassBytes(0) + maxBytes;
  return channelIn(arena(<i32>(bytes / PAGE) + 2), bound, capacity, maxBytes);
}

/** The arena channel `ch` lives in (as its config says). */
export function arenaOf(ch: usize): usize {
  return <usize><u32>load<i32>(ch + ARENA);
}

/** The generation of channel `ch`'s control block: what its ends carry. */
export function gen(ch: usize): i32 {
  return arenaGeneration(arenaOf(ch), ch);
}

/**
 * Counts one more call inside channel `ch` on the producer side, as a `reserve` that returned a
 * claim does (for a test that ends one claim two ways, standing for two producers).
 */
export function reenter(ch: usize): void {
  store<i64>(ch + PROD_CALLS, load<i64>(ch + PROD_CALLS) + 1);
}

/** The channel's first ring. */
export function first(ch: usize): usize {
  return <usize><u32>load<i32>(ch + FIRST_RING);
}

export function validate(ch: usize): i32 {
  return core.validate(ch, gen(ch));
}
export function reserve(ch: usize, length: i32, owner: i32): i32 {
  return core.reserve(ch, gen(ch), length, owner);
}
export function commit(ch: usize, payload: usize, owner: i32, length: i32): i32 {
  return core.commit(ch, gen(ch), payload, owner, length);
}
export function commitLength(
  ch: usize,
  payload: usize,
  owner: i32,
  reserved: i32,
  length: i32,
): i32 {
  return core.commitLength(ch, gen(ch), payload, owner, reserved, length);
}
export function cancel(ch: usize, payload: usize, owner: i32, length: i32): i32 {
  return core.cancel(ch, gen(ch), payload, owner, length);
}
/**
 * The receiver token the helpers peek, release and unblock with (the creating receiver's; a
 * spec that plays several receivers sets it).
 */
export let token: i32 = core.FIRST_TOKEN;
export function useToken(t: i32): void {
  token = t;
}
export function peek(ch: usize): i32 {
  return core.peek(ch, gen(ch), token);
}
export function unpeek(ch: usize): void {
  core.unpeek(ch, token);
}
/** `peek` for a receiver that found the lock held by one found dead (with `token`). */
export function peekDead(ch: usize): i32 {
  return core.peekDead(ch, gen(ch), token);
}
/** A new receiver token for channel `ch` (or -status). */
export function newToken(ch: usize): i32 {
  return core.newToken(ch, gen(ch));
}
/** Marks the consumer lock dead if receiver token `t` holds it: 1 if marked, else 0. */
export function settleHolder(ch: usize, t: i32): i32 {
  return core.settleHolder(ch, gen(ch), t);
}
export function holderDead(ch: usize): i32 {
  return core.holderDead(ch, gen(ch));
}
export function peekLength(): i32 {
  return core.peekLength();
}
export function poll(ch: usize): i32 {
  return core.poll(ch, gen(ch), token);
}
export function release(ch: usize): i32 {
  return core.release(ch, gen(ch), token);
}
export function addSender(ch: usize): i32 {
  return core.addSender(ch, gen(ch));
}
/** @returns the senders left (or -status), as the spec files check it. */
export function dropSender(ch: usize): i32 {
  const g = gen(ch);
  const status = core.dropSender(ch, g);
  if (status != OK) return -status;
  return core.arenaGeneration(arenaOf(ch), ch) == g ? load<i32>(ch + core.SENDERS) : 0;
}
/** @returns the receivers now open, or -status. */
export function addReceiver(ch: usize): i32 {
  return core.addReceiver(ch, gen(ch));
}
export function closeReceiver(ch: usize): i32 {
  return core.closeReceiver(ch, gen(ch));
}
export function senderCount(ch: usize): i32 {
  return core.senderCount(ch, gen(ch));
}
export function receiverOpen(ch: usize): i32 {
  return core.receiverOpen(ch, gen(ch));
}
export function markDied(ch: usize, ends: i32): void {
  core.markDied(ch, gen(ch), ends);
}
export function diedEnds(ch: usize): i32 {
  return core.diedEnds(ch, gen(ch));
}
export function newOwner(ch: usize): i32 {
  return core.newOwner(ch, gen(ch));
}
export function markDead(ch: usize, payload: usize, owner: i32): i32 {
  return core.markDead(ch, gen(ch), payload, owner);
}
export function headDead(ch: usize): i32 {
  return core.headDead(ch, gen(ch), token);
}
export function unblock(ch: usize): i32 {
  return core.unblock(ch, gen(ch), token);
}
export function length(ch: usize): i32 {
  return core.length(ch, gen(ch));
}
export function storageBytes(ch: usize): i32 {
  return core.storageBytes(ch, gen(ch));
}
export function ringCapacity(ch: usize): i32 {
  return core.ringCapacity(ch, gen(ch));
}
export function largestPayload(ch: usize): i32 {
  return core.largestPayload(ch, gen(ch));
}
export function corrupted(ch: usize): i32 {
  return core.corrupted(ch, gen(ch));
}
export function waitDataBegin(ch: usize): i32 {
  return core.waitDataBegin(ch, gen(ch));
}
export function waitDataEnd(ch: usize): void {
  core.waitDataEnd(ch, gen(ch));
}
export function waitSpaceBegin(ch: usize): i32 {
  return core.waitSpaceBegin(ch, gen(ch));
}
export function waitSpaceEnd(ch: usize): void {
  core.waitSpaceEnd(ch, gen(ch));
}
export function recvWaitBegin(ch: usize): void {
  core.recvWaitBegin(ch, gen(ch));
}
export function recvWaitEnd(ch: usize): i32 {
  return core.recvWaitEnd(ch, gen(ch));
}
