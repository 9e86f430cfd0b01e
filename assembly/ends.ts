// The channel's ends: the senders' count (the last one gone disconnects the receiver), the
// receiver's flag, owner ids for senders' claims, and the recovery from a producer that died
// with a claim in progress.
//
// ## Dead producers
// A claim whose producer died before committing would stop the consumer for ever (BUSY).
// Whoever learns that a producer died (the thread that terminated its worker) marks its
// unfinished claim RECORD_DEAD with `markDead` (the producer tells where its claim is; see
// src/_lifeline.ts); the consumer, after a grace period in which a dying thread may still be
// writing, calls `unblock`, which turns the claim into padding (cf. Agrona's unblock). There is
// no table of dead owners: any number of dead claims are skipped. Once no sender is left at all,
// any unfinished claim at the head is skipped the same way.

import {
  ALIGN, BUSY, DISCONNECTED, LOCKED, SPIN_LIMIT, STALE, CONS_CALLS, CONS_CHECK, CONS_RING, CORRUPTED, DATA_SEQ, DATA_WAITERS, DIED,
  DIED_RECEIVER, DIED_SENDER, END_RECEIVER, END_SENDER, ENDS_COUNT, ENDS_ENTRIES, ENTRY_CH,
  ENTRY_DROPPED, ENTRY_GEN, ENTRY_IN_FLIGHT, ENTRY_META, ENTRY_SIZE, ENTRY_STATE, HEADER, INVALID,
  MAX_ENDS, NEXT_OWNER, OK, OWNER_MASK, POSITION, PROD_CALLS, RECEIVER, RECORD_DEAD, RECORD_ENDS,
  RECORD_MESSAGE, RECORD_PADDING, RINGS, RING_ALL, RING_DATA, RING_HEAD, RING_NEXT, RING_PREV,
  RING_TAIL, SCAN_DEPTH, SENDERS, SPACE_SEQ, SPACE_WAITERS, align8, consCheck, entryCheck, header,
  headerOk,
} from "./layout";
import { attached, capacityOf, cfgArena, cfgMaxBytes, fail, maxRings } from "./channel";
import { ARENA_CORRUPT } from "./arena";
import {
  consHead, consRing, extentOf, headRecord, holdHead, letGoHead, wipedHeader,
} from "./consumer";
import { payloadOk, unadmit } from "./producer";
import { wake, wakeData } from "./wait";
import {
  closeSide, enterConsumer, enterProducer, gateIn, gateOut, leaveConsumer, leaveProducer,
} from "./life";

// ── Senders and the receiver

/** Counts one more sender (a clone). @returns the senders now counted, or -status. */
export function addSender(ch: usize, gen: i32): i32 {
  const status = enterProducer(ch, gen);
  if (status != OK) return -status;
  const senders = atomic.add<i32>(ch + SENDERS, 1) + 1;
  leaveProducer(ch);
  return senders;
}

/**
 * Counts one sender fewer; the last one gone wakes the receiver (and, the receiver being closed
 * too, the channel is destroyed as the call leaves: see life.ts). Also on a corrupted channel.
 * @returns OK, or a status of `gateIn` (nothing was counted).
 */
export function dropSender(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, PROD_CALLS);
  if (status != OK) return status;
  const left = atomic.sub<i32>(ch + SENDERS, 1) - 1;
  if (left <= 0) {
    // Disconnected: every receiver and selector looks again (selectors through the arena this
    // instance has validated the config of: `attached`).
    attached(ch, gen);
    wakeData(ch, false);
    closeSide(ch);
  }
  gateOut(ch, PROD_CALLS);
  return OK;
}

/**
 * Counts one more receiver (a clone: see "Several receivers" in consumer.ts).
 * @returns the receivers now open, or -status: -DISCONNECTED if none was (a clone is made from
 * an open one: its count was written over), or a status of `gateIn`.
 */
