// Unit tests of several receivers on one channel (see "Several receivers" in consumer.ts and "The
// consumer lock" in life.ts): the lock a peek takes and its release or unpeek lets go; whose view
// of the head a holder keeps (CONS_LAST); receiver tokens and counts; a holder found dead and
// taken over; destruction waiting for the holder; headDead and unblock under another's lock;
// rendezvous tokens counted, not named; one waiter woken per message.
//
// One instance plays every receiver by switching tokens (`useToken`), so their views of the head
// are one: a receiver in another thread is played by writing what its instance would write to the
// memory (`foreignTake`), leaving this instance's view behind as a real other thread does. Real
// threads are exercised by tests/mpmc_test.ts.
import * as core from "../index";
import {
  ALIGN, BUSY, CLAIMED, CONS_HOLDER, CONS_LAST, CONS_RING, CORRUPTED, DATA_SEQ, DATA_WAITERS,
  DISCONNECTED, EMPTY, END_SENDER, ENDS_COUNT, ENDS_ENTRIES, ENTRY_DROPPED, ENTRY_SIZE,
  ENTRY_STATE, FIRST_OFFSET, FIRST_TOKEN, FULL, HEADER, HOLDER_DEAD, INVALID, LOCKED, NEXT_TOKEN,
  OK, RECEIVED, RECEIVER, RECV_WAITING, RING_CAPACITY, RING_DATA, RING_HEAD, SENDERS, SPACE_SEQ,
  STALE, TOKEN_MASK, arenaGeneration,
} from "../index";
import {
  addReceiver, addSender, arena, cancel, channel, channelIn, closeReceiver, commit, corrupted,
  dropSender, gen, headDead, holderDead, markDead, newOwner, newToken, peek, peekDead, peekLength,
  receiverOpen, recvWaitBegin, recvWaitEnd, release, reserve, settleHolder, unblock, unpeek,
  useToken, waitDataBegin, waitDataEnd, waitSpaceBegin, waitSpaceEnd,
} from "./_channels";

function byteOf(seed: i32, i: i32): u8 {
  return <u8>((seed * 31 + i * 7) & 0xff);
}

/** Sends a message of `len` bytes (content from `seed`). */
function send(ch: usize, len: i32, seed: i32): i32 {
  const p = reserve(ch, len, 1);
  if (p < FIRST_OFFSET) return p;
  for (let i = 0; i < len; i++) store<u8>(<usize>p + i, byteOf(seed, i));
  return commit(ch, p, 1, len);
}

/** Whether the `len` bytes at `p` are the message of `seed`. */
function isMessage(p: i32, len: i32, seed: i32): bool {
  for (let i = 0; i < len; i++) if (load<u8>(<usize>p + i) != byteOf(seed, i)) return false;
  return true;
}

/** Takes the next message with the current token and checks its length and content. */
function take(ch: usize, len: i32, seed: i32): void {
  const p = peek(ch);
  expect<bool>(p >= FIRST_OFFSET).toBe(true, "a message is ready");
  expect<i32>(peekLength()).toBe(len, "length");
  expect<bool>(isMessage(p, len, seed)).toBe(true, "payload bytes");
  expect<i32>(release(ch)).toBe(OK, "released");
}

/** The consumer's ring (as CONS_RING says). */
function consRing(ch: usize): usize {
  return <usize><u32>load<i32>(ch + CONS_RING);
}

/** HEAD of the consumer's ring, as the memory has it. */
function head(ch: usize): i64 {
  return load<i64>(consRing(ch) + RING_HEAD);
}

function holder(ch: usize): i32 {
  return load<i32>(ch + CONS_HOLDER);
}

function last(ch: usize): i32 {
  return load<i32>(ch + CONS_LAST);
}

/** Bytes of one record with an 8-byte payload. */
const RECORD8: i64 = 16;

/**
 * Consumes the committed message at HEAD in memory only — zeroes it, moves HEAD past it, counts
 * it — as a consumer in another instance would: this instance's view is left as it was. Nothing
 * else: the lock and CONS_LAST are the caller's.
 */
