// A channel's life in its arena (assembly/arena.ts): created (`create`: a control block and a
// first ring, each a block of the arena), entered and left by every call (the in-call words),
// and destroyed once its ends are gone and no call is inside (`destroy`: its blocks go back to
// the arena, zeroed, each with a new generation).
//
// ## In-call words
// A channel is named by its control block `ch` and that block's generation `gen`: an end
// carries both. The control block has two in-call words, PROD_CALLS on the producers' line and
// CONS_CALLS on the consumer's, each an i64: a tag (high half: gen + 1, so that a zero block, or
// one handed out again, never matches) and the number of calls inside (low half), with
// CALLS_CLOSING once both sides are closed and CALLS_DEAD once the channel is destroyed. Every call enters by a CAS of its side's word from
// (tag, n) to (tag, n + 1) with the tag of its end's generation, and leaves by subtracting 1;
// a thread holding a stale `ch` (its end was settled by another thread while it ran on, or the
// memory was overwritten) fails that CAS and touches nothing else (STALE). The arena's contract
// (rule 2) asks for one word; two keep the producers' and the consumer's calls off each other's
// cache line, which a word shared by both would bounce at every message.
//
// A call is "inside" for as long as it may touch the channel's memory, JavaScript's accesses
// included: `reserve` that returns a claim stays inside until its `commit`, `commitLength` or
// `cancel` (the payload is written between them); `peek` that returns a message stays inside
// until its `release` (or `unpeek`): the payload is decoded between them.
//
// ## Destruction
// The call that closes the second side (the last sender dropped with the receiver closed, or
// the receiver closed with no sender left: both only ever go down) sets CALLS_CLOSING in both
// words, and the last call to leave after that destroys the channel — seen in the word its
// leaving returns, so that a leave reads nothing more. It marks PROD_CALLS, then CONS_CALLS,
// dead by a CAS from (tag, CLOSING, 0), which fails while a call is inside (that call tries again
// as it leaves), and only then gives the rings (the RINGS list) and last the control block back
// to the arena (`arenaFree`: zeroed, a new generation). So a ring passes to another channel only
// once no thread can still claim in it (rule 4): the instant between a producer's check of its
// ring and its CAS on TAIL lies inside a call. Until then retired rings stay on the channel's
// FREE_RINGS list. A thread that dies inside a call (Node and Bun stop a worker between any two
// instructions) keeps the count above 0 for ever: the channel's blocks are never freed — a leak,
// never a reuse under a live claim. A channel whose memory was found corrupted keeps its blocks
// too (its lists cannot be trusted; the arena's contract would free what validates): a leak.
//
// ## The consumer lock
// `peek` … `release` is inside too, but counted in no in-call word: the receiver that holds the
// consumer lock (CONS_HOLDER, see "Several receivers" in consumer.ts) is the one call inside
// that the lock admits. `lockConsumer` takes it by a CAS from 0, then reads CONS_CALLS;
// `tryDestroy` marks CONS_CALLS dead, then reads CONS_HOLDER: of the two, one sees the other
// (sequentially consistent atomics). A holder that lets go reads CONS_CALLS after its CAS back to
// 0 and destroys the channel if it was the last call inside of a closed one; a destroyer that
// finds the lock held opens the words again, then looks at the lock once more, so that a holder
// that let go in between (and read the words dead) is not missed. The lock costs what the
// in-call CAS it replaces cost: one CAS to take it, one to let go.

