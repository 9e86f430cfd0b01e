// This thread's view of a channel: its config, read and checked once (`attach`); its rings,
// validated and cached (`capacityOf`); the extent of the memory it has seen (`reach`); and the
// check every operation passes once inside (`enter`, after the in-call gate of life.ts), which
// fails the channel for good once its memory is found broken (`fail`). Also reports its config.
//
// A channel is named by its control block `ch` and that block's generation `gen` (see
// assembly/arena.ts): a block is freed and handed out again with a new generation, so every
// cache here is keyed by both, and a ring by its address and its own generation.
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
  ARENA, BOUND, CONFIG_CHECK, CONTROL_SIZE, CORRUPT, CORRUPTED, DATA_SEQ, FIRST_OFFSET,
  FIRST_RING, HEADER, ID, INVALID, LAYOUT_VERSION, MAGIC, MAGIC_VALUE, MAX_BYTES, MAX_LENGTH,
  MAX_STORAGE, MIN_CAPACITY, OK, PAGE, RING_CAPACITY, RING_CHECK, RING_DATA, RING_GEN, RING_OWNER,
  SELECTORS, SPACE_SEQ, STALE, VERSION, configCheck, isPowerOfTwo, ringBytes, ringCheck,
} from "./layout";
import {
  ARENA_CONTROL_CLASS, ARENA_CORRUPT, ARENA_SELECT, CONTROL_OWNER, arenaHolds, arenaRingClass,
} from "./arena";

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
  if (cfgCh == ch && atomic.load<i32>(ch + SELECTORS) != 0) {
    atomic.add<i32>(cfgArena + ARENA_SELECT, 1);
    atomic.notify(cfgArena + ARENA_SELECT, -1);
  }
  return CORRUPTED;
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

/**
 * Most rings the attached channel can hold (its quota in the smallest rings): a bound for every
 * walk over its rings (rare paths).
 */
export function maxRings(): i32 {
  return <i32>(<i64>cfgMaxBytes / ringBytes(MIN_CAPACITY)) + 2;
}

/** Updates this instance's view after its own `memory.grow` (which it sees at once). */
// @ts-ignore: decorator
@inline export function grew(): void {
  reached = <usize>memory.size() * PAGE;
}

// ── Rings this instance has validated

/**
 * Two validated rings (producer side and consumer side, typically): address, owner, block
 * generation, check word and capacity. A ring freed and handed out again has another generation
 * (and so another check word): a cached entry never vouches for it.
 */
let ringA: usize = 0;
let ownerA: usize = 0;
let genA: i32 = 0;
let capA: i32 = 0;
let checkA: i32 = 0;
let ringB: usize = 0;
let ownerB: usize = 0;
let genB: i32 = 0;
let capB: i32 = 0;
let checkB: i32 = 0;
let ringTurn: i32 = 0;
/** The block generation of the ring `capacityOf` validated last (its caches key on it). */
export let ringGen: i32 = 0;

/**
 * Validates the ring at `ring` (an address read from shared memory) for channel `ch`, whose
 * config is attached: a descriptor with the right check, naming `ch` as its owner, in a block of
 * the channel's arena that is in use, of the ring's class, with the generation the descriptor
 * records, allocated for `ch`. Sets `ringGen`.
 * @returns its capacity, or 0 if no valid ring of this channel is there.
 */
// @ts-ignore: decorator
@inline export function capacityOf(ch: usize, ring: usize): i32 {
  // A cached ring is the same ring while its check word and generation are: the arena never
  // frees a ring of a channel that a call is inside (see life.ts), and a ring freed and handed
  // out again has a new generation.
  if (
    ring == ringA && ch == ownerA && ring != 0 && load<i32>(ring + RING_CHECK) == checkA &&
    load<i32>(ring + RING_GEN) == genA
  ) {
    ringGen = genA;
    return capA;
  }
  if (
    ring == ringB && ch == ownerB && ring != 0 && load<i32>(ring + RING_CHECK) == checkB &&
    load<i32>(ring + RING_GEN) == genB
  ) {
    ringGen = genB;
    return capB;
  }
  return validateRing(ch, ring);
}

