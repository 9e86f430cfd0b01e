// The channel's queue: a multi-producer, single-consumer ring of variable-length records in a
// shared WebAssembly.Memory, with the channel's counters, flags and wait words beside it.
//
// Every thread that holds a channel end runs its own instance of this module over the same
// memory. Instances share nothing but that memory, so this file keeps no state in globals
// (except `lastLength`, an out-parameter of `peek`, `headRing`/`headPos`, out-parameters of
// `headRecord`, and `reached`, a cache of this thread's view of the memory's size; all per
// instance by design) and never
// allocates: only loads, stores and atomics at offsets derived from the control block address
// `ch` that the caller passes. All atomics are sequentially consistent (Wasm threads).
//
// ## Layout (byte offsets from `ch`; every line is 64 bytes so that producer-written,
// ## consumer-written and rarely-written words never share a cache line)
//
//   ch + 0    ┌──────────────────────────────────────────────────────────────────┐
//             │ MAGIC │ VERSION │ BOUND │ MAX_BYTES │ STORAGE │ FREE_RINGS │ ID │ config
//   ch + 64   ├──────────────────────────────────────────────────────────────────┤
//             │ PROD_RING │ ADMITTED │ RECEIVED_CACHE │                          │ producers
//   ch + 128  ├──────────────────────────────────────────────────────────────────┤
//             │ CONS_RING │ RECEIVED │                                           │ consumer
//   ch + 192  ├──────────────────────────────────────────────────────────────────┤
//             │ SENDERS │ RECEIVER │ RECV_WAITING │                             │ ends
//   ch + 256  ├──────────────────────────────────────────────────────────────────┤
//             │ DATA_SEQ │ DATA_WAITERS │                                        │ wait: data
//   ch + 320  ├──────────────────────────────────────────────────────────────────┤
//             │ SPACE_SEQ │ SPACE_WAITERS │                                      │ wait: space
//   ch + 384  ├──────────────────────────────────────────────────────────────────┤
//             │ NEXT_OWNER │ DEAD_NEXT │                                         │ owners
//   ch + 448  ├──────────────────────────────────────────────────────────────────┤
//             │ DEAD_OWNERS[16]: the last owners reported dead (see `unblock`)   │
//   ch + 512  ├──────────────────────────────────────────────────────────────────┤
//             │ first ring (descriptor + data), see below                        │
//             └──────────────────────────────────────────────────────────────────┘
//
// A ring is a descriptor followed by `capacity` bytes of data (a power of two ≥ 16):
//
//   r + 0     │ CAPACITY │ NEXT (ring that follows once this one is sealed; 0 = none) │
//             │ FREE_NEXT (next retired ring in the FREE_RINGS list)                 │
//   r + 64    │ TAIL: i64 byte position claimed by producers; bit 63 = SEALED        │
//             │ HEAD_CACHE: i64, producers' last view of HEAD                        │
//   r + 128   │ HEAD: i64 byte position of the next record to consume                │
//   r + 192   │ data[capacity] ...                                                   │
//
// Positions grow monotonically; the byte of position p is at data + (p & (capacity - 1)).
//
// A record is an 8-byte header and its payload, padded to a multiple of 8 bytes:
//
//   +0  SIZE  i32  0 = not written yet; -(8 + length) = claimed, being written;
//                  +(8 + length) = committed message; for padding, its whole extent
//   +4  META  i32  kind (bits 0–7) | owner id << 8 (bits 8–31), where the kind is
//                  RECORD_MESSAGE, RECORD_PADDING, RECORD_GAP (a padding whose bytes after the
//                  header are still 0) or RECORD_TRIMMED (a committed message whose last `trim`
//                  reserved bytes were not written; bits 8–31 hold `trim` instead of the owner)
//   +8  payload[length], then zeros up to the next multiple of 8
//
// SIZE and META form one i64 (SIZE in the low half): a producer publishes a claim by one 64-bit
// CAS from the header it wrote (its owner, -size) to the committed one, so that a producer that
// was reported dead and whose claim was skipped and reused by another producer can never
// publish or touch that other producer's record: the owner in the expected value differs.
//
// ## Protocol
// - Producers claim space by a CAS on TAIL (claims are ordered by TAIL), then write the header
//   (-size in SIZE: the claim is in progress; META names its owner), copy the payload, and
//   publish it with a CAS of the header to +size. A producer that reserved an upper bound and
//   wrote less publishes a RECORD_TRIMMED record (`commitLength`). A claim that would straddle
//   the end of the data area first lays down a padding record up to the end (committed at once)
//   and starts at offset 0.
// - The consumer reads the header at HEAD: SIZE > 0 is a committed record; ≤ 0 with HEAD < TAIL
//   is a claim still being written (BUSY); HEAD = TAIL is EMPTY. After use it zeroes the record
//   (so that every byte a future header may land on reads 0), then advances HEAD. Invariant:
//   every byte of the data area between HEAD and the next claim reads 0. Bytes a record never
//   had written (after the header of RECORD_GAP padding, after the payload of a RECORD_TRIMMED
//   message) therefore need no zeroing.
// - Growth: a producer that finds the ring too full seals it (CAS TAIL → TAIL | SEALED; one
//   producer wins), allocates a larger ring from fresh pages (`memory.grow`; STORAGE counts
//   whole pages against MAX_BYTES), links it in NEXT
//   and publishes it in PROD_RING. Later claims go to the new ring. The consumer drains the
//   sealed ring up to its final TAIL, then follows NEXT and pushes the drained ring on the
//   FREE_RINGS list. The next sealer takes a free ring before growing the memory, so storage
//   follows the peak backlog, not the traffic. Only the sealer allocates or pops (a single
//   popper; the consumer is the single pusher), so neither needs a lock and the list has no ABA.
//   Positions stay monotonic across reuse (a reused ring resumes at its final TAIL): a producer
//   that read a ring long ago can only win its CAS on TAIL with a HEAD no newer than the real
//   one, so even a claim computed before the ring was retired is a valid claim.
// - Dead producers: a claim whose producer died before committing would stop the consumer for
//   ever (BUSY). Whoever learns that a producer died (the thread that terminated its worker)
//   reports its owner id with `markDead`; the consumer, after waiting a while on a BUSY claim,
//   calls `unblock`, which turns a claim of a dead owner into padding (cf. Agrona's unblock).
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
export const FIRST_OFFSET: i32 = 16;