import {
  ADMITTED, ARENA, BOUND, CALLS_CLOSING, CALLS_COUNT, CALLS_DEAD, CONFIG_CHECK, CONS_CALLS, CONS_CHECK,
  CONS_HOLDER, CONS_LAST, CONS_RING, FIRST_TOKEN, HOLDER_DEAD, LOCKED, NEXT_TOKEN, TOKEN_MASK,
  CORRUPT, CORRUPTED, FIRST_OFFSET, FIRST_RING, ID, INVALID, LAYOUT_VERSION, MAGIC, MAGIC_VALUE,
  MAX_BYTES, MAX_INITIAL_CAPACITY, MAX_STORAGE, MIN_CAPACITY, OK, PROD_CALLS, PROD_RING, RECEIVED,
  RECEIVER, RECV_WAITING, RING_ALL, RINGS, SENDERS, SPIN_LIMIT, STALE, STORAGE, VERSION,
  configCheck, consCheck, initRing, isPowerOfTwo, ringBytes,
} from "./layout";
import {
  ARENA_CONTROL_CLASS, CONTROL_OWNER, arenaAlloc, arenaFree, arenaGeneration,
  arenaHolds, arenaRingClass,
} from "./arena";
import {
  blockOk, capacityOf, cfgArena, cfgMaxBytes, enter, fail, forget, id as configId,
  largest as channelLargest, ringGen, validate,
} from "./channel";

// ── Creating

/**
 * Creates a channel in the arena at `a`: a control block and a first ring of `initialCapacity`
 * bytes, with one sender and the receiver counted. `id` is any number the caller chooses to tell
 * channels apart (see `channelId`); `maxBytes` is the channel's quota of the arena (its rings'
 * blocks, see `ringBytes`). Thread-safe; the channel is published to other threads by the
 * caller, with its offset.
 * @returns the control block's offset (its generation is `arenaGeneration(a, ch)`); INVALID
 * for a capacity that is not a power of two in range or a maxBytes that does not hold the first
 * ring or exceeds MAX_STORAGE, or no arena at `a`; or the arena's ARENA_FULL, GROW_FAILED or
 * CORRUPTED.
 */
export function create(a: usize, bound: u32, maxBytes: u32, initialCapacity: i32, id: i32): i32 {
  if (
    !isPowerOfTwo(initialCapacity) || initialCapacity < MIN_CAPACITY ||
    initialCapacity > MAX_INITIAL_CAPACITY
  ) return INVALID;
  if (ringBytes(initialCapacity) > <i64>maxBytes || maxBytes > MAX_STORAGE) return INVALID;
  const chAt = arenaAlloc(a, ARENA_CONTROL_CLASS, CONTROL_OWNER);
  if (chAt < FIRST_OFFSET) return chAt;
  const ch = <usize>chAt;
  const gen = arenaGeneration(a, ch);
  const ringAt = arenaAlloc(a, arenaRingClass(initialCapacity), chAt);
  if (ringAt < FIRST_OFFSET) {
    arenaFree(a, ch, gen);
    return ringAt;
  }
  const ring = <usize>ringAt;
  // Both blocks are zero, and this thread's alone until the caller publishes `ch`.
  initRing(ring, initialCapacity, chAt, arenaGeneration(a, ring), 0);
  store<u32>(ch + BOUND, bound);
  store<u32>(ch + MAX_BYTES, maxBytes);
  store<i32>(ch + STORAGE, <i32>ringBytes(initialCapacity));
  store<i32>(ch + ARENA, <i32>a);
  store<i32>(ch + FIRST_RING, ringAt);
  store<i32>(ch + RINGS, ringAt);
  store<i32>(ch + PROD_RING, ringAt);
  store<i32>(ch + ADMITTED, 0);
  store<i32>(ch + CONS_RING, ringAt);
  store<i32>(ch + CONS_CHECK, consCheck(ring));
  store<i32>(ch + RECEIVED, 0);
  store<i32>(ch + SENDERS, 1);
  store<i32>(ch + RECEIVER, 1);
  store<i32>(ch + RECV_WAITING, 0);
  store<i32>(ch + ID, id);
  store<i32>(ch + CORRUPT, 0);
  store<i32>(ch + CONFIG_CHECK, configCheck(bound, maxBytes, id, <i32>a, ringAt));
  store<i64>(ch + PROD_CALLS, tagOf(gen));
  store<i64>(ch + CONS_CALLS, tagOf(gen));
  store<i32>(ch + CONS_HOLDER, 0);
  store<i32>(ch + CONS_LAST, FIRST_TOKEN);
  store<i32>(ch + NEXT_TOKEN, FIRST_TOKEN);
  store<i32>(ch + VERSION, LAYOUT_VERSION);
  // Publishes the whole block: a thread that sees MAGIC sees everything above.
  atomic.store<i32>(ch + MAGIC, MAGIC_VALUE);
  return chAt;
}

