// The arena: many channels in one shared memory. A header at a fixed offset, then blocks of a
// few size classes — control blocks and power-of-two rings — handed out and taken back by any
// thread at once: a free list per class (a Treiber stack whose head carries an ABA tag), a bump
// pointer through never-used space, and `memory.grow` when the bump pointer reaches the end,
// up to a cap. Every channel lives in one (see life.ts, and "For the channel layer" below for
// the rules it follows).
//
// Like the rest of the core, this code never allocates and keeps no state but per-instance
// caches: every thread runs its own instance over the same memory, and everything shared is in
// the header and the blocks' headers below. All atomics are sequentially consistent.
//
// ## Untrusted memory
// As in channel.ts: every thread that maps the memory can write anything anywhere. Every value
// read from the header or a block header is validated before it is used — the config by a check
// word (once per instance), BUMP against the cap and the memory, a free-list link by
// its alignment, its range and its block's class and check word — and every loop is bounded (a
// CAS retry by SPIN_LIMIT, a list walk by the most blocks of its class the cap holds). A broken
// invariant sets ARENA_CORRUPT (sticky, arena-wide) to the number of the check that failed
// (see `fail`), and from then on every call on the arena returns CORRUPTED. A free list that was
// made to loop, or to link a block twice, is found before a block is handed out twice: taking a
// block off a list claims it by a CAS of its life word from free to in use, which fails for a
// block already taken (see `popTake`). A block's payload is the caller's; the arena reads only
// its header, and writes a payload only to zero it when it is freed.

import {
  ARENA_FULL, BUSY, CONTROL_SIZE, CORRUPTED, FIRST_OFFSET, GROW_FAILED, INVALID, MIN_CAPACITY, OK,
  PAGE, RING_DATA, SPIN_LIMIT, STALE, isPowerOfTwo, mix,
} from "./layout";
import { grew, memoryEnd, reach } from "./channel";

// ── Arena header (byte offsets from the arena's start `a`; ARENA_BASE in a channel memory)
//
//   a + 0     ┌──────────────────────────────────────────────────────────────────┐
//             │ ARENA_MAGIC │ ARENA_VERSION │ ARENA_CAP │ ARENA_CHECK │          │ config
//             │ ARENA_CORRUPT │ ARENA_ID (two words)                             │
//   a + 64    ├──────────────────────────────────────────────────────────────────┤
//             │ ARENA_BUMP                                                      │ fresh space
//   a + 128   ├──────────────────────────────────────────────────────────────────┤
//             │ free-list head of class 0: i64 = tag (high half) | block (low)   │ one line
//   a + 192   ├──────────────────────────────────────────────────────────────────┤ per class,
//             │ free-list head of class 1 ...                                    │ so threads
//             ┆ ... (ARENA_CLASSES lines)                                        ┆ freeing one
//   a + 1856  ├──────────────────────────────────────────────────────────────────┤ class do not
//             │ ARENA_SELECT                                                     │ slow others
//   a + 1920  ├──────────────────────────────────────────────────────────────────┤ class do not
//             │ ARENA_PROBE                                                      │ slow others
//   a + 2048  ├──────────────────────────────────────────────────────────────────┤
//             │ blocks, carved from ARENA_BUMP upwards, each 64-byte aligned     │
//             └──────────────────────────────────────────────────────────────────┘
//
// ARENA_CHECK is a hash of the arena's address, ARENA_CAP and the version: a thread reads the
// config once, checks it and keeps its own copy. ARENA_CAP is the most bytes the arena spans
// from `a` (whole pages): blocks are never carved past `a + ARENA_CAP` (see "Growth"). ARENA_BUMP
// is the offset of the first byte never handed out.
//
// ARENA_ID, ARENA_ISOLATED and ARENA_PROBE are the JavaScript side's (src/_arena.ts), which tells
// memories apart by them; the arena never reads them. The creator writes ARENA_ID (random) once, right after
// `arenaInit`; any thread writes the probe.
//
// Whoever creates the memory gives the arena every page of it from `a` on, now and later:
// nothing else may grow that memory and use what it grew (the arena carves blocks from every
// page past BUMP). Create the memory with `maximum` = (a + cap) / PAGE pages: the engine then
// holds every growth to the cap.

