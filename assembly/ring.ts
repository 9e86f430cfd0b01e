// The channel's queue: a multi-producer, single-consumer ring of variable-length records in a
// shared WebAssembly.Memory, with the channel's counters, flags and wait words beside it.
//
// Every thread that holds a channel end runs its own instance of this module over the same
// memory. Instances share nothing but that memory, so this file never allocates: only loads,
// stores and atomics at offsets derived from the control block address `ch` that the caller
// passes. Its globals are per-instance caches and out-parameters (see "This thread's view"
// below), by design. All atomics are sequentially consistent (Wasm threads).
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
//
// ## Layout (byte offsets from `ch`; every line is 64 bytes so that producer-written,
// ## consumer-written and rarely-written words never share a cache line)
//
//   ch + 0    ┌──────────────────────────────────────────────────────────────────┐
//             │ MAGIC │ VERSION │ BOUND │ MAX_BYTES │ STORAGE │ FREE_RINGS │ ID │ config
//             │ CORRUPT │ CONFIG_CHECK │ LARGE_RING                              │
//   ch + 64   ├──────────────────────────────────────────────────────────────────┤
//             │ PROD_RING │ ADMITTED │ RECEIVED_CACHE │ SEALING │ SEAL_GEN       │ producers
//   ch + 128  ├──────────────────────────────────────────────────────────────────┤
//             │ CONS_RING │ RECEIVED │ REALIGN │ CONS_CHECK                      │ consumer
//   ch + 192  ├──────────────────────────────────────────────────────────────────┤
//             │ SENDERS │ RECEIVER │ RECV_WAITING │                             │ ends
//   ch + 256  ├──────────────────────────────────────────────────────────────────┤
//             │ DATA_SEQ │ DATA_WAITERS │                                        │ wait: data
//   ch + 320  ├──────────────────────────────────────────────────────────────────┤
//             │ SPACE_SEQ │ SPACE_WAITERS │                                      │ wait: space
//   ch + 384  ├──────────────────────────────────────────────────────────────────┤
//             │ NEXT_OWNER │                                                      │ owners
//   ch + 448  ├──────────────────────────────────────────────────────────────────┤
//             │ (unused)                                                         │
//   ch + 512  ├──────────────────────────────────────────────────────────────────┤
//             │ first ring (descriptor + data), see below                        │
//             └──────────────────────────────────────────────────────────────────┘
//
// CONFIG_CHECK is a hash of BOUND, MAX_BYTES and ID: a thread reads the config once, checks it
// and keeps its own copy, so a later write there changes nothing.
//
// A ring is a descriptor followed by `capacity` bytes of data (a power of two ≥ 16):
//
//   r + 0     │ CAPACITY │ NEXT (ring that follows once this one is sealed; 0 = none) │
//             │ FREE_NEXT (next retired ring in the FREE_RINGS list) │ RING_CHECK     │
//             │ PREV (the ring it succeeds, written before NEXT links it) │ START      │
//   r + 64    │ TAIL: i64 byte position claimed by producers; bit 63 = SEALED        │
//   r + 128   │ HEAD: i64 byte position of the next record to consume                │
//   r + 192   │ data[capacity] ...                                                   │
//
// RING_CHECK is a hash of the ring's address and capacity: a ring address read from shared
// memory (PROD_RING, CONS_RING, NEXT, FREE_RINGS, FREE_NEXT) is used only if the descriptor
// there carries the right check, lies inside the memory after the control block, and holds a
// valid capacity. A successor must name its predecessor in PREV; a free ring must be sealed,
// drained and neither ring in use; only the consumer moves CONS_RING. A ring starts (fresh or
// reused) with HEAD = TAIL at a multiple of its capacity, and START is a check of its address
// and that HEAD: the consumer moving on to a successor takes HEAD from memory only if START
// vouches for it; after that it keeps HEAD itself and moves it by CAS from the value it keeps,
// so a write to HEAD is found at its next read or release. Positions grow monotonically; the
// byte of position p is at data + (p & (capacity - 1)).
//
// A record is an 8-byte header and its payload, padded to a multiple of 8 bytes:
//
//   +0  SIZE  i32  0 = not written yet; -(8 + length) = claimed, being written;
//                  +(8 + length) = committed message; for padding, its whole extent
//   +4  META  i32  kind (bits 0–3) | check (bits 4–15) | owner id (bits 16–31), where the
//                  kind is RECORD_MESSAGE (a message, or a claim of one while SIZE < 0),
//                  RECORD_DEAD (a claim whose producer was reported dead), RECORD_PADDING, or
//                  RECORD_GAP (a padding whose bytes after the header are still 0)
//   +8  payload[length], then zeros up to the next multiple of 8
//
// The check is a hash of SIZE, kind and owner (`header`): a header changed by a stray write
// fails it (but for 1 in 4,096). SIZE and META form one i64 (SIZE in the low half): a producer
// publishes a claim by one 64-bit CAS from the header it wrote (its owner, -size) to the
// committed one, so that a producer that was reported dead, and whose claim was skipped and
// reused by another producer, can never publish or touch that other producer's record: the
// owner in the expected value differs.
//
// ## Protocol
// - Producers claim space by a CAS on TAIL (claims are ordered by TAIL), then write the header
//   (-size in SIZE: the claim is in progress; META names its owner), copy the payload, and
//   publish it with a CAS of the header to +size. A producer that reserved an upper bound and
//   wrote less (`commitLength`) first lays a RECORD_GAP header over the unwritten rest, then
//   publishes the shorter message. A claim that would straddle the end of the data area first
//   lays down a padding record up to the end (committed at once) and starts at offset 0.
// - The consumer reads the header at HEAD: SIZE > 0 is a committed record; ≤ 0 with HEAD < TAIL
//   is a claim still being written (BUSY); HEAD = TAIL is EMPTY. After use it zeroes the record
//   (so that every byte a future header may land on reads 0), then advances HEAD. Invariant:
//   every byte of the data area between HEAD and the next claim reads 0. Bytes a record never
//   had written (after the header of a RECORD_GAP) therefore need no zeroing.
// - Growth: a producer that finds the ring too full seals it (CAS TAIL → TAIL | SEALED; one
//   producer wins), allocates a larger ring from fresh pages (`memory.grow`; STORAGE counts
//   whole pages against MAX_BYTES), links it in NEXT and publishes it in PROD_RING. Later
//   claims go to the new ring. The consumer drains the sealed ring up to its final TAIL, then
//   follows NEXT and pushes the drained ring on the FREE_RINGS list. The next sealer takes a
//   free ring before growing the memory, so storage follows the peak backlog, not the traffic.
//   Only the sealer allocates or pops (a single popper; the consumer is the single pusher), so
//   neither needs a lock and the list has no ABA. Room for the largest ring the channel can
//   have is kept until it exists, so an empty channel always takes the largest message.
//   Positions stay monotonic across reuse (a reused ring resumes past its final TAIL): a
//   producer that read a ring long ago can only win its CAS on TAIL with a HEAD no newer than
//   the real one, so even a claim computed before the ring was retired is a valid claim.
// - Dead producers: a claim whose producer died before committing would stop the consumer for
//   ever (BUSY). Whoever learns that a producer died (the thread that terminated its worker)
//   marks its unfinished claim RECORD_DEAD with `markDead` (the producer tells where its claim
//   is; see src/_lifeline.ts); the consumer, after a grace period in which a dying thread may
//   still be writing, calls `unblock`, which turns the claim into padding (cf. Agrona's
//   unblock). There is no table of dead owners: any number of dead claims are skipped. Once no
//   sender is left at all, any unfinished claim at the head is skipped the same way.
// - Counting: ADMITTED (producers) and RECEIVED (consumer) are wrapping message counters;
//   ADMITTED - RECEIVED is the number of messages claimed and not yet consumed, which a bounded
//   channel keeps ≤ BOUND. A rendezvous channel (BOUND = 0) admits a message only by taking a
//   token from RECV_WAITING, which a waiting receiver puts there.
// - Waiting (done by the caller with Atomics.wait/waitAsync on DATA_SEQ or SPACE_SEQ): a waiter
//   reads the sequence, increments the waiter count, checks its condition again, and only then
//   waits on the value it read. A publisher changes the state, then reads the waiter count and,
//   when it is non-zero, increments the sequence and notifies. With sequentially consistent
//   atomics either the waiter's re-check sees the change or the publisher sees the waiter.