// ── Entering and leaving

/** The tag of an in-call word for control block generation `gen`: never 0. */
// @ts-ignore: decorator
@inline function tagOf(gen: i32): i64 {
  return <i64><u32>(gen + 1) << 32;
}

/**
 * Enters channel `ch` of generation `gen` on the side whose in-call word is at `word`.
 * @returns OK (inside: leave with `gateOut`), INVALID (`ch` cannot be a control block), or
 * STALE: the word holds another tag (the channel was destroyed, and perhaps its block handed
 * out again; or the word was overwritten: see `condemn`), or the channel is being destroyed.
 */
// @ts-ignore: decorator
@inline export function gateIn(ch: usize, gen: i32, word: i32): i32 {
  if (!blockOk(ch)) return INVALID;
  if (gen < 0) return STALE;
  const tag = tagOf(gen);
  const at = ch + word;
  let w = atomic.load<i64>(at);
  for (let turn = 0; turn < SPIN_LIMIT; turn++) {
    // Another tag, dead, or every bit of the count set (a word written over).
    if ((w & ~(CALLS_COUNT | CALLS_CLOSING)) != tag || (w & CALLS_COUNT) == CALLS_COUNT) {
      return STALE;
    }
    const seen = atomic.cmpxchg<i64>(at, w, w + 1);
    if (seen == w) return OK;
    w = seen;
  }
  return STALE;
}

/**
 * Leaves channel `ch` on the side whose in-call word is at `word`: the last call to leave once
 * both sides are closed destroys the channel (see "Destruction"). Nothing may touch the channel
 * after this.
 */
// @ts-ignore: decorator
@inline export function gateOut(ch: usize, word: i32): void {
  const old = atomic.sub<i64>(ch + word, 1);
  const n = old & CALLS_COUNT;
  if (n == 1) {
    if ((old & CALLS_CLOSING) != 0) tryDestroy(ch, <i32>(old >>> 32));
  } else if (n == 0) {
    fail(ch, 41); // left more often than entered: the word was written over
  }
}

/**
 * For a call inside that has just closed a side (dropped a sender, or closed the receiver): if
 * both are closed now, marks both in-call words CALLS_CLOSING, so that the last call to leave
 * destroys the channel. Of two calls closing the two sides at once, one at least sees the other's
 * close (each closes, then looks at the other side).
 */
export function closeSide(ch: usize): void {
  if (atomic.load<i32>(ch + RECEIVER) > 0 || atomic.load<i32>(ch + SENDERS) > 0) return;
  atomic.or<i64>(ch + PROD_CALLS, CALLS_CLOSING);
  atomic.or<i64>(ch + CONS_CALLS, CALLS_CLOSING);
}

/**
 * Takes the consumer lock of channel `ch` of generation `gen` for the receiver of `token` (see
 * "The consumer lock"), and checks the channel (see `enter` in channel.ts).
 * @returns OK (held: let go with `unlockConsumer`), LOCKED (another receiver holds it), STALE,
 * INVALID or CORRUPTED.
 */
export function lockConsumer(ch: usize, gen: i32, token: i32): i32 {
  if (!blockOk(ch)) return INVALID;
  if (gen < 0) return STALE;
  const tag = tagOf(gen);
  // Looked at first, so that a stale end writes nothing into a block handed out again.
  if ((atomic.load<i64>(ch + CONS_CALLS) & ~(CALLS_COUNT | CALLS_CLOSING)) != tag) return STALE;
  const holder = atomic.cmpxchg<i32>(ch + CONS_HOLDER, 0, token);
  if (holder != 0) {
    // Held — by a token this channel handed out, or the word was written over (then every
    // receive would wait for a holder that does not exist: fail the channel instead).
    const t = holder & TOKEN_MASK;
    if (t == 0 || t > (atomic.load<i32>(ch + NEXT_TOKEN) & TOKEN_MASK)) return fail(ch, 46);
    return LOCKED;
  }
  const w = atomic.load<i64>(ch + CONS_CALLS);
  if ((w & ~(CALLS_COUNT | CALLS_CLOSING)) != tag) {
    // A destroyer came first (or the word was written over): give the lock back, and destroy if
    // it saw the lock and left that to this call.
    letGo(ch, token);
    return STALE;
  }
  const checked = enter(ch, gen);
  if (checked != OK) unlockConsumer(ch, token);
  return checked;
}