/** Where the arena header sits in a memory that holds an arena. */
export const ARENA_BASE: i32 = 0;
export const ARENA_MAGIC_VALUE: i32 = 0x4152454e; // "AREN"
export const ARENA_LAYOUT_VERSION: i32 = 3;
export const ARENA_MAGIC: i32 = 0;
export const ARENA_VERSION: i32 = 4;
export const ARENA_CAP: i32 = 8;
export const ARENA_CHECK: i32 = 12;
/** 0 while the arena is intact, else (sticky) the number of the check that failed. */
export const ARENA_CORRUPT: i32 = 16;
/** A random identity of the arena's memory (two words), for the JavaScript side. */
export const ARENA_ID: i32 = 20;
/**
 * 1 in the arena of one isolated channel (`channel({ isolated: true })`), written by its creator
 * with ARENA_ID (see src/_arena.ts); the arena never reads it.
 */
export const ARENA_ISOLATED: i32 = 28;
/** A word any thread may write to tell whether two memories are one (see src/_arena.ts). */
export const ARENA_PROBE: i32 = 1920;
/**
 * The word selectors over this arena's channels sleep on (see "Selecting" in wait.ts): moved and
 * notified by a publish on a channel with selectors registered. Zero in an arena made before it.
 */
export const ARENA_SELECT: i32 = 1856;
export const ARENA_BUMP: i32 = 64;
/** Free-list head of class k: an i64 at ARENA_HEADS + k * 64. */
export const ARENA_HEADS: i32 = 128;
export const ARENA_HEADER_SIZE: i32 = 2048;
/**
 * Size classes: class 0 holds a control block (CONTROL_SIZE bytes); class k ≥ 1 holds a ring of
 * capacity MIN_CAPACITY << (k - 1) with its descriptor (RING_DATA + capacity bytes), up to a ring
 * of 512 MiB (k = 26), the largest a channel can have (see `attach` in channel.ts).
 */
export const ARENA_CLASSES: i32 = 27;
export const ARENA_CONTROL_CLASS: i32 = 0;
/**
 * Pages a growth takes at least: fewer, larger growths (each is a call into the engine, and
 * makes every other thread refresh its view of the memory). Untouched pages cost no RSS.
 */
export const ARENA_GROW_PAGES: i32 = 16;
/** Largest `a + cap`: every offset, and every end of a block, is a positive i32. */
export const ARENA_MAX_END: i32 = 0x7fff0000;

// ── Block
//
// A block is a 64-byte header followed by its payload (the bytes its class holds, rounded up to
// a multiple of 64); the offset handed out is the payload's, p:
//
//   p - 64    │ BLOCK_CHECK │ BLOCK_CLASS │ BLOCK_LIFE │ BLOCK_OWNER │ BLOCK_NEXT │    │
//   p         │ payload: zero when handed out, the holder's until it is freed        │
//
// BLOCK_CLASS never changes once the block is carved, and BLOCK_CHECK is a hash of p and the
// class (never 0), written once, by a CAS from 0, when the block is carved: so a header with
// the right check is a block of that class, whatever state it is in. BLOCK_LIFE is the block's
// generation (bits 1–31; it counts the frees of the block, wrapping) and BLOCK_IN_USE (bit 0).
// BLOCK_OWNER is what the allocating caller passed (for a channel's ring: its control block),
// 0 while free. BLOCK_NEXT links a free block to the next one of its list (0: the last).

export const BLOCK_HEADER: i32 = 64;
export const BLOCK_CHECK: i32 = 0;
export const BLOCK_CLASS: i32 = 4;
export const BLOCK_LIFE: i32 = 8;
export const BLOCK_OWNER: i32 = 12;
export const BLOCK_NEXT: i32 = 16;
export const BLOCK_IN_USE: i32 = 1;
/** The owner a channel's control block is allocated for (its rings are allocated for it). */
export const CONTROL_OWNER: i32 = 0;