/** `capacityOf` for a ring not in this instance's cache: validates it, and caches it. */
function validateRing(ch: usize, ring: usize): i32 {
  if ((ring & 63) != 0 || ring < <usize>FIRST_OFFSET) return 0;
  if (!reach(<i64>ring + RING_DATA)) return 0;
  const capacity = load<i32>(ring + RING_CAPACITY);
  if (!isPowerOfTwo(capacity) || capacity < MIN_CAPACITY || <u32>capacity > MAX_STORAGE) return 0;
  if (!reach(<i64>ring + RING_DATA + capacity)) return 0;
  if (<usize>load<i32>(ring + RING_OWNER) != ch) return 0;
  const gen = load<i32>(ring + RING_GEN);
  const check = ringCheck(ring, capacity, <i32>ch, gen);
  if (load<i32>(ring + RING_CHECK) != check) return 0;
  // The arena has the last word: a block of this ring's class, in use with that generation,
  // allocated for this channel (a descriptor copied from another channel, or left in a freed
  // block, fails here).
  const k = arenaRingClass(capacity);
  if (k < 0 || arenaHolds(cfgArena, ring, k, gen, <i32>ch) != OK) return 0;
  if (ringTurn == 0) {
    ringA = ring;
    ownerA = ch;
    genA = gen;
    capA = capacity;
    checkA = check;
  } else {
    ringB = ring;
    ownerB = ch;
    genB = gen;
    capB = capacity;
    checkB = check;
  }
  ringTurn ^= 1;
  ringGen = gen;
  return capacity;
}

// ── The config

/** The channel whose config is cached below, and its control block's generation (-1: none). */
export let cfgCh: usize = -1;
let cfgGen: i32 = -1;
/** Where the channel's arena starts. */
export let cfgArena: usize = 0;
export let cfgBound: u32 = 0;
export let cfgMaxBytes: u32 = 0;
let cfgId: i32 = 0;
/** The channel's first ring. */
export let cfgFirst: usize = 0;
/** Capacity of the largest ring channel `cfgCh` can ever have (see `largestPayload`). */
export let cfgLargest: i32 = 0;
/** Whether that largest ring is the first ring (MAX_BYTES leaves no room for a larger one). */
export let cfgLargeIsFirst: bool = false;

/** Whether `ch` can be a control block that lies inside the memory. */
// @ts-ignore: decorator
@inline export function blockOk(ch: usize): bool {
  return (ch & 63) == 0 && ch >= <usize>FIRST_OFFSET && reach(<i64>ch + CONTROL_SIZE);
}

/**
 * Loads and checks channel `ch` (control block generation `gen`)'s config into this instance
 * (once per channel). The arena is asked first, so that nothing is written into a block that is
 * not this channel's control block.
 * @returns OK; INVALID when `ch` holds no control block of this layout; STALE when it holds none
 * of that generation (freed since); CORRUPTED when it does but its config or first ring was
 * overwritten (then the channel is failed), or its arena is corrupted.
 */
function attach(ch: usize, gen: i32): i32 {
  if (ch == cfgCh && gen == cfgGen) return OK;
  if (!blockOk(ch)) return INVALID;
  // Waits for `create`'s store of MAGIC, which publishes the config read below.
  if (atomic.load<i32>(ch + MAGIC) != MAGIC_VALUE) return INVALID;
  if (load<i32>(ch + VERSION) != LAYOUT_VERSION) return INVALID;
  const a = <usize><u32>load<i32>(ch + ARENA);
  const held = arenaHolds(a, ch, ARENA_CONTROL_CLASS, gen, CONTROL_OWNER);
  if (held != OK) return held;
  const bound = load<u32>(ch + BOUND);
  const maxBytes = load<u32>(ch + MAX_BYTES);
  const id = load<i32>(ch + ID);
  const first = <usize><u32>load<i32>(ch + FIRST_RING);
  if (load<i32>(ch + CONFIG_CHECK) != configCheck(bound, maxBytes, id, <i32>a, <i32>first)) {
    return fail(ch, 2);
  }
  if (maxBytes > MAX_STORAGE) return fail(ch, 3);
  cfgCh = -1; // while the rings below are validated against this channel's arena
  cfgArena = a;
  const capacity = capacityOf(ch, first);
  if (capacity == 0 || ringBytes(capacity) > <i64>maxBytes) return fail(ch, 4);
  // Grown rings take blocks of what the first ring leaves of maxBytes.
  const grown = <i64>maxBytes - ringBytes(capacity);
  let largest = capacity;
  while (largest < MAX_LENGTH && ringBytes(largest << 1) <= grown) largest <<= 1;
  cfgLargest = largest;
  cfgLargeIsFirst = largest == capacity;
  cfgCh = ch;
  cfgGen = gen;
  cfgBound = bound;
  cfgMaxBytes = maxBytes;
  cfgId = id;
  cfgFirst = first;
  return OK;
}