function consumeInMemory(ch: usize): void {
  const ring = consRing(ch);
  const capacity = load<i32>(ring + RING_CAPACITY);
  const at = load<i64>(ring + RING_HEAD);
  const record = ring + RING_DATA + <usize>(at & (capacity - 1));
  const size = load<i32>(record);
  expect<bool>(size >= HEADER).toBe(true, "a committed record at HEAD");
  const extent = (size + ALIGN - 1) & ~(ALIGN - 1);
  memory.fill(record, 0, extent);
  store<i64>(ring + RING_HEAD, at + extent);
  store<i32>(ch + RECEIVED, load<i32>(ch + RECEIVED) + 1);
}

/**
 * Receiver `t` in another thread takes the consumer lock (from `from`: 0, or a dead holder's mark
 * for a takeover, which leaves nobody's view), consumes the message at HEAD and lets go, recording
 * its token: what its own instance writes, in memory only.
 */
function foreignTake(ch: usize, t: i32, from: i32 = 0): void {
  expect<i32>(atomic.cmpxchg<i32>(ch + CONS_HOLDER, from, t)).toBe(from, "the lock taken");
  if (from != 0) store<i32>(ch + CONS_LAST, 0);
  consumeInMemory(ch);
  store<i32>(ch + CONS_LAST, t);
  atomic.store<i32>(ch + CONS_HOLDER, 0);
}

/** A fresh unbounded channel with two more receivers' tokens (the channel counts 2 receivers). */
function twoReceivers(bound: u32 = core.UNBOUNDED): usize {
  const ch = channel(bound, 256);
  expect<i32>(addReceiver(ch)).toBe(2);
  return ch;
}

describe("the consumer lock", () => {
  test("a peek holds it: another token gets LOCKED, then the next message once it is let go", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    const B = newToken(ch);
    for (let i = 1; i <= 4; i++) expect<i32>(send(ch, 8, i)).toBe(OK);
    const h0 = head(ch);
    useToken(A);
    const p1 = peek(ch);
    expect<bool>(isMessage(p1, 8, 1)).toBe(true);
    expect<i32>(holder(ch)).toBe(A);
    useToken(B);
    expect<i32>(peek(ch)).toBe(LOCKED);
    expect<i32>(last(ch)).toBe(FIRST_TOKEN, "a LOCKED peek records nothing");
    expect<i32>(release(ch)).toBe(STALE, "B holds nothing: it consumes nothing");
    expect<i32>(holder(ch)).toBe(A, "still A's");
    expect<i64>(head(ch)).toBe(h0);
    useToken(A);
    expect<i32>(release(ch)).toBe(OK);
    expect<i64>(head(ch)).toBe(h0 + RECORD8);
    expect<i32>(holder(ch)).toBe(0);
    expect<i32>(last(ch)).toBe(A);
    expect<i32>(release(ch)).toBe(STALE, "a second release of one peek consumes nothing");
    expect<i64>(head(ch)).toBe(h0 + RECORD8, "HEAD moved once for the record");
    useToken(B);
    take(ch, 8, 2);
    expect<i64>(head(ch)).toBe(h0 + 2 * RECORD8);
    expect<i32>(last(ch)).toBe(B);
    // An unpeek lets go without consuming: the next holder gets the same message.
    useToken(A);
    const p3 = peek(ch);
    expect<bool>(isMessage(p3, 8, 3)).toBe(true);
    useToken(B);
    expect<i32>(peek(ch)).toBe(LOCKED);
    useToken(A);
    unpeek(ch);
    expect<i32>(holder(ch)).toBe(0);
    expect<i64>(head(ch)).toBe(h0 + 2 * RECORD8);
    useToken(B);
    expect<i32>(peek(ch)).toBe(p3, "the message A looked at");
    expect<i32>(release(ch)).toBe(OK);
    useToken(A);
    take(ch, 8, 4);
    expect<i32>(peek(ch)).toBe(EMPTY);
    expect<i32>(holder(ch)).toBe(0, "an empty peek lets go");
    expect<i32>(load<i32>(ch + RECEIVED)).toBe(4, "each message consumed once");
    expect<i64>(head(ch)).toBe(h0 + 4 * RECORD8);
    expect<i32>(corrupted(ch)).toBe(0);
  });
  test("a token of 0 (or of the dead mark alone) is refused", () => {
    const ch = twoReceivers();
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    expect<i32>(core.peek(ch, gen(ch), 0)).toBe(INVALID);
    expect<i32>(core.peek(ch, gen(ch), HOLDER_DEAD)).toBe(INVALID);
    expect<i32>(holder(ch)).toBe(0);
    useToken(FIRST_TOKEN);
    take(ch, 8, 1);
  });
});