// ── For the channel layer: the contract for wiring this in (life.ts follows it; the two
//    departures are noted there: the in-call word is two, one per side, and a channel whose
//    memory was found corrupted keeps its blocks)
//
// 1. Blocks. A channel's control block is a block of class ARENA_CONTROL_CLASS at `ch`, each of
//    its rings a block of class `arenaRingClass(capacity)` allocated with owner `ch`; an end
//    carries `ch` and the control block's generation.
// 2. Words. A ring descriptor gains RING_OWNER (= ch) and RING_GEN (the ring's generation when
//    it was allocated), both covered by RING_CHECK, and every per-instance cache keyed by a ring
//    address (`capacityOf`'s, producer.ts's `prodRing`) is keyed by address and RING_GEN. The
//    control block gains an in-call word: a tag (high half: its generation + 1, so that a zero
//    or reused block never matches) and the number of calls inside (low half).
// 3. Checks. `capacityOf`, which every ring address read from shared memory passes, accepts a
//    ring only if `arenaCheck(ARENA_BASE, ring, RING_GEN, ch)` is OK (else the channel fails).
//    Every call on the channel enters by a CAS of the in-call word from (tag, n) to
//    (tag, n + 1), with the tag of its end's generation, and leaves by the reverse: a thread
//    holding a stale `ch` fails that CAS and touches nothing else.
// 4. Freeing. A ring passes to another channel only once no thread can still claim in it, and
//    no check covers the instant between a producer's check and its CAS on TAIL; so blocks are
//    freed only when no call can be inside: the channel is destroyed, once its last end is
//    gone, by a CAS of the in-call word from (tag, 0) to (tag, DEAD), which no entry follows,
//    and then its rings and last its control block go back by `arenaFree`. Until then retired
//    rings stay on the channel's FREE_RINGS list, where reuse is safe ("Positions stay
//    monotonic" in ring.ts). (A ring may go back earlier if, after it was retired, the consumer
//    reads the in-call count as 1: its own call.) A thread that dies inside a call keeps the
//    channel's blocks allocated: a leak, never a reuse under a live claim.
// 5. Zero. `arenaFree` zeroes the payload and counts a new generation before the block can be
//    handed out again: a ring's next channel finds it zero, as `initRing` expects.
// 6. Errors. ARENA_FULL (the arena's cap) and GROW_FAILED become errors of their own, distinct
//    from NO_MEMORY (the channel's MAX_BYTES, which stays a per-channel quota counted in
//    STORAGE); ARENA_CORRUPT set is a ChannelCorruptedError of every channel in the arena, so
//    `enter` (channel.ts) checks it beside the channel's CORRUPT.

// ── Classes

/** Payload bytes of class `k` (what it holds, rounded up to a multiple of 64). */
// @ts-ignore: decorator
@inline function payloadBytes(k: i32): i32 {
  const holds = k == ARENA_CONTROL_CLASS ? CONTROL_SIZE : RING_DATA + (MIN_CAPACITY << (k - 1));
  return (holds + 63) & ~63;
}

/** Bytes a block of class `k` takes, its header included. */
// @ts-ignore: decorator
@inline export function blockBytes(k: i32): i64 {
  return <i64>BLOCK_HEADER + payloadBytes(k);
}

/** @returns the payload bytes of a block of class `k`, or -INVALID for no such class. */
export function arenaClassBytes(k: i32): i32 {
  return <u32>k < <u32>ARENA_CLASSES ? payloadBytes(k) : -INVALID;
}

/** @returns the class of a ring of `capacity` bytes, or -INVALID for no such ring. */
export function arenaRingClass(capacity: i32): i32 {
  if (!isPowerOfTwo(capacity) || capacity < MIN_CAPACITY) return -INVALID;
  const k = 1 + ctz<i32>(capacity) - ctz<i32>(MIN_CAPACITY);
  return k < ARENA_CLASSES ? k : -INVALID;
}

/** Check word of the config. */
// @ts-ignore: decorator
@inline function configCheck(a: usize, cap: i32): i32 {
  return mix(mix(<i32>a ^ ARENA_MAGIC_VALUE, cap), ARENA_LAYOUT_VERSION);
}

/** Check word of the block at `p` (payload offset) of class `k`; never 0. */
// @ts-ignore: decorator
@inline function blockCheck(p: usize, k: i32): i32 {
  return mix(<i32>p ^ 0x424c4f43, k) | 1;
}

// @ts-ignore: decorator
@inline function headAt(a: usize, k: i32): usize {
  return a + ARENA_HEADS + (<usize>k << 6);
}

// ── This thread's view: the arena whose config is cached, and its end (`a + cap`)

let arenaAt: usize = -1;
let arenaEnd: i64 = 0;

/**
 * Reports that the arena broke an invariant: sets ARENA_CORRUPT (sticky; the first check to
 * fail stays) to `check`. The checks: 1 marked by a caller (`arenaCorrupt`); 2 the config's
 * check word; 3 the cap; 4 BUMP out of place; 5 a block carved from BUMP already had a header
 * (BUMP was written back); 6 is no longer used (layout version 2 checked a growth
 * reservation word that version 3 does without); 7 a free-list head, 8 a free-list link, not a block of its class; 9 a block
 * taken off a free list was in use (a list that loops, or links a block twice); 10 a free list
 * longer than its class can have blocks (a loop), 11 a block in use on a free list, both found
 * by `arenaFreeCount` over a list that stood still; 12 a CAS retried SPIN_LIMIT times.
 * @returns CORRUPTED.
 */