// ── Control block.
export const MAGIC_VALUE: i32 = 0x4d505343; // "MPSC"
export const LAYOUT_VERSION: i32 = 1;
export const MAGIC: i32 = 0;
export const VERSION: i32 = 4;
export const BOUND: i32 = 8;
export const MAX_BYTES: i32 = 12;
export const STORAGE: i32 = 16;
export const FREE_RINGS: i32 = 20;
export const ID: i32 = 24;
export const PROD_RING: i32 = 64;
export const ADMITTED: i32 = 68;
/** Producers' last view of RECEIVED, so that a bounded send reads the consumer's line rarely. */
export const RECEIVED_CACHE: i32 = 72;
export const CONS_RING: i32 = 128;
export const RECEIVED: i32 = 132;
export const SENDERS: i32 = 192;
export const RECEIVER: i32 = 196;
export const RECV_WAITING: i32 = 200;
export const DATA_SEQ: i32 = 256;
export const DATA_WAITERS: i32 = 260;
export const SPACE_SEQ: i32 = 320;
export const SPACE_WAITERS: i32 = 324;
export const NEXT_OWNER: i32 = 384;
export const DEAD_NEXT: i32 = 388;
export const DEAD_OWNERS: i32 = 448;
export const DEAD_SLOTS: i32 = 16;
/** Owner ids fit the 24 bits META leaves them. */
export const OWNER_MASK: i32 = 0xffffff;
export const CONTROL_SIZE: i32 = 512;

// ── Ring descriptor.
export const RING_CAPACITY: i32 = 0;
export const RING_NEXT: i32 = 4;
export const RING_FREE_NEXT: i32 = 8;
export const RING_TAIL: i32 = 64;
export const RING_HEAD_CACHE: i32 = 72;
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
/**
 * A message shorter than its record: META holds, instead of the owner, how many bytes of the
 * reserved length were not written (`commitLength`); they still read 0.
 */