describe("CONS_LAST: whose view of the head a holder keeps", () => {
  test("receivers taking turns each find the next message", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    const B = newToken(ch);
    for (let i = 1; i <= 4; i++) expect<i32>(send(ch, 8, i)).toBe(OK);
    useToken(A);
    take(ch, 8, 1);
    expect<i32>(last(ch)).toBe(A);
    useToken(B);
    take(ch, 8, 2);
    expect<i32>(last(ch)).toBe(B);
    useToken(B);
    take(ch, 8, 3);
    useToken(A);
    take(ch, 8, 4);
    expect<i32>(corrupted(ch)).toBe(0);
  });
  test("HEAD moved by a receiver in another thread (CONS_LAST not ours): taken from memory", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    const B = newToken(ch);
    for (let i = 1; i <= 3; i++) expect<i32>(send(ch, 8, i)).toBe(OK);
    useToken(A);
    take(ch, 8, 1); // this instance's view: HEAD after message 1
    foreignTake(ch, B); // B, in its own instance, takes message 2
    expect<i32>(last(ch)).toBe(B);
    useToken(A);
    take(ch, 8, 3); // a view kept from before would fail the channel (check 20)
    expect<i32>(corrupted(ch)).toBe(0);
    expect<i32>(load<i32>(ch + RECEIVED)).toBe(3);
    expect<i32>(peek(ch)).toBe(EMPTY);
  });
  test("HEAD written over under the last holder's own view: the channel fails (check 20)", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    for (let i = 1; i <= 3; i++) expect<i32>(send(ch, 8, i)).toBe(OK);
    useToken(A);
    take(ch, 8, 1);
    consumeInMemory(ch); // a write nobody holding the lock recorded
    expect<i32>(last(ch)).toBe(A);
    expect<i32>(peek(ch)).toBe(CORRUPTED, "message 3 is not delivered from a HEAD nobody moved");
    expect<i32>(corrupted(ch)).toBe(20);
    expect<i32>(holder(ch)).toBe(0, "let go");
  });
});