function fail(a: usize, check: i32): i32 {
  atomic.cmpxchg<i32>(a + ARENA_CORRUPT, 0, check);
  return CORRUPTED;
}

/**
 * Loads and checks the arena's config into this instance (once per arena).
 * @returns OK; INVALID when `a` holds no arena of this layout; CORRUPTED when it does but its
 * config was overwritten (then the arena is failed).
 */
function attach(a: usize): i32 {
  if ((a & (PAGE - 1)) != 0 || !reach(<i64>a + ARENA_HEADER_SIZE)) return INVALID;
  // Waits for `arenaInit`'s store of MAGIC, which publishes the config read below.
  if (atomic.load<i32>(a + ARENA_MAGIC) != ARENA_MAGIC_VALUE) return INVALID;
  if (load<i32>(a + ARENA_VERSION) != ARENA_LAYOUT_VERSION) return INVALID;
  const cap = load<i32>(a + ARENA_CAP);
  if (load<i32>(a + ARENA_CHECK) != configCheck(a, cap)) return fail(a, 2);
  if (!capOk(a, cap)) return fail(a, 3);
  arenaAt = a;
  arenaEnd = <i64>a + cap;
  return OK;
}

// @ts-ignore: decorator
@inline function capOk(a: usize, cap: i32): bool {
  return cap >= PAGE && (cap & (PAGE - 1)) == 0 && <i64>a + cap <= <i64>ARENA_MAX_END;
}

/**
 * The gate of every call: OK, INVALID (no arena at `a`) or CORRUPTED. The step functions below
 * (exported for the tests) expect their caller to have passed it.
 */
// @ts-ignore: decorator
@inline export function enter(a: usize): i32 {
  if (a != arenaAt) {
    const status = attach(a);
    if (status != OK) return status;
  }
  return atomic.load<i32>(a + ARENA_CORRUPT) != 0 ? CORRUPTED : OK;
}

/**
 * Whether `p` is the payload of a block of class `k` (or of any class, for k = -1): aligned,
 * inside the arena and the memory, with a header of that class and the right check. Every
 * field it reads is written once, when the block is carved, so the answer for a block never
 * changes (only a stray write changes it).
 * @returns the block's class, or -1.
 */
function classAt(p: usize, k: i32): i32 {
  const first = arenaAt + ARENA_HEADER_SIZE + BLOCK_HEADER;
  if ((p & 63) != 0 || p < first || <i64>p > arenaEnd) return -1;
  const h = p - BLOCK_HEADER;
  if (!reach(<i64>p)) return -1;
  const c = load<i32>(h + BLOCK_CLASS);
  if ((k >= 0 && c != k) || <u32>c >= <u32>ARENA_CLASSES) return -1;
  if (<i64>p + payloadBytes(c) > arenaEnd || !reach(<i64>p + payloadBytes(c))) return -1;
  return load<i32>(h + BLOCK_CHECK) == blockCheck(p, c) ? c : -1;
}

// ── Setting up

/**
 * Sets an arena up at `a` (page-aligned) that may span `cap` bytes (whole pages): its header,
 * and all of the memory after it, now and as it grows, for blocks. The memory from `a` to its
 * end must be zero, and nothing but the arena may grow it from now on.
 * Not thread-safe: the creating thread calls it before any other thread sees the memory.
 * @returns OK, or INVALID for an `a` or a `cap` out of range, or a memory already larger than
 * the cap.
 */
export function arenaInit(a: usize, cap: i32): i32 {
  if ((a & (PAGE - 1)) != 0 || !capOk(a, cap)) return INVALID;
  const end = memoryEnd();
  if (<i64>end < <i64>a + ARENA_HEADER_SIZE || <i64>end > <i64>a + cap) return INVALID;
  store<i32>(a + ARENA_VERSION, ARENA_LAYOUT_VERSION);
  store<i32>(a + ARENA_CAP, cap);
  store<i32>(a + ARENA_CHECK, configCheck(a, cap));
  store<i32>(a + ARENA_CORRUPT, 0);
  store<i32>(a + ARENA_BUMP, <i32>(a + ARENA_HEADER_SIZE));
  for (let k = 0; k < ARENA_CLASSES; k++) store<i64>(headAt(a, k), 0);
  // Publishes the header: a thread that sees ARENA_MAGIC sees everything above.
  atomic.store<i32>(a + ARENA_MAGIC, ARENA_MAGIC_VALUE);
  arenaAt = -1;
  return OK;
}

