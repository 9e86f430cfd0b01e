// Unit tests of a channel's life in its arena (assembly/life.ts): rings owned by their channel
// and checked by owner and generation wherever their address is read from memory; stale ends
// refused; blocks freed only once both sides are closed and no call is inside, and all of them;
// the channel's quota (maxBytes) and the arena's cap told apart; corruption of the in-call words
// and of the arena. One instance; real threads are exercised by tests/arena_channels_test.ts.
import * as core from "../index";
import {
  ARENA_CONTROL_CLASS, ARENA_CORRUPT, ARENA_FULL, BLOCK_HEADER, CONS_CALLS, CONS_CHECK, CONS_RING,
  CORRUPTED, EMPTY, FIRST_OFFSET, FREE_RINGS, HEADER, INVALID, NO_MEMORY, OK, PAGE, PROD_CALLS,
  PROD_RING, RING_DATA, RING_NEXT, RINGS, RING_ALL, RING_TAIL, STALE, TOO_LARGE, UNBOUNDED,
  arenaCarved, arenaClassBytes, arenaFreeCount, arenaGeneration, arenaRingClass,
} from "../index";
import {
  MB, arena, arenaOf, channelIn, closeReceiver, commit, dropSender, first, gen, peek,
  peekLength, release, reserve, storageBytes,
} from "./_channels";

function byteOf(seed: i32, i: i32): u8 {
  return <u8>((seed * 31 + i * 7) & 0xff);
}

/** Sends a message of `len` bytes (content from `seed`) with the current generation. */
function send(ch: usize, len: i32, seed: i32): i32 {
  const p = reserve(ch, len, 1);
  if (p < FIRST_OFFSET) return p;
  for (let i = 0; i < len; i++) store<u8>(<usize>p + i, byteOf(seed, i));
  return commit(ch, p, 1, len);
}

/** Takes the next message and checks its length and content. */
function take(ch: usize, len: i32, seed: i32): void {
  const p = peek(ch);
  expect<bool>(p >= FIRST_OFFSET).toBe(true, "a message is ready");
  expect<i32>(peekLength()).toBe(len, "length");
  let bad = 0;
  for (let i = 0; i < len; i++) if (load<u8>(<usize>p + i) != byteOf(seed, i)) bad++;
  expect<i32>(bad).toBe(0, "payload bytes");
  release(ch);
}

/** Closes both ends: the channel is destroyed unless a call is inside. */
function close(ch: usize): void {
  expect<i32>(dropSender(ch)).toBe(0);
  expect<i32>(closeReceiver(ch)).toBe(OK);
}

/** Every ring of channel `ch` (its RINGS list), at most `most`. */
function ringsOf(ch: usize, most: i32 = 64): StaticArray<usize> {
  const out = new StaticArray<usize>(most);
  let n = 0;
  for (let r = <usize>load<i32>(ch + RINGS); r != 0 && n < most; r = <usize>load<i32>(r + RING_ALL)) {
    out[n++] = r;
  }
  return StaticArray.slice<usize>(out, 0, n);
}

/** Blocks on the free list of every class of arena `a`, summed. */
function freeBlocks(a: usize): i32 {
  let n = 0;
  for (let k = 0; k < core.ARENA_CLASSES; k++) n += arenaFreeCount(a, k);
  return n;
}