export function addReceiver(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, CONS_CALLS);
  if (status != OK) return -status;
  let receivers = atomic.load<i32>(ch + RECEIVER);
  for (let turn = 0; turn < SPIN_LIMIT; turn++) {
    if (receivers <= 0 || receivers == i32.MAX_VALUE) break;
    const seen = atomic.cmpxchg<i32>(ch + RECEIVER, receivers, receivers + 1);
    if (seen == receivers) {
      gateOut(ch, CONS_CALLS);
      return receivers + 1;
    }
    receivers = seen;
  }
  gateOut(ch, CONS_CALLS);
  return -DISCONNECTED;
}

/**
 * Counts one receiver fewer; the last one closes the receiving side: wakes every waiting sender
 * (the last sender being gone too, the channel is destroyed as the call leaves). Also on a
 * corrupted channel.
 * @returns OK, or a status of `gateIn`.
 */
export function closeReceiver(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, CONS_CALLS);
  if (status != OK) return status;
  if (atomic.sub<i32>(ch + RECEIVER, 1) > 1) {
    gateOut(ch, CONS_CALLS);
    return OK;
  }
  // The last one: publishes the disconnection (later reserves fail with DISCONNECTED).
  atomic.store<i32>(ch + RECEIVER, 0);
  wake(ch + SPACE_SEQ, ch + SPACE_WAITERS);
  // The ends in flight in messages nobody will receive now (the store above comes first: see
  // `scanEnds`).
  scanEnds(ch, gen);
  closeSide(ch);
  gateOut(ch, CONS_CALLS);
  return OK;
}

/**
 * Notes that `ends` (DIED_SENDER, DIED_RECEIVER) were settled for a thread that died: called
 * before the sender is dropped or the receiver closed, so a peer that sees the disconnection
 * sees why.
 */
export function markDied(ch: usize, gen: i32, ends: i32): void {
  if (gateIn(ch, gen, PROD_CALLS) != OK) return;
  atomic.or<i32>(ch + DIED, ends & (DIED_SENDER | DIED_RECEIVER));
  gateOut(ch, PROD_CALLS);
}

/** @returns which ends were settled for a thread that died (any thread may write it: a hint). */
export function diedEnds(ch: usize, gen: i32): i32 {
  if (gateIn(ch, gen, PROD_CALLS) != OK) return 0;
  const died = atomic.load<i32>(ch + DIED) & (DIED_SENDER | DIED_RECEIVER);
  gateOut(ch, PROD_CALLS);
  return died;
}

// ── Owners of claims

/** @returns a fresh owner id (1 … OWNER_MASK) for a sender's claims, or -status. */
export function newOwner(ch: usize, gen: i32): i32 {
  const status = enterProducer(ch, gen);
  if (status != OK) return -status;
  let owner = 1;
  for (let turn = 0; turn < 2; turn++) {
    const next = (atomic.add<i32>(ch + NEXT_OWNER, 1) + 1) & OWNER_MASK;
    if (next != 0) {
      owner = next;
      break;
    }
  }
  leaveProducer(ch);
  return owner;
}

// ── Dead claims

/**
 * Reports that producer `owner`, whose unfinished claim has its payload at `payload`, is dead:
 * marks the claim RECORD_DEAD, so that `unblock` may skip it. Nothing happens unless a claim of
 * that owner is in progress there (it was committed or cancelled meanwhile, say). `payload` is
 * what the producer reported (see src/_lifeline.ts), so it is validated like any input: it must
 * lie in one of the channel's rings (owner ids are per channel: a claim of the same owner id in
 * another channel's ring is not this producer's).
 * @returns OK if a claim was marked, else BUSY (or CORRUPTED, STALE, INVALID).
 */
export function markDead(ch: usize, gen: i32, payload: usize, owner: i32): i32 {
  const status = enterProducer(ch, gen);
  if (status != OK) return status;
  const marked = payloadOk(payload) && inRings(ch, payload) ? markClaim(ch, payload, owner) : BUSY;
  leaveProducer(ch);
  return marked;
}