/**
 * Lets go of the consumer lock taken by `lockConsumer` with `token`, recording the token as the
 * last holder's; the last call out of a closed channel destroys it.
 * @returns LET_GO; LET_GO_CLOSING if both sides are closed (the channel may be destroyed now: touch
 * nothing more); or TAKEN_OVER if the lock was not this token's any more — its thread was found
 * dead and another receiver took the lock over (see `settleHolder`): nothing was let go, and
 * nothing recorded (else that thread, running on, would take its stale view for the head's).
 */
export function unlockConsumer(ch: usize, token: i32): i32 {
  // A plain store under the lock: the next holder reads it after its CAS, which follows this one.
  if (load<i32>(ch + CONS_LAST) != token && atomic.load<i32>(ch + CONS_HOLDER) == token) {
    store<i32>(ch + CONS_LAST, token);
  }
  return letGo(ch, token);
}

/** `unlockConsumer`'s results. */
export const LET_GO: i32 = 1;
export const LET_GO_CLOSING: i32 = 2;
export const TAKEN_OVER: i32 = 0;

/** `unlockConsumer` without recording the token. */
function letGo(ch: usize, token: i32): i32 {
  if (atomic.cmpxchg<i32>(ch + CONS_HOLDER, token, 0) != token) return TAKEN_OVER;
  const w = atomic.load<i64>(ch + CONS_CALLS);
  if ((w & CALLS_CLOSING) == 0) return LET_GO;
  if ((w & (CALLS_COUNT | CALLS_DEAD)) == 0) tryDestroy(ch, <i32>(w >>> 32));
  return LET_GO_CLOSING;
}

/**
 * For a thread that settles the ends of a dead one: marks the consumer lock dead if the dead
 * thread's receivers (`token`) hold it — by a CAS, so that a holder that let go meanwhile, or a
 * lock taken since by another, is left alone; a holder that was only slow then finds its lock
 * gone when it lets go (`unlockConsumer` returns false) and gives up.
 * @returns 1 if marked, 0 if not, or a status of `gateIn`.
 */
export function settleHolder(ch: usize, gen: i32, token: i32): i32 {
  const status = gateIn(ch, gen, CONS_CALLS);
  if (status != OK) return status;
  const t = token & TOKEN_MASK;
  const marked = t != 0 && atomic.cmpxchg<i32>(ch + CONS_HOLDER, t, t | HOLDER_DEAD) == t;
  gateOut(ch, CONS_CALLS);
  return marked ? 1 : 0;
}

/** @returns 1 if the consumer lock is held by a receiver found dead (see `settleHolder`), else 0. */
export function holderDead(ch: usize, gen: i32): i32 {
  if (gateIn(ch, gen, CONS_CALLS) != OK) return 0;
  const dead = (atomic.load<i32>(ch + CONS_HOLDER) & HOLDER_DEAD) != 0 ? 1 : 0;
  gateOut(ch, CONS_CALLS);
  return dead;
}

/**
 * Takes over the consumer lock from a holder found dead (see `settleHolder`), for `token`: by a
 * CAS from the dead mark, so that of several receivers one takes it. The dead holder's view of
 * the head counts for nothing: the new holder takes it from memory. Callers wait a grace period
 * after first seeing the mark (a terminated thread may still be running, see `unblock`).
 * @returns as `lockConsumer` (LOCKED: not a dead holder's any more, or another took it over).
 */