/**
 * The check of every operation on a channel, once its caller is inside (see `enterProducer` and
 * `enterConsumer` in life.ts): OK, or CORRUPTED once the channel or its arena is (or is found
 * now to be) corrupted. (`commit`, `cancel` and `release`, which follow a `reserve` or `peek`
 * of the same thread, check only `attached`.)
 */
// @ts-ignore: decorator
@inline export function enter(ch: usize, gen: i32): i32 {
  if (atomic.load<i32>(ch + CORRUPT) != 0) return CORRUPTED;
  if (ch != cfgCh || gen != cfgGen) {
    const status = attach(ch, gen);
    // Inside, the in-call word vouched for this generation: the block disagrees.
    if (status != OK) return status == CORRUPTED ? CORRUPTED : fail(ch, 5);
  }
  if (atomic.load<i32>(cfgArena + ARENA_CORRUPT) != 0) return CORRUPTED;
  return OK;
}

/** Forgets what this instance cached of channel `ch` (destroyed: its blocks go back). */
export function forget(ch: usize): void {
  if (cfgCh == ch) cfgCh = -1;
  if (ownerA == ch) ringA = 0;
  if (ownerB == ch) ringB = 0;
}

/** The check of the calls that complete a `reserve` or a `peek`: the config is this channel's. */
// @ts-ignore: decorator
@inline export function attached(ch: usize, gen: i32): i32 {
  if (ch != cfgCh || gen != cfgGen) {
    const status = attach(ch, gen);
    if (status != OK) return status == CORRUPTED ? CORRUPTED : fail(ch, 31);
  }
  return OK;
}

/**
 * Checks channel `ch` of generation `gen` without entering it (for a thread about to adopt an
 * end, or to settle one): nothing is written unless `ch` is a control block of that generation.
 * @returns OK when it is one of this layout version; INVALID when `ch` holds none; STALE when
 * the block holds none of that generation any more; CORRUPTED when it holds one that was
 * overwritten or found corrupted, or its arena was.
 */
export function validate(ch: usize, gen: i32): i32 {
  const status = attach(ch, gen);
  if (status != OK) return status;
  if (atomic.load<i32>(ch + CORRUPT) != 0) return CORRUPTED;
  return atomic.load<i32>(cfgArena + ARENA_CORRUPT) != 0 ? CORRUPTED : OK;
}

/**
 * The largest payload the channel accepts: one that fills the largest ring its storage can
 * hold (the first ring, or one grown from what the first ring leaves of MAX_BYTES). An empty
 * channel always accepts it, as long as its arena has room (see `allocRing` and `realign`).
 * Needs the caller inside.
 * @returns that length in bytes.
 */
export function largest(): i32 {
  return cfgLargest - HEADER;
}

/** @returns the bound given to `create` (UNBOUNDED, 0 for rendezvous, or a message count). */
export function bound(): u32 {
  return cfgBound;
}

/** @returns the id given to `create`. */
export function id(): i32 {
  return cfgId;
}

/** @returns the maxBytes given to `create`. */
export function maxBytes(): u32 {
  return cfgMaxBytes;
}
