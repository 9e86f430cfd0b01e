// The consumer: finds the next message (`peek`), consumes it (`release`), and moves on to a
// sealed ring's successor or realigns its ring when drained. See "Protocol" in ring.ts. One
// thread at a time runs this code for a channel, the holder of the consumer lock; it keeps the
// channel's HEAD itself (below).
//
// ## Several receivers
// A channel may have several receivers (clones, in any threads; RECEIVER counts them), and one
// at a time consumes. `peek` takes the consumer lock (CONS_HOLDER, see life.ts) with the
// receiver's token and `release` lets it go, so a peek, the decode after it and its release are
// one receiver's; a receiver that finds the lock held gets LOCKED (the caller spins, then waits
// on DATA_SEQ; the holder, once it has let go, wakes one waiter if a message is left: see
// `letGoHead`). Each instance keeps its view of the head (below). The holder that lets go records
// its token in CONS_LAST; a receiver that takes the lock after another one let it go takes its
// view from memory again (CONS_CHECK, then HEAD as `enterRing` validates it), while one that
// finds its own token there checks memory against its view (checks 19, 20), as a single
// receiver always does. Tokens are handed out per channel (`newToken`), one to each thread's
// receivers of a channel, so two threads never share one.
// A receiver whose thread dies holding the lock has it marked dead by the thread that settles
// its ends (`settleHolder`); another receiver takes it over after a grace period
// (`stealConsumer`) and gets the message the dead one was decoding, which is still at the head.
// The dead one, if it still runs (Deno: denoland/deno#35657), finds the lock gone when it lets go
// and consumes nothing. Only a thread stopped between its `release`'s CAS on HEAD and the return
// to user code loses the message it was handed: a few instructions.

import {
  ADMITTED, ALIGN, BUSY, FIRST_OFFSET, CONS_CHECK, CONS_HOLDER, CONS_LAST, CONS_RING, DATA_SEQ, DATA_WAITERS, SELECTORS,
  TOKEN_MASK, CORRUPT, CORRUPTED, DEBUG, DISCONNECTED, EMPTY, HEADER,
  MIN_CAPACITY, OK, POSITION, REALIGN, REALIGNING, RECEIVED, RECORD_DEAD, RECORD_GAP,
  RECORD_ENDS, RECORD_MESSAGE, RECORD_PADDING, RING_DATA, ENDS_COUNT, ENDS_ENTRIES, ENTRY_ADOPTED,
  ENTRY_CH, ENTRY_DROPPED, ENTRY_GEN, ENTRY_IN_FLIGHT, ENTRY_SIZE, ENTRY_STATE, INVALID, MAX_ENDS,
  PEEK_ENDS, RECEIVER, STALE, RING_HEAD, RING_NEXT, RING_REALIGNS, RING_START,
  RING_TAIL, SENDERS, SPACE_SEQ, SPACE_WAITERS, align8, consCheck, headerOk, isPowerOfTwo,
  startCheck,
} from "./layout";
import { attached, blockOk, capacityOf, cfgLargest, enter, fail, maxRings } from "./channel";
import { LET_GO, LET_GO_CLOSING, lockConsumer, stealConsumer, unlockConsumer } from "./life";
import { retire, sealedFor } from "./ring";
import { entryLow } from "./ends";
import { wake, wakeData } from "./wait";

// ── This consumer's view (see "This thread's view" in channel.ts). Written only in this
//    file; ends.ts reads `consRing` and `consHead`.

/**
 * The channel this instance consumes from (its control block and generation), its ring, its
 * HEAD and a lower bound of its TAIL. Only the consumer writes HEAD, so the value kept here is
 * the truth; HEAD in memory is checked against it. (A thread that receives from several channels
 * of one arena takes its view from memory again whenever it changes channel.)
 */
let consCh: usize = -1;
let consGen: i32 = -1;
export let consRing: usize = 0;
let consCap: i32 = 0;
export let consHead: i64 = 0;
let consTail: i64 = 0;
/** Whether the consumer's ring is to be realigned whenever drained (see `realign`). */
let consLarge: bool = false;

