// The rings: the protocol producers and the consumer follow over them (the code is in
// producer.ts and consumer.ts), and their life cycle — validated by `capacityOf` (channel.ts),
// sealed, succeeded by a grown or reused ring (`allocRing`), retired to the free list by the
// consumer and taken from it by the next sealer.
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
//   producer wins), allocates a larger ring from the arena (a block owned by the channel, on its
//   RINGS list; STORAGE counts the blocks against MAX_BYTES, see `ringBytes`), links it in NEXT
//   and publishes it in PROD_RING. Later
//   claims go to the new ring. The consumer drains the sealed ring up to its final TAIL, then
//   follows NEXT and pushes the drained ring on the FREE_RINGS list. The next sealer takes a
//   free ring before allocating one, so storage follows the peak backlog, not the traffic.
//   Rings go back to the arena only with the channel (see life.ts).
//   Only the sealer allocates or pops (a single popper; the consumer is the single pusher), so
//   neither needs a lock and the list has no ABA. Room for the largest ring the channel can
//   have is kept until it exists, so an empty channel always takes the largest message.
//   Positions stay monotonic across reuse (a reused ring resumes past its final TAIL): a
//   producer that read a ring long ago can only win its CAS on TAIL with a HEAD no newer than
//   the real one, so even a claim computed before the ring was retired is a valid claim.
// - Realigning (`realign` in consumer.ts): the consumer, finding its ring drained off a multiple
//   of the capacity, may move HEAD and TAIL on to the next multiple, claiming the rest of the
//   ring like a producer would. Three CASes: TAIL marked REALIGNING (nobody claims from it), HEAD,
//   then TAIL; a producer that reads the mark does the last two itself (`finishRealign`), so no
//   claim waits for the consumer. REALIGNS counts the realigns begun, before the mark.
// - TAIL written back (a stray write of a lower value) lets a claim overlap space that is not
//   free: a record not consumed yet, or space below HEAD, which the consumer never reads again
//   (a message lost without a report). So each producer fails the channel on a TAIL below the
//   highest it saw (check 16); a claim that does not follow its producer's own last claim, or
//   follows it across a realign (REALIGNS moved), writes its header by a CAS from 0 (18) and
//   finds HEAD not past its start (39), which a realign, moving HEAD before TAIL, guarantees for
//   any TAIL read at or past the realigned position; and every producer reads TAIL again after
//   writing its header (40), while the consumer reads the header at HEAD again after marking TAIL
//   for a realign, or after reading the TAIL of a sealed ring it leaves (49, 48): so TAIL written
//   back to the start of a claim, which the consumer would take for the end of its ring, is seen
//   by one of them. With one producer every TAIL written back is found (fuzz seed 6085190 lost
//   messages both ways before: a claim below a realigned HEAD, a realign past a record). With
//   several, two are not, both overwriting a record that may then be lost, or delivered with
//   another producer's bytes, without a report: TAIL written back to exactly where one
//   producer's last claim ended after others claimed past it (that producer takes its claim for
//   the continuation of its own and writes the header with a plain store, not a CAS from 0:
//   see `reserve`); and TAIL written back into a record another producer is still writing, or
//   has written, onto a word of it that reads 0 (its header not written yet, zero payload).
// - Dead producers: see ends.ts.
// - Counting: ADMITTED (producers) and RECEIVED (consumer) are wrapping message counters;
//   ADMITTED - RECEIVED is the number of messages claimed and not yet consumed, which a bounded
//   channel keeps ≤ BOUND. A rendezvous channel (BOUND = 0) admits a message only by taking a
//   token from RECV_WAITING, which a waiting receiver puts there.
// - Waiting: see wait.ts.

import {
  ALIGN, ARENA_FULL, CONS_RING, CORRUPT, CORRUPTED, DEBUG, FIRST_OFFSET, FREE_RINGS,
  GROW_FAILED, LARGE_RING, NO_MEMORY, OK, POSITION, PROD_RING, RINGS, RING_FREE_NEXT, RING_HEAD,
  RING_ALL, RING_NEXT, RING_PREV, RING_START, RING_TAIL, SEALING, SEAL_GEN, SPIN_LIMIT, STORAGE, TOO_LARGE,
  initRing, isPowerOfTwo, nextPowerOfTwo, ringBytes, startCheck,
} from "./layout";
import {
  capacityOf, cfgArena, cfgLargeIsFirst, cfgLargest, cfgMaxBytes, fail, maxRings,
} from "./channel";
import { arenaAlloc, arenaGeneration, arenaRingClass } from "./arena";
import { enterProducer, leaveProducer } from "./life";

