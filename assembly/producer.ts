// Producers: admission (`admit`, the bound and the rendezvous tokens), claims (`reserve`) and
// their publication (`commit`, `commitLength`) or withdrawal (`cancel`). See "Protocol" in
// ring.ts. Any number of threads run this code at once; each keeps its own view below.

import {
  ADMITTED, ALIGN, ARENA_FULL, BUSY, CORRUPTED, DATA_SEQ, DATA_WAITERS, DEBUG, DISCONNECTED,
  FIRST_OFFSET, FULL, GROW_FAILED, HEADER, INVALID, MAX_LENGTH, MISMATCH, NO_MEMORY, OK, OWNER_MASK, POSITION,
  PROD_RING, REALIGN, REALIGNING, RECEIVED, RECEIVED_CACHE, RECEIVER, RECORD_ENDS, RECORD_GAP, RECORD_MESSAGE,
  RECORD_PADDING, RECV_WAITING, RING_DATA, RING_HEAD, RING_NEXT, RING_PREV, RING_REALIGNS,
  RING_TAIL, SEALED, SEALING, SEAL_GEN, SEAL_SPINS, SPACE_SEQ, SPACE_WAITERS, SPIN_LIMIT,
  TOO_LARGE, UNBOUNDED, align8, header,
} from "./layout";
import { scanEnds } from "./ends";
import { publishOwnBatch } from "./consumer";
import { attached, capacityOf, cfgBound, fail, reach, ringGen } from "./channel";
import { enterProducer, leaveProducer } from "./life";
import { allocRing, finishRealign, sealedFor } from "./ring";
import { wake, wakeData } from "./wait";

// ── Admission

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
export function unadmit(ch: usize): void {
  atomic.sub<i32>(ch + ADMITTED, 1);
  if (cfgBound == 0) {
    // The receiver that published the token is still waiting for a message: give it back.
    atomic.add<i32>(ch + RECV_WAITING, 1);
  }
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
}

/** @returns messages claimed and not yet consumed (racy; informational), or -status. */
export function length(ch: usize, gen: i32): i32 {
  const status = enterProducer(ch, gen);
  if (status != OK) return -status;
  const n = max(atomic.load<i32>(ch + ADMITTED) - atomic.load<i32>(ch + RECEIVED), 0);
  leaveProducer(ch);
  return n;
}

// ── Claims

/**
 * A producer's last view of HEAD in ring `prodRing` of block generation `prodGen` (an older HEAD
 * only understates room), and the highest TAIL position it saw there (TAIL never goes back). A
 * ring freed and handed out again, to this channel or another, has another generation.
 */
let prodRing: usize = 0;
let prodGen: i32 = 0;
let prodHead: i64 = 0;
let prodTail: i64 = 0;
/** Where this thread's last claim in `prodRing` ended, and REALIGNS as it read it for that claim. */
let prodEnd: i64 = -1;
let prodRealigns: i32 = 0;

/**
 * Claims space for a record with a payload of `length` bytes, on behalf of sender `owner`, in
 * channel `ch` of generation `gen`.
 *
 * @returns the payload's address (≥ FIRST_OFFSET), to be filled and then passed to `commit`
 * (or `cancel`): the caller stays inside the channel until then (see life.ts); or FULL (bound
 * reached / no receiver waiting on a rendezvous channel), BUSY (a sealer is linking a new ring,
 * or the arena's memory is growing: try again once SPACE_SEQ moves), DISCONNECTED (receiver
 * closed), TOO_LARGE (can never fit within MAX_BYTES), NO_MEMORY (does not fit the channel's
 * MAX_BYTES until the consumer drains), ARENA_FULL or GROW_FAILED (does not fit the arena now),
 * CORRUPTED, STALE (see `gateIn`), INVALID.
 */
export function reserve(ch: usize, gen: i32, length: i32, owner: i32): i32 {
  const status = enterProducer(ch, gen);
  if (status != OK) return status;
  const at = claim(ch, length, owner);
  if (at < FIRST_OFFSET) leaveProducer(ch);
  return at;
}