describe("rings belong to their channel", () => {
  test("a ring of another channel as PROD_RING: refused (the channel fails), the other works on", () => {
    const a = arena(64);
    const x = channelIn(a);
    const y = channelIn(a);
    expect<i32>(send(y, 8, 1)).toBe(OK);
    // Every check of y's ring descriptor is right, for y: only its owner is not x.
    store<i32>(x + PROD_RING, <i32>first(y));
    expect<i32>(reserve(x, 8, 1)).toBe(CORRUPTED);
    expect<i32>(core.corrupted(x, gen(x)) != 0).toBe(true);
    expect<i64>(load<i64>(first(y) + RING_TAIL)).toBe(16, "y's TAIL untouched");
    take(y, 8, 1);
    expect<i32>(send(y, 8, 2)).toBe(OK);
    take(y, 8, 2);
    expect<i32>(core.corrupted(y, gen(y))).toBe(0);
  });
  test("a ring of another channel as CONS_RING (with its check): refused", () => {
    const a = arena(64);
    const x = channelIn(a);
    const y = channelIn(a);
    expect<i32>(send(y, 8, 1)).toBe(OK);
    expect<i32>(send(x, 8, 2)).toBe(OK);
    const ring = first(y);
    store<i32>(x + CONS_RING, <i32>ring);
    store<i32>(x + CONS_CHECK, load<i32>(y + CONS_CHECK));
    expect<i32>(peek(x)).toBe(CORRUPTED, "y's message is not delivered to x");
    take(y, 8, 1);
  });
  test("a ring of another channel on the free list: refused when a ring is taken from it", () => {
    const a = arena(256);
    const x = channelIn(a);
    const y = channelIn(a);
    // Grow x once and drain it: its first ring is retired to its free list.
    for (let i = 0; i < 8; i++) expect<i32>(send(x, 40, i)).toBe(OK);
    for (let i = 0; i < 8; i++) take(x, 40, i);
    expect<bool>(load<i32>(x + FREE_RINGS) != 0).toBe(true, "a ring was retired");
    // y's sealed, drained first ring, as x's free ring.
    for (let i = 0; i < 8; i++) expect<i32>(send(y, 40, i)).toBe(OK);
    for (let i = 0; i < 8; i++) take(y, 40, i);
    store<i32>(x + FREE_RINGS, load<i32>(y + FREE_RINGS));
    let status = OK;
    for (let i = 0; i < 64 && status == OK; i++) status = send(x, 40, i);
    expect<i32>(status).toBe(CORRUPTED);
    for (let i = 0; i < 8; i++) expect<i32>(send(y, 40, i)).toBe(OK);
    for (let i = 0; i < 8; i++) take(y, 40, i);
  });
  test("a freed ring's address, descriptor and all: refused (the arena says it is free)", () => {
    const a = arena(64);
    const x = channelIn(a);
    const gone = channelIn(a);
    const ring = first(gone);
    // Keep a copy of the live descriptor, free the channel, and write the copy back over the
    // zeroed block: only the arena's word (a free block, a new generation) tells.
    const copy = new StaticArray<i64>(8);
    for (let i = 0; i < 8; i++) copy[i] = load<i64>(ring + (i << 3));
    close(gone);
    expect<i32>(arenaGeneration(a, ring)).toBe(-STALE, "freed");
    for (let i = 0; i < 8; i++) store<i64>(ring + (i << 3), copy[i]);
    store<i32>(x + PROD_RING, <i32>ring);
    expect<i32>(reserve(x, 8, 1)).toBe(CORRUPTED);
  });
});

describe("stale ends", () => {
  test("an end of a destroyed channel touches nothing of the channel now in its blocks", () => {
    const a = arena(64);
    const old = channelIn(a, UNBOUNDED, 64);
    const oldGen = gen(old);
    const oldRing = first(old);
    close(old);
    // The same blocks, handed out again (last freed, first out), with new generations.
    const now = channelIn(a, UNBOUNDED, 64);
    expect<usize>(now).toBe(old, "the same control block");
    expect<usize>(first(now)).toBe(oldRing, "the same ring");
    expect<i32>(gen(now)).toBe(oldGen + 1);
    expect<i32>(send(now, 8, 5)).toBe(OK);
    const tail = load<i64>(first(now) + RING_TAIL);
    // Every call of the old end is refused before it writes anything.
    expect<i32>(core.reserve(old, oldGen, 8, 1)).toBe(STALE);
    expect<i32>(core.peek(old, oldGen, 1)).toBe(STALE);
    expect<i32>(core.addSender(old, oldGen)).toBe(-STALE);
    expect<i32>(core.dropSender(old, oldGen)).toBe(STALE);
    expect<i32>(core.closeReceiver(old, oldGen)).toBe(STALE);
    expect<i32>(core.markDead(old, oldGen, <usize>first(now) + RING_DATA + HEADER, 1)).toBe(STALE);
    expect<i32>(core.validate(old, oldGen)).toBe(STALE);
    expect<i32>(core.corrupted(old, oldGen)).toBe(-STALE);
    expect<i32>(core.condemn(a, old, oldGen)).toBe(STALE, "nothing written: the channel is gone");
    expect<i64>(load<i64>(first(now) + RING_TAIL)).toBe(tail);
    expect<i32>(core.senderCount(now, gen(now))).toBe(1);
    expect<i32>(core.receiverOpen(now, gen(now))).toBe(1);
    expect<i32>(core.corrupted(now, gen(now))).toBe(0);
    take(now, 8, 5);
  });
  test("an in-call word written over: STALE for every end, then condemn fails the channel", () => {
    const a = arena(64);
    const ch = channelIn(a);
    store<i64>(ch + PROD_CALLS, load<i64>(ch + PROD_CALLS) ^ (1 << 40));
    expect<i32>(reserve(ch, 8, 1)).toBe(STALE);
    expect<i32>(core.condemn(a, ch, gen(ch))).toBe(CORRUPTED);
    expect<i32>(peek(ch)).toBe(CORRUPTED, "the consumer side sees it");
  });
  test("a negative generation never enters (a zero word has tag 0)", () => {
    const a = arena(64);
    const ch = channelIn(a);
    expect<i32>(core.reserve(ch, -1, 8, 1)).toBe(STALE);
    expect<i32>(core.peek(a + 4 * PAGE, -1, 1)).toBe(INVALID, "outside the memory");
  });
});