// ── Status codes. Functions returning an offset return one of these instead; offsets are
//    always ≥ FIRST_OFFSET.
export const OK: i32 = 0;
export const EMPTY: i32 = 1;
export const BUSY: i32 = 2;
export const FULL: i32 = 3;
export const DISCONNECTED: i32 = 4;
export const TOO_LARGE: i32 = 5;
export const NO_MEMORY: i32 = 6;
export const INVALID: i32 = 7;
export const CLAIMED: i32 = 8;
/** The channel's memory broke an invariant (see "Untrusted memory"); sticky. */
export const CORRUPTED: i32 = 9;
/** `commit`/`cancel`: the claim's header is not the one its producer wrote (see `commit`). */
export const MISMATCH: i32 = 10;
export const FIRST_OFFSET: i32 = 16;

// ── Control block.
export const MAGIC_VALUE: i32 = 0x4d505343; // "MPSC"
export const LAYOUT_VERSION: i32 = 3;
export const MAGIC: i32 = 0;
export const VERSION: i32 = 4;
export const BOUND: i32 = 8;
export const MAX_BYTES: i32 = 12;
export const STORAGE: i32 = 16;
export const FREE_RINGS: i32 = 20;
export const ID: i32 = 24;
export const CORRUPT: i32 = 28;
export const CONFIG_CHECK: i32 = 32;
/** The ring of the largest capacity the channel can have, once allocated (see `allocRing`). */
export const LARGE_RING: i32 = 36;
export const PROD_RING: i32 = 64;
export const ADMITTED: i32 = 68;
/** Producers' last view of RECEIVED, so that a bounded send reads the consumer's line rarely. */
export const RECEIVED_CACHE: i32 = 72;
/** Sealers at work: raised before a seal, lowered once its ring is linked or unsealed. */
export const SEALING: i32 = 76;
/** Seals finished (wrapping): with SEALING, tells a sealed ring nobody links (`sealedFor`). */
export const SEAL_GEN: i32 = 80;
export const CONS_RING: i32 = 128;
export const RECEIVED: i32 = 132;
/** Set by a producer whose record fits the current ring only from offset 0 (see `realign`). */
export const REALIGN: i32 = 136;
/** A check of CONS_RING (`consCheck`), written with it: a consumer that starts checks it. */
export const CONS_CHECK: i32 = 140;
export const SENDERS: i32 = 192;
export const RECEIVER: i32 = 196;
export const RECV_WAITING: i32 = 200;
export const DATA_SEQ: i32 = 256;
export const DATA_WAITERS: i32 = 260;
export const SPACE_SEQ: i32 = 320;
export const SPACE_WAITERS: i32 = 324;
export const NEXT_OWNER: i32 = 384;
/** Owner ids fit the 16 bits META leaves them. */
export const OWNER_MASK: i32 = 0xffff;
export const CONTROL_SIZE: i32 = 512;

// ── Ring descriptor.
export const RING_CAPACITY: i32 = 0;
export const RING_NEXT: i32 = 4;
export const RING_FREE_NEXT: i32 = 8;
export const RING_CHECK: i32 = 12;
/** The ring this one succeeds (written by the sealer that links it; 0 for the first ring). */
export const RING_PREV: i32 = 16;
/** A check of the ring's address and its starting HEAD (see `startCheck`), written with HEAD. */
export const RING_START: i32 = 20;
export const RING_TAIL: i32 = 64;
export const RING_HEAD: i32 = 128;
export const RING_DATA: i32 = 192;

// ── Records.
export const HEADER: i32 = 8;
export const RECORD_SIZE: i32 = 0;
export const RECORD_META: i32 = 4;
export const RECORD_MESSAGE: i32 = 1;
export const RECORD_PADDING: i32 = 2;
/** Padding whose bytes after the header were never written (they still read 0). */
export const RECORD_GAP: i32 = 3;
/** A claim (SIZE < 0) whose producer was reported dead: `unblock` may skip it. */
export const RECORD_DEAD: i32 = 5;
/** Largest bound the built-in codecs write in place (see src/codec/_direct.ts). */
export const MAX_TRIM: i32 = 0xffffff;
export const ALIGN: i32 = 8;

// ── Limits.
export const UNBOUNDED: u32 = 0xffffffff;
export const MIN_CAPACITY: i32 = 16;
/** Largest initial capacity: the first ring shares the control block's 64 KiB page. */
export const MAX_INITIAL_CAPACITY: i32 = 32768;
/** Largest storage of one channel (1 GiB), so that every offset is a positive i32. */
export const MAX_STORAGE: u32 = 0x40000000;
/** Largest payload of one record. */
export const MAX_LENGTH: i32 = 0x20000000;
export const PAGE: i32 = 65536;
/**
 * Most turns of one CAS retry loop, or of one wait for another thread's step inside a call
 * (a sealer linking its new ring). Far beyond any real contention; a bound against a writer
 * that keeps changing a word.
 */
export const SPIN_LIMIT: i32 = 1 << 20;
/** Turns `reserve` waits for a sealer to link a ring before it returns BUSY. */
export const SEAL_SPINS: i32 = 1024;

const SEALED: i64 = i64.MIN_VALUE;
const POSITION: i64 = i64.MAX_VALUE;

// ── This thread's view. Per-instance caches, each keyed by what it caches, so that a value
//    validated once is not read from shared memory again (and a later stray write to it changes
//    nothing here); and out-parameters of `peek`.

/** Payload length of the record returned by the last `peek` of this instance. */
let lastLength: i32 = 0;
/** Where that record is, its header and extent as `peek` validated them (for `release`). */
let lastRecord: usize = 0;
let lastHeader: i64 = 0;
let lastExtent: i32 = 0;
/** The channel whose config is cached below (-1: none). */
let cfgCh: usize = -1;
let cfgBound: u32 = 0;
let cfgMaxBytes: u32 = 0;
let cfgId: i32 = 0;
/** Two validated rings and their capacities (producer side and consumer side, typically). */
let ringA: usize = 0;
let capA: i32 = 0;
let checkA: i32 = 0;
let ringB: usize = 0;
let capB: i32 = 0;
let checkB: i32 = 0;
let ringTurn: i32 = 0;
/** Capacity of the largest ring channel `cfgCh` can ever have (see `largestPayload`). */
let cfgLargest: i32 = 0;
/** Whether that largest ring is the first ring (MAX_BYTES leaves no room for a larger one). */
let cfgLargeIsFirst: bool = false;
/**
 * The consumer's ring, its HEAD and a lower bound of its TAIL. Only the consumer writes HEAD,
 * so the value kept here is the truth; HEAD in memory is checked against it.
 */