/** `reserve`, inside. */
// @ts-ignore: decorator
@inline function claim(ch: usize, length: i32, owner: i32): i32 {
  if (atomic.load<i32>(ch + RECEIVER) <= 0) return DISCONNECTED;
  if (length < 0 || length > MAX_LENGTH) return TOO_LARGE;
  if (cfgBound != UNBOUNDED) publishOwnBatch(ch);
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
      const next = sealedFor(ch, ring, tail, true);
      if (next == CORRUPTED) return CORRUPTED;
      if (next != 0) atomic.cmpxchg<i32>(ch + PROD_RING, <i32>ring, next);
      else if (++sealed == SEAL_SPINS) {
        // Its sealer is slow (descheduled, growing the memory): wait in the caller, not here.
        unadmit(ch);
        return BUSY;
      }
      continue;
    }
    if ((tail & (ALIGN - 1)) != 0) {
      // Marked: the consumer is realigning the ring. Finish that, then claim past it.
      if ((tail & (ALIGN - 1)) != REALIGNING || !finishRealign(ring, capacity, tail)) {
        return fail(ch, 15);
      }
      continue;
    }
    // Read after TAIL: a TAIL that a realign moved (or a value derived from it) comes with the
    // count that realign raised (see `realign`).
    const realigns = atomic.load<i32>(ring + RING_REALIGNS);
    const index = <i32>(tail & (capacity - 1));
    const toEnd = capacity - index;
    const padding = size > toEnd ? toEnd : 0;
    const end = tail + padding + size;
    // Positions stay far below 2^63 (SEALED): one past it was written there. (The room checks
    // below subtract positions, and a wrapped `end` would pass them.)
    if (end < 0) return fail(ch, 36);
    if (ring != prodRing || ringGen != prodGen) {
      prodRing = ring;
      prodGen = ringGen;
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
      // lowered last; SEAL_GEN counts the seal before it is made and again once it is done (a
      // ring unsealed and sealed again has the same TAIL): see `sealedFor`.
      atomic.add<i32>(ch + SEALING, 1);
      atomic.add<i32>(ch + SEAL_GEN, 1);
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
        if ((grown == NO_MEMORY || grown == ARENA_FULL || grown == GROW_FAILED) && size <= capacity) {
          // The record fits this ring once it is drained and starts over at offset 0: ask the
          // consumer to realign it when it next finds it empty (see `realign`).
          atomic.store<i32>(ch + REALIGN, 1);
          wakeData(ch, true);
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
    // Right after this thread's own last claim, with no realign since, TAIL has not moved since
    // it moved it: the space is as that claim left it (a move back is caught above).
    const follows = tail == prodEnd && realigns == prodRealigns;
    prodTail = end;
    prodEnd = end;
    prodRealigns = realigns;
    if (!follows) {
      // Another thread moved TAIL since (another producer; or the consumer, realigning): this
      // producer's views of TAIL and HEAD are old, and TAIL may have been written back below
      // HEAD, into space the consumer has passed (zeroed: the header check below passes). A
      // claim is never below HEAD: the consumer stops at it until its header is written, and
      // realigns only a ring drained up to TAIL. So a HEAD past it means TAIL was written.
      const head = atomic.load<i64>(ring + RING_HEAD);
      if (head > tail) {
        unadmit(ch);
        return fail(ch, 39);
      }
      if (head > prodHead) prodHead = head;
    }
    const data = ring + RING_DATA;
    let record = data + index;
    // Space between HEAD and the claims reads 0 (see "Protocol" in ring.ts): a header there
    // means TAIL was moved back over a record nobody consumed yet. So, unless the claim follows
    // this thread's own, each header is written by a CAS from 0, which checks that in the one
    // access the store needs anyway. (Not always: a consumer that keeps up spins on exactly this
    // word, and a locked CAS on it stalls a streaming producer; a plain store does not.)
    if (padding != 0) {
      // Publishes the padding record, committed at once. Only its header is written: the rest
      // of the data area still reads 0.
      if (atomic.cmpxchg<i64>(record, 0, header(RECORD_GAP, 0, padding)) != 0) {
        unadmit(ch);
        return fail(ch, 18);
      }
      record = data;
    }
    // The room check keeps every claim inside the ring's data area, aligned, and this
    // producer's view ordered (HEAD ≤ TAIL), whatever the memory read.
    if (DEBUG) assert(record + size <= data + capacity, "claim past the ring's end");
    if (DEBUG) assert(((record - data) & (ALIGN - 1)) == 0 && (size & (ALIGN - 1)) == 0);
    if (DEBUG) assert(prodHead <= tail && tail < prodTail);
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
    // TAIL again, after the header: never below this claim's end, nor marked (the consumer
    // realigns only a ring drained up to TAIL, and this claim is not consumed). Else TAIL was
    // written back into the claim before the header was there — and the consumer, which reads
    // the header at HEAD after marking TAIL or, for a sealed ring, after reading it (see
    // `realign`, `drained`), may have passed the claim by: one of the two sees the other. A
    // realign begun since (and finished: HEAD first) shows in REALIGNS, and HEAD tells.
    const after = atomic.load<i64>(ring + RING_TAIL);
    if ((after & (ALIGN - 1)) != 0 || (after & POSITION) < end) {
      unadmit(ch);
      return fail(ch, 40);
    }
    if (atomic.load<i32>(ring + RING_REALIGNS) != realigns) {
      if (atomic.load<i64>(ring + RING_HEAD) > tail) {
        unadmit(ch);
        return fail(ch, 40);
      }
    }
    return <i32>(record + HEADER);
  }
  // Another thread kept changing TAIL or kept a ring sealed without a successor: try later.
  unadmit(ch);
  return FULL;
}

