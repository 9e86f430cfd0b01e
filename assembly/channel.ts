// This thread's view of a channel: its config, read and checked once (`attach`); its rings,
// validated and cached (`capacityOf`); the extent of the memory it has seen (`reach`); and the
// gate every operation passes (`enter`), which fails the channel for good once its memory is
// found broken (`fail`). Also sets a channel up (`init`) and reports its config.
//
// ## Untrusted memory
// Every thread that holds an end can write anything anywhere in this memory. So every value
// read from it is validated before it is used — ring addresses and capacities (a check word),
// positions (HEAD ≤ TAIL ≤ HEAD + capacity, aligned), record headers (a check of their fields,
// and their extent within the ring and within TAIL) — and every loop over it is bounded by what
// the layout allows (a ring walk by the number of rings the memory can hold, a record scan by
// the ring's capacity, a CAS retry by SPIN_LIMIT). A violation sets CORRUPT (sticky) and wakes
// every waiter; from then on every operation returns CORRUPTED, in every thread. A writer that
// rewrites fields consistently (check words included) can at worst make the channel deliver
// bytes from its own rings, never from the control block or outside the memory.

import {
  ADMITTED, BOUND, CONFIG_CHECK, CONS_CHECK, CONS_RING, CONTROL_SIZE, CORRUPT, CORRUPTED, DATA_SEQ,
  HEADER, ID, INVALID, LAYOUT_VERSION, MAGIC, MAGIC_VALUE, MAX_BYTES, MAX_INITIAL_CAPACITY,
  MAX_LENGTH, MAX_STORAGE, MIN_CAPACITY, OK, PAGE, PROD_RING, RECEIVED, RECEIVER, RECV_WAITING,
  RING_CAPACITY, RING_CHECK, RING_DATA, SENDERS, SPACE_SEQ, STORAGE, VERSION, configCheck,
  consCheck, initRing, isPowerOfTwo, pagesFor, ringCheck,
} from "./layout";

/**
 * Reports that the channel's memory broke an invariant: sets CORRUPT (sticky) to the number of
 * the `check` that failed (for the error message; each call site has its own) and wakes every
 * waiter, whose next call then sees it. @returns CORRUPTED.
 */
export function fail(ch: usize, check: i32): i32 {
  if (atomic.load<i32>(ch + CORRUPT) == 0) atomic.store<i32>(ch + CORRUPT, check);
  atomic.add<i32>(ch + DATA_SEQ, 1);
  atomic.notify(ch + DATA_SEQ, -1);
  atomic.add<i32>(ch + SPACE_SEQ, 1);
  atomic.notify(ch + SPACE_SEQ, -1);
  return CORRUPTED;
}

/** Marks the channel corrupted (for a caller that found its memory broken). @returns CORRUPTED. */
export function corrupt(ch: usize): i32 {
  return fail(ch, 1);
}

/**
 * @returns 0 while the channel is intact, else (sticky) the number of the check that found it
 * corrupted (see `fail`).
 */
export function corrupted(ch: usize): i32 {
  return atomic.load<i32>(ch + CORRUPT);
}

// ── This thread's view. Per-instance caches, each keyed by what it caches, so that a value
//    validated once is not read from shared memory again (and a later stray write to it changes
//    nothing here). Written only in this file; read by the others. (The producers' and the
//    consumer's own views, and the out-parameters of `peek`, are in producer.ts and consumer.ts.)

// ── The memory this instance has seen

/** End of the memory this instance has seen (per instance, like the bounds V8 keeps). */
let reached: usize = 0;

/**
 * Makes sure this instance may access `[0, end)` if the memory is that large. Another
 * thread's `memory.grow` reaches this thread only when V8 handles a "grow shared memory"
 * interrupt; until then atomics and `memory.fill` here are bounds-checked against the old size
 * (they trap) and JavaScript's `memory.buffer` keeps the old length. `memory.grow(0)` updates
 * this thread's view at once, so it runs whenever an address read from shared memory lies
 * beyond what this instance has seen: once per new ring, never on the hot path.
 * @returns whether `[0, end)` lies inside the memory.
 */
// @ts-ignore: decorator
@inline export function reach(end: i64): bool {
  if (end > <i64>reached) {
    memory.grow(0);
    grew();
  }
  return end <= <i64>reached;
}

/**
 * The end of the memory now, as grown by any thread (a runtime call: for rare paths only; the
 * hot paths use `reach`).
 */