describe("destruction", () => {
  test("blocks go back only once both sides are closed", () => {
    const a = arena(64);
    const ch = channelIn(a);
    const ring = first(ch);
    const g = gen(ch);
    expect<i32>(dropSender(ch)).toBe(0);
    expect<i32>(arenaGeneration(a, ch)).toBe(g, "the receiver is open");
    expect<i32>(peek(ch)).toBe(core.DISCONNECTED);
    expect<i32>(closeReceiver(ch)).toBe(OK);
    expect<i32>(arenaGeneration(a, ch)).toBe(-STALE, "control block freed");
    expect<i32>(arenaGeneration(a, ring)).toBe(-STALE, "ring freed");
    expect<i32>(arenaFreeCount(a, ARENA_CONTROL_CLASS)).toBe(1);
    expect<i32>(arenaFreeCount(a, arenaRingClass(64))).toBe(1);
  });
  test("a claim in progress keeps the channel until it ends (a producer still inside)", () => {
    const a = arena(64);
    const ch = channelIn(a);
    const g = gen(ch);
    const p = reserve(ch, 8, 1);
    expect<bool>(p >= FIRST_OFFSET).toBe(true);
    close(ch);
    expect<i32>(arenaGeneration(a, ch)).toBe(g, "not freed under the claim");
    expect<i64>(load<i64>(ch + PROD_CALLS) & 0x1fffffff).toBe(1, "one call inside");
    // The producer, running on (its end settled by another thread), commits: it leaves last.
    for (let i = 0; i < 8; i++) store<u8>(<usize>p + i, 1);
    core.commit(ch, g, p, 1, 8);
    expect<i32>(arenaGeneration(a, ch)).toBe(-STALE, "freed as the last call left");
  });
  test("a message peeked keeps the channel until it is released (a consumer still inside)", () => {
    const a = arena(64);
    const ch = channelIn(a);
    const g = gen(ch);
    expect<i32>(send(ch, 8, 3)).toBe(OK);
    const p = peek(ch);
    expect<bool>(p >= FIRST_OFFSET).toBe(true);
    close(ch);
    expect<i32>(arenaGeneration(a, ch)).toBe(g, "not freed under the decode");
    expect<i32>(core.release(ch, g, 1)).toBe(OK);
    expect<i32>(arenaGeneration(a, ch)).toBe(-STALE);
  });
  test("unpeek ends a peek's stay inside without consuming", () => {
    const a = arena(64);
    const ch = channelIn(a);
    expect<i32>(send(ch, 8, 4)).toBe(OK);
    const p = peek(ch);
    core.unpeek(ch, 1);
    expect<i64>(load<i64>(ch + CONS_CALLS) & 0xffffffff).toBe(0);
    expect<i32>(peek(ch)).toBe(p, "still there");
    release(ch);
  });
  test("every ring of a grown channel goes back, and the arena serves the next channels", () => {
    const a = arena(256);
    const ch = channelIn(a, UNBOUNDED, 64);
    for (let i = 0; i < 300; i++) expect<i32>(send(ch, i % 90, i)).toBe(OK);
    for (let i = 0; i < 150; i++) take(ch, i % 90, i);
    const rings = ringsOf(ch);
    expect<bool>(rings.length >= 4).toBe(true, "grew several times");
    let bytes: i64 = 0;
    for (let i = 0; i < rings.length; i++) {
      bytes += BLOCK_HEADER + arenaClassBytes(core.arenaClassOf(a, rings[i]));
    }
    expect<i64>(bytes).toBe(storageBytes(ch), "STORAGE counts every ring's block");
    const carved = arenaCarved(a);
    close(ch); // 150 messages still buffered: dropped with the channel
    expect<i32>(freeBlocks(a)).toBe(rings.length + 1, "every ring and the control block");
    for (let i = 0; i < rings.length; i++) expect<i32>(arenaGeneration(a, rings[i])).toBe(-STALE);
    // The same again: no fresh space is carved.
    const again = channelIn(a, UNBOUNDED, 64);
    for (let i = 0; i < 300; i++) expect<i32>(send(again, i % 90, i)).toBe(OK);
    for (let i = 0; i < 300; i++) take(again, i % 90, i);
    close(again);
    expect<i32>(arenaCarved(a)).toBe(carved);
  });
  test("10,000 channels created, used and destroyed: the arena's bytes stay at their baseline", () => {
    const a = arena(64);
    const warm = channelIn(a, 4, 128);
    close(warm);
    const carved = arenaCarved(a);
    const free = freeBlocks(a);
    for (let i = 0; i < 10000; i++) {
      const ch = channelIn(a, 4, 128, 65536);
      if (send(ch, i % 100, i) != OK) expect<i32>(i).toBe(-1, "send");
      const p = peek(ch);
      if (p < FIRST_OFFSET || peekLength() != i % 100) expect<i32>(i).toBe(-1, "peek");
      release(ch);
      if ((i & 1) == 0) {
        expect<i32>(dropSender(ch)).toBe(0);
        closeReceiver(ch);
      } else {
        closeReceiver(ch);
        dropSender(ch);
      }
    }
    expect<i32>(arenaCarved(a)).toBe(carved, "no fresh space");
    expect<i32>(freeBlocks(a)).toBe(free, "every block back on its list");
  });
  test("a channel found corrupted keeps its blocks: a leak, never a guess", () => {
    const a = arena(64);
    const ch = channelIn(a);
    const g = gen(ch);
    store<i32>(first(ch) + RING_NEXT, <i32>first(ch)); // nonsense, found at the next seal
    expect<i32>(core.corrupt(ch, g)).toBe(CORRUPTED);
    close(ch);
    expect<i32>(arenaGeneration(a, ch)).toBe(g);
    expect<i32>(freeBlocks(a)).toBe(0);
  });
});