// ── A batch in progress (`releaseNext`). Its records are consumed in this instance's view only:
//    HEAD, their zeroing and RECEIVED are published once, when the batch ends or before anything
//    reads or moves HEAD (`flushBatch`). So a batch costs one CAS on HEAD, one fill and one add
//    instead of one each per message; and a receiver stopped mid-batch (its thread terminated,
//    its lock taken over: see "Several receivers") leaves every message it took at the head, for
//    the next holder, which starts from HEAD as published — rather than losing them. A batch is
//    published whole, at its end, never part of it before: it ends at anything but a committed
//    message (padding, a gap, a claim unfinished, a ring drained: what follows publishes and
//    moves HEAD), and once half a ring is consumed (the ring wraps, and the bytes at HEAD's offset
//    must never be a record of the batch, consumed and not zeroed yet). Two things publish a batch
//    before its end, both from a codec's decode in the middle of it: a receive from another
//    channel (this instance's one view of a head moves there: `holdHead`), and a send into this
//    channel when it is bounded (the bound must count what the batch took: `publishOwnBatch`). A
//    receiver stopped after that and before the batch's end loses what the batch took so far.

/** Whether a batch is in progress (its consumption not published yet). */
let deferring: bool = false;
/** HEAD as published (in memory) while a batch is in progress. */
let publishedHead: i64 = 0;
/** Messages the batch consumed since it last published. */
let deferredCount: i32 = 0;
/** The batch consumed half a ring: it ends with this message (see "A batch"). */
let batchFull: bool = false;

// ── Out-parameters of `peek`

/** Payload length of the record returned by the last `peek` of this instance. */
let lastLength: i32 = 0;
/** PEEK_ENDS if that record carries ends, else 0 (0 too after a BUSY). */
let lastFlags: i32 = 0;
/** Where that record is, its header and extent as `peek` validated them (for `release`). */
let lastRecord: usize = 0;
let lastHeader: i64 = 0;
let lastExtent: i32 = 0;

/**
 * Consumer: the address of the record at HEAD, from this instance's view (see `consHead`),
 * checked against the memory. @returns it, or 0 after failing the channel.
 */