describe("receiver tokens and counts", () => {
  test("newToken: distinct, above FIRST_TOKEN, never 0 nor the dead mark, also when it wraps", () => {
    const ch = channel();
    let previous = FIRST_TOKEN;
    for (let i = 0; i < 100; i++) {
      const t = newToken(ch);
      if (t <= previous || (t & ~TOKEN_MASK) != 0) expect<i32>(t).toBe(previous + 1, "a new token");
      previous = t;
    }
    store<i32>(ch + NEXT_TOKEN, TOKEN_MASK - 1);
    expect<i32>(newToken(ch)).toBe(TOKEN_MASK);
    expect<i32>(newToken(ch)).toBe(FIRST_TOKEN + 1, "0 and FIRST_TOKEN skipped");
    store<i32>(ch + NEXT_TOKEN, -1);
    expect<i32>(newToken(ch)).toBe(FIRST_TOKEN + 1);
    const a = arena(64);
    const gone = channelIn(a);
    const g = gen(gone);
    expect<i32>(dropSender(gone)).toBe(0);
    expect<i32>(closeReceiver(gone)).toBe(OK);
    expect<i32>(core.newToken(gone, g)).toBe(-STALE);
  });
  test("addReceiver counts up, and is refused once no receiver is open", () => {
    const ch = channel();
    expect<i32>(receiverOpen(ch)).toBe(1);
    expect<i32>(addReceiver(ch)).toBe(2);
    expect<i32>(addReceiver(ch)).toBe(3);
    expect<i32>(receiverOpen(ch)).toBe(3);
    for (let i = 0; i < 3; i++) expect<i32>(closeReceiver(ch)).toBe(OK);
    expect<i32>(receiverOpen(ch)).toBe(0);
    expect<i32>(addReceiver(ch)).toBe(-DISCONNECTED, "a clone is made from an open receiver");
    expect<i32>(load<i32>(ch + RECEIVER)).toBe(0, "nothing counted");
    store<i32>(ch + RECEIVER, i32.MAX_VALUE); // written over
    expect<i32>(addReceiver(ch)).toBe(-DISCONNECTED);
    expect<i32>(load<i32>(ch + RECEIVER)).toBe(i32.MAX_VALUE);
  });
  test("closeReceiver: only the last one disconnects the senders and drops the ends in flight", () => {
    const a = arena(64);
    const carrier = channelIn(a);
    const x = channelIn(a);
    expect<i32>(addSender(x)).toBe(2); // the end in flight: counted in x, held by nobody
    const length = ENDS_ENTRIES + ENTRY_SIZE + 8;
    const at = reserve(carrier, length, 1);
    expect<bool>(at >= FIRST_OFFSET).toBe(true);
    store<i32>(at + ENDS_COUNT, 1);
    expect<i32>(core.writeEntry(at, 0, <i32>x, gen(x), END_SENDER)).toBe(OK);
    expect<i32>(core.commitEnds(carrier, gen(carrier), at, 1, length)).toBe(OK);
    expect<i32>(addReceiver(carrier)).toBe(2);
    expect<i32>(addReceiver(carrier)).toBe(3);
    waitSpaceBegin(carrier); // a sender waiting for room
    for (let open = 2; open >= 1; open--) {
      const space = load<i32>(carrier + SPACE_SEQ);
      expect<i32>(closeReceiver(carrier)).toBe(OK);
      expect<i32>(receiverOpen(carrier)).toBe(open);
      expect<i32>(load<i32>(carrier + SPACE_SEQ)).toBe(space, "no sender woken");
      expect<i32>(load<i32>(x + SENDERS)).toBe(2, "no scan: a receiver is open");
      const p = reserve(carrier, 8, 1);
      expect<bool>(p >= FIRST_OFFSET).toBe(true, "senders still connected");
      expect<i32>(cancel(carrier, p, 1, 8)).toBe(OK);
    }
    const space = load<i32>(carrier + SPACE_SEQ);
    expect<i32>(closeReceiver(carrier)).toBe(OK);
    expect<i32>(receiverOpen(carrier)).toBe(0);
    expect<i32>(load<i32>(carrier + SPACE_SEQ)).toBe(space + 1, "waiting senders woken");
    expect<i32>(load<i32>(x + SENDERS)).toBe(1, "the sender in flight dropped");
    expect<i32>(load<i32>(at + ENDS_ENTRIES + ENTRY_STATE)).toBe(ENTRY_DROPPED);
    expect<i32>(reserve(carrier, 8, 1)).toBe(DISCONNECTED);
    waitSpaceEnd(carrier);
  });
});