export function memoryEnd(): usize {
  memory.grow(0);
  grew();
  return reached;
}

/** Most rings the memory can hold now: a bound for every walk over rings (rare paths). */
export function maxRings(): i32 {
  return <i32>(memoryEnd() / PAGE) + 2;
}

/** Updates this instance's view after its own `memory.grow` (which it sees at once). */
// @ts-ignore: decorator
@inline export function grew(): void {
  reached = <usize>memory.size() * PAGE;
}

// ── Rings this instance has validated

/** Two validated rings and their capacities (producer side and consumer side, typically). */
let ringA: usize = 0;
let capA: i32 = 0;
let checkA: i32 = 0;
let ringB: usize = 0;
let capB: i32 = 0;
let checkB: i32 = 0;
let ringTurn: i32 = 0;

/**
 * Validates the ring at `ring` (an address read from shared memory) for channel `ch`.
 * @returns its capacity, or 0 if no valid ring descriptor is there.
 */
export function capacityOf(ch: usize, ring: usize): i32 {
  // A cached ring is the same ring while its check word is (rings never change capacity, but
  // this costs one load on a line read anyway, and keeps the cache honest if they ever do).
  if (ring == ringA && ring != 0 && load<i32>(ring + RING_CHECK) == checkA) return capA;
  if (ring == ringB && ring != 0 && load<i32>(ring + RING_CHECK) == checkB) return capB;
  if ((ring & 63) != 0 || <i64>ring < <i64>ch + CONTROL_SIZE) return 0;
  if (!reach(<i64>ring + RING_DATA)) return 0;
  const capacity = load<i32>(ring + RING_CAPACITY);
  if (!isPowerOfTwo(capacity) || capacity < MIN_CAPACITY || <u32>capacity > MAX_STORAGE) return 0;
  if (!reach(<i64>ring + RING_DATA + capacity)) return 0;
  const check = ringCheck(ring, capacity);
  if (load<i32>(ring + RING_CHECK) != check) return 0;
  if (ringTurn == 0) {
    ringA = ring;
    capA = capacity;
    checkA = check;
  } else {
    ringB = ring;
    capB = capacity;
    checkB = check;
  }
  ringTurn ^= 1;
  return capacity;
}

// ── The config

/** The channel whose config is cached below (-1: none). */
let cfgCh: usize = -1;
export let cfgBound: u32 = 0;
export let cfgMaxBytes: u32 = 0;
let cfgId: i32 = 0;
/** Capacity of the largest ring channel `cfgCh` can ever have (see `largestPayload`). */
export let cfgLargest: i32 = 0;
/** Whether that largest ring is the first ring (MAX_BYTES leaves no room for a larger one). */
export let cfgLargeIsFirst: bool = false;

/**
 * Loads and checks channel `ch`'s config into this instance (once per channel).
 * @returns OK; INVALID when `ch` holds no control block of this layout; CORRUPTED when it
 * does but its config or first ring was overwritten (then the channel is failed).
 */
function attach(ch: usize): i32 {
  if (ch == cfgCh) return OK;
  if (!reach(<i64>ch + CONTROL_SIZE)) return INVALID;
  if (atomic.load<i32>(ch + MAGIC) != MAGIC_VALUE) return INVALID;
  if (load<i32>(ch + VERSION) != LAYOUT_VERSION) return INVALID;
  const bound = load<u32>(ch + BOUND);
  const maxBytes = load<u32>(ch + MAX_BYTES);
  const id = load<i32>(ch + ID);
  if (load<i32>(ch + CONFIG_CHECK) != configCheck(bound, maxBytes, id)) return fail(ch, 2);
  if (maxBytes > MAX_STORAGE) return fail(ch, 3);
  const first = capacityOf(ch, ch + CONTROL_SIZE);
  if (first == 0 || <u32>(RING_DATA + first) > maxBytes) return fail(ch, 4);
  // Grown rings take whole pages of what the first ring leaves of maxBytes.
  const grown = <i64>maxBytes - RING_DATA - first;
  let largest = first;
  while (largest < MAX_LENGTH && pagesFor(largest << 1) <= grown) largest <<= 1;
  cfgLargest = largest;
  cfgLargeIsFirst = largest == first;
  cfgCh = ch;
  cfgBound = bound;
  cfgMaxBytes = maxBytes;
  cfgId = id;
  return OK;
}