// ── Free lists: pop and push, each a read step and a CAS step (exported for the tests, which
//    interleave the steps of two threads by hand)
//
// A head is an i64: the top block's offset in the low half, a tag in the high half that every
// successful pop and push increments. A pop reads the head (h, p), then p's BLOCK_NEXT (n), then
// CASes the head from (h, p) to (h + 1, n). Without the tag, other threads could take p and n
// and give p back between the read of n and the CAS, which would then succeed and make n, now
// in use, the head again (ABA); with it, the CAS fails, since every pop and push in between
// moved the tag. The tag wraps after 2^32 operations on one list: a pop would have to stall for
// exactly that many for its CAS to succeed wrongly, and even then the claim of `popTake` stops
// a block in use from being handed out twice.
//
// A pop may read BLOCK_NEXT of a block that another thread took meanwhile: memory is never
// returned, so the read is safe, and BLOCK_NEXT holds 0 or a block of the same class at any
// time (a free block's class never changes), so checking it never fails a sound arena.

/**
 * Pop or push, step 1: the head of class `k`'s free list. Reading a head that a push's CAS wrote
 * makes what that push published visible: the block on top is zero, free and linked.
 */
// @ts-ignore: decorator
@inline export function headOf(a: usize, k: i32): i64 {
  return atomic.load<i64>(headAt(a, k));
}

/**
 * Pop, step 2: the block below the top of `head`, as read now.
 * @returns its offset, 0 (the list ends there), or -1 (the list is broken: the arena failed).
 */
export function popNext(a: usize, k: i32, head: i64): i64 {
  const p = <usize><u32>head;
  if (classAt(p, k) != k) {
    fail(a, 7);
    return -1;
  }
  // The link the push of p published, or a later value if p was taken since (then the CAS of
  // step 3 fails, the head having moved).
  const next = <usize><u32>atomic.load<i32>(p - BLOCK_HEADER + BLOCK_NEXT);
  if (next != 0 && classAt(next, k) != k) {
    fail(a, 8);
    return -1;
  }
  return <i64>next;
}

/**
 * Pop, step 3: moves the head from `head` to `next` (read by `popNext` for that head) and
 * claims the block that was on top.
 * @returns the block's payload offset, now in use; BUSY if the head moved since it was read
 * (read it again); or CORRUPTED.
 */
export function popTake(a: usize, k: i32, head: i64, next: i64): i32 {
  const top = ((head >>> 32) + 1) << 32;
  // Succeeds only if no pop or push came between the read of `head` and now (the tag).
  if (atomic.cmpxchg<i64>(headAt(a, k), head, top | next) != head) return BUSY;
  // Ours now, unless the list linked it twice or looped back to it: then another pop took it
  // too, and only one claim can succeed. (A stale `arenaFree` expects it in use: no effect.)
  const p = <usize><u32>head;
  const life = atomic.load<i32>(p - BLOCK_HEADER + BLOCK_LIFE);
  if (
    (life & BLOCK_IN_USE) != 0 ||
    atomic.cmpxchg<i32>(p - BLOCK_HEADER + BLOCK_LIFE, life, life | BLOCK_IN_USE) != life
  ) return fail(a, 9);
  // Off the list: its link means nothing now (a pop that read p before reads 0 or the old
  // link, and its CAS fails either way).
  atomic.store<i32>(p - BLOCK_HEADER + BLOCK_NEXT, 0);
  return <i32>p;
}

/**
 * Push, step 2: links the free block `p` above the top of `head`.
 * @returns OK, or CORRUPTED if that top is not a block of class `k`.
 */
export function pushLink(a: usize, k: i32, p: usize, head: i64): i32 {
  const top = <usize><u32>head;
  if (top != 0 && classAt(top, k) != k) return fail(a, 7);
  // Published by the CAS of step 3.
  atomic.store<i32>(p - BLOCK_HEADER + BLOCK_NEXT, <i32>top);
  return OK;
}

/**
 * Push, step 3: makes `p` (linked by `pushLink` for `head`) the head. Publishes the block —
 * zeroed, marked free, linked — to the thread that pops it.
 * @returns OK, or BUSY if the head moved since it was read (link again).
 */
export function pushPublish(a: usize, k: i32, p: usize, head: i64): i32 {
  const top = ((head >>> 32) + 1) << 32;
  return atomic.cmpxchg<i64>(headAt(a, k), head, top | <i64>p) == head ? OK : BUSY;
}