export const RECORD_TRIMMED: i32 = 4;
/** Most bytes `commitLength` can leave unwritten (the 24 bits META has for them). */
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

const SEALED: i64 = i64.MIN_VALUE;
const POSITION: i64 = i64.MAX_VALUE;

/** Payload length of the record returned by the last `peek` of this instance. */
let lastLength: i32 = 0;
/** The consumer's ring and HEAD, as read by the last `headRecord` of this instance. */
let headRing: usize = 0;
let headPos: i64 = 0;

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

/** End of the memory this instance has seen (per instance, like the bounds V8 keeps). */
let reached: usize = 0;

/**
 * Makes sure this instance may access `[0, end)`. Another thread's `memory.grow` reaches this
 * thread only when V8 handles a "grow shared memory" interrupt; until then atomics and
 * `memory.fill` here are bounds-checked against the old size (they trap) and JavaScript's
 * `memory.buffer` keeps the old length. `memory.grow(0)` updates this thread's view at once, so
 * it runs whenever a ring address read from shared memory lies beyond what this instance has
 * seen: once per new ring, never on the hot path.
 */
// @ts-ignore: decorator
@inline function reach(end: usize): void {
  if (end > reached) {
    memory.grow(0);
    reached = <usize>memory.size() * PAGE;
  }
}

/** @returns `ring` (read from shared memory), once this instance can access all of it. */
function ringAt(ring: usize): usize {
  reach(ring + RING_DATA);
  reach(ring + RING_DATA + load<i32>(ring + RING_CAPACITY));
  return ring;
}

/** Consumer: the address of the record at HEAD (also leaves its ring and HEAD in globals). */
// @ts-ignore: decorator
@inline function headRecord(ch: usize): usize {
  const ring = ringAt(<usize>load<i32>(ch + CONS_RING));
  const head = load<i64>(ring + RING_HEAD);
  headRing = ring;
  headPos = head;
  return ring + RING_DATA + <i32>(head & (load<i32>(ring + RING_CAPACITY) - 1));
}

/** Writes an empty ring descriptor at `r`. The data area must be zero (fresh pages). */
function initRing(r: usize, capacity: i32): void {
  store<i32>(r + RING_CAPACITY, capacity);
  store<i32>(r + RING_NEXT, 0);
  store<i64>(r + RING_TAIL, 0);
  store<i64>(r + RING_HEAD_CACHE, 0);
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
  store<i32>(ch + RECEIVED, 0);
  store<i32>(ch + SENDERS, 1);
  store<i32>(ch + RECEIVER, 1);
  store<i32>(ch + RECV_WAITING, 0);
  store<i32>(ch + ID, id);
  store<i32>(ch + VERSION, LAYOUT_VERSION);
  // Publishes the whole block: a thread that sees MAGIC sees everything above.
  atomic.store<i32>(ch + MAGIC, MAGIC_VALUE);
  return OK;
}

/** @returns OK when `ch` holds a control block of this layout version, else INVALID. */
export function validate(ch: usize): i32 {
  if (<i64>ch + CONTROL_SIZE > <i64>memory.size() * PAGE) return INVALID;
  if (atomic.load<i32>(ch + MAGIC) != MAGIC_VALUE) return INVALID;
  if (load<i32>(ch + VERSION) != LAYOUT_VERSION) return INVALID;
  return OK;
}

/**
 * Takes one admission for a message: a free slot of a bounded channel, a waiting receiver's
 * token on a rendezvous channel, or (unbounded) just the count.
 */