// @ts-ignore: decorator
@inline export function headRecord(ch: usize, gen: i32): usize {
  const ring = <usize>atomic.load<i32>(ch + CONS_RING);
  if (ch != consCh || gen != consGen) {
    // This instance starts consuming: take the ring and HEAD as the memory has them.
    if (atomic.load<i32>(ch + CONS_CHECK) != consCheck(ring) || !enterRing(ch, gen, ring)) {
      fail(ch, 19);
      return 0;
    }
  } else if (
    ring != consRing || atomic.load<i64>(ring + RING_HEAD) != (deferring ? publishedHead : consHead)
  ) {
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
function enterRing(ch: usize, gen: i32, ring: usize): bool {
  const capacity = capacityOf(ch, ring);
  if (capacity == 0) return false;
  if (DEBUG) assert(isPowerOfTwo(capacity) && capacity >= MIN_CAPACITY); // as `capacityOf` checked
  const head = atomic.load<i64>(ring + RING_HEAD);
  if (head < 0 || (head & (ALIGN - 1)) != 0) return false;
  consCh = ch;
  consGen = gen;
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
// @ts-ignore: decorator
@inline export function extentOf(ch: usize, h: i64): i32 {
  if (h == 0) return 0;
  if (!headerOk(h)) return -1;
  const size = <i32>h;
  const kind = <i32>(h >>> 32) & 0xf;
  if (size > 0) {
    if (size < HEADER || kind == RECORD_DEAD) return -1;
    if (
      kind != RECORD_MESSAGE && kind != RECORD_ENDS && kind != RECORD_PADDING &&
      kind != RECORD_GAP
    ) return -1;
    if (kind >= RECORD_PADDING && kind <= RECORD_GAP && (size & (ALIGN - 1)) != 0) return -1;
    return withinRing(align8(size)) ? align8(size) : -1;
  }
  if (-size < HEADER || (kind != RECORD_MESSAGE && kind != RECORD_DEAD)) return -1;
  return withinRing(align8(-size)) ? 0 : -1;
}

/**
 * Finds the next committed message for the consumer of channel `ch` of generation `gen`,
 * skipping padding and following sealed rings to their successors.
 *
 * @returns the payload's address (its length is then `peekLength()`): the caller stays inside
 * the channel (see life.ts) until it calls `release` (or `unpeek`); or EMPTY, BUSY (the next
 * claim is still being written), DISCONNECTED (empty and no sender left), CORRUPTED, STALE (see
 * `gateIn`) or INVALID.
 */
export function peek(ch: usize, gen: i32, token: i32): i32 {
  return peekHolding(ch, gen, token, false);
}

/**
 * `peek` for a receiver that found the consumer lock held by one found dead (`holderDead`, for
 * a grace period): takes it over (see "Several receivers"), then peeks.
 * @returns as `peek` (LOCKED: another receiver took it over first).
 */
export function peekDead(ch: usize, gen: i32, token: i32): i32 {
  return peekHolding(ch, gen, token, true);
}

/** `peek` and `peekDead`: the lock taken (over, with `steal`), the next message found. */
// @ts-ignore: decorator
@inline function peekHolding(ch: usize, gen: i32, token: i32, steal: bool): i32 {
  const status = holdHead(ch, gen, token, steal);
  if (status != OK) return status;
  const at = find(ch, gen);
  if (at < FIRST_OFFSET && !letGoHead(ch, token)) return STALE;
  return at;
}

/** Ends the stay inside that a `peek` returning a message began, without consuming it. */
export function unpeek(ch: usize, token: i32): void {
  if (blockOk(ch) && atomic.load<i32>(ch + CONS_HOLDER) == (token & TOKEN_MASK)) endBatch(ch);
  else deferring = false;
  letGoHead(ch, token);
}

/**
 * Takes the consumer lock for the receiver of `token` (see "Several receivers"): the view of the
 * head is this instance's as long as it was the last to hold it. @returns OK or a status.
 */
export function holdHead(ch: usize, gen: i32, token: i32, steal: bool): i32 {
  const t = token & TOKEN_MASK;
  if (t == 0) return INVALID;
  const status = steal ? stealConsumer(ch, gen, t) : lockConsumer(ch, gen, t);
  if (status != OK) return status;
  if (deferring) {
    // A batch of another channel, whose codec receives from this one: publish it first (its
    // view is about to go). On this channel, a batch left over was taken over: drop it.
    if (ch != consCh || gen != consGen) endBatch(consCh);
    deferring = false;
  }
  if (atomic.load<i32>(ch + CONS_LAST) != t && ch == consCh) consCh = -1; // from memory again
  return OK;
}

/**
 * Lets go of the consumer lock taken by `holdHead`, then, if receivers wait and the ring holds
 * more than this instance consumed, wakes one of them (after: a receiver that found the lock
 * held, registered and then slept is seen; an open receiver keeps the channel alive, and one
 * whose channel is closing by now wakes nobody and touches nothing).
 * @returns false if the lock had been taken over (see `unlockConsumer`).
 */
export function letGoHead(ch: usize, token: i32): bool {
  const result = unlockConsumer(ch, token & TOKEN_MASK);
  // Closing: the channel may be gone (a codec closed the last ends meanwhile): no wake.
  if (result != LET_GO) return result == LET_GO_CLOSING;
  // DATA_WAITERS and SELECTORS in one load (see `wakeData`).
  if (atomic.load<i64>(ch + DATA_WAITERS) != 0 && ch == consCh) {
    // Reads of a ring this instance validated (memory is never returned): a stale view only
    // wakes a receiver for nothing.
    if ((atomic.load<i64>(consRing + RING_TAIL) & POSITION) != consHead) wakeData(ch, true);
  }
  return true;
}

/** `peek`, inside. */
// @ts-ignore: decorator
@inline function find(ch: usize, gen: i32): i32 {
  let noSenders = false;
  let hops = 0; // rings followed in this call
  // Each turn skips a record (at most capacity / 8 per ring) or moves to the next ring.
  let budget = 0;
  for (let turn = 0;; turn++) {
    const record = headRecord(ch, gen);
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
      if (kind == RECORD_MESSAGE || kind == RECORD_ENDS) {
        lastLength = <i32>h - HEADER;
        lastFlags = kind == RECORD_ENDS ? PEEK_ENDS : 0;
        lastRecord = record;
        lastHeader = h;
        lastExtent = extent;
        return <i32>(record + HEADER);
      }
      if (deferring) return EMPTY; // a batch ends here: see "A batch"
      if (skip(record, extent, kind == RECORD_GAP ? HEADER : extent) != OK) return CORRUPTED;
      continue;
    }
    // Nothing committed at HEAD: what follows reads HEAD, or moves it; a batch ends here.
    if (deferring) return EMPTY;
    const ring = consRing;
    const tail = atomic.load<i64>(ring + RING_TAIL);
    const position = tail & POSITION;
    // TAIL lies between this consumer's HEAD (TAIL is never behind it) and a ring further on,
    // aligned (only this consumer marks it REALIGNING, and unmarks it before it returns).
    if (
      position < consTail || position < consHead || position - consHead > consCap ||
      (tail & (ALIGN - 1)) != 0
    ) {
      return fail(ch, 23);
    }
    consTail = position;
    // A claim lies below TAIL (one read of the producers' line serves both checks).
    if (h != 0 && consHead + align8(-<i32>h) > position) return fail(ch, 32);
    if (consHead != position) {
      lastLength = -<i32>h; // the claim's length, once its header is written (see `pull` in JS)
      lastFlags = 0;
      return BUSY;
    }
    if (h != 0) return fail(ch, 24); // nothing claimed, yet a header
    const moved = drained(ch, gen, tail);
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
function drained(ch: usize, gen: i32, tail: i64): i32 {
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
  // Nothing at HEAD, read after TAIL: else TAIL was written back over a record (see `realign`)
  // — unless the seal was undone since (its successor could not be allocated: see `claim`) and a
  // producer claimed there: then TAIL moved on, and the next look finds the claim.
  if (atomic.load<i64>(ring + RING_DATA + <i32>(consHead & (consCap - 1))) != 0) {
    return atomic.load<i64>(ring + RING_TAIL) != tail ? EMPTY : fail(ch, 48);
  }
  const next = sealedFor(ch, ring, tail, false);
  if (next == CORRUPTED) return CORRUPTED;
  if (next == 0) return EMPTY; // its sealer is linking one
  // The sealed ring is drained up to its final TAIL: move on and retire it. Its successor has
  // not been consumed from: HEAD is where the sealer started it, as START says.
  if (!enterRing(ch, gen, <usize>next)) return fail(ch, 27);
  if (load<i32>(<usize>next + RING_START) != startCheck(<usize>next, consHead)) return fail(ch, 33);
  atomic.store<i32>(ch + CONS_CHECK, consCheck(<usize>next));
  atomic.store<i32>(ch + CONS_RING, next);
  return retire(ch, ring);
}


/**
 * Consumer, with its ring empty at position `tail` and unsealed: moves HEAD and TAIL to the
 * next multiple of the capacity, so that the next record starts at offset 0 and any record up
 * to the ring's capacity fits. The consumer claims the rest of the ring like a producer would
 * (nothing is written there, its bytes read 0), then skips it.
 *
 * In three steps, each a CAS: TAIL marked REALIGNING (no producer claims from it any more),
 * HEAD moved, TAIL moved; a producer that reads the mark does the last two itself
 * (`finishRealign`) rather than wait. HEAD moves before TAIL, so that a TAIL at the realigned
 * position, or past it, is never seen before HEAD is there: a claim computed from a TAIL
 * written back below it (a stray write of a value read there) finds HEAD above it, which the
 * producer checks after such a claim (see `reserve`). REALIGNS, counted first, tells a producer
 * that its last claim came before a realign, so that TAIL written back to where that claim
 * ended is not taken for its own. (Moving TAIL, then HEAD, with nothing counted, a producer
 * claimed below the new HEAD after such a write, and the message was skipped: fuzz seed
 * 6085190. See "TAIL written back" in ring.ts.)
 *
 * An empty ring takes any record of up to half its capacity wherever it stands; a larger one
 * only if it fits before the end or after the wrap. So the consumer realigns its ring whenever
 * it drains it, if it is the largest ring the channel can have (no other ring can take such a
 * record) or once a record over half its capacity has gone through it (the CAS is then cheap
 * beside the copies); and when a producer asks (REALIGN) for a record that did not fit.
 */
function realign(ch: usize, tail: i64): void {
  if (atomic.load<i32>(ch + REALIGN) != 0) atomic.store<i32>(ch + REALIGN, 0);
  const ring = consRing;
  const c = <i64>consCap;
  const resume = (tail + c - 1) & ~(c - 1);
  if (resume == tail) return;
  if (DEBUG) assert((resume & (c - 1)) == 0); // offset 0 of the ring, even if `tail` was bogus
  if (DEBUG) assert(tail == consHead && (tail & (ALIGN - 1)) == 0);
  // Only the consumer writes REALIGNS; the CAS that marks TAIL publishes the count with it.
  store<i32>(ring + RING_REALIGNS, load<i32>(ring + RING_REALIGNS) + 1);
  const marked = tail | REALIGNING;
  if (atomic.cmpxchg<i64>(ring + RING_TAIL, tail, marked) != tail) return; // a claim came first
  // Nothing at HEAD, read after the mark: TAIL said drained, but a stray write may have taken it
  // back to the start of a record. A producer reads TAIL after writing its header, so either
  // this finds the header or that producer finds the mark (see `reserve`). Unless a producer
  // that read the mark has finished the realign meanwhile (HEAD first, see `finishRealign`) and
  // producers claimed from the new position as far as this offset: HEAD, read after the header,
  // has then moved. (Before this look, a consumer preempted here failed the channel: check 49,
  // seen with several receivers on a rendezvous channel, which realigns its ring all the time.)
  if (
    atomic.load<i64>(ring + RING_DATA + <i32>(consHead & (consCap - 1))) != 0 &&
    atomic.load<i64>(ring + RING_HEAD) == consHead
  ) {
    fail(ch, 49);
    return;
  }
  // Publishes the freed ring to producers: HEAD by a CAS from the value this consumer keeps (see
  // `skip`), or moved already by a producer that read the mark; then TAIL, unless moved already
  // (and claimed past, or sealed, since).
  const head = atomic.cmpxchg<i64>(ring + RING_HEAD, consHead, resume);
  if (head != consHead && head != resume) {
    fail(ch, 34);
    return;
  }
  const now = atomic.cmpxchg<i64>(ring + RING_TAIL, marked, resume);
  if (now != marked && ((now & (ALIGN - 1)) != 0 || (now & POSITION) < resume)) {
    fail(ch, 38);
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
 * With several receivers, this instance's view is the head's only while it was the last to
 * consume (CONS_LAST is `token`); else the counts tell: a message admitted and not taken.
 * @returns 1 or 0 (also 0 when the channel is corrupted: `peek` says so).
 */
export function poll(ch: usize, gen: i32, token: i32): i32 {
  // Not inside: it only reads, a header in a ring this instance validated (memory is never
  // returned, so the read is in bounds however stale).
  if (ch != consCh || gen != consGen || atomic.load<i32>(ch + CORRUPT) != 0) return 0;
  if (atomic.load<i32>(ch + CONS_LAST) != (token & TOKEN_MASK)) {
    return atomic.load<i32>(ch + ADMITTED) != atomic.load<i32>(ch + RECEIVED) ? 1 : 0;
  }
  const ring = consRing;
  return <i32>atomic.load<i64>(ring + RING_DATA + <i32>(consHead & (consCap - 1))) > 0 ? 1 : 0;
}

/**
 * Payload length of the message returned by this instance's last successful `peek`, with
 * PEEK_ENDS set if it carries ends (see `peekEnds`); after a BUSY, the total length of the
 * unfinished claim (header included; 0 if not yet known).
 */
export function peekLength(): i32 {
  return lastLength | lastFlags;
}

/** Entries of the ends table of the message of the last `peek` (see `peekEnds`). */
let lastEnds: i32 = 0;
/** The channel and generation of the end of the last entry `takeEntry` took. */
let takenCh: i32 = 0;
let takenGen: i32 = 0;

/**
 * The ends the message returned by this instance's last successful `peek` carries (a
 * RECORD_ENDS: its payload starts with an ends table, see layout.ts), before the caller
 * releases it. Call between `peek` and `release`.
 * @returns the number of entries (0 for a message without ends), or -CORRUPTED for a table that
 * does not fit the message (the channel is failed).
 */
export function peekEnds(): i32 {
  lastEnds = 0;
  if ((<i32>(lastHeader >>> 32) & 0xf) != RECORD_ENDS) return 0;
  const count = atomic.load<i32>(lastRecord + HEADER + ENDS_COUNT);
  if (count < 1 || count > MAX_ENDS || ENDS_ENTRIES + count * ENTRY_SIZE > lastLength) {
    return -fail(consCh, 44);
  }
  lastEnds = count;
  return count;
}

/**
 * Adopts entry `i` of the ends table of the last peeked message (after `peekEnds`): its state
 * goes from in flight to adopted by one CAS, so that no scan drops that end (see `scanEnds`);
 * the caller now holds it. Its channel and generation are then `takenEnd()`, `takenEndGen()`.
 * @returns the entry's kind and flags (bits 0–7: END_SENDER or END_RECEIVER, and the flags its
 * sender wrote); -STALE if it is not in flight (a scan dropped it: the receiver was closed for a
 * thread being ended); -INVALID for an `i` out of range; -CORRUPTED for an entry written over.
 */
export function takeEntry(i: i32): i32 {
  if (<u32>i >= <u32>lastEnds) return -INVALID;
  const entry = lastRecord + HEADER + ENDS_ENTRIES + <usize>i * ENTRY_SIZE;
  const low = entryLow(entry);
  if (low < 0) return -fail(consCh, 45);
  const end = atomic.load<i32>(entry + ENTRY_CH);
  const endGen = atomic.load<i32>(entry + ENTRY_GEN);
  if (atomic.cmpxchg<i32>(entry + ENTRY_STATE, ENTRY_IN_FLIGHT, ENTRY_ADOPTED) != ENTRY_IN_FLIGHT) {
    // Only a scan drops an entry, and only once the receiver is closed (for a thread being
    // ended, between its peek and this call): with the receiver open, a write put it there.
    const dropped = atomic.load<i32>(entry + ENTRY_STATE) == ENTRY_DROPPED;
    return dropped && atomic.load<i32>(consCh + RECEIVER) <= 0 ? -STALE : -fail(consCh, 45);
  }
  // The check held before the CAS: what was read is what the sender wrote (or a check forged
  // with it, which the adopting thread validates as any handle).
  takenCh = end;
  takenGen = endGen;
  return low;
}

/** The channel of the end `takeEntry` took last. */
export function takenEnd(): i32 {
  return takenCh;
}

/** The generation of that channel. */
export function takenEndGen(): i32 {
  return takenGen;
}

/**
 * Consumer: zeroes the first `dirty` bytes of the record at `record` (at HEAD, `extent` bytes
 * long; the rest already reads 0) and advances HEAD past it.
 * @returns OK, or CORRUPTED when HEAD was written by somebody else (producers may have claimed
 * space that held unconsumed records meanwhile).
 */
// @ts-ignore: decorator
@inline function skip(record: usize, extent: i32, dirty: i32): i32 {
  // A committed record at HEAD, inside the ring (`extentOf` checked it); its dirty bytes in it.
  if (DEBUG) assert(record == consRing + RING_DATA + <i32>(consHead & (consCap - 1)));
  if (DEBUG) assert(extent > 0 && (extent & (ALIGN - 1)) == 0 && withinRing(extent));
  if (DEBUG) assert(dirty >= HEADER && dirty <= extent);
  if (deferring) {
    // A message of a batch: zeroed and published with the others (see "A batch").
    if (DEBUG) assert(dirty == extent);
    consHead += extent;
    if (consHead - publishedHead >= <i64>(consCap >> 1)) batchFull = true;
    return OK;
  }
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

/**
 * Consumes the message returned by the last `peek` of channel `ch` of generation `gen`, and
 * leaves the channel (whatever it returns). @returns OK or CORRUPTED.
 */
export function release(ch: usize, gen: i32, token: i32): i32 {
  // A lock taken over (see "Several receivers"): this thread was found dead; consume nothing.
  if (!blockOk(ch) || atomic.load<i32>(ch + CONS_HOLDER) != (token & TOKEN_MASK)) {
    deferring = false;
    return STALE;
  }
  let status = consume(ch, gen);
  if (endBatch(ch) != OK) status = CORRUPTED;
  return letGoHead(ch, token) ? status : STALE;
}

/**
 * Consumes the message returned by the last `peek` (or `releaseNext`) of channel `ch` and peeks
 * the next, holding the consumer lock throughout: one call per message for a receiver that takes
 * several at once (`recvMany`). The lock is let go once there is no next message.
 * @returns the next message's payload address (the caller still holds the head: `release`,
 * `releaseNext` or `unpeek` it), or a status as `peek`'s — after letting go (STALE: the lock had
 * been taken over, and nothing was consumed).
 */
export function releaseNext(ch: usize, gen: i32, token: i32): i32 {
  if (!blockOk(ch) || atomic.load<i32>(ch + CONS_HOLDER) != (token & TOKEN_MASK)) {
    deferring = false; // taken over: what this batch took is the next holder's (see "A batch")
    return STALE;
  }
  if (!deferring && ch == consCh && gen == consGen) {
    deferring = true;
    batchFull = false;
    publishedHead = consHead;
    deferredCount = 0;
  }
  const status = consume(ch, gen);
  let at = status != OK ? status : batchFull ? EMPTY : find(ch, gen);
  if (at < FIRST_OFFSET) {
    if (endBatch(ch) != OK && at != CORRUPTED) at = CORRUPTED;
    if (!letGoHead(ch, token)) return STALE;
  }
  return at;
}

/**
 * Publishes what the batch in progress consumed: zeroes those records (in one ring, less than
 * its capacity: see "A batch"), moves HEAD by a CAS from the value published, and counts the
 * messages in RECEIVED.
 * @returns OK or CORRUPTED (HEAD written by somebody else).
 */
function flushBatch(ch: usize): i32 {
  const from = publishedHead;
  const to = consHead;
  if (to != from) {
    const start = <i32>(from & (consCap - 1));
    const span = <i32>(to - from);
    const data = consRing + RING_DATA;
    if (start + span <= consCap) memory.fill(data + start, 0, span);
    else {
      memory.fill(data + start, 0, consCap - start);
      memory.fill(data, 0, span - (consCap - start));
    }
    if (atomic.cmpxchg<i64>(consRing + RING_HEAD, from, to) != from) {
      deferring = false;
      return fail(ch, 35);
    }
    publishedHead = to;
  }
  if (deferredCount != 0) {
    atomic.add<i32>(ch + RECEIVED, deferredCount);
    deferredCount = 0;
    wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
  }
  return OK;
}

/**
 * For a producer of channel `ch` about to claim on a bounded channel: publishes this instance's
 * batch on it, if one is in progress (a codec's decode sending into the channel its message came
 * from), so that the bound counts the messages the batch took — else the send would wait for
 * room this thread itself holds back.
 */
export function publishOwnBatch(ch: usize): void {
  if (deferring && ch == consCh) flushBatch(ch);
}

/** Ends the batch in progress, if any: publishes it (`flushBatch`). @returns OK or CORRUPTED. */
function endBatch(ch: usize): i32 {
  if (!deferring) return OK;
  const status = flushBatch(ch);
  deferring = false;
  return status;
}

/** `release`, inside. */
// @ts-ignore: decorator
@inline function consume(ch: usize, gen: i32): i32 {
  // Right after this instance's `peek`, which checked the flag, the ring and HEAD — unless the
  // codec's user code used another channel of this arena in between (this instance's views are
  // one per thread and memory): then check everything again.
  if (attached(ch, gen) != OK) return CORRUPTED;
  if ((ch != consCh || gen != consGen) && (enter(ch, gen) != OK || headRecord(ch, gen) == 0)) {
    return CORRUPTED;
  }
  const record = consRing + RING_DATA + <i32>(consHead & (consCap - 1));
  // Read again: it must still be the message `peek` returned (checked again if not).
  const h = atomic.load<i64>(record);
  let extent = lastExtent;
  if (record != lastRecord || h != lastHeader) {
    extent = extentOf(ch, h);
    const kind = <i32>(h >>> 32) & 0xf;
    if (extent <= 0 || (kind != RECORD_MESSAGE && kind != RECORD_ENDS)) return fail(ch, 28);
  }
  if (skip(record, extent, extent) != OK) return CORRUPTED;
  if (extent > consCap >> 1) consLarge = true;
  if (consLarge && !deferring && consHead >= consTail) {
    // A ring for large records, caught up with the TAIL last seen. Drained? Then realign it, or
    // leave it (sealed) for its successor, now: the next record may need the room before this
    // thread peeks again (see `realign`, `allocRing`). Corruption found there is flagged for
    // the next call: this message was good.
    const tail = atomic.load<i64>(consRing + RING_TAIL);
    if ((tail & POSITION) == consHead) drained(ch, gen, tail);
  }
  if (deferring) {
    deferredCount++;
    return OK;
  }
  // Publishes the free slot to bounded producers.
  atomic.add<i32>(ch + RECEIVED, 1);
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
  return OK;
}


/** Bytes after an unwritten header at HEAD that `wipedHeader` looks at. */
const LOOK_AHEAD: i32 = 4096;

/**
 * Consumer, with the header at HEAD (`record`) reading 0 and TAIL at `position`, further on —
 * a claim whose header is not written yet, for as long as `pull` spun on it: whether that
 * header was rather wiped by a stray write over a record already written. (A "yes" is final
 * only when it holds again after a grace period: see `headDead` and `unblock`; on hardware
 * that reorders plain stores the payload may show before the header.) A producer writes
 * its claim's header before any of its payload, and the space between one claim and the next
 * reads 0 until then; so the first word that is not 0 after an unwritten header is the header
 * of a later record, and a word that is no header is payload of the record whose header was
 * wiped. Looks at most LOOK_AHEAD bytes, up to TAIL and the ring's end.
 */
export function wipedHeader(record: usize, position: i64): bool {
  let limit = min(consCap - <i32>(consHead & (consCap - 1)), LOOK_AHEAD);
  if (position - consHead < <i64>limit) limit = <i32>(position - consHead);
  for (let at = HEADER; at < limit; at += ALIGN) {
    const w = atomic.load<i64>(record + at);
    // Payload, and the header (written before it) still reads 0. (The header is read again: a
    // producer may have published both since the caller read it.)
    if (w != 0) return !headerOk(w) && atomic.load<i64>(record) == 0;
  }
  return false;
}