/** Takes a block off class `k`'s free list. @returns it, 0 (empty), or CORRUPTED. */
function pop(a: usize, k: i32): i32 {
  for (let turn = 0; turn < SPIN_LIMIT; turn++) {
    const head = headOf(a, k);
    if (<u32>head == 0) return 0;
    const next = popNext(a, k, head);
    if (next < 0) return CORRUPTED;
    const p = popTake(a, k, head, next);
    if (p != BUSY) return p;
  }
  return fail(a, 12);
}

/** Puts the free block `p` on class `k`'s free list. @returns OK or CORRUPTED. */
function push(a: usize, k: i32, p: usize): i32 {
  for (let turn = 0; turn < SPIN_LIMIT; turn++) {
    const head = headOf(a, k);
    if (pushLink(a, k, p, head) != OK) return CORRUPTED;
    if (pushPublish(a, k, p, head) == OK) return OK;
  }
  return fail(a, 12);
}

// ── Fresh space: the bump pointer
//
// ARENA_BUMP only moves up, by a CAS from the value read to that value plus one block, and only
// to an end inside the memory as the thread that moves it sees it: so every byte is carved into
// one block, once, and the pages it lies in exist. BUMP is never reused (fresh space is never
// given back: freed blocks go to their free lists), so the CAS has no ABA.

/**
 * Carve, step 2 (step 1 reads ARENA_BUMP): carves a block of class `k` at `bump`, as read, if
 * the memory holds it.
 * @returns its payload offset (a zero block, in use, generation 0); OK if the memory must grow
 * first (to the block's end, by `growTo`; then read BUMP again); BUSY if BUMP moved (read it
 * again); ARENA_FULL if the cap does not hold the block; or CORRUPTED.
 */
export function carveAt(a: usize, k: i32, bump: i32): i32 {
  const b = <i64><u32>bump;
  if ((b & 63) != 0 || b < <i64>a + ARENA_HEADER_SIZE || b > arenaEnd || !reach(b)) {
    return fail(a, 4);
  }
  const end = b + blockBytes(k);
  if (end > arenaEnd) return ARENA_FULL;
  if (!reach(end)) return OK;
  // Takes [b, end) for this thread: BUMP only moves up, so nobody else can take it.
  if (atomic.cmpxchg<i32>(a + ARENA_BUMP, bump, <i32>end) != bump) return BUSY;
  // The block is this thread's alone. Its header is still zero, unless BUMP was written back
  // over blocks carved before: the CAS of the check word finds that.
  const h = <usize>b;
  const p = h + BLOCK_HEADER;
  if (atomic.cmpxchg<i32>(h + BLOCK_CHECK, 0, blockCheck(p, k)) != 0) return fail(a, 5);
  store<i32>(h + BLOCK_CLASS, k);
  // The header reaches other threads with the block's offset, which the caller publishes.
  atomic.store<i32>(h + BLOCK_LIFE, BLOCK_IN_USE);
  return <i32>p;
}

/** Carves a fresh block of class `k`, growing the memory as needed. @returns it or a status. */
function carve(a: usize, k: i32): i32 {
  for (let turn = 0; turn < SPIN_LIMIT; turn++) {
    const bump = atomic.load<i32>(a + ARENA_BUMP);
    const p = carveAt(a, k, bump);
    if (p >= FIRST_OFFSET || (p != OK && p != BUSY)) return p;
    if (p == OK) {
      const status = growTo(a, <i64><u32>bump + blockBytes(k));
      if (status != OK) return status;
    }
  }
  return fail(a, 12);
}

// ── Growth
//
// `memory.grow(n)` is atomic: it appends n pages to the memory as it is at that instant and
// returns where they start. Any thread that needs the memory to reach further grows it itself:
// it never waits for, nor depends on, another thread's growth, so a thread stopped anywhere
// (or a stray write) cannot hold the others up. Each growth is at least ARENA_GROW_PAGES and
// at most what the cap leaves as the thread read the size. Threads that grow at once may grow
// more than either needed (each by ARENA_GROW_PAGES); pages grown beyond a need are where the
// next blocks are carved, since the bump pointer walks the whole memory, and none is handed
// out twice: only the bump CAS hands out fresh space. Growers together may pass ARENA_CAP by
// such overlap only as far as the memory's `maximum` lets them, which the creator sets to the
// cap (src/_arena.ts); the bump pointer never passes the cap either way.

/**
 * Grows the memory by at least what it needs to reach `end` bytes (ARENA_GROW_PAGES or more),
 * at most to the cap.
 * @returns OK (it reaches `end` now: grown by this thread or another), ARENA_FULL (the cap
 * does not reach `end`) or GROW_FAILED (the engine refused to grow it).
 */