function admit(ch: usize): i32 {
  const bound = load<u32>(ch + BOUND);
  if (bound == UNBOUNDED) {
    atomic.add<i32>(ch + ADMITTED, 1);
    return OK;
  }
  if (bound == 0) {
    // Rendezvous: take a token a waiting receiver published (see recvWaitBegin).
    let tokens = atomic.load<i32>(ch + RECV_WAITING);
    while (true) {
      if (tokens <= 0) return FULL;
      const seen = atomic.cmpxchg<i32>(ch + RECV_WAITING, tokens, tokens - 1);
      if (seen == tokens) break;
      tokens = seen;
    }
    atomic.add<i32>(ch + ADMITTED, 1);
    return OK;
  }
  let admitted = atomic.load<i32>(ch + ADMITTED);
  while (true) {
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
}

/** Gives back an admission taken by `admit` for a message that will not be sent. */
function unadmit(ch: usize): void {
  atomic.sub<i32>(ch + ADMITTED, 1);
  if (load<u32>(ch + BOUND) == 0) {
    // The receiver that published the token is still waiting for a message: give it back.
    atomic.add<i32>(ch + RECV_WAITING, 1);
  }
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
}

/**
 * Finds a ring for a record of `size` bytes after the ring of `current` capacity filled up:
 * a free ring of at least twice that capacity, else fresh pages for one, else (MAX_BYTES
 * reached) the largest free ring or fresh ring that holds the record. Called only by the
 * producer that sealed the current ring, so never concurrently with itself.
 * @returns the ring's address, ready to be linked, or TOO_LARGE / NO_MEMORY.
 */
function allocRing(ch: usize, size: i32, current: i32): i32 {
  const maxBytes = <i64>load<u32>(ch + MAX_BYTES);
  const minimum = nextPowerOfTwo(size);
  if (pagesFor(minimum) > maxBytes) return TOO_LARGE;
  const desired = max(current << 1, minimum);
  let ring = takeFree(ch, desired, i32.MAX_VALUE);
  if (ring != 0) return <i32>ring;
  const storage = <i64>load<i32>(ch + STORAGE);
  const available = maxBytes - storage;
  let capacity = desired;
  while (pagesFor(capacity) > available && capacity > minimum) capacity >>= 1;
  const bytes = pagesFor(capacity);
  // Whole pages are taken anyway: use them.
  while (<i64>(RING_DATA + (capacity << 1)) <= bytes) capacity <<= 1;
  if (bytes <= available) {
    const first = memory.grow(<i32>(bytes / PAGE));
    if (first >= 0) {
      ring = <usize>first * PAGE;
      reached = <usize>memory.size() * PAGE;
      store<i32>(ring + RING_CAPACITY, capacity);
      store<i32>(ch + STORAGE, <i32>(storage + bytes));
      return <i32>ring;
    }
  }
  ring = takeFree(ch, minimum, desired);
  return ring != 0 ? <i32>ring : NO_MEMORY;
}

/**
 * Pops the largest free ring whose capacity is in [least, below), resetting it for reuse at
 * its final position (see "Positions stay monotonic"). @returns its address or 0.
 */
function takeFree(ch: usize, least: i32, below: i32): usize {
  let best: usize = 0;
  let bestPrev: usize = 0;
  let prev: usize = 0;
  let ring = <usize>atomic.load<i32>(ch + FREE_RINGS);
  while (ring != 0) {
    ringAt(ring);
    const capacity = load<i32>(ring + RING_CAPACITY);
    if (capacity >= least && capacity < below) {
      if (best == 0 || capacity > load<i32>(best + RING_CAPACITY)) {
        best = ring;
        bestPrev = prev;
      }
    }
    prev = ring;
    ring = <usize>atomic.load<i32>(ring + RING_FREE_NEXT);
  }
  if (best == 0) return 0;
  const after = atomic.load<i32>(best + RING_FREE_NEXT);
  if (bestPrev != 0) {
    // Not the list's head: the consumer only ever changes the head, so a store unlinks it.
    atomic.store<i32>(bestPrev + RING_FREE_NEXT, after);
  } else if (atomic.cmpxchg<i32>(ch + FREE_RINGS, <i32>best, after) != <i32>best) {
    // The consumer pushed a ring meanwhile: `best` is now second; unlink it from there.
    let node = <usize>atomic.load<i32>(ch + FREE_RINGS);
    while (atomic.load<i32>(node + RING_FREE_NEXT) != <i32>best) {
      node = <usize>atomic.load<i32>(node + RING_FREE_NEXT);
    }
    atomic.store<i32>(node + RING_FREE_NEXT, after);
  }
  store<i32>(best + RING_FREE_NEXT, 0);
  store<i32>(best + RING_NEXT, 0);
  // Its data is all zero (the consumer zeroed every record). It resumes at the next multiple
  // of its capacity, so that any record it can hold fits without padding; still a position
  // later than any a producer saw. Unsealing comes last: it lets producers that still hold
  // this ring's address claim in it.
  const capacity = <i64>load<i32>(best + RING_CAPACITY);
  const resume = ((atomic.load<i64>(best + RING_TAIL) & POSITION) + capacity - 1) & ~(capacity - 1);
  atomic.store<i64>(best + RING_HEAD, resume);
  atomic.store<i64>(best + RING_HEAD_CACHE, resume);
  atomic.store<i64>(best + RING_TAIL, resume);
  return best;
}

/** Consumer: puts a drained, sealed ring on the free list. */
function retire(ch: usize, ring: usize): void {
  let head = atomic.load<i32>(ch + FREE_RINGS);
  while (true) {
    store<i32>(ring + RING_FREE_NEXT, head);
    // Publishes the ring (and its FREE_NEXT) to the sealer.
    const seen = atomic.cmpxchg<i32>(ch + FREE_RINGS, head, <i32>ring);
    if (seen == head) return;
    head = seen;
  }
}

/** Bytes of whole pages taken by a ring of `capacity` (its descriptor and data). */
// @ts-ignore: decorator
@inline function pagesFor(capacity: i32): i64 {
  return (<i64>(RING_DATA + capacity) + PAGE - 1) / PAGE * PAGE;
}

/**
 * Claims space for a record with a payload of `length` bytes, on behalf of sender `owner`.
 *
 * @returns the payload's address (≥ FIRST_OFFSET), to be filled and then passed to `commit`
 * (or `cancel`); or FULL (bound reached / no receiver waiting on a rendezvous channel),
 * DISCONNECTED (receiver closed), TOO_LARGE (can never fit within MAX_BYTES), NO_MEMORY (does
 * not fit until the consumer drains).
 */
export function reserve(ch: usize, length: i32, owner: i32): i32 {
  if (atomic.load<i32>(ch + RECEIVER) == 0) return DISCONNECTED;
  if (length < 0 || length > MAX_LENGTH) return TOO_LARGE;
  const status = admit(ch);
  if (status != OK) return status;
  const size = align8(HEADER + length);
  while (true) {
    const ring = ringAt(<usize>atomic.load<i32>(ch + PROD_RING));
    const tail = atomic.load<i64>(ring + RING_TAIL);
    if (tail < 0) {
      // Sealed: help publish its successor, or wait for the sealer to link one.
      const next = atomic.load<i32>(ring + RING_NEXT);
      if (next != 0) atomic.cmpxchg<i32>(ch + PROD_RING, <i32>ring, next);
      continue;
    }
    const capacity = load<i32>(ring + RING_CAPACITY);
    const index = <i32>(tail & (capacity - 1));
    const toEnd = capacity - index;
    const padding = size > toEnd ? toEnd : 0;
    const end = tail + padding + size;
    let head = atomic.load<i64>(ring + RING_HEAD_CACHE);
    if (end - head > capacity) {
      head = atomic.load<i64>(ring + RING_HEAD);
      atomic.store<i64>(ring + RING_HEAD_CACHE, head);
    }
    if (end - head > capacity) {
      // No room: seal this ring and continue in another one.
      if (atomic.cmpxchg<i64>(ring + RING_TAIL, tail, tail | SEALED) != tail) continue;
      const grown = allocRing(ch, size, capacity);
      if (grown < FIRST_OFFSET) {
        // Unseal: nobody else changes a sealed TAIL, so a store restores it.
        atomic.store<i64>(ring + RING_TAIL, tail);
        unadmit(ch);
        return grown;
      }
      // Publishes the successor to the consumer (NEXT), then to producers (PROD_RING).
      atomic.store<i32>(ring + RING_NEXT, grown);
      atomic.store<i32>(ch + PROD_RING, grown);
      continue;
    }
    if (atomic.cmpxchg<i64>(ring + RING_TAIL, tail, end) != tail) continue;
    const data = ring + RING_DATA;
    let record = data + index;
    if (padding != 0) {
      // Publishes the padding record, committed at once. Only its header is written: the rest
      // of the data area still reads 0.
      atomic.store<i64>(record, header(RECORD_GAP, padding));
      record = data;
    }
    // Marks the claim in progress; META names its owner (for recovery from a dead producer,
    // and for `commit`'s CAS). A plain store: it publishes nothing (the consumer reads 0 or
    // -size alike as unfinished), and `commit`'s atomic CAS orders it with the payload.
    store<i64>(record, header(claimMeta(owner), -(HEADER + length)));
    return <i32>(record + HEADER);
  }
}

/** A record header as one i64: META in the high half, SIZE in the low half. */
@inline function header(meta: i32, size: i32): i64 {
  return (<i64>meta << 32) | <i64><u32>size;
}

/** META of a claim of `owner` in progress (as `reserve` writes it). */
@inline function claimMeta(owner: i32): i32 {
  return (owner << 8) | RECORD_MESSAGE;
}

/**
 * Publishes the record whose payload at `payload` was claimed by `reserve(ch, length, owner)`
 * and written. Does nothing if the claim was skipped by `unblock` meanwhile (its producer was
 * reported dead, yet went on): the CAS expects this claim's own header.
 */
export function commit(ch: usize, payload: usize, owner: i32, length: i32): void {
  const record = payload - HEADER;
  const size = HEADER + length;
  const meta = claimMeta(owner);
  const claimed = header(meta, -size);
  // Publishes the payload: the consumer that reads SIZE > 0 sees every byte written before.
  if (atomic.cmpxchg<i64>(record, claimed, header(meta, size)) != claimed) return;
  wake(ch + DATA_SEQ, ch + DATA_WAITERS);
}

/**
 * Like `commit`, for a payload that turned out shorter than reserved: publishes the claim of
 * `reserved` bytes as a message of `length` bytes (a RECORD_TRIMMED record). For producers that
 * reserve an upper bound and write the message in place. The caller must not have written past
 * `length`: the consumer zeroes only what was written.
 *
 * @returns OK, or INVALID for a `length` out of range or more than MAX_TRIM bytes short (nothing
 * is published: `cancel` the claim).
 */
export function commitLength(
  ch: usize,
  payload: usize,
  owner: i32,
  reserved: i32,
  length: i32,
): i32 {
  if (length < 0 || length > reserved || reserved - length > MAX_TRIM) return INVALID;
  const record = payload - HEADER;
  const size = HEADER + reserved;
  const claimed = header(claimMeta(owner), -size);
  const trimmed = header(((reserved - length) << 8) | RECORD_TRIMMED, size);
  // Publishes the payload, as in `commit`.
  if (atomic.cmpxchg<i64>(record, claimed, trimmed) != claimed) return OK;
  wake(ch + DATA_SEQ, ch + DATA_WAITERS);
  return OK;
}

/**
 * Gives up a claim made by `reserve(ch, length, owner)` without sending: the record becomes
 * padding that the consumer skips, and the admission is returned (unless `unblock` skipped the
 * claim already, which returned it).
 */
export function cancel(ch: usize, payload: usize, owner: i32, length: i32): void {
  const record = payload - HEADER;
  const meta = claimMeta(owner);
  const claimed = header(meta, -(HEADER + length));
  const padding = header((meta & ~0xff) | RECORD_PADDING, align8(HEADER + length));
  // Publishes the padding record.
  if (atomic.cmpxchg<i64>(record, claimed, padding) != claimed) return;
  unadmit(ch);
  wake(ch + DATA_SEQ, ch + DATA_WAITERS);
}

/**
 * Finds the next committed message for the consumer, skipping padding and following sealed
 * rings to their successors.
 *
 * @returns the payload's address (its length is then `peekLength()`), or EMPTY, BUSY (the next
 * claim is still being written) or DISCONNECTED (empty and no sender left).
 */
export function peek(ch: usize): i32 {
  let noSenders = false;
  while (true) {
    const record = headRecord(ch);
    const ring = headRing;
    const head = headPos;
    // Waits for the producer's publishing CAS of the header (SIZE > 0). One i64 load, the same
    // range as that CAS, reads SIZE and META together.
    const h = atomic.load<i64>(record);
    const size = <i32>h;
    if (size > 0) {
      const meta = <i32>(h >>> 32);
      const kind = meta & 0xff;
      if (kind == RECORD_MESSAGE) {
        lastLength = size - HEADER;
        return <i32>(record + HEADER);
      }
      if (kind == RECORD_TRIMMED) {
        lastLength = size - HEADER - (meta >>> 8);
        return <i32>(record + HEADER);
      }
      skip(ring, record, head, size, kind == RECORD_GAP ? HEADER : size);
      continue;
    }
    const tail = atomic.load<i64>(ring + RING_TAIL);
    if (head != (tail & POSITION)) {
      lastLength = -size; // the claim's length, once its header is written (see `pull` in JS)
      return BUSY;
    }
    if (tail < 0) {
      const next = atomic.load<i32>(ring + RING_NEXT);
      if (next != 0) {
        // The sealed ring is drained up to its final TAIL: move on and retire it.
        atomic.store<i32>(ch + CONS_RING, next);
        retire(ch, ring);
        continue;
      }
    }
    // Empty. A sender's commits happen before its SENDERS decrement, so after reading
    // SENDERS = 0 one more look at the ring is final.
    if (noSenders) return DISCONNECTED;
    if (atomic.load<i32>(ch + SENDERS) != 0) return EMPTY;
    noSenders = true;
  }
}

/**
 * Consumer: whether the record at the head is committed (a message or padding), reading only the
 * header — not TAIL, which producers write on every claim. For spinning, a bounded number of
 * times between calls to `peek`, which tells the rest: at the end of a sealed ring this stays 0
 * for ever, and only `peek` moves on to the successor.
 * @returns 1 or 0.
 */
export function poll(ch: usize): i32 {
  return <i32>atomic.load<i64>(headRecord(ch)) > 0 ? 1 : 0;
}

/**
 * Payload length of the message returned by this instance's last successful `peek`; after a
 * BUSY, the total length of the unfinished claim (header included; 0 if not yet known).
 */
export function peekLength(): i32 {
  return lastLength;
}

/**
 * Zeroes the first `dirty` bytes of the record at `record` (at position `head`, `size` bytes
 * long; the rest already reads 0) and advances HEAD past it.
 */
function skip(ring: usize, record: usize, head: i64, size: i32, dirty: i32): void {
  const bytes = align8(size);
  const zero = align8(dirty);
  // Zero before advancing: once HEAD moves, producers may claim these bytes again. Small
  // records by hand: `memory.fill` is a call into the runtime.
  if (zero <= 64) {
    for (let i = 0; i < zero; i += 8) store<i64>(record + i, 0);
  } else {
    memory.fill(record, 0, zero);
  }
  // Publishes the freed space to producers.
  atomic.store<i64>(ring + RING_HEAD, head + bytes);
}

/** Consumes the message returned by the last `peek`. */
export function release(ch: usize): void {
  const record = headRecord(ch);
  const size = load<i32>(record + RECORD_SIZE);
  const meta = load<i32>(record + RECORD_META);
  // A trimmed message was written up to its length only: the rest still reads 0.
  skip(headRing, record, headPos, size, (meta & 0xff) == RECORD_TRIMMED ? size - (meta >>> 8) : size);
  // Publishes the free slot to bounded producers.
  atomic.add<i32>(ch + RECEIVED, 1);
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
}

// ── Ends.

/** Counts one more sender (a clone). @returns the senders now counted. */
export function addSender(ch: usize): i32 {
  return atomic.add<i32>(ch + SENDERS, 1) + 1;
}

/** Counts one sender fewer; the last one gone wakes the receiver. @returns senders left. */
export function dropSender(ch: usize): i32 {
  const left = atomic.sub<i32>(ch + SENDERS, 1) - 1;
  if (left == 0) wake(ch + DATA_SEQ, ch + DATA_WAITERS);
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
  while (true) {
    const owner = (atomic.add<i32>(ch + NEXT_OWNER, 1) + 1) & OWNER_MASK;
    if (owner != 0) return owner;
  }
}

/** Reports that the producer `owner` is dead: `unblock` may skip its unfinished claims. */
export function markDead(ch: usize, owner: i32): void {
  const slot = <u32>atomic.add<i32>(ch + DEAD_NEXT, 1) % <u32>DEAD_SLOTS;
  // Publishes the death to the consumer's `unblock`.
  atomic.store<i32>(ch + DEAD_OWNERS + (slot << 2), owner & OWNER_MASK);
}

/**
 * Consumer: if the next record is an unfinished claim of an owner reported dead, turns it into
 * padding (it is never delivered) and gives back its admission.
 * @returns OK if a claim was skipped, else BUSY.
 */
export function unblock(ch: usize): i32 {
  const record = headRecord(ch);
  const h = atomic.load<i64>(record);
  const size = <i32>h;
  if (size >= 0) return BUSY;
  const meta = <i32>(h >>> 32);
  if (!isDead(ch, (meta >>> 8) & OWNER_MASK)) return BUSY;
  // The owner is reported dead. The CAS decides between this and a late `commit` or `cancel`
  // of a producer that is not quite dead: whichever changes the header first wins.
  const padding = header((meta & ~0xff) | RECORD_PADDING, align8(-size));
  if (atomic.cmpxchg<i64>(record, h, padding) != h) return BUSY;
  unadmit(ch);
  return OK;
}

/**
 * Consumer: whether the next record is an unfinished claim of an owner reported dead (which
 * `unblock` would skip). Callers time their grace period from the first time this says so.
 * @returns 1 or 0.
 */
export function headDead(ch: usize): i32 {
  const h = atomic.load<i64>(headRecord(ch));
  if (<i32>h >= 0) return 0;
  return isDead(ch, (<i32>(h >>> 32) >>> 8) & OWNER_MASK) ? 1 : 0;
}

/** Whether `owner` is among the owners reported dead. */
function isDead(ch: usize, owner: i32): bool {
  for (let i = 0; i < DEAD_SLOTS; i++) {
    if (atomic.load<i32>(ch + DEAD_OWNERS + (i << 2)) == owner) return true;
  }
  return false;
}

/** @returns the bound given to `init` (UNBOUNDED, 0 for rendezvous, or a message count). */
export function channelBound(ch: usize): u32 {
  return load<u32>(ch + BOUND);
}

/** @returns the id given to `init`. */
export function channelId(ch: usize): i32 {
  return load<i32>(ch + ID);
}

/** @returns the number of live senders (racy; informational). */
export function senderCount(ch: usize): i32 {
  return atomic.load<i32>(ch + SENDERS);
}

/** @returns 1 while the receiver is open, else 0. */
export function receiverOpen(ch: usize): i32 {
  return atomic.load<i32>(ch + RECEIVER);
}

/** @returns messages claimed and not yet consumed (racy; informational). */
export function length(ch: usize): i32 {
  return atomic.load<i32>(ch + ADMITTED) - atomic.load<i32>(ch + RECEIVED);
}

/** @returns bytes of storage allocated to rings so far. */
export function storageBytes(ch: usize): i32 {
  return atomic.load<i32>(ch + STORAGE);
}

/** @returns the data capacity of the ring producers currently claim in. */
export function ringCapacity(ch: usize): i32 {
  return load<i32>(ringAt(<usize>atomic.load<i32>(ch + PROD_RING)) + RING_CAPACITY);
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
  while (tokens > 0) {
    const seen = atomic.cmpxchg<i32>(ch + RECV_WAITING, tokens, tokens - 1);
    if (seen == tokens) return OK;
    tokens = seen;
  }
  return CLAIMED;
}