/** Whether `payload` lies in the data of one of channel `ch`'s rings (a walk of RINGS). */
function inRings(ch: usize, payload: usize): bool {
  let ring = <usize><u32>atomic.load<i32>(ch + RINGS);
  for (let hops = maxRings(); ring != 0 && hops > 0; hops--) {
    const capacity = capacityOf(ch, ring);
    if (capacity == 0) return false;
    if (payload >= ring + RING_DATA + HEADER && payload <= ring + RING_DATA + capacity) return true;
    ring = <usize><u32>load<i32>(ring + RING_ALL);
  }
  return false;
}

/** `markDead`, inside, for a payload in one of the channel's rings. */
function markClaim(ch: usize, payload: usize, owner: i32): i32 {
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
 * @returns 1 or 0, or CORRUPTED. (1 also for a header that reads 0 with payload after it: a
 * record whose header was wiped, see `wipedHeader`, which `unblock` reports after the grace.)
 */
export function headDead(ch: usize, gen: i32, token: i32): i32 {
  const status = holdHead(ch, gen, token, false);
  if (status == LOCKED) return 0;
  if (status != OK) return status;
  const dead = headIsDead(ch, gen);
  return letGoHead(ch, token) ? dead : STALE;
}

/** `headDead`, inside. */
function headIsDead(ch: usize, gen: i32): i32 {
  const record = headRecord(ch, gen);
  if (record == 0) return CORRUPTED;
  const h = atomic.load<i64>(record);
  if (<i32>h > 0) return 0;
  if (h != 0 && (<i32>(h >>> 32) & 0xf) == RECORD_DEAD) return 1;
  if (atomic.load<i32>(ch + SENDERS) <= 0) return 1;
  // A header that stays 0 while senders live: a producer between its claim and its header
  // write (preempted, or dead before it recorded the claim) — or a header wiped by a stray write,
  // which `unblock` tells apart once the grace period has passed.
  if (h == 0) {
    const position = atomic.load<i64>(consRing + RING_TAIL) & POSITION;
    if (position > consHead && wipedHeader(record, position)) return 1;
  }
  return 0;
}

/**
 * Consumer: if the next record is an unfinished claim that nobody will finish (see
 * `headDead`), turns it into padding (it is never delivered) and gives back its admission.
 * @returns OK if a claim was skipped, BUSY if not, CORRUPTED when the claim cannot be skipped
 * (no sender is left and its header was never written: its extent is unknown), or when its
 * header reads 0 with payload after it (a wiped header; see `wipedHeader`).
 */
export function unblock(ch: usize, gen: i32, token: i32): i32 {
  const status = holdHead(ch, gen, token, false);
  if (status == LOCKED) return BUSY;
  if (status != OK) return status;
  const skipped = skipDead(ch, gen);
  return letGoHead(ch, token) ? skipped : STALE;
}

/** `unblock`, inside. */
function skipDead(ch: usize, gen: i32): i32 {
  const record = headRecord(ch, gen);
  if (record == 0) return CORRUPTED;
  const h = atomic.load<i64>(record);
  const extent = extentOf(ch, h);
  if (extent < 0) return fail(ch, 29);
  if (extent > 0 || <i32>h > 0) return BUSY;
  const noSenders = atomic.load<i32>(ch + SENDERS) <= 0;
  if (h == 0) {
    const position = atomic.load<i64>(consRing + RING_TAIL) & POSITION;
    if (position == consHead) return BUSY;
    // Still 0 after the grace, with payload after it: a wiped header, not a slow producer.
    if (noSenders || wipedHeader(record, position)) return fail(ch, noSenders ? 30 : 37);
    return BUSY;
  }
  const meta = <i32>(h >>> 32);
  if ((meta & 0xf) != RECORD_DEAD && !noSenders) return BUSY;
  const padding = header(RECORD_PADDING, meta >>> 16, align8(-<i32>h));
  if (atomic.cmpxchg<i64>(record, h, padding) != h) return BUSY;
  unadmit(ch);
  return OK;
}

// ── Informational

/** @returns the number of live senders (racy; informational), or -status (≤ -2). */
export function senderCount(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, PROD_CALLS);
  if (status != OK) return -status;
  const senders = max(atomic.load<i32>(ch + SENDERS), 0);
  gateOut(ch, PROD_CALLS);
  return senders;
}