export function stealConsumer(ch: usize, gen: i32, token: i32): i32 {
  if (!blockOk(ch)) return INVALID;
  if (gen < 0) return STALE;
  const tag = tagOf(gen);
  if ((atomic.load<i64>(ch + CONS_CALLS) & ~(CALLS_COUNT | CALLS_CLOSING)) != tag) return STALE;
  const dead = atomic.load<i32>(ch + CONS_HOLDER);
  if ((dead & HOLDER_DEAD) == 0) return LOCKED;
  if (atomic.cmpxchg<i32>(ch + CONS_HOLDER, dead, token) != dead) return LOCKED;
  store<i32>(ch + CONS_LAST, 0); // nobody's view
  const checked = enter(ch, gen);
  if (checked != OK) unlockConsumer(ch, token);
  return checked;
}

/** @returns a new receiver token for channel `ch` (see `lockConsumer`), or -status. */
export function newToken(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, CONS_CALLS);
  if (status != OK) return -status;
  let token = 0;
  for (let turn = 0; turn < 3 && token <= FIRST_TOKEN; turn++) {
    token = (atomic.add<i32>(ch + NEXT_TOKEN, 1) + 1) & TOKEN_MASK;
  }
  gateOut(ch, CONS_CALLS);
  return token > FIRST_TOKEN ? token : -CORRUPTED;
}

/** Enters on the producer side and checks the channel (see `enter` in channel.ts). */
// @ts-ignore: decorator
@inline export function enterProducer(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, PROD_CALLS);
  if (status != OK) return status;
  const checked = enter(ch, gen);
  if (checked != OK) gateOut(ch, PROD_CALLS);
  return checked;
}

/** Enters on the consumer side and checks the channel (see `enter` in channel.ts). */
// @ts-ignore: decorator
@inline export function enterConsumer(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, CONS_CALLS);
  if (status != OK) return status;
  const checked = enter(ch, gen);
  if (checked != OK) gateOut(ch, CONS_CALLS);
  return checked;
}

/** Leaves the producer side. */
// @ts-ignore: decorator
@inline export function leaveProducer(ch: usize): void {
  gateOut(ch, PROD_CALLS);
}

/** Leaves the consumer side. */
// @ts-ignore: decorator
@inline export function leaveConsumer(ch: usize): void {
  gateOut(ch, CONS_CALLS);
}

/**
 * For a caller whose call on channel `ch` of generation `gen`, in the arena at `a`, found STALE
 * while its end is open: if the arena still holds that control block with that generation, the
 * channel was not destroyed (an end of it is open) and its in-call word was written over: fails
 * the channel (sticky, every waiter wakes). Else the channel is gone: nothing is written.
 * @returns CORRUPTED, or STALE.
 */
export function condemn(a: usize, ch: usize, gen: i32): i32 {
  if (!blockOk(ch)) return STALE;
  if (arenaHolds(a, ch, ARENA_CONTROL_CLASS, gen, CONTROL_OWNER) != OK) return STALE;
  return fail(ch, 42);
}

// ── Destroying

/**
 * Destroys channel `ch` (in-call tag `tag`, both sides closed) if no call is inside: marks both
 * in-call words dead, each by a CAS from (tag, CLOSING, 0), and frees its blocks. A call inside
 * keeps its word from (tag, CLOSING, 0): it tries again as it leaves.
 */
function tryDestroy(ch: usize, tag: i32): void {
  const live = (<i64><u32>tag << 32) | CALLS_CLOSING;
  const dead = live | CALLS_DEAD;
  for (let turn = 0; turn < SPIN_LIMIT; turn++) {
    // Once dead, no call enters the producer side; one of the destroyers wins this CAS.
    if (atomic.cmpxchg<i64>(ch + PROD_CALLS, live, dead) != live) return;
    if (atomic.cmpxchg<i64>(ch + CONS_CALLS, live, dead) == live) {
      if (atomic.load<i32>(ch + CONS_HOLDER) == 0) {
        destroy(ch, tag - 1);
        return;
      }
      // A receiver holds the consumer lock: open both words again; it destroys as it lets go
      // — unless it let go already, having read them dead: then look again.
      atomic.store<i64>(ch + CONS_CALLS, live);
      atomic.store<i64>(ch + PROD_CALLS, live);
      if (atomic.load<i32>(ch + CONS_HOLDER) == 0) continue;
      return;
    }
    // A consumer-side call is inside: open the producer side again; that call tries again as
    // it leaves — unless it left meanwhile, finding the producer side dead: then look again.
    atomic.store<i64>(ch + PROD_CALLS, live);
    if (atomic.load<i64>(ch + CONS_CALLS) != live) return;
  }
}