export function growTo(a: usize, end: i64): i32 {
  if (end > arenaEnd) return ARENA_FULL;
  const capPages = <i32>(arenaEnd / PAGE);
  const need = <i32>((end + PAGE - 1) / PAGE);
  // Bounded: a failed growth is retried only after another thread's growth moved the size.
  for (let turn = 0; turn < 2; turn++) {
    const size = <i32>(memoryEnd() / PAGE);
    if (size >= need) return OK;
    const pages = min(max(need - size, ARENA_GROW_PAGES), capPages - size);
    // Refused ARENA_GROW_PAGES (a memory whose `maximum` is near): just what is needed.
    if (memory.grow(pages) >= 0 || (pages > need - size && memory.grow(need - size) >= 0)) {
      grew();
      return OK;
    }
    // Refused: by the engine, or because another thread grew the memory meanwhile and these
    // pages would pass its maximum. In the second case the memory may reach `end` now.
    if (reach(end)) return OK;
  }
  return GROW_FAILED;
}

// ── The calls

/**
 * Hands out a zeroed block of class `k` for `owner` (any word the caller wants recorded, such
 * as the channel it belongs to): the last one freed in that class, else one carved from fresh
 * space, growing the memory up to the cap as needed. Its generation is `arenaGeneration(p)`.
 * @returns the block's payload offset (≥ FIRST_OFFSET, 64-byte aligned, `arenaClassBytes(k)`
 * bytes); or ARENA_FULL (the cap is reached: free lists of other classes are not split),
 * GROW_FAILED (the engine would not grow the memory below the cap), INVALID (no such class, or
 * no arena at `a`), CORRUPTED. Never waits for another thread.
 */
export function arenaAlloc(a: usize, k: i32, owner: i32): i32 {
  const status = enter(a);
  if (status != OK) return status;
  if (<u32>k >= <u32>ARENA_CLASSES) return INVALID;
  // A popped block is zero: its freer zeroed it before the push that published it.
  let p = pop(a, k);
  if (p == 0) p = carve(a, k);
  if (p < FIRST_OFFSET) return p;
  // Published with the block's offset, by the caller.
  atomic.store<i32>(<usize>p - BLOCK_HEADER + BLOCK_OWNER, owner);
  return p;
}

/**
 * Free, step 1: ends the holder's use of block `p`, got with generation `gen`: counts a new
 * generation (so `arenaCheck` of the old one is STALE from now on), clears the owner and zeroes
 * the payload. Only one call can do this for a generation. @returns the block's class, or
 * -STALE (not in use with that generation: freed already), -INVALID (not a block), -CORRUPTED.
 */
export function freeClaim(a: usize, p: usize, gen: i32): i32 {
  const status = enter(a);
  if (status != OK) return -status;
  const k = classAt(p, -1);
  if (k < 0) return -INVALID;
  if (gen < 0) return -STALE;
  const used = (gen << 1) | BLOCK_IN_USE;
  // One CAS per generation: of two frees of the same block, the second fails here.
  if (atomic.cmpxchg<i32>(p - BLOCK_HEADER + BLOCK_LIFE, used, (gen + 1) << 1) != used) {
    return -STALE;
  }
  // Off every list and nobody's: written here, published by the push.
  atomic.store<i32>(p - BLOCK_HEADER + BLOCK_OWNER, 0);
  memory.fill(p, 0, payloadBytes(k));
  return k;
}

/**
 * Gives block `p`, got with generation `gen`, back to the arena: zeroed, with a new generation,
 * on its class's free list.
 * @returns OK; STALE (it is not in use with that generation: freed already); INVALID (`p` is
 * not a block); CORRUPTED.
 */
export function arenaFree(a: usize, p: usize, gen: i32): i32 {
  const k = freeClaim(a, p, gen);
  if (k < 0) return -k;
  return push(a, k, p);
}

/**
 * Whether the holder of block `p` with generation `gen` for `owner` still holds it.
 * @returns OK; STALE (freed since, and perhaps handed out again); INVALID (not a block, or one
 * in use for another owner); CORRUPTED. Racy by nature: the block may be freed right after.
 */
export function arenaCheck(a: usize, p: usize, gen: i32, owner: i32): i32 {
  const status = enter(a);
  if (status != OK) return status;
  if (classAt(p, -1) < 0) return INVALID;
  const life = atomic.load<i32>(p - BLOCK_HEADER + BLOCK_LIFE);
  if (gen < 0 || life != ((gen << 1) | BLOCK_IN_USE)) return STALE;
  return atomic.load<i32>(p - BLOCK_HEADER + BLOCK_OWNER) == owner ? OK : INVALID;
}