/**
 * The gate of every operation on a channel: OK, or CORRUPTED once the channel is (or is found
 * now to be) corrupted. (`commit`, `cancel` and `release`, which follow a `reserve` or `peek`
 * of the same thread, check only `attached`.)
 */
// @ts-ignore: decorator
@inline export function enter(ch: usize): i32 {
  if (atomic.load<i32>(ch + CORRUPT) != 0) return CORRUPTED;
  if (ch != cfgCh && attach(ch) != OK) return fail(ch, 5);
  return OK;
}

/** The gate of the calls that complete a `reserve`: the config is this channel's. */
// @ts-ignore: decorator
@inline export function attached(ch: usize): i32 {
  if (ch != cfgCh && attach(ch) != OK) return fail(ch, 31);
  return OK;
}

/**
 * Sets up a channel's control block and first ring at `ch`, which must be followed by at least
 * CONTROL_SIZE + RING_DATA + initialCapacity zeroed bytes of the memory.
 * Not thread-safe: the creating thread calls it before any other thread sees the memory.
 * `id` is any number the caller chooses to tell channels apart (see `channelId`).
 * @returns OK, or INVALID for a capacity that is not a power of two in range or a maxBytes
 * that does not hold the first ring or exceeds MAX_STORAGE.
 */
export function init(
  ch: usize,
  bound: u32,
  maxBytes: u32,
  initialCapacity: i32,
  id: i32,
): i32 {
  if (
    !isPowerOfTwo(initialCapacity) || initialCapacity < MIN_CAPACITY ||
    initialCapacity > MAX_INITIAL_CAPACITY
  ) return INVALID;
  if (<u32>(RING_DATA + initialCapacity) > maxBytes || maxBytes > MAX_STORAGE) return INVALID;
  const ring = ch + CONTROL_SIZE;
  initRing(ring, initialCapacity);
  store<u32>(ch + BOUND, bound);
  store<u32>(ch + MAX_BYTES, maxBytes);
  store<i32>(ch + STORAGE, RING_DATA + initialCapacity);
  store<i32>(ch + PROD_RING, <i32>ring);
  store<i32>(ch + ADMITTED, 0);
  store<i32>(ch + CONS_RING, <i32>ring);
  store<i32>(ch + CONS_CHECK, consCheck(ring));
  store<i32>(ch + RECEIVED, 0);
  store<i32>(ch + SENDERS, 1);
  store<i32>(ch + RECEIVER, 1);
  store<i32>(ch + RECV_WAITING, 0);
  store<i32>(ch + ID, id);
  store<i32>(ch + CORRUPT, 0);
  store<i32>(ch + CONFIG_CHECK, configCheck(bound, maxBytes, id));
  store<i32>(ch + VERSION, LAYOUT_VERSION);
  // Publishes the whole block: a thread that sees MAGIC sees everything above.
  atomic.store<i32>(ch + MAGIC, MAGIC_VALUE);
  return OK;
}

/**
 * @returns OK when `ch` holds a control block of this layout version; INVALID when it holds
 * none; CORRUPTED when it holds one that was overwritten or found corrupted.
 */
export function validate(ch: usize): i32 {
  const status = attach(ch);
  if (status != OK) return status;
  return atomic.load<i32>(ch + CORRUPT) != 0 ? CORRUPTED : OK;
}

/**
 * The largest payload channel `ch` accepts: one that fills the largest ring its storage can
 * hold (the first ring, or one grown from the pages the first ring leaves of MAX_BYTES). An
 * empty channel always accepts it (see `allocRing` and `realign`).
 * @returns that length in bytes, or -CORRUPTED.
 */
export function largestPayload(ch: usize): i32 {
  if (enter(ch) != OK) return -CORRUPTED;
  return cfgLargest - HEADER;
}

/** @returns the bound given to `init` (UNBOUNDED, 0 for rendezvous, or a message count). */
export function channelBound(ch: usize): u32 {
  attach(ch);
  return cfgBound;
}

/** @returns the id given to `init`. */
export function channelId(ch: usize): i32 {
  // A corrupted channel still has an id to report (read as it is).
  return attach(ch) == OK ? cfgId : load<i32>(ch + ID);
}

/** @returns the maxBytes given to `init`. */
export function channelMaxBytes(ch: usize): u32 {
  attach(ch);
  return cfgMaxBytes;
}