/**
 * Gives channel `ch`'s blocks back to its arena: every ring on its RINGS list, then the control
 * block. Both in-call words are dead: no call is inside, none will enter. A channel found
 * corrupted, or a list that breaks its invariants, keeps what is left: a leak, not a guess.
 */
function destroy(ch: usize, gen: i32): void {
  if (validate(ch, gen) != OK) return;
  const a = cfgArena;
  // Each ring once: a list longer than the channel's quota holds is a loop.
  let hops = <i32>(<i64>cfgMaxBytes / ringBytes(MIN_CAPACITY)) + 2;
  let ring = <usize><u32>atomic.load<i32>(ch + RINGS);
  while (ring != 0) {
    if (--hops < 0 || capacityOf(ch, ring) == 0) return;
    const next = <usize><u32>load<i32>(ring + RING_ALL);
    if (arenaFree(a, ring, ringGen) != OK) return;
    ring = next;
  }
  forget(ch);
  arenaFree(a, ch, gen);
}

// ── The config, for callers outside (each enters and leaves)

/** @returns the bound given to `create` (UNBOUNDED, 0 for rendezvous, or a message count). */
export function channelBound(ch: usize, gen: i32): u32 {
  if (enterProducer(ch, gen) != OK) return 0;
  const bound = load<u32>(ch + BOUND);
  leaveProducer(ch);
  return bound;
}

/** @returns the maxBytes given to `create`, or 0 (not inside). */
export function channelMaxBytes(ch: usize, gen: i32): u32 {
  if (enterProducer(ch, gen) != OK) return 0;
  const maxBytes = cfgMaxBytes;
  leaveProducer(ch);
  return maxBytes;
}

/** Marks the channel corrupted (for a caller that found its memory broken). @returns CORRUPTED. */
export function corrupt(ch: usize, gen: i32): i32 {
  const status = gateIn(ch, gen, PROD_CALLS);
  if (status != OK) return status;
  fail(ch, 1);
  leaveProducer(ch);
  return CORRUPTED;
}

/**
 * @returns 0 while the channel is intact, else (sticky) the number of the check that found it
 * corrupted (see `fail` in channel.ts); -STALE if `ch` holds no channel of that generation.
 * Its arena's corruption is `arenaCorrupted`'s.
 */
export function corrupted(ch: usize, gen: i32): i32 {
  if (!blockOk(ch)) return -INVALID;
  const w = atomic.load<i64>(ch + PROD_CALLS);
  if ((w & ~(CALLS_COUNT | CALLS_CLOSING | CALLS_DEAD)) != tagOf(gen)) {
    return -STALE;
  }
  return atomic.load<i32>(ch + CORRUPT);
}

/**
 * @returns whether channel `ch` of generation `gen` is alive and intact: OK, CORRUPTED (the
 * channel, or its arena), STALE (destroyed, or its in-call word written over: see `condemn`),
 * INVALID. Racy, like every look from outside a call.
 */
export function usable(ch: usize, gen: i32): i32 {
  const status = enterProducer(ch, gen);
  if (status != OK) return status;
  leaveProducer(ch);
  return OK;
}

/** @returns the largest payload the channel accepts (see `largest` in channel.ts), or -status. */
export function largestPayload(ch: usize, gen: i32): i32 {
  const status = enterProducer(ch, gen);
  if (status != OK) return -status;
  const largest = channelLargest();
  leaveProducer(ch);
  return largest;
}

/**
 * @returns the id given to `create`: read as it is for a channel whose config is corrupted (it
 * still has an id to report), 0 for no channel there.
 */
export function channelId(ch: usize, gen: i32): i32 {
  const status = validate(ch, gen);
  if (status == OK) return configId();
  return status == CORRUPTED && blockOk(ch) ? load<i32>(ch + ID) : 0;
}