/**
 * Whether `payload` can be the payload address of a record (caller input): aligned, after a
 * ring's descriptor, inside the memory. (A caller's own claim; `markDead`, whose address comes
 * from elsewhere, looks for it in the channel's rings.)
 */
// @ts-ignore: decorator
@inline export function payloadOk(payload: usize): bool {
  return (payload & (ALIGN - 1)) == 0 && payload >= <usize>(FIRST_OFFSET + RING_DATA + HEADER) &&
    reach(<i64>payload);
}

/**
 * Publishes the record whose payload at `payload` was claimed by `reserve(ch, gen, length,
 * owner)` and written, and leaves the channel (whatever it returns).
 * @returns OK; CORRUPTED; or MISMATCH when the claim's header is no longer the one `reserve`
 * wrote: either its producer was reported dead and the claim was skipped (then the caller's
 * thread was terminated: it must stop), or the memory was overwritten (the caller reports it
 * with `corrupt`).
 */
export function commit(ch: usize, gen: i32, payload: usize, owner: i32, length: i32): i32 {
  const status = publish(ch, gen, payload, owner, length, RECORD_MESSAGE);
  leaveProducer(ch);
  return status;
}

/** `commit`, inside. */
// @ts-ignore: decorator
@inline function publish(
  ch: usize,
  gen: i32,
  payload: usize,
  owner: i32,
  length: i32,
  kind: i32,
): i32 {
  if (attached(ch, gen) != OK) return CORRUPTED;
  if (!payloadOk(payload)) return INVALID;
  const record = payload - HEADER;
  const o = owner & OWNER_MASK;
  const claimed = header(RECORD_MESSAGE, o, -(HEADER + length));
  // Publishes the payload: the consumer that reads SIZE > 0 sees every byte written before.
  if (atomic.cmpxchg<i64>(record, claimed, header(kind, o, HEADER + length)) != claimed) {
    return MISMATCH;
  }
  published(ch, gen);
  return OK;
}

/**
 * After a commit: wakes the consumer; and once the receiver is closed, scans for the ends in
 * flight that an earlier scan may have stopped short of (see `scanEnds`). The commit's CAS
 * comes before the load of RECEIVER; the close's store before its scan's reads of the headers.
 */
// @ts-ignore: decorator
@inline function published(ch: usize, gen: i32): void {
  wakeData(ch, true);
  if (atomic.load<i32>(ch + RECEIVER) <= 0) scanEnds(ch, gen);
}

/**
 * Like `commit`, for a message that carries channel ends: its payload starts with an ends
 * table (see "Ends table" in layout.ts), written with `writeEntry`, each end in flight from now
 * on. Leaves the channel (whatever it returns).
 * @returns as `commit`.
 */
export function commitEnds(ch: usize, gen: i32, payload: usize, owner: i32, length: i32): i32 {
  const status = publish(ch, gen, payload, owner, length, RECORD_ENDS);
  leaveProducer(ch);
  return status;
}

/**
 * Like `commit`, for a payload that turned out shorter than reserved: publishes the claim of
 * `reserved` bytes as a message of `length` bytes, the unwritten rest as a RECORD_GAP. For
 * producers that reserve an upper bound and write the message in place. The caller must not
 * have written past `length`: the consumer zeroes only what was written.
 *
 * @returns OK, MISMATCH or CORRUPTED as `commit` (the caller has left the channel), or INVALID
 * for a `length` out of range (nothing is published, the caller is still inside: `cancel` the
 * claim).
 */
export function commitLength(
  ch: usize,
  gen: i32,
  payload: usize,
  owner: i32,
  reserved: i32,
  length: i32,
): i32 {
  const status = publishLength(ch, gen, payload, owner, reserved, length);
  if (status != INVALID) leaveProducer(ch);
  return status;
}

/** `commitLength`, inside. */
function publishLength(
  ch: usize,
  gen: i32,
  payload: usize,
  owner: i32,
  reserved: i32,
  length: i32,
): i32 {
  if (attached(ch, gen) != OK) return CORRUPTED;
  if (length < 0 || length > reserved || !payloadOk(payload)) return INVALID;
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
  published(ch, gen);
  return OK;
}