// ── Growth: a successor for a full ring

/**
 * Finds a ring for a record of `size` bytes after the ring of `current` capacity filled up:
 * a free ring of at least twice that capacity, else a new block of the arena for one, else the
 * largest free ring that holds the record. Called only by the producer that sealed the current
 * ring, so never concurrently with itself.
 *
 * Until the largest ring the channel can have (`cfgLargest`) exists, smaller rings are allocated
 * only while its quota keeps room for it: then a record of any size up to the largest always
 * finds a ring in an empty channel — that one ring, fresh or free, or realigned when it is the
 * current one (see `realign`) — as long as the arena has room for it. A backlog of small records
 * may take it as well.
 * @returns the ring's address, ready to be linked; or TOO_LARGE, NO_MEMORY (the channel's quota,
 * MAX_BYTES), ARENA_FULL or GROW_FAILED (the arena's cap, or its memory could not grow),
 * CORRUPTED.
 */
export function allocRing(ch: usize, size: i32, current: i32): i32 {
  const minimum = nextPowerOfTwo(size);
  const largest = cfgLargest;
  if (minimum > largest) return TOO_LARGE;
  const desired = min(max(current << 1, minimum), largest);
  let ring = takeFree(ch, desired, i32.MAX_VALUE);
  if (ring != 0) return <i32>ring;
  if (atomic.load<i32>(ch + CORRUPT) != 0) return CORRUPTED;
  // STORAGE counts the blocks of the channel's rings (its RINGS list), the first one included.
  const storage = <i64>load<i32>(ch + STORAGE);
  if (storage > <i64>cfgMaxBytes || storage != ringsBytes(ch)) return fail(ch, 6);
  const available = <i64>cfgMaxBytes - storage;
  let large = <usize>atomic.load<i32>(ch + LARGE_RING);
  if (large != 0 && capacityOf(ch, large) != largest) return fail(ch, 7);
  const reserved = large != 0 || cfgLargeIsFirst ? 0 : ringBytes(largest);
  // A smaller ring from what the largest one leaves; or else the largest one itself.
  let capacity = desired;
  while (ringBytes(capacity) > available - reserved && capacity > minimum) capacity >>= 1;
  if (ringBytes(capacity) > available - reserved) capacity = reserved != 0 ? largest : 0;
  let status = NO_MEMORY;
  if (capacity != 0) {
    const bytes = ringBytes(capacity);
    // A ring that holds the record, no larger than the largest, in the quota left.
    if (DEBUG) assert(isPowerOfTwo(capacity) && capacity >= minimum && capacity <= largest);
    if (bytes <= available) {
      const got = arenaAlloc(cfgArena, arenaRingClass(capacity), <i32>ch);
      if (got >= FIRST_OFFSET) {
        ring = <usize>got;
        // The block is zero and this thread's: lay the ring out and put it on the channel's
        // list (read only by `destroy`, once no call is inside).
        initRing(ring, capacity, <i32>ch, arenaGeneration(cfgArena, ring), load<i32>(ch + RINGS));
        store<i32>(ch + RINGS, <i32>ring);
        store<i32>(ch + STORAGE, <i32>(storage + bytes));
        // Publishes the largest ring to later sealers (its descriptor is written above).
        if (capacity == largest) atomic.store<i32>(ch + LARGE_RING, <i32>ring);
        return <i32>ring;
      }
      if (got != ARENA_FULL && got != GROW_FAILED) {
        return got == CORRUPTED ? CORRUPTED : fail(ch, 43); // the arena was attached: it is there
      }
      status = got;
    }
  }
  ring = takeFree(ch, minimum, desired);
  if (ring != 0) return <i32>ring;
  if (atomic.load<i32>(ch + CORRUPT) != 0) return CORRUPTED;
  return status;
}

/**
 * The bytes of the blocks of every ring on channel `ch`'s RINGS list (pushed only by the sealer,
 * which calls this), each validated. @returns them, or -1 for a list that breaks its invariants.
 */