describe("the channel's quota and the arena's cap", () => {
  test("maxBytes: NO_MEMORY (the channel's quota) in an arena with room to spare", () => {
    const a = arena(256);
    const ch = channelIn(a, UNBOUNDED, 64, 4 * PAGE);
    expect<i32>(reserve(ch, 5 * PAGE, 1)).toBe(TOO_LARGE);
    let status = OK;
    let sent = 0;
    while ((status = send(ch, 1000, sent)) == OK) sent++;
    expect<i32>(status).toBe(NO_MEMORY);
    expect<bool>(<u32>storageBytes(ch) <= 4 * PAGE).toBe(true);
    expect<bool>(arenaCarved(a) < 8 * PAGE).toBe(true, "the arena had room");
  });
  test("the arena's cap: ARENA_FULL for a channel within its quota, creating included", () => {
    const a = arena(4); // 256 KiB
    const ch = channelIn(a, UNBOUNDED, 64, 64 * MB);
    let status = OK;
    let sent = 0;
    while ((status = send(ch, 1000, sent)) == OK) sent++;
    expect<i32>(status).toBe(ARENA_FULL);
    expect<bool>(storageBytes(ch) < 4 * PAGE).toBe(true, "well within its quota");
    // Drained, the channel goes on in the rings it has.
    for (let i = 0; i < sent; i++) take(ch, 1000, i);
    expect<i32>(send(ch, 1000, 7)).toBe(OK);
    take(ch, 1000, 7);
    // Fill the arena with channels: then creating one fails the same way.
    let made = 0;
    let last = 0;
    while ((last = core.create(a, UNBOUNDED, MB, 1024, 0)) >= FIRST_OFFSET) made++;
    expect<i32>(last).toBe(ARENA_FULL);
    expect<bool>(made > 0).toBe(true);
  });
});

describe("the arena's corruption", () => {
  test("is every channel's: each call fails, and validate says so", () => {
    const a = arena(64);
    const x = channelIn(a);
    const y = channelIn(a);
    expect<i32>(send(x, 8, 1)).toBe(OK);
    const gx = gen(x);
    const gy = gen(y);
    core.arenaCorrupt(a);
    expect<i32>(core.peek(x, gx, 1)).toBe(CORRUPTED);
    expect<i32>(core.reserve(y, gy, 8, 1)).toBe(CORRUPTED);
    expect<i32>(core.validate(y, gy)).toBe(CORRUPTED);
    expect<i32>(core.usable(y, gy)).toBe(CORRUPTED);
    expect<i32>(load<i32>(a + ARENA_CORRUPT)).toBe(1);
    expect<usize>(arenaOf(x)).toBe(a);
  });
});