describe("a holder found dead", () => {
  test("marked only as the holder; consumes nothing; peekDead takes over with the same message", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    const B = newToken(ch);
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    expect<i32>(send(ch, 8, 2)).toBe(OK);
    const h0 = head(ch);
    useToken(A);
    const p = peek(ch);
    expect<bool>(isMessage(p, 8, 1)).toBe(true);
    expect<i32>(settleHolder(ch, B)).toBe(0, "B does not hold it");
    expect<i32>(holder(ch)).toBe(A);
    expect<i32>(holderDead(ch)).toBe(0);
    expect<i32>(settleHolder(ch, A)).toBe(1);
    expect<i32>(holder(ch)).toBe(A | HOLDER_DEAD);
    expect<i32>(holderDead(ch)).toBe(1);
    expect<i32>(settleHolder(ch, A)).toBe(0, "marked once");
    // The dead one, running on (denoland/deno#35657), finds its lock gone.
    useToken(A);
    expect<i32>(release(ch)).toBe(STALE);
    expect<i64>(head(ch)).toBe(h0, "nothing consumed");
    expect<i32>(load<i32>(ch + RECEIVED)).toBe(0);
    expect<bool>(isMessage(p, 8, 1)).toBe(true, "the message still there");
    unpeek(ch);
    expect<i32>(holder(ch)).toBe(A | HOLDER_DEAD, "an unpeek lets nothing go either");
    expect<i64>(head(ch)).toBe(h0);
    useToken(B);
    expect<i32>(peek(ch)).toBe(LOCKED, "a dead holder's lock is not free");
    expect<i32>(peekDead(ch)).toBe(p, "the message the dead one was decoding");
    expect<i32>(peekLength()).toBe(8);
    expect<bool>(isMessage(p, 8, 1)).toBe(true);
    expect<i32>(holder(ch)).toBe(B);
    expect<i32>(last(ch)).toBe(0, "nobody's view");
    expect<i32>(holderDead(ch)).toBe(0);
    expect<i32>(release(ch)).toBe(OK);
    expect<i64>(head(ch)).toBe(h0 + RECORD8);
    expect<i32>(last(ch)).toBe(B);
    useToken(A);
    expect<i32>(release(ch)).toBe(STALE, "still nothing for the dead one");
    expect<i64>(head(ch)).toBe(h0 + RECORD8);
    useToken(B);
    take(ch, 8, 2);
    expect<i32>(load<i32>(ch + RECEIVED)).toBe(2);
    expect<i32>(corrupted(ch)).toBe(0);
  });
  test("settleHolder of a token that does not hold is a no-op, whoever holds", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    const B = newToken(ch);
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    expect<i32>(settleHolder(ch, A)).toBe(0, "free");
    expect<i32>(settleHolder(ch, 0)).toBe(0, "token 0 never marks a free lock");
    expect<i32>(settleHolder(ch, HOLDER_DEAD)).toBe(0);
    expect<i32>(holder(ch)).toBe(0);
    expect<i32>(holderDead(ch)).toBe(0);
    useToken(B);
    expect<i32>(peekDead(ch)).toBe(LOCKED, "nothing to take over");
    expect<i32>(holder(ch)).toBe(0);
    const p = peek(ch);
    expect<i32>(settleHolder(ch, A)).toBe(0, "B holds it");
    expect<i32>(holder(ch)).toBe(B);
    useToken(A);
    expect<i32>(peekDead(ch)).toBe(LOCKED, "a live holder is not taken over");
    expect<i32>(holder(ch)).toBe(B);
    useToken(B);
    expect<i32>(release(ch)).toBe(OK);
    expect<bool>(p >= FIRST_OFFSET).toBe(true);
    expect<i32>(settleHolder(ch, B)).toBe(0, "let go already");
    expect<i32>(holder(ch)).toBe(0);
  });
  // A regression test: `unlockConsumer` (life.ts) stored CONS_LAST = token before its CAS on
  // CONS_HOLDER, so a holder whose lock was taken over (`unpeek`, or the let-go inside `peek`,
  // `headDead`, `unblock`) recorded itself as the last holder although it let nothing go; its
  // next lock kept its stale view of the head, and the channel failed for every receiver (check
  // 20). It records CONS_LAST only while the lock is still its own.
  test("a holder taken over records no CONS_LAST as it lets nothing go", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    const B = newToken(ch);
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    expect<i32>(send(ch, 8, 2)).toBe(OK);
    useToken(A);
    expect<bool>(isMessage(peek(ch), 8, 1)).toBe(true);
    expect<i32>(settleHolder(ch, A)).toBe(1);
    foreignTake(ch, B, A | HOLDER_DEAD); // B, in another thread, takes over and consumes message 1
    expect<i32>(last(ch)).toBe(B);
    // A, running on (denoland/deno#35657; src/_carry.ts unpeeks when its ends were dropped).
    useToken(A);
    unpeek(ch);
    expect<i32>(holder(ch)).toBe(0);
    expect<i32>(last(ch)).toBe(B, "nothing was let go: the last holder is still B");
    const p = peek(ch);
    expect<i32>(corrupted(ch)).toBe(0, "A's next peek takes its view from memory");
    expect<bool>(p >= FIRST_OFFSET && isMessage(p, 8, 2)).toBe(true, "message 2");
  });
});