function ringsBytes(ch: usize): i64 {
  let bytes: i64 = 0;
  let ring = <usize><u32>load<i32>(ch + RINGS);
  for (let hops = maxRings(); ring != 0; hops--) {
    const capacity = capacityOf(ch, ring);
    if (hops == 0 || capacity == 0) return -1;
    bytes += ringBytes(capacity);
    ring = <usize><u32>load<i32>(ring + RING_ALL);
  }
  return bytes;
}

// ── The free list: retired rings, pushed by the consumer, popped by the sealer

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
export function retire(ch: usize, ring: usize): i32 {
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

// ── A sealed ring's successor

/**
 * For a ring found sealed (TAIL `tail`, as read): its successor, once linked.
 *
 * A sealer raises SEALING and counts the seal in SEAL_GEN before it seals, and once it has
 * linked a successor (or unsealed the ring again, NO_MEMORY) it counts it in SEAL_GEN again and
 * lowers SEALING. So a ring read sealed, with no successor, while SEALING reads 0 and neither
 * TAIL, NEXT nor SEAL_GEN moved meanwhile, was sealed by nobody: a seal whose sealer lowered
 * SEALING before that read has either linked a successor or unsealed, and counted itself in
 * SEAL_GEN before; a later one raised SEALING after that read and counted itself in SEAL_GEN
 * before its seal made TAIL what the second read finds. (Counting only at the end missed a
 * ring unsealed and sealed again: its TAIL is the same, and the second seal was still under
 * way. Found by tests/core_workers_test.ts under load.)
 *
 * A producer (`producer`) may hold a ring it read long ago, retired since, whose successor has
 * been reused after another ring: its PREV names that ring, which is not corruption as long as
 * the ring is no longer the producers' (the producer reads PROD_RING again).
 * @returns the successor's address, 0 while a sealer is at work, or CORRUPTED.
 */
export function sealedFor(ch: usize, ring: usize, tail: i64, producer: bool): i32 {
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
  if (<usize>load<i32>(next + RING_PREV) != ring) {
    if (producer && atomic.load<i32>(ch + PROD_RING) != <i32>ring) return 0;
    return fail(ch, 13);
  }
  return <i32>next;
}

// ── Realigning

/**
 * Finishes the realign the consumer began in `ring` (of `capacity` bytes) by marking its TAIL
 * `marked` (see `realign` in consumer.ts): moves HEAD, then TAIL, from the marked position to
 * the next multiple of the capacity. The consumer calls it after marking; a producer that reads
 * the mark calls it too, so that no claim waits for the consumer. Each step is a CAS from the
 * value before it, so whoever comes second changes nothing.
 * @returns false if the memory contradicts a realign under way (the caller fails the channel).
 */
export function finishRealign(ring: usize, capacity: i32, marked: i64): bool {
  const from = marked & ~(<i64>ALIGN - 1);
  const c = <i64>capacity;
  const to = (from + c - 1) & ~(c - 1);
  // Only an unsealed TAIL off a multiple of the capacity is ever marked.
  if (marked < 0 || to == from) return false;
  // HEAD first: TAIL shows the realigned position only once HEAD is there too (see `realign`).
  const head = atomic.cmpxchg<i64>(ring + RING_HEAD, from, to);
  if (head != from && head != to) {
    // Not a realign under way, unless it was finished since and consumption went on.
    return atomic.load<i64>(ring + RING_TAIL) != marked;
  }
  atomic.cmpxchg<i64>(ring + RING_TAIL, marked, to);
  return true;
}

// ── Informational

/** @returns bytes of the arena the channel's rings take (their blocks), or -status. */
export function storageBytes(ch: usize, gen: i32): i32 {
  const status = enterProducer(ch, gen);
  if (status != OK) return -status;
  const bytes = atomic.load<i32>(ch + STORAGE);
  leaveProducer(ch);
  return bytes;
}

/** @returns the data capacity of the ring producers currently claim in (0 if broken or stale). */
export function ringCapacity(ch: usize, gen: i32): i32 {
  if (enterProducer(ch, gen) != OK) return 0;
  const capacity = capacityOf(ch, <usize>atomic.load<i32>(ch + PROD_RING));
  leaveProducer(ch);
  return capacity;
}