let consCh: usize = -1;
let consRing: usize = 0;
let consCap: i32 = 0;
let consHead: i64 = 0;
let consTail: i64 = 0;
/** Whether the consumer's ring is to be realigned whenever drained (see `realign`). */
let consLarge: bool = false;
/**
 * A producer's last view of HEAD in ring `prodRing` (an older HEAD only understates room), and
 * the highest TAIL position it saw there (TAIL never goes back).
 */
let prodRing: usize = 0;
let prodHead: i64 = 0;
let prodTail: i64 = 0;
/** Where this thread's last claim in `prodRing` ended. */
let prodEnd: i64 = -1;

// @ts-ignore: decorator
@inline function align8(n: i32): i32 {
  return (n + (ALIGN - 1)) & ~(ALIGN - 1);
}

// @ts-ignore: decorator
@inline function isPowerOfTwo(n: i32): bool {
  return n > 0 && (n & (n - 1)) == 0;
}

// @ts-ignore: decorator
@inline function nextPowerOfTwo(n: i32): i32 {
  return n <= 1 ? 1 : (1 << (32 - clz<i32>(n - 1)));
}

/** A 32-bit mix of two words (for check words; not cryptographic). */
// @ts-ignore: decorator
@inline function mix(a: i32, b: i32): i32 {
  let x = (a * 0x9e3779b1) ^ (b * 0x85ebca6b);
  x ^= x >>> 15;
  x *= 0x2c1b3c6d;
  return x ^ (x >>> 13);
}

/** Wakes everybody waiting on the sequence word `seq` if its waiter count says anybody is. */
// @ts-ignore: decorator
@inline function wake(seq: usize, waiters: usize): void {
  // The state change being announced is already stored; reading the count after it pairs with
  // the waiter's increment-then-recheck (see "Waiting" above).
  if (atomic.load<i32>(waiters) != 0) {
    atomic.add<i32>(seq, 1);
    atomic.notify(seq, -1);
  }
}

/**
 * Reports that the channel's memory broke an invariant: sets CORRUPT (sticky) to the number of
 * the `check` that failed (for the error message; each call site has its own) and wakes every
 * waiter, whose next call then sees it. @returns CORRUPTED.
 */