/**
 * Like `arenaCheck`, and the block is of class `k`: whether the holder of block `p` of class
 * `k`, got with generation `gen` for `owner`, still holds it (for a ring or a control block whose
 * address and generation were read from shared memory).
 * @returns OK; STALE (freed since); INVALID (not a block of that class, or in use for another
 * owner); CORRUPTED.
 */
export function arenaHolds(a: usize, p: usize, k: i32, gen: i32, owner: i32): i32 {
  const status = enter(a);
  if (status != OK) return status;
  if (classAt(p, k) != k) return INVALID;
  const life = atomic.load<i32>(p - BLOCK_HEADER + BLOCK_LIFE);
  if (gen < 0 || life != ((gen << 1) | BLOCK_IN_USE)) return STALE;
  return atomic.load<i32>(p - BLOCK_HEADER + BLOCK_OWNER) == owner ? OK : INVALID;
}

/** @returns the generation of block `p` while it is in use; -STALE (free), -INVALID, -CORRUPTED. */
export function arenaGeneration(a: usize, p: usize): i32 {
  const status = enter(a);
  if (status != OK) return -status;
  if (classAt(p, -1) < 0) return -INVALID;
  const life = atomic.load<i32>(p - BLOCK_HEADER + BLOCK_LIFE);
  return (life & BLOCK_IN_USE) != 0 ? life >>> 1 : -STALE;
}

/** @returns the owner recorded for block `p` (0 while free), or -INVALID, -CORRUPTED. */
export function arenaOwner(a: usize, p: usize): i32 {
  const status = enter(a);
  if (status != OK) return -status;
  if (classAt(p, -1) < 0) return -INVALID;
  return atomic.load<i32>(p - BLOCK_HEADER + BLOCK_OWNER);
}

/** @returns the class of block `p`, or -INVALID, -CORRUPTED. */
export function arenaClassOf(a: usize, p: usize): i32 {
  const status = enter(a);
  if (status != OK) return -status;
  const k = classAt(p, -1);
  return k < 0 ? -INVALID : k;
}

/** Marks the arena corrupted (for a caller that found it broken). @returns CORRUPTED. */
export function arenaCorrupt(a: usize): i32 {
  return fail(a, 1);
}

/** @returns 0 while the arena is intact, else (sticky) the number of the check that failed. */
export function arenaCorrupted(a: usize): i32 {
  return atomic.load<i32>(a + ARENA_CORRUPT);
}

// ── Accounting (diagnostics and tests)

/** @returns bytes carved from fresh space so far, headers included (racy: informational). */
export function arenaCarved(a: usize): i32 {
  if (enter(a) != OK) return -CORRUPTED;
  return atomic.load<i32>(a + ARENA_BUMP) - <i32>(a + ARENA_HEADER_SIZE);
}

/**
 * Counts the blocks on class `k`'s free list, checking each one.
 * @returns the count; -BUSY if the list changed during the walk (the count would mean
 * nothing: walk again, or walk while no thread allocates or frees); -INVALID (no such class);
 * -CORRUPTED. A walk over a list that did not change (its head, tag included, is the same
 * after as before) fails the arena for a block that is not free or a list longer than the
 * class can have blocks (a loop).
 */
export function arenaFreeCount(a: usize, k: i32): i32 {
  const status = enter(a);
  if (status != OK) return -status;
  if (<u32>k >= <u32>ARENA_CLASSES) return -INVALID;
  const at = headAt(a, k);
  const start = atomic.load<i64>(at);
  const most = <i32>((arenaEnd - a - ARENA_HEADER_SIZE) / blockBytes(k));
  let p = <usize><u32>start;
  let count = 0;
  while (p != 0) {
    let check = 0;
    if (classAt(p, k) != k) check = count == 0 ? 7 : 8;
    else if ((atomic.load<i32>(p - BLOCK_HEADER + BLOCK_LIFE) & BLOCK_IN_USE) != 0) check = 11;
    else if (++count > most) check = 10;
    if (check != 0) {
      // A link that is not a block of the class is never there (see "Free lists"); the
      // others only count if the list stood still.
      if (check > 8 && atomic.load<i64>(at) != start) return -BUSY;
      return -fail(a, check);
    }
    p = <usize><u32>atomic.load<i32>(p - BLOCK_HEADER + BLOCK_NEXT);
  }
  return atomic.load<i64>(at) == start ? count : -BUSY;
}