/** @returns the number of open receivers (racy; informational), or -status. */
export function receiverOpen(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, PROD_CALLS);
  if (status != OK) return -status;
  const open = max(atomic.load<i32>(ch + RECEIVER), 0);
  gateOut(ch, PROD_CALLS);
  return open;
}


// ── Ends in flight (see "Ends table" in layout.ts)

/** How deep the scans of this instance are nested (ends in channels in channels…). */
let scanDepth: i32 = 0;

/**
 * Writes entry `i` of the ends table of this thread's claim at `payload` (reserved, not yet
 * committed, large enough for the table): the end of channel `end` of generation `endGen`,
 * END_SENDER or END_RECEIVER with caller flags in `low` (bits 0–7), in flight. The caller
 * writes ENDS_COUNT and commits with `commitEnds`.
 * @returns OK, or INVALID for an index or a kind out of range.
 */
export function writeEntry(payload: usize, i: i32, end: i32, endGen: i32, low: i32): i32 {
  if (!payloadOk(payload) || <u32>i >= <u32>MAX_ENDS || (low & ~0xff) != 0) return INVALID;
  if ((low & 3) != END_SENDER && (low & 3) != END_RECEIVER) return INVALID;
  const entry = payload + ENDS_ENTRIES + <usize>i * ENTRY_SIZE;
  store<i32>(entry + ENTRY_CH, end);
  store<i32>(entry + ENTRY_GEN, endGen);
  store<i32>(entry + ENTRY_META, low | entryCheck(entry, end, endGen, low));
  store<i32>(entry + ENTRY_STATE, ENTRY_IN_FLIGHT);
  return OK;
}

/**
 * The entry at `entry` of a message's ends table, if its check holds: its kind and flags
 * (bits 0–7 of ENTRY_META, kind END_SENDER or END_RECEIVER), else -1 (written over, or zeroed
 * by a consumer meanwhile).
 */
export function entryLow(entry: usize): i32 {
  const meta = atomic.load<i32>(entry + ENTRY_META);
  const low = meta & 0xff;
  const kind = low & 3;
  if (kind != END_SENDER && kind != END_RECEIVER) return -1;
  const end = atomic.load<i32>(entry + ENTRY_CH);
  const gen = atomic.load<i32>(entry + ENTRY_GEN);
  return (meta & ~0xff) == entryCheck(entry, end, gen, low) ? low : -1;
}

/**
 * The ends in flight in channel `ch` (of generation `gen`), whose receiver is closed: every
 * committed RECORD_ENDS from HEAD on has its entries still in flight taken (ENTRY_DROPPED, by
 * one CAS each) and their ends dropped — senders counted off, receivers closed (which scans
 * their channels in turn, SCAN_DEPTH deep at most). Nothing is consumed: HEAD does not move,
 * so a consumer still inside (a thread being ended, finishing a receive) is not disturbed, and
 * whoever wins an entry's CAS, it or this scan, settles that end.
 *
 * Scans run where a message could have been left behind by an earlier scan: when the receiver
 * is closed, and after every commit or dead-marking of a claim once it is closed. An earlier
 * scan stops at the first claim whose header is not yet written (its extent is unknown); that
 * claim's commit (or `markDead`) comes after the close in every order of events, reads the
 * receiver closed, and scans again past it. The caller is inside the channel (either side).
 */