describe("a lock word written over", () => {
  test("a holder no token names fails the channel (check 46), rather than stall every receiver", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    store<i32>(ch + CONS_HOLDER, load<i32>(ch + NEXT_TOKEN) + 5);
    useToken(A);
    expect<i32>(peek(ch)).toBe(CORRUPTED);
    expect<i32>(corrupted(ch)).toBe(46);
  });
  test("a holder of 0 with only the dead mark fails it too", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    store<i32>(ch + CONS_HOLDER, HOLDER_DEAD);
    useToken(A);
    expect<i32>(peek(ch)).toBe(CORRUPTED);
    expect<i32>(corrupted(ch)).toBe(46);
  });
});

describe("destruction with the lock held", () => {
  test("every end closed while a peek holds the lock: destroyed once the holder releases", () => {
    const a = arena(64);
    const ch = channelIn(a);
    const g = gen(ch);
    const A = newToken(ch);
    const B = newToken(ch);
    expect<i32>(addReceiver(ch)).toBe(2);
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    const p = core.peek(ch, g, A);
    expect<bool>(p >= FIRST_OFFSET).toBe(true);
    expect<i32>(dropSender(ch)).toBe(0);
    expect<i32>(closeReceiver(ch)).toBe(OK);
    expect<i32>(closeReceiver(ch)).toBe(OK);
    expect<i32>(arenaGeneration(a, ch)).toBe(g, "not freed under the decode");
    expect<i32>(holder(ch)).toBe(A);
    expect<i32>(core.peek(ch, g, B)).toBe(LOCKED, "still there, still A's");
    expect<bool>(isMessage(p, 8, 1)).toBe(true);
    expect<i32>(core.release(ch, g, A)).toBe(OK);
    expect<i32>(arenaGeneration(a, ch)).toBe(-STALE, "freed as the holder let go");
  });
  test("the same with an unpeek: the holder's let-go destroys it", () => {
    const a = arena(64);
    const ch = channelIn(a);
    const g = gen(ch);
    const A = newToken(ch);
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    expect<bool>(core.peek(ch, g, A) >= FIRST_OFFSET).toBe(true);
    expect<i32>(closeReceiver(ch)).toBe(OK);
    expect<i32>(dropSender(ch)).toBe(0);
    expect<i32>(arenaGeneration(a, ch)).toBe(g);
    core.unpeek(ch, A);
    expect<i32>(arenaGeneration(a, ch)).toBe(-STALE);
  });
  test("a holder found dead keeps it until another takes over and lets go", () => {
    const a = arena(64);
    const ch = channelIn(a);
    const g = gen(ch);
    const A = newToken(ch);
    const B = newToken(ch);
    expect<i32>(addReceiver(ch)).toBe(2);
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    const p = core.peek(ch, g, A);
    // A's thread dies: its settler marks the lock, then closes its receiver.
    expect<i32>(settleHolder(ch, A)).toBe(1);
    expect<i32>(closeReceiver(ch)).toBe(OK);
    expect<i32>(dropSender(ch)).toBe(0);
    expect<i32>(core.peekDead(ch, g, B)).toBe(p);
    expect<i32>(core.release(ch, g, B)).toBe(OK);
    expect<i32>(core.peek(ch, g, B)).toBe(DISCONNECTED);
    expect<i32>(arenaGeneration(a, ch)).toBe(g, "B's receiver is open");
    expect<i32>(closeReceiver(ch)).toBe(OK);
    expect<i32>(arenaGeneration(a, ch)).toBe(-STALE);
  });
  test("a holder found dead that nobody takes over: kept (a leak, never a free under it)", () => {
    const a = arena(64);
    const ch = channelIn(a);
    const g = gen(ch);
    const A = newToken(ch);
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    expect<bool>(core.peek(ch, g, A) >= FIRST_OFFSET).toBe(true);
    expect<i32>(settleHolder(ch, A)).toBe(1);
    expect<i32>(closeReceiver(ch)).toBe(OK);
    expect<i32>(dropSender(ch)).toBe(0);
    expect<i32>(arenaGeneration(a, ch)).toBe(g);
    expect<i32>(core.release(ch, g, A)).toBe(STALE, "the dead one lets nothing go");
    expect<i32>(arenaGeneration(a, ch)).toBe(g, "as a thread that dies inside a call (life.ts)");
  });
});