/**
 * Publishes the claim of `reserve(ch, gen, length, owner)` as `count` messages, which the caller
 * wrote one after the other into it: each an 8-aligned record (a header, then the payload), the
 * first one's header the claim's own, each further one's header slot holding its payload length
 * (an i32, in the slot's low half) where its header goes. `first` is the first payload's length.
 * Writes the records' headers, admits the `count - 1` messages beyond the one `reserve` admitted,
 * then publishes all of them by the claim's commit CAS: the consumer, which stops at a claim,
 * sees none before and every one after. One claim, one publish for a batch (`sendMany`). Only on
 * an unbounded channel: a bound would have to admit the batch at `reserve`, and a producer that
 * dies before its commit must give back what it was admitted (`unblock` returns one admission).
 *
 * @returns OK, MISMATCH or CORRUPTED as `commit` (the caller has left the channel), or INVALID
 * for a layout that does not fill the claim exactly, a bounded channel or a count below 1
 * (nothing is published, the caller is still inside: `cancel` the claim).
 */
export function commitBatch(
  ch: usize,
  gen: i32,
  payload: usize,
  owner: i32,
  length: i32,
  first: i32,
  count: i32,
): i32 {
  const status = publishBatch(ch, gen, payload, owner, length, first, count);
  if (status != INVALID) leaveProducer(ch);
  return status;
}

/** `commitBatch`, inside. */
function publishBatch(
  ch: usize,
  gen: i32,
  payload: usize,
  owner: i32,
  length: i32,
  first: i32,
  count: i32,
): i32 {
  if (attached(ch, gen) != OK) return CORRUPTED;
  if (cfgBound != UNBOUNDED || count < 1 || length < 0 || !payloadOk(payload)) return INVALID;
  const record = payload - HEADER;
  const o = owner & OWNER_MASK;
  const claimed = header(RECORD_MESSAGE, o, -(HEADER + length));
  if (atomic.load<i64>(record) != claimed) return MISMATCH;
  // The layout, checked before anything is written: every record inside the claim, the last
  // one ending where it does. (The slots are this producer's: nobody else writes its claim.)
  const end = record + <usize>align8(HEADER + length);
  let at = record;
  let size = first;
  for (let i = 0; i < count; i++) {
    if (size < 0 || size > MAX_LENGTH) return INVALID;
    const next = at + <usize>align8(HEADER + size);
    if (next > end) return INVALID;
    if (i + 1 < count) {
      if (next + HEADER > end) return INVALID;
      size = load<i32>(next);
    }
    at = next;
  }
  if (at != end) return INVALID;
  // The headers after the first: plain stores, published by the CAS below. (Checked again as
  // they are read: a write into the claim meanwhile gives INVALID, and the claim is cancelled
  // whole, as padding over everything written here.)
  at = record + <usize>align8(HEADER + first);
  for (let i = 1; i < count; i++) {
    const n = load<i32>(at);
    if (n < 0 || n > MAX_LENGTH || at + <usize>align8(HEADER + n) > end) return INVALID;
    store<i64>(at, header(RECORD_MESSAGE, o, HEADER + n));
    at += <usize>align8(HEADER + n);
  }
  if (count > 1) atomic.add<i32>(ch + ADMITTED, count - 1);
  // Publishes every record of the batch, as `commit` publishes one.
  if (atomic.cmpxchg<i64>(record, claimed, header(RECORD_MESSAGE, o, HEADER + first)) != claimed) {
    if (count > 1) atomic.sub<i32>(ch + ADMITTED, count - 1);
    return MISMATCH;
  }
  published(ch, gen);
  return OK;
}

/**
 * Gives up a claim made by `reserve(ch, gen, length, owner)` without sending: the record becomes
 * padding that the consumer skips, and the admission is returned. Leaves the channel.
 * @returns OK, or MISMATCH / CORRUPTED as `commit` (then nothing changed).
 */
export function cancel(ch: usize, gen: i32, payload: usize, owner: i32, length: i32): i32 {
  const status = withdraw(ch, gen, payload, owner, length);
  leaveProducer(ch);
  return status;
}

/** `cancel`, inside. */
function withdraw(ch: usize, gen: i32, payload: usize, owner: i32, length: i32): i32 {
  if (attached(ch, gen) != OK) return CORRUPTED;
  if (!payloadOk(payload)) return INVALID;
  const record = payload - HEADER;
  const o = owner & OWNER_MASK;
  const claimed = header(RECORD_MESSAGE, o, -(HEADER + length));
  const padding = header(RECORD_PADDING, o, align8(HEADER + length));
  // Publishes the padding record.
  if (atomic.cmpxchg<i64>(record, claimed, padding) != claimed) return MISMATCH;
  unadmit(ch);
  wakeData(ch, true);
  return OK;
}