function fail(ch: usize, check: i32): i32 {
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
@inline function reach(end: i64): bool {
  if (end > <i64>reached) {
    memory.grow(0);
    reached = <usize>memory.size() * PAGE;
  }
  return end <= <i64>reached;
}

/** Check word of a ring at `ring` with `capacity`. */
// @ts-ignore: decorator
@inline function ringCheck(ring: usize, capacity: i32): i32 {
  return mix(<i32>ring ^ 0x52494e47, capacity);
}

/** Check word (RING_START) of ring `ring` starting at HEAD = `head`. */
// @ts-ignore: decorator
@inline function startCheck(ring: usize, head: i64): i32 {
  return mix(<i32>ring ^ 0x53544152, <i32>head ^ mix(<i32>(head >>> 32), 0x48454144));
}

/**
 * Validates the ring at `ring` (an address read from shared memory) for channel `ch`.
 * @returns its capacity, or 0 if no valid ring descriptor is there.
 */
function capacityOf(ch: usize, ring: usize): i32 {
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

/**
 * The end of the memory now, as grown by any thread (a runtime call: for rare paths only; the
 * hot paths use `reach`).
 */
function memoryEnd(): usize {
  memory.grow(0);
  reached = <usize>memory.size() * PAGE;
  return reached;
}

/** Most rings the memory can hold now: a bound for every walk over rings (rare paths). */
function maxRings(): i32 {
  return <i32>(memoryEnd() / PAGE) + 2;
}

/** Config check word. */
// @ts-ignore: decorator
@inline function configCheck(bound: u32, maxBytes: u32, id: i32): i32 {
  return mix(mix(<i32>bound, <i32>maxBytes), id ^ MAGIC_VALUE);
}

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
@inline function enter(ch: usize): i32 {
  if (atomic.load<i32>(ch + CORRUPT) != 0) return CORRUPTED;
  if (ch != cfgCh && attach(ch) != OK) return fail(ch, 5);
  return OK;
}

/** The gate of the calls that complete a `reserve`: the config is this channel's. */
// @ts-ignore: decorator
@inline function attached(ch: usize): i32 {
  if (ch != cfgCh && attach(ch) != OK) return fail(ch, 31);
  return OK;
}

/** Writes an empty ring descriptor at `r`. The data area must be zero (fresh pages). */
function initRing(r: usize, capacity: i32): void {
  store<i32>(r + RING_CAPACITY, capacity);
  store<i32>(r + RING_NEXT, 0);
  store<i32>(r + RING_FREE_NEXT, 0);
  store<i32>(r + RING_CHECK, ringCheck(r, capacity));
  store<i32>(r + RING_PREV, 0);
  store<i32>(r + RING_START, startCheck(r, 0));
  store<i64>(r + RING_TAIL, 0);
  store<i64>(r + RING_HEAD, 0);
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
 * Takes one admission for a message: a free slot of a bounded channel, a waiting receiver's
 * token on a rendezvous channel, or (unbounded) just the count.
 */
function admit(ch: usize): i32 {
  const bound = cfgBound;
  if (bound == UNBOUNDED) {
    atomic.add<i32>(ch + ADMITTED, 1);
    return OK;
  }
  if (bound == 0) {
    // Rendezvous: take a token a waiting receiver published (see recvWaitBegin).
    let tokens = atomic.load<i32>(ch + RECV_WAITING);
    for (let turn = 0; turn < SPIN_LIMIT; turn++) {
      if (tokens <= 0) return FULL;
      const seen = atomic.cmpxchg<i32>(ch + RECV_WAITING, tokens, tokens - 1);
      if (seen == tokens) {
        atomic.add<i32>(ch + ADMITTED, 1);
        return OK;
      }
      tokens = seen;
    }
    return FULL;
  }
  let admitted = atomic.load<i32>(ch + ADMITTED);
  for (let turn = 0; turn < SPIN_LIMIT; turn++) {
    // RECEIVED (or its cache, older still) is read after ADMITTED, so the difference can only
    // overstate the backlog; the consumer's line is read only when the cache says full.
    // Signed: a stale `admitted` can be older than RECEIVED; then the CAS fails and retries.
    if (admitted - atomic.load<i32>(ch + RECEIVED_CACHE) >= <i32>bound) {
      const received = atomic.load<i32>(ch + RECEIVED);
      atomic.store<i32>(ch + RECEIVED_CACHE, received);
      if (admitted - received >= <i32>bound) {
        const now = atomic.load<i32>(ch + ADMITTED);
        if (now == admitted) return FULL;
        admitted = now;
        continue;
      }
    }
    const seen = atomic.cmpxchg<i32>(ch + ADMITTED, admitted, admitted + 1);
    if (seen == admitted) return OK;
    admitted = seen;
  }
  return FULL;
}

/** Gives back an admission taken by `admit` for a message that will not be sent. */
function unadmit(ch: usize): void {
  atomic.sub<i32>(ch + ADMITTED, 1);
  if (cfgBound == 0) {
    // The receiver that published the token is still waiting for a message: give it back.
    atomic.add<i32>(ch + RECV_WAITING, 1);
  }
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
}

/** Bytes of whole pages taken by a ring of `capacity` (its descriptor and data). */
// @ts-ignore: decorator
@inline function pagesFor(capacity: i32): i64 {
  return (<i64>(RING_DATA + capacity) + PAGE - 1) / PAGE * PAGE;
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

/**
 * Finds a ring for a record of `size` bytes after the ring of `current` capacity filled up:
 * a free ring of at least twice that capacity, else fresh pages for one, else the largest free
 * ring that holds the record. Called only by the producer that sealed the current ring, so
 * never concurrently with itself.
 *
 * Until the largest ring the channel can have (`cfgLargest`) exists, fresh pages for smaller
 * rings are given only while pages for it remain: then a record of any size up to the largest
 * always finds a ring in an empty channel — that one ring, fresh or free, or realigned when it
 * is the current one (see `realign`). A backlog of small records may take it as well.
 * @returns the ring's address, ready to be linked, or TOO_LARGE / NO_MEMORY / CORRUPTED.
 */
function allocRing(ch: usize, size: i32, current: i32): i32 {
  const minimum = nextPowerOfTwo(size);
  const largest = cfgLargest;
  if (minimum > largest) return TOO_LARGE;
  const desired = min(max(current << 1, minimum), largest);
  let ring = takeFree(ch, desired, i32.MAX_VALUE);
  if (ring != 0) return <i32>ring;
  if (atomic.load<i32>(ch + CORRUPT) != 0) return CORRUPTED;
  // STORAGE counts the first ring and the whole pages grown for this channel since: never more
  // than the memory after the control block's page holds.
  const storage = <i64>load<i32>(ch + STORAGE);
  const first = <i64>RING_DATA + capacityOf(ch, ch + CONTROL_SIZE);
  if (
    storage < first || storage > <i64>cfgMaxBytes || (storage - first) % PAGE != 0 ||
    storage - first > <i64>memoryEnd() - <i64>ch - PAGE
  ) return fail(ch, 6);
  const available = <i64>cfgMaxBytes - storage;
  let large = <usize>atomic.load<i32>(ch + LARGE_RING);
  if (large != 0 && capacityOf(ch, large) != largest) return fail(ch, 7);
  const reserved = large != 0 || cfgLargeIsFirst ? 0 : pagesFor(largest);
  // A smaller ring from what the largest one leaves; or else the largest one itself.
  let capacity = desired;
  while (pagesFor(capacity) > available - reserved && capacity > minimum) capacity >>= 1;
  if (pagesFor(capacity) > available - reserved) capacity = reserved != 0 ? largest : 0;
  if (capacity != 0) {
    const bytes = pagesFor(capacity);
    // Whole pages are taken anyway: use them.
    while (capacity < largest && <i64>(RING_DATA + (capacity << 1)) <= bytes) capacity <<= 1;
    if (bytes <= available) {
      const first = memory.grow(<i32>(bytes / PAGE));
      if (first >= 0) {
        ring = <usize>first * PAGE;
        reached = <usize>memory.size() * PAGE;
        initRing(ring, capacity);
        store<i32>(ch + STORAGE, <i32>(storage + bytes));
        // Publishes the largest ring to later sealers (its descriptor is written above).
        if (capacity == largest) atomic.store<i32>(ch + LARGE_RING, <i32>ring);
        return <i32>ring;
      }
    }
  }
  ring = takeFree(ch, minimum, desired);
  if (ring != 0) return <i32>ring;
  return atomic.load<i32>(ch + CORRUPT) != 0 ? CORRUPTED : NO_MEMORY;
}

/**
 * Unlinks `ring` (whose predecessor in the free list is `prev`, 0 for the head) from the free
 * list. Only the sealer unlinks; the consumer only ever pushes a new head.
 * @returns false if the list broke its invariants (the caller fails the channel).
 */
function unlinkFree(ch: usize, ring: usize, prev: usize): bool {
  const after = atomic.load<i32>(ring + RING_FREE_NEXT);
  if (prev != 0) {
    // Not the list's head: the consumer only ever changes the head, so a store unlinks it.
    atomic.store<i32>(prev + RING_FREE_NEXT, after);
    return true;
  }
  if (atomic.cmpxchg<i32>(ch + FREE_RINGS, <i32>ring, after) == <i32>ring) return true;
  // The consumer pushed rings meanwhile: `ring` is further down now; unlink it from there.
  let node = <usize>atomic.load<i32>(ch + FREE_RINGS);
  for (let hops = maxRings(); hops > 0; hops--) {
    if (capacityOf(ch, node) == 0) return false;
    const next = <usize>atomic.load<i32>(node + RING_FREE_NEXT);
    if (next == ring) {
      atomic.store<i32>(node + RING_FREE_NEXT, after);
      return true;
    }
    node = next;
  }
  return false;
}

/**
 * Resets a ring taken off the free list for reuse at a position past its final TAIL (see
 * "Positions stay monotonic"). Its data is all zero (the consumer zeroed every record).
 */
function reuse(ring: usize, capacity: i32): void {
  store<i32>(ring + RING_FREE_NEXT, 0);
  store<i32>(ring + RING_NEXT, 0);
  // It resumes at the next multiple of its capacity, so that any record it can hold fits
  // without padding; still a position later than any a producer saw. Unsealing comes last: it
  // lets producers that still hold this ring's address claim in it.
  const c = <i64>capacity;
  const resume = ((atomic.load<i64>(ring + RING_TAIL) & POSITION) + c - 1) & ~(c - 1);
  store<i32>(ring + RING_START, startCheck(ring, resume));
  atomic.store<i64>(ring + RING_HEAD, resume);
  atomic.store<i64>(ring + RING_TAIL, resume);
}

/**
 * Pops the largest free ring whose capacity is in [least, below) and resets it for reuse.
 * @returns its address, or 0 (none; or the list is broken, and the channel failed).
 */
function takeFree(ch: usize, least: i32, below: i32): usize {
  let best: usize = 0;
  let bestCap: i32 = 0;
  let bestPrev: usize = 0;
  let prev: usize = 0;
  let ring = <usize>atomic.load<i32>(ch + FREE_RINGS);
  for (let hops = maxRings(); ring != 0; hops--) {
    const capacity = capacityOf(ch, ring);
    if (hops == 0 || capacity == 0) {
      fail(ch, 8);
      return 0;
    }
    if (capacity >= least && capacity < below && capacity > bestCap) {
      best = ring;
      bestCap = capacity;
      bestPrev = prev;
    }
    prev = ring;
    ring = <usize>atomic.load<i32>(ring + RING_FREE_NEXT);
  }
  if (best == 0) return 0;
  // A retired ring is sealed and drained, and in use by nobody: else the list was written to.
  const tail = atomic.load<i64>(best + RING_TAIL);
  if (
    tail >= 0 || (tail & POSITION) != atomic.load<i64>(best + RING_HEAD) ||
    <i32>best == atomic.load<i32>(ch + PROD_RING) || <i32>best == atomic.load<i32>(ch + CONS_RING) ||
    !unlinkFree(ch, best, bestPrev)
  ) {
    fail(ch, 9);
    return 0;
  }
  reuse(best, bestCap);
  return best;
}

/** Consumer: puts a drained, sealed ring on the free list. @returns OK or CORRUPTED. */
function retire(ch: usize, ring: usize): i32 {
  let head = atomic.load<i32>(ch + FREE_RINGS);
  for (let turn = 0; turn < SPIN_LIMIT; turn++) {
    store<i32>(ring + RING_FREE_NEXT, head);
    // Publishes the ring (and its FREE_NEXT) to the sealer.
    const seen = atomic.cmpxchg<i32>(ch + FREE_RINGS, head, <i32>ring);
    if (seen == head) return OK;
    head = seen;
  }
  return fail(ch, 10);
}

/** A record header as one i64: META (with its check) in the high half, SIZE in the low half. */
// @ts-ignore: decorator
@inline function header(kind: i32, owner: i32, size: i32): i64 {
  const fields = kind | (owner << 16);
  // Two multiplications: every bit of SIZE and of the fields reaches the top 12 bits.
  const check = (((fields * 0x9e3779b1) ^ size) * 0x85ebca6b) >>> 20;
  return (<i64>(fields | (check << 4)) << 32) | <i64><u32>size;
}

/** Whether the header `h` read from shared memory carries a right check (and a known kind). */
// @ts-ignore: decorator
@inline function headerOk(h: i64): bool {
  const meta = <i32>(h >>> 32);
  return header(meta & 0xf, meta >>> 16, <i32>h) == h;
}

/**
 * For a ring found sealed (TAIL `tail`, as read): its successor, once linked.
 *
 * A sealer raises SEALING before it seals, and once it has linked a successor (or unsealed the
 * ring again, NO_MEMORY) it counts the seal in SEAL_GEN and lowers SEALING. So a ring read
 * sealed, with no successor, while SEALING reads 0 and neither TAIL, NEXT nor SEAL_GEN moved
 * meanwhile, was sealed by nobody: a seal whose sealer lowered SEALING before that read has
 * either linked a successor or unsealed, and counted itself in SEAL_GEN before; a later one
 * raised SEALING, or changed TAIL or SEAL_GEN, before the second reads.
 * @returns the successor's address, 0 while a sealer is at work, or CORRUPTED.
 */
function sealedFor(ch: usize, ring: usize, tail: i64): i32 {
  const gen = atomic.load<i32>(ch + SEAL_GEN);
  let next = <usize>atomic.load<i32>(ring + RING_NEXT);
  if (next == 0) {
    if (atomic.load<i32>(ch + SEALING) > 0) return 0;
    next = <usize>atomic.load<i32>(ring + RING_NEXT);
    if (
      next == 0 && atomic.load<i64>(ring + RING_TAIL) == tail &&
      atomic.load<i32>(ch + SEAL_GEN) == gen
    ) return fail(ch, 11);
    if (next == 0) return 0;
  }
  if (next == ring || capacityOf(ch, next) == 0) return fail(ch, 12);
  if (<usize>load<i32>(next + RING_PREV) != ring) return fail(ch, 13);
  return <i32>next;
}

/**
 * Claims space for a record with a payload of `length` bytes, on behalf of sender `owner`.
 *
 * @returns the payload's address (≥ FIRST_OFFSET), to be filled and then passed to `commit`
 * (or `cancel`); or FULL (bound reached / no receiver waiting on a rendezvous channel),
 * BUSY (a sealer is linking a new ring: try again once SPACE_SEQ moves), DISCONNECTED
 * (receiver closed), TOO_LARGE (can never fit within MAX_BYTES), NO_MEMORY (does not fit until
 * the consumer drains), CORRUPTED.
 */
export function reserve(ch: usize, length: i32, owner: i32): i32 {
  if (enter(ch) != OK) return CORRUPTED;
  if (atomic.load<i32>(ch + RECEIVER) == 0) return DISCONNECTED;
  if (length < 0 || length > MAX_LENGTH) return TOO_LARGE;
  const status = admit(ch);
  if (status != OK) return status;
  const size = align8(HEADER + length);
  let sealed = 0;
  for (let turn = 0; turn < SPIN_LIMIT; turn++) {
    const ring = <usize>atomic.load<i32>(ch + PROD_RING);
    const capacity = capacityOf(ch, ring);
    if (capacity == 0) return fail(ch, 14);
    const tail = atomic.load<i64>(ring + RING_TAIL);
    if (tail < 0) {
      // Sealed: help publish its successor, or wait for the sealer to link one.
      const next = sealedFor(ch, ring, tail);
      if (next == CORRUPTED) return CORRUPTED;
      if (next != 0) atomic.cmpxchg<i32>(ch + PROD_RING, <i32>ring, next);
      else if (++sealed == SEAL_SPINS) {
        // Its sealer is slow (descheduled, growing the memory): wait in the caller, not here.
        unadmit(ch);
        return BUSY;
      }
      continue;
    }
    if ((tail & (ALIGN - 1)) != 0) return fail(ch, 15);
    const index = <i32>(tail & (capacity - 1));
    const toEnd = capacity - index;
    const padding = size > toEnd ? toEnd : 0;
    const end = tail + padding + size;
    if (ring != prodRing) {
      prodRing = ring;
      prodHead = tail - capacity; // unknown yet: assume full, read HEAD below
      prodTail = tail;
      prodEnd = -1;
    } else if (tail < prodTail || tail < prodHead) {
      return fail(ch, 16); // TAIL went back (loads of one word never go back in time)
    } else {
      prodTail = tail;
    }
    if (end - prodHead > capacity) {
      const head = atomic.load<i64>(ring + RING_HEAD);
      if (head > tail || tail - head > capacity) {
        // HEAD is read after TAIL, so it may be newer than a stale `tail` (claims and receives
        // happened in between); TAIL unchanged since means they really disagree.
        if (atomic.load<i64>(ring + RING_TAIL) == tail) return fail(ch, 17);
        continue;
      }
      prodHead = head;
    }
    if (end - prodHead > capacity) {
      // No room: seal this ring and continue in another one. SEALING is raised first and
      // lowered last, after SEAL_GEN: see `sealedFor`.
      atomic.add<i32>(ch + SEALING, 1);
      if (atomic.cmpxchg<i64>(ring + RING_TAIL, tail, tail | SEALED) != tail) {
        atomic.sub<i32>(ch + SEALING, 1);
        continue;
      }
      const grown = allocRing(ch, size, capacity);
      if (grown < FIRST_OFFSET) {
        // Unseal: nobody else changes a sealed TAIL, so a store restores it.
        atomic.store<i64>(ring + RING_TAIL, tail);
        atomic.add<i32>(ch + SEAL_GEN, 1);
        atomic.sub<i32>(ch + SEALING, 1);
        unadmit(ch); // wakes producers that waited for the seal, too
        if (grown == NO_MEMORY && size <= capacity) {
          // The record fits this ring once it is drained and starts over at offset 0: ask the
          // consumer to realign it when it next finds it empty (see `realign`).
          atomic.store<i32>(ch + REALIGN, 1);
          wake(ch + DATA_SEQ, ch + DATA_WAITERS);
        }
        return grown;
      }
      // Publishes the successor (and its PREV) to the consumer (NEXT), then to producers
      // (PROD_RING); then wakes producers that waited for it (see the BUSY below).
      store<i32>(<usize>grown + RING_PREV, <i32>ring);
      atomic.store<i32>(ring + RING_NEXT, grown);
      atomic.store<i32>(ch + PROD_RING, grown);
      atomic.add<i32>(ch + SEAL_GEN, 1);
      atomic.sub<i32>(ch + SEALING, 1);
      wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
      continue;
    }
    if (atomic.cmpxchg<i64>(ring + RING_TAIL, tail, end) != tail) continue;
    // Right after this thread's own last claim, TAIL has not moved since it moved it: the space
    // is as that claim left it (a move back is caught above). Else its first word is checked.
    const follows = tail == prodEnd;
    prodTail = end;
    prodEnd = end;
    const data = ring + RING_DATA;
    let record = data + index;
    // Space between HEAD and the claims reads 0 (see "Protocol"): a header there means TAIL was
    // moved back over a record nobody consumed yet. So, unless the claim follows this thread's
    // own, each header is written by a CAS from 0, which checks that in the one access the
    // store needs anyway. (Not always: a consumer that keeps up spins on exactly this word, and
    // a locked CAS on it stalls a streaming producer; a plain store does not.)
    if (padding != 0) {
      // Publishes the padding record, committed at once. Only its header is written: the rest
      // of the data area still reads 0.
      if (atomic.cmpxchg<i64>(record, 0, header(RECORD_GAP, 0, padding)) != 0) {
        unadmit(ch);
        return fail(ch, 18);
      }
      record = data;
    }
    // Marks the claim in progress; META names its owner (for recovery from a dead producer,
    // and for `commit`'s CAS). It publishes nothing (the consumer reads 0 or -size alike as
    // unfinished); `commit`'s CAS orders it with the payload.
    const claim = header(RECORD_MESSAGE, owner & OWNER_MASK, -(HEADER + length));
    if (follows && padding == 0) {
      store<i64>(record, claim);
    } else if (atomic.cmpxchg<i64>(record, 0, claim) != 0) {
      unadmit(ch);
      return fail(ch, 18);
    }
    return <i32>(record + HEADER);
  }
  // Another thread kept changing TAIL or kept a ring sealed without a successor: try later.
  unadmit(ch);
  return FULL;
}

/** Whether `payload` can be the payload address of a record of channel `ch` (caller input). */
// @ts-ignore: decorator
@inline function payloadOk(ch: usize, payload: usize): bool {
  return (payload & (ALIGN - 1)) == 0 &&
    <i64>payload >= <i64>ch + CONTROL_SIZE + RING_DATA + HEADER && reach(<i64>payload);
}

/**
 * Publishes the record whose payload at `payload` was claimed by `reserve(ch, length, owner)`
 * and written.
 * @returns OK; CORRUPTED; or MISMATCH when the claim's header is no longer the one `reserve`
 * wrote: either its producer was reported dead and the claim was skipped (then the caller's
 * thread was terminated: it must stop), or the memory was overwritten (the caller reports it
 * with `corrupt`).
 */
export function commit(ch: usize, payload: usize, owner: i32, length: i32): i32 {
  if (attached(ch) != OK) return CORRUPTED;
  if (!payloadOk(ch, payload)) return INVALID;
  const record = payload - HEADER;
  const o = owner & OWNER_MASK;
  const claimed = header(RECORD_MESSAGE, o, -(HEADER + length));
  // Publishes the payload: the consumer that reads SIZE > 0 sees every byte written before.
  if (atomic.cmpxchg<i64>(record, claimed, header(RECORD_MESSAGE, o, HEADER + length)) != claimed) {
    return MISMATCH;
  }
  wake(ch + DATA_SEQ, ch + DATA_WAITERS);
  return OK;
}

/**
 * Like `commit`, for a payload that turned out shorter than reserved: publishes the claim of
 * `reserved` bytes as a message of `length` bytes, the unwritten rest as a RECORD_GAP. For
 * producers that reserve an upper bound and write the message in place. The caller must not
 * have written past `length`: the consumer zeroes only what was written.
 *
 * @returns OK, MISMATCH or CORRUPTED as `commit`, or INVALID for a `length` out of range
 * (nothing is published: `cancel` the claim).
 */
export function commitLength(
  ch: usize,
  payload: usize,
  owner: i32,
  reserved: i32,
  length: i32,
): i32 {
  if (attached(ch) != OK) return CORRUPTED;
  if (length < 0 || length > reserved || !payloadOk(ch, payload)) return INVALID;
  const record = payload - HEADER;
  const o = owner & OWNER_MASK;
  const claimed = header(RECORD_MESSAGE, o, -(HEADER + reserved));
  const used = align8(HEADER + length);
  const rest = align8(HEADER + reserved) - used;
  if (atomic.load<i64>(record) != claimed) return MISMATCH;
  // The rest becomes a gap the consumer skips after the message; it is published with it.
  if (rest != 0) atomic.store<i64>(record + used, header(RECORD_GAP, 0, rest));
  // Publishes the payload (and the gap), as in `commit`.
  if (atomic.cmpxchg<i64>(record, claimed, header(RECORD_MESSAGE, o, HEADER + length)) != claimed) {
    return MISMATCH;
  }
  wake(ch + DATA_SEQ, ch + DATA_WAITERS);
  return OK;
}

/**
 * Gives up a claim made by `reserve(ch, length, owner)` without sending: the record becomes
 * padding that the consumer skips, and the admission is returned.
 * @returns OK, or MISMATCH / CORRUPTED as `commit` (then nothing changed).
 */
export function cancel(ch: usize, payload: usize, owner: i32, length: i32): i32 {
  if (attached(ch) != OK) return CORRUPTED;
  if (!payloadOk(ch, payload)) return INVALID;
  const record = payload - HEADER;
  const o = owner & OWNER_MASK;
  const claimed = header(RECORD_MESSAGE, o, -(HEADER + length));
  const padding = header(RECORD_PADDING, o, align8(HEADER + length));
  // Publishes the padding record.
  if (atomic.cmpxchg<i64>(record, claimed, padding) != claimed) return MISMATCH;
  unadmit(ch);
  wake(ch + DATA_SEQ, ch + DATA_WAITERS);
  return OK;
}

/**
 * Consumer: the address of the record at HEAD, from this instance's view (see `consHead`),
 * checked against the memory. @returns it, or 0 after failing the channel.
 */
function headRecord(ch: usize): usize {
  const ring = <usize>atomic.load<i32>(ch + CONS_RING);
  if (ch != consCh) {
    // This instance starts consuming: take the ring and HEAD as the memory has them.
    if (atomic.load<i32>(ch + CONS_CHECK) != consCheck(ring) || !enterRing(ch, ring)) {
      fail(ch, 19);
      return 0;
    }
  } else if (ring != consRing || atomic.load<i64>(ring + RING_HEAD) != consHead) {
    // Only the consumer moves CONS_RING and HEAD, and it keeps them here.
    fail(ch, 20);
    return 0;
  }
  return ring + RING_DATA + <i32>(consHead & (consCap - 1));
}

/**
 * Consumer: makes `ring` its ring, HEAD as the memory has it. @returns false for a ring or HEAD
 * that cannot be (the caller fails the channel).
 */
function enterRing(ch: usize, ring: usize): bool {
  const capacity = capacityOf(ch, ring);
  if (capacity == 0) return false;
  const head = atomic.load<i64>(ring + RING_HEAD);
  if (head < 0 || (head & (ALIGN - 1)) != 0) return false;
  consCh = ch;
  consRing = ring;
  consCap = capacity;
  consHead = head;
  consTail = head;
  consLarge = capacity >= cfgLargest;
  return true;
}

/**
 * Consumer: whether a record of `extent` bytes at HEAD lies inside the ring. Not checked
 * against TAIL here: that is the producers' line, which a consumer that keeps up would take
 * from them at every message. A committed record's size is guarded by its header check and
 * bounded by the ring; a claim's is checked against TAIL by `peek`, which reads TAIL for it.
 */
// @ts-ignore: decorator
@inline function withinRing(extent: i32): bool {
  return <i32>(consHead & (consCap - 1)) + extent <= consCap;
}

/**
 * Consumer: classifies the header `h` at HEAD.
 * @returns its extent in bytes (> 0) for a committed record (message or padding), 0 for an
 * unfinished one (claimed, not written yet, or nothing claimed), -1 for a broken one.
 */
function extentOf(ch: usize, h: i64): i32 {
  if (h == 0) return 0;
  if (!headerOk(h)) return -1;
  const size = <i32>h;
  const kind = <i32>(h >>> 32) & 0xf;
  if (size > 0) {
    if (size < HEADER || kind == RECORD_DEAD) return -1;
    if (kind != RECORD_MESSAGE && kind != RECORD_PADDING && kind != RECORD_GAP) return -1;
    if (kind != RECORD_MESSAGE && (size & (ALIGN - 1)) != 0) return -1;
    return withinRing(align8(size)) ? align8(size) : -1;
  }
  if (-size < HEADER || (kind != RECORD_MESSAGE && kind != RECORD_DEAD)) return -1;
  return withinRing(align8(-size)) ? 0 : -1;
}

/**
 * Finds the next committed message for the consumer, skipping padding and following sealed
 * rings to their successors.
 *
 * @returns the payload's address (its length is then `peekLength()`), or EMPTY, BUSY (the next
 * claim is still being written), DISCONNECTED (empty and no sender left) or CORRUPTED.
 */
export function peek(ch: usize): i32 {
  if (enter(ch) != OK) return CORRUPTED;
  let noSenders = false;
  let hops = 0; // rings followed in this call
  // Each turn skips a record (at most capacity / 8 per ring) or moves to the next ring.
  let budget = 0;
  for (let turn = 0;; turn++) {
    const record = headRecord(ch);
    if (record == 0) return CORRUPTED;
    if (turn == 0) budget = consCap / ALIGN + 2;
    if (budget-- == 0) return fail(ch, 21);
    // Waits for the producer's publishing CAS of the header (SIZE > 0). One i64 load, the same
    // range as that CAS, reads SIZE and META together.
    const h = atomic.load<i64>(record);
    const extent = extentOf(ch, h);
    if (extent < 0) return fail(ch, 22);
    if (extent > 0) {
      const kind = <i32>(h >>> 32) & 0xf;
      if (kind == RECORD_MESSAGE) {
        lastLength = <i32>h - HEADER;
        lastRecord = record;
        lastHeader = h;
        lastExtent = extent;
        return <i32>(record + HEADER);
      }
      if (skip(record, extent, kind == RECORD_GAP ? HEADER : extent) != OK) return CORRUPTED;
      continue;
    }
    const ring = consRing;
    const tail = atomic.load<i64>(ring + RING_TAIL);
    const position = tail & POSITION;
    if (position < consTail || position - consHead > consCap) return fail(ch, 23);
    consTail = position;
    // A claim lies below TAIL (one read of the producers' line serves both checks).
    if (h != 0 && consHead + align8(-<i32>h) > position) return fail(ch, 32);
    if (consHead != position) {
      lastLength = -<i32>h; // the claim's length, once its header is written (see `pull` in JS)
      return BUSY;
    }
    if (h != 0) return fail(ch, 24); // nothing claimed, yet a header
    const moved = drained(ch, tail);
    if (moved == CORRUPTED) return CORRUPTED;
    if (moved == OK) {
      if (++hops > maxRings()) return fail(ch, 25);
      turn = -1;
      continue;
    }
    // Empty. A sender's commits happen before its SENDERS decrement, so after reading
    // SENDERS = 0 one more look at the ring is final.
    if (noSenders) return DISCONNECTED;
    if (atomic.load<i32>(ch + SENDERS) > 0) return EMPTY;
    noSenders = true;
  }
  return CORRUPTED; // not reached: every turn spends the budget or returns
}

/**
 * Consumer, with its ring drained up to TAIL (`tail`, as read): a sealed ring with a successor
 * is left for it and retired; an unsealed one is realigned if it should be (see `realign`).
 * @returns OK when it moved on to the successor, EMPTY when it did not, or CORRUPTED.
 */
function drained(ch: usize, tail: i64): i32 {
  const ring = consRing;
  if (tail >= 0) {
    // Unsealed, so the last ring: no successor — unless TAIL changed meanwhile (a seal). (Not
    // PROD_RING: it shares the line producers write at every claim, and this runs whenever the
    // consumer finds the channel empty.)
    if (atomic.load<i32>(ring + RING_NEXT) != 0 && atomic.load<i64>(ring + RING_TAIL) == tail) {
      return fail(ch, 26);
    }
    if (consLarge || atomic.load<i32>(ch + REALIGN) != 0) realign(ch, tail);
    return EMPTY;
  }
  const next = sealedFor(ch, ring, tail);
  if (next == CORRUPTED) return CORRUPTED;
  if (next == 0) return EMPTY; // its sealer is linking one
  // The sealed ring is drained up to its final TAIL: move on and retire it. Its successor has
  // not been consumed from: HEAD is where the sealer started it, as START says.
  if (!enterRing(ch, <usize>next)) return fail(ch, 27);
  if (load<i32>(<usize>next + RING_START) != startCheck(<usize>next, consHead)) return fail(ch, 33);
  atomic.store<i32>(ch + CONS_CHECK, consCheck(<usize>next));
  atomic.store<i32>(ch + CONS_RING, next);
  return retire(ch, ring);
}

/** Check word of CONS_RING = `ring`. */
// @ts-ignore: decorator
@inline function consCheck(ring: usize): i32 {
  return mix(<i32>ring, 0x434f4e53);
}

/**
 * Consumer, with its ring empty at position `tail` and unsealed: moves HEAD and TAIL to the
 * next multiple of the capacity, so that the next record starts at offset 0 and any record up
 * to the ring's capacity fits. The consumer claims the rest of the ring like a producer would
 * (a CAS on TAIL; nothing is written there, its bytes read 0), then skips it.
 *
 * An empty ring takes any record of up to half its capacity wherever it stands; a larger one
 * only if it fits before the end or after the wrap. So the consumer realigns its ring whenever
 * it drains it, if it is the largest ring the channel can have (no other ring can take such a
 * record) or once a record over half its capacity has gone through it (the CAS is then cheap
 * beside the copies); and when a producer asks (REALIGN) for a record that did not fit.
 */
function realign(ch: usize, tail: i64): void {
  if (atomic.load<i32>(ch + REALIGN) != 0) atomic.store<i32>(ch + REALIGN, 0);
  const c = <i64>consCap;
  const resume = (tail + c - 1) & ~(c - 1);
  if (resume == tail) return;
  if (atomic.cmpxchg<i64>(consRing + RING_TAIL, tail, resume) != tail) return;
  // Publishes the freed ring to producers (a CAS from the HEAD this consumer keeps: see `skip`).
  if (atomic.cmpxchg<i64>(consRing + RING_HEAD, consHead, resume) != consHead) {
    fail(ch, 34);
    return;
  }
  consHead = resume;
  consTail = resume;
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
}

/**
 * Consumer: whether the record at the head is committed (a message or padding), reading only the
 * header — not TAIL, which producers write on every claim. For spinning, a bounded number of
 * times between calls to `peek`, which tells the rest: at the end of a sealed ring this stays 0
 * for ever, and only `peek` moves on to the successor.
 * @returns 1 or 0 (also 0 when the channel is corrupted: `peek` says so).
 */
export function poll(ch: usize): i32 {
  if (ch != consCh || atomic.load<i32>(ch + CORRUPT) != 0) return 0;
  const ring = consRing;
  return <i32>atomic.load<i64>(ring + RING_DATA + <i32>(consHead & (consCap - 1))) > 0 ? 1 : 0;
}

/**
 * Payload length of the message returned by this instance's last successful `peek`; after a
 * BUSY, the total length of the unfinished claim (header included; 0 if not yet known).
 */
export function peekLength(): i32 {
  return lastLength;
}

/**
 * Consumer: zeroes the first `dirty` bytes of the record at `record` (at HEAD, `extent` bytes
 * long; the rest already reads 0) and advances HEAD past it.
 * @returns OK, or CORRUPTED when HEAD was written by somebody else (producers may have claimed
 * space that held unconsumed records meanwhile).
 */
function skip(record: usize, extent: i32, dirty: i32): i32 {
  const zero = align8(dirty);
  // Zero before advancing: once HEAD moves, producers may claim these bytes again. Small
  // records by hand: `memory.fill` is a call into the runtime.
  if (zero <= 64) {
    for (let i = 0; i < zero; i += 8) store<i64>(record + i, 0);
  } else {
    memory.fill(record, 0, zero);
  }
  // Publishes the freed space to producers. A CAS from the HEAD this consumer keeps: a store
  // would overwrite the evidence of a write there (no dearer: a sequentially consistent store
  // is a locked instruction too).
  const head = consHead;
  consHead = head + extent;
  if (atomic.cmpxchg<i64>(consRing + RING_HEAD, head, consHead) != head) return fail(consCh, 35);
  return OK;
}

/** Consumes the message returned by the last `peek`. @returns OK or CORRUPTED. */
export function release(ch: usize): i32 {
  // Right after this instance's `peek`, which checked the flag, the ring and HEAD.
  if (ch != consCh && (enter(ch) != OK || headRecord(ch) == 0)) return CORRUPTED;
  const record = consRing + RING_DATA + <i32>(consHead & (consCap - 1));
  // Read again: it must still be the message `peek` returned (checked again if not).
  const h = atomic.load<i64>(record);
  let extent = lastExtent;
  if (record != lastRecord || h != lastHeader) {
    extent = extentOf(ch, h);
    if (extent <= 0 || (<i32>(h >>> 32) & 0xf) != RECORD_MESSAGE) return fail(ch, 28);
  }
  if (skip(record, extent, extent) != OK) return CORRUPTED;
  if (extent > consCap >> 1) consLarge = true;
  if (consLarge && consHead >= consTail) {
    // A ring for large records, caught up with the TAIL last seen. Drained? Then realign it, or
    // leave it (sealed) for its successor, now: the next record may need the room before this
    // thread peeks again (see `realign`, `allocRing`). Corruption found there is flagged for
    // the next call: this message was good.
    const tail = atomic.load<i64>(consRing + RING_TAIL);
    if ((tail & POSITION) == consHead) drained(ch, tail);
  }
  // Publishes the free slot to bounded producers.
  atomic.add<i32>(ch + RECEIVED, 1);
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
  return OK;
}

// ── Ends.

/** Counts one more sender (a clone). @returns the senders now counted, or -CORRUPTED. */
export function addSender(ch: usize): i32 {
  if (enter(ch) != OK) return -CORRUPTED;
  return atomic.add<i32>(ch + SENDERS, 1) + 1;
}

/** Counts one sender fewer; the last one gone wakes the receiver. @returns senders left. */
export function dropSender(ch: usize): i32 {
  const left = atomic.sub<i32>(ch + SENDERS, 1) - 1;
  if (left <= 0) wake(ch + DATA_SEQ, ch + DATA_WAITERS);
  return left;
}

/** Marks the receiver closed and wakes every waiting sender. */
export function closeReceiver(ch: usize): void {
  // Publishes the disconnection: later reserves fail with DISCONNECTED.
  atomic.store<i32>(ch + RECEIVER, 0);
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
}

/** @returns a fresh owner id (1 … OWNER_MASK) for a sender's claims. */
export function newOwner(ch: usize): i32 {
  for (let turn = 0; turn < 2; turn++) {
    const owner = (atomic.add<i32>(ch + NEXT_OWNER, 1) + 1) & OWNER_MASK;
    if (owner != 0) return owner;
  }
  return 1;
}

/**
 * Reports that producer `owner`, whose unfinished claim has its payload at `payload`, is dead:
 * marks the claim RECORD_DEAD, so that `unblock` may skip it. Nothing happens unless a claim of
 * that owner is in progress there (it was committed or cancelled meanwhile, say). `payload` is
 * what the producer reported (see src/_lifeline.ts), so it is validated like any input.
 * @returns OK if a claim was marked, else BUSY (or CORRUPTED).
 */
export function markDead(ch: usize, payload: usize, owner: i32): i32 {
  if (enter(ch) != OK) return CORRUPTED;
  if (!payloadOk(ch, payload)) return BUSY;
  const record = payload - HEADER;
  const h = atomic.load<i64>(record);
  const size = <i32>h;
  const o = owner & OWNER_MASK;
  if (size >= 0 || h != header(RECORD_MESSAGE, o, size)) return BUSY;
  // The CAS decides between this and a late `commit` or `cancel` of a producer that is not
  // quite dead: whichever changes the header first wins.
  if (atomic.cmpxchg<i64>(record, h, header(RECORD_DEAD, o, size)) != h) return BUSY;
  // The consumer may be waiting on this claim: let it start its grace period.
  atomic.add<i32>(ch + DATA_SEQ, 1);
  atomic.notify(ch + DATA_SEQ, -1);
  return OK;
}

/**
 * Consumer: whether the next record is an unfinished claim that nobody will finish — one marked
 * RECORD_DEAD, or any once no sender is left — which `unblock` skips. Callers wait a grace
 * period from the first time this says so (a dying thread may still be writing).
 * @returns 1 or 0.
 */
export function headDead(ch: usize): i32 {
  if (enter(ch) != OK) return 0;
  const record = headRecord(ch);
  if (record == 0) return 0;
  const h = atomic.load<i64>(record);
  if (<i32>h > 0) return 0;
  if (h != 0 && (<i32>(h >>> 32) & 0xf) == RECORD_DEAD) return 1;
  return atomic.load<i32>(ch + SENDERS) <= 0 ? 1 : 0;
}

/**
 * Consumer: if the next record is an unfinished claim that nobody will finish (see
 * `headDead`), turns it into padding (it is never delivered) and gives back its admission.
 * @returns OK if a claim was skipped, BUSY if not, CORRUPTED when the claim cannot be skipped
 * (no sender is left and its header was never written: its extent is unknown).
 */
export function unblock(ch: usize): i32 {
  if (enter(ch) != OK) return CORRUPTED;
  const record = headRecord(ch);
  if (record == 0) return CORRUPTED;
  const h = atomic.load<i64>(record);
  const extent = extentOf(ch, h);
  if (extent < 0) return fail(ch, 29);
  if (extent > 0 || <i32>h > 0) return BUSY;
  const noSenders = atomic.load<i32>(ch + SENDERS) <= 0;
  if (h == 0) {
    const position = atomic.load<i64>(consRing + RING_TAIL) & POSITION;
    return noSenders && position != consHead ? fail(ch, 30) : BUSY;
  }
  const meta = <i32>(h >>> 32);
  if ((meta & 0xf) != RECORD_DEAD && !noSenders) return BUSY;
  const padding = header(RECORD_PADDING, meta >>> 16, align8(-<i32>h));
  if (atomic.cmpxchg<i64>(record, h, padding) != h) return BUSY;
  unadmit(ch);
  return OK;
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

/** @returns the number of live senders (racy; informational). */
export function senderCount(ch: usize): i32 {
  return atomic.load<i32>(ch + SENDERS);
}

/** @returns 1 while the receiver is open, else 0. */
export function receiverOpen(ch: usize): i32 {
  return atomic.load<i32>(ch + RECEIVER) != 0 ? 1 : 0;
}

/** @returns messages claimed and not yet consumed (racy; informational). */
export function length(ch: usize): i32 {
  return max(atomic.load<i32>(ch + ADMITTED) - atomic.load<i32>(ch + RECEIVED), 0);
}

/** @returns bytes of storage allocated to rings so far. */
export function storageBytes(ch: usize): i32 {
  return atomic.load<i32>(ch + STORAGE);
}

/** @returns the data capacity of the ring producers currently claim in (0 if broken). */
export function ringCapacity(ch: usize): i32 {
  return capacityOf(ch, <usize>atomic.load<i32>(ch + PROD_RING));
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