describe("headDead and unblock under another's lock", () => {
  test("0 and BUSY while another token holds it; the dead claim skipped once it is let go", () => {
    const ch = twoReceivers(2);
    const A = newToken(ch);
    const B = newToken(ch);
    const owner = newOwner(ch);
    const stuck = reserve(ch, 4, owner); // its producer dies before committing
    expect<bool>(stuck >= FIRST_OFFSET).toBe(true);
    expect<i32>(markDead(ch, stuck, owner)).toBe(OK);
    const claim = load<i64>(<usize>stuck - HEADER);
    // A, in another thread, holds the lock (its peek is about to return BUSY).
    store<i32>(ch + CONS_HOLDER, A);
    useToken(B);
    expect<i32>(headDead(ch)).toBe(0);
    expect<i32>(unblock(ch)).toBe(BUSY);
    expect<i64>(load<i64>(<usize>stuck - HEADER)).toBe(claim, "not skipped");
    expect<i32>(holder(ch)).toBe(A, "A's lock untouched");
    store<i32>(ch + CONS_HOLDER, A | HOLDER_DEAD); // found dead: still held
    expect<i32>(headDead(ch)).toBe(0);
    expect<i32>(unblock(ch)).toBe(BUSY);
    store<i32>(ch + CONS_HOLDER, 0); // let go (by A, or taken over and let go)
    expect<i32>(headDead(ch)).toBe(1);
    expect<i32>(unblock(ch)).toBe(OK);
    expect<i32>(holder(ch)).toBe(0);
    expect<i32>(peek(ch)).toBe(EMPTY);
    // This instance's tokens: B's calls leave A's peek alone.
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    useToken(A);
    const p = peek(ch);
    useToken(B);
    expect<i32>(headDead(ch)).toBe(0);
    expect<i32>(unblock(ch)).toBe(BUSY);
    expect<i32>(holder(ch)).toBe(A);
    useToken(A);
    expect<i32>(release(ch)).toBe(OK);
    expect<bool>(p >= FIRST_OFFSET).toBe(true);
    expect<i32>(corrupted(ch)).toBe(0);
  });
});