export function scanEnds(ch: usize, gen: i32): void {
  // A channel found corrupted is scanned too: the ends in it are other channels', whose peers
  // must not wait for ever (each entry is checked on its own). Not an arena found corrupted.
  if (scanDepth >= SCAN_DEPTH || attached(ch, gen) != OK) return;
  if (atomic.load<i32>(cfgArena + ARENA_CORRUPT) != 0) return;
  scanDepth++;
  let ring = <usize><u32>atomic.load<i32>(ch + CONS_RING);
  if (atomic.load<i32>(ch + CONS_CHECK) == consCheck(ring)) {
    let budget = <i32>(<i64>cfgMaxBytes / ALIGN) + 2 * maxRings();
    for (let hops = maxRings(); hops > 0; hops--) {
      const next = scanRing(ch, gen, ring, budget);
      if (next <= 0) break;
      budget = scanBudget;
      ring = <usize>next;
    }
  }
  scanDepth--;
}

/** What `scanRing` left of the budget it was given. */
let scanBudget: i32 = 0;

/**
 * Scans `ring` of channel `ch` from its HEAD (see `scanEnds`) with `budget` records at most.
 * @returns its successor to scan next (sealed, linked, and this ring scanned to its end), or 0
 * to stop.
 */
function scanRing(ch: usize, gen: i32, ring: usize, budget: i32): i32 {
  const cap = capacityOf(ch, ring);
  if (cap == 0) return 0;
  let at = atomic.load<i64>(ring + RING_HEAD);
  if (at < 0 || (at & (ALIGN - 1)) != 0) return 0;
  for (;;) {
    const tail = atomic.load<i64>(ring + RING_TAIL);
    const position = tail & POSITION;
    if (at >= position) {
      if ((tail & (ALIGN - 1)) != 0 || tail >= 0) return 0; // realigning, or the last ring
      // Sealed at `position` and scanned to it: its successor, once linked.
      const next = <usize><u32>atomic.load<i32>(ring + RING_NEXT);
      if (next == 0 || next == ring || capacityOf(ch, next) == 0) return 0;
      if (<usize><u32>load<i32>(next + RING_PREV) != ring) return 0;
      scanBudget = budget;
      return <i32>next;
    }
    if (position - at > <i64>cap || budget-- <= 0) return 0;
    const record = ring + RING_DATA + <i32>(at & (cap - 1));
    const h = atomic.load<i64>(record);
    // 0: a claim whose header is not written yet (or consumed meanwhile); a broken header is
    // the consumer's to report.
    if (h == 0 || !headerOk(h)) return 0;
    const size = <i32>h;
    const extent = align8(size > 0 ? size : -size);
    if (extent < HEADER || <i32>(at & (cap - 1)) + extent > cap) return 0;
    if (size > 0 && (<i32>(h >>> 32) & 0xf) == RECORD_ENDS) {
      dropEntries(record + HEADER, size - HEADER);
      // The ends dropped may have attached this instance to other channels: this one again.
      if (attached(ch, gen) != OK || capacityOf(ch, ring) != cap) return 0;
    }
    at += extent;
  }
  return 0; // not reached
}

/** Drops the ends still in flight in the ends table at `payload` (`length` bytes). */
function dropEntries(payload: usize, length: i32): void {
  const count = atomic.load<i32>(payload + ENDS_COUNT);
  if (count < 1 || count > MAX_ENDS || ENDS_ENTRIES + count * ENTRY_SIZE > length) return;
  for (let i = 0; i < count; i++) {
    const entry = payload + ENDS_ENTRIES + <usize>i * ENTRY_SIZE;
    const low = entryLow(entry);
    if (low < 0) continue;
    const end = <usize><u32>atomic.load<i32>(entry + ENTRY_CH);
    const endGen = atomic.load<i32>(entry + ENTRY_GEN);
    // Read before the CAS, checked after it: the entry was whole when this scan took it.
    if (atomic.cmpxchg<i32>(entry + ENTRY_STATE, ENTRY_IN_FLIGHT, ENTRY_DROPPED) != ENTRY_IN_FLIGHT) {
      continue;
    }
    if ((low & 3) == END_SENDER) dropSender(end, endGen);
    else closeReceiver(end, endGen);
  }
}