describe("rendezvous tokens, several receivers", () => {
  test("counted, not named: spent, kept, withdrawn too late, given back", () => {
    const ch = twoReceivers(0);
    const A = newToken(ch);
    const B = newToken(ch);
    recvWaitBegin(ch); // A waits
    recvWaitBegin(ch); // B waits
    expect<i32>(load<i32>(ch + RECV_WAITING)).toBe(2);
    expect<i32>(send(ch, 4, 1)).toBe(OK);
    expect<i32>(load<i32>(ch + RECV_WAITING)).toBe(1);
    // A takes it with its token out: its wait ends, nothing is withdrawn.
    useToken(A);
    take(ch, 4, 1);
    expect<i32>(load<i32>(ch + RECV_WAITING)).toBe(1, "B's token is still out");
    expect<i32>(send(ch, 4, 2)).toBe(OK, "B's token admits a second message");
    expect<i32>(load<i32>(ch + RECV_WAITING)).toBe(0);
    expect<i32>(reserve(ch, 4, 1)).toBe(FULL, "no token left");
    // B gives up before taking it: none left to withdraw.
    expect<i32>(recvWaitEnd(ch)).toBe(CLAIMED);
    expect<i32>(load<i32>(ch + RECV_WAITING)).toBe(-1);
    expect<i32>(reserve(ch, 4, 1)).toBe(FULL);
    // A takes it with no token out: it gives one back, for the receiver whose token was spent.
    useToken(A);
    take(ch, 4, 2);
    recvWaitBegin(ch);
    expect<i32>(load<i32>(ch + RECV_WAITING)).toBe(0);
    expect<i32>(reserve(ch, 4, 1)).toBe(FULL, "nobody waits");
    // And on: B waits again, one message is admitted and taken.
    useToken(B);
    recvWaitBegin(ch);
    expect<i32>(send(ch, 4, 3)).toBe(OK);
    expect<i32>(reserve(ch, 4, 1)).toBe(FULL);
    take(ch, 4, 3);
    expect<i32>(load<i32>(ch + RECV_WAITING)).toBe(0);
    expect<i32>(peek(ch)).toBe(EMPTY);
  });
});

describe("one waiter woken per message", () => {
  test("a publish with two receivers waiting bumps DATA_SEQ once; the holder wakes the next", () => {
    const ch = twoReceivers();
    const A = newToken(ch);
    const B = newToken(ch);
    const seq = waitDataBegin(ch);
    expect<i32>(waitDataBegin(ch)).toBe(seq);
    expect<i32>(load<i32>(ch + DATA_WAITERS)).toBe(2);
    expect<i32>(send(ch, 8, 1)).toBe(OK);
    expect<i32>(load<i32>(ch + DATA_SEQ)).toBe(seq + 1, "one bump for one message");
    expect<i32>(send(ch, 8, 2)).toBe(OK);
    expect<i32>(load<i32>(ch + DATA_SEQ)).toBe(seq + 2);
    useToken(A);
    expect<bool>(peek(ch) >= FIRST_OFFSET).toBe(true);
    useToken(B);
    expect<i32>(peek(ch)).toBe(LOCKED);
    expect<i32>(load<i32>(ch + DATA_SEQ)).toBe(seq + 2, "taking the lock or not: no wake");
    useToken(A);
    expect<i32>(release(ch)).toBe(OK);
    expect<i32>(load<i32>(ch + DATA_SEQ)).toBe(seq + 3, "a message left: the holder wakes one");
    expect<bool>(peek(ch) >= FIRST_OFFSET).toBe(true);
    unpeek(ch);
    expect<i32>(load<i32>(ch + DATA_SEQ)).toBe(seq + 4, "unpeeked: still there");
    useToken(B);
    take(ch, 8, 2);
    expect<i32>(load<i32>(ch + DATA_SEQ)).toBe(seq + 4, "nothing left: no wake");
    expect<i32>(peek(ch)).toBe(EMPTY);
    expect<i32>(load<i32>(ch + DATA_SEQ)).toBe(seq + 4);
    waitDataEnd(ch);
    waitDataEnd(ch);
    expect<i32>(load<i32>(ch + DATA_WAITERS)).toBe(0);
    expect<i32>(send(ch, 8, 3)).toBe(OK);
    expect<i32>(send(ch, 8, 4)).toBe(OK);
    take(ch, 8, 3);
    expect<i32>(load<i32>(ch + DATA_SEQ)).toBe(seq + 4, "nobody waits: no bump");
    take(ch, 8, 4);
  });
});
