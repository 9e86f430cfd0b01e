// Unit tests of ends in flight (see "Ends table" in layout.ts and `scanEnds` in ends.ts): a
// message that carries ends is committed as RECORD_ENDS; its receiver adopts each end by one CAS,
// or, the receiver closed first, a scan drops the ends still in flight — at the close, and after
// any later commit — exactly once, whoever gets there first. Threads are exercised by the
// JavaScript tests (tests/ends_test.ts).
import * as core from "../index";
import {
  END_RECEIVER, END_SENDER, ENDS_COUNT, ENDS_ENTRIES, ENTRY_ADOPTED, ENTRY_DROPPED,
  ENTRY_IN_FLIGHT, ENTRY_SIZE, ENTRY_STATE, FIRST_OFFSET, INVALID, OK, RECEIVER, SENDERS, STALE,
} from "../index";
import {
  addSender, arena, channelIn, closeReceiver, commit, corrupted, gen, peek, release, reserve,
} from "./_channels";

/** Claims and commits in `carrier` a message carrying `ends` (channel, kind) pairs. */
function sendEnds(carrier: usize, ends: StaticArray<i32>, body: i32 = 16): i32 {
  const n = ends.length / 2;
  const length = ENDS_ENTRIES + n * ENTRY_SIZE + body;
  const at = reserve(carrier, length, 1);
  expect<bool>(at >= FIRST_OFFSET).toBe(true, "claimed");
  store<i32>(at + ENDS_COUNT, n);
  for (let i = 0; i < n; i++) {
    const end = <usize>ends[2 * i];
    expect<i32>(core.writeEntry(at, i, <i32>end, gen(end), ends[2 * i + 1])).toBe(OK);
  }
  return core.commitEnds(carrier, gen(carrier), at, 1, length);
}

function entryState(payload: usize, i: i32): i32 {
  return load<i32>(payload + ENDS_ENTRIES + i * ENTRY_SIZE + ENTRY_STATE);
}

describe("ends in flight", () => {
  test("received: each entry adopted once; the ends' counts untouched", () => {
    const a = arena(64);
    const carrier = channelIn(a);
    const x = channelIn(a);
    const y = channelIn(a);
    addSender(x); // the end in flight: counted in x, held by nobody
    expect<i32>(sendEnds(carrier, [<i32>x, END_SENDER, <i32>y, END_RECEIVER | 4])).toBe(OK);
    const at = peek(carrier);
    expect<bool>(at >= FIRST_OFFSET).toBe(true);
    expect<i32>(core.peekEnds()).toBe(2);
    expect<i32>(core.takeEntry(0)).toBe(END_SENDER);
    expect<i32>(core.takenEnd()).toBe(<i32>x);
    expect<i32>(core.takenEndGen()).toBe(gen(x));
    expect<i32>(core.takeEntry(1)).toBe(END_RECEIVER | 4, "flags kept");
    expect<i32>(core.takenEnd()).toBe(<i32>y);
    expect<i32>(core.takeEntry(2)).toBe(-INVALID, "past the table");
    expect<i32>(entryState(at, 0)).toBe(ENTRY_ADOPTED);
    expect<i32>(release(carrier)).toBe(OK);
    expect<i32>(load<i32>(x + SENDERS)).toBe(2);
    expect<i32>(load<i32>(y + RECEIVER)).toBe(1);
  });
  test("a message without ends has no table", () => {
    const carrier = channelIn(arena(64));
    const at = reserve(carrier, 8, 1);
    expect<i32>(commit(carrier, at, 1, 8)).toBe(OK);
    expect<i32>(peek(carrier)).toBe(at);
    expect<i32>(core.peekEnds()).toBe(0);
    expect<i32>(core.takeEntry(0)).toBe(-INVALID);
    expect<i32>(release(carrier)).toBe(OK);
  });
  test("the receiver closed: every end still in flight is dropped, once", () => {
    const a = arena(64);
    const carrier = channelIn(a);
    const x = channelIn(a);
    const y = channelIn(a);
    addSender(x);
    expect<i32>(sendEnds(carrier, [<i32>x, END_SENDER])).toBe(OK);
    expect<i32>(sendEnds(carrier, [<i32>y, END_RECEIVER])).toBe(OK);
    expect<i32>(closeReceiver(carrier)).toBe(OK);
    expect<i32>(load<i32>(x + SENDERS)).toBe(1, "the sender in flight was dropped");
    expect<i32>(load<i32>(y + RECEIVER)).toBe(0, "the receiver in flight was closed");
    // A second close (another scan) drops nothing more.
    expect<i32>(closeReceiver(carrier)).toBe(OK);
    expect<i32>(load<i32>(x + SENDERS)).toBe(1);
  });
  test("a commit after the close: its ends dropped by its own scan", () => {
    const a = arena(64);
    const carrier = channelIn(a);
    const x = channelIn(a);
    addSender(x);
    // Claimed before the close (a producer past its check), committed after it.
    const length = ENDS_ENTRIES + ENTRY_SIZE + 8;
    const at = reserve(carrier, length, 1);
    store<i32>(at + ENDS_COUNT, 1);
    expect<i32>(core.writeEntry(at, 0, <i32>x, gen(x), END_SENDER)).toBe(OK);
    expect<i32>(closeReceiver(carrier)).toBe(OK);
    expect<i32>(load<i32>(x + SENDERS)).toBe(2, "not committed: not the scan's");
    expect<i32>(core.commitEnds(carrier, gen(carrier), at, 1, length)).toBe(OK);
    expect<i32>(load<i32>(x + SENDERS)).toBe(1);
    expect<i32>(entryState(at, 0)).toBe(ENTRY_DROPPED);
  });
  test("a scan stops at a claim without a header; the claim's commit scans past it", () => {
    const a = arena(64);
    const carrier = channelIn(a);
    const x = channelIn(a);
    addSender(x);
    const plain = reserve(carrier, 8, 2);
    // Its header reads 0, as a producer's between its claim and its header write.
    const header = load<i64>(plain - 8);
    store<i64>(plain - 8, 0);
    expect<i32>(sendEnds(carrier, [<i32>x, END_SENDER])).toBe(OK);
    expect<i32>(closeReceiver(carrier)).toBe(OK);
    expect<i32>(load<i32>(x + SENDERS)).toBe(2, "behind the unfinished claim");
    store<i64>(plain - 8, header);
    expect<i32>(commit(carrier, plain, 2, 8)).toBe(OK);
    expect<i32>(load<i32>(x + SENDERS)).toBe(1, "a plain commit after the close scans too");
  });
  test("adopted before the close: the scan leaves it; dropped first: takeEntry says STALE", () => {
    const a = arena(64);
    const carrier = channelIn(a);
    const x = channelIn(a);
    const y = channelIn(a);
    addSender(x);
    addSender(y);
    expect<i32>(sendEnds(carrier, [<i32>x, END_SENDER, <i32>y, END_SENDER])).toBe(OK);
    const at = peek(carrier);
    expect<i32>(core.peekEnds()).toBe(2);
    expect<i32>(core.takeEntry(0)).toBe(END_SENDER); // x adopted
    // The receiver is closed for a thread being ended, between its peek and its release.
    expect<i32>(core.closeReceiver(carrier, gen(carrier))).toBe(OK);
    expect<i32>(load<i32>(x + SENDERS)).toBe(2, "adopted: its adopter holds it");
    expect<i32>(load<i32>(y + SENDERS)).toBe(1, "in flight: dropped");
    expect<i32>(entryState(at, 1)).toBe(ENTRY_DROPPED);
    expect<i32>(core.takeEntry(1)).toBe(-STALE);
    expect<i32>(release(carrier)).toBe(OK);
  });
  test("ends in channels in channels: closing the outer receiver drops them all", () => {
    const a = arena(64);
    const outer = channelIn(a);
    const inner = channelIn(a);
    const x = channelIn(a);
    addSender(x);
    // inner holds a sender of x; outer holds inner's receiver.
    expect<i32>(sendEnds(inner, [<i32>x, END_SENDER])).toBe(OK);
    expect<i32>(sendEnds(outer, [<i32>inner, END_RECEIVER])).toBe(OK);
    expect<i32>(closeReceiver(outer)).toBe(OK);
    expect<i32>(load<i32>(inner + RECEIVER)).toBe(0);
    expect<i32>(load<i32>(x + SENDERS)).toBe(1);
  });
  test("a cycle (each channel carries the other's receiver) ends", () => {
    const a = arena(64);
    const p = channelIn(a);
    const q = channelIn(a);
    expect<i32>(sendEnds(p, [<i32>q, END_RECEIVER])).toBe(OK);
    expect<i32>(sendEnds(q, [<i32>p, END_RECEIVER])).toBe(OK);
    expect<i32>(closeReceiver(p)).toBe(OK);
    expect<i32>(load<i32>(q + RECEIVER)).toBe(0);
  });
  test("an entry written over: never dropped, and the receiver finds the channel corrupted", () => {
    const a = arena(64);
    const carrier = channelIn(a);
    const x = channelIn(a);
    addSender(x);
    expect<i32>(sendEnds(carrier, [<i32>x, END_SENDER])).toBe(OK);
    const at = peek(carrier);
    store<i32>(at + ENDS_ENTRIES + 4, <i32>carrier); // its channel
    expect<i32>(core.peekEnds()).toBe(1);
    expect<i32>(core.takeEntry(0)).toBe(-core.CORRUPTED);
    expect<bool>(corrupted(carrier) != 0).toBe(true);
    expect<i32>(load<i32>(x + SENDERS)).toBe(2);
  });
  test("a table that does not fit its message: CORRUPTED", () => {
    const a = arena(64);
    const carrier = channelIn(a);
    const x = channelIn(a);
    expect<i32>(sendEnds(carrier, [<i32>x, END_SENDER], 0)).toBe(OK);
    const at = peek(carrier);
    store<i32>(at + ENDS_COUNT, 2);
    expect<i32>(core.peekEnds()).toBe(-core.CORRUPTED);
  });
  test("writeEntry refuses a kind or an index out of range", () => {
    const carrier = channelIn(arena(64));
    const at = reserve(carrier, 64, 1);
    expect<i32>(core.writeEntry(at, 0, <i32>carrier, gen(carrier), 3)).toBe(INVALID);
    expect<i32>(core.writeEntry(at, 0, <i32>carrier, gen(carrier), 0x100 | END_SENDER)).toBe(INVALID);
    expect<i32>(core.writeEntry(at, -1, <i32>carrier, gen(carrier), END_SENDER)).toBe(INVALID);
    expect<i32>(core.writeEntry(at, 0, <i32>carrier, gen(carrier), END_SENDER)).toBe(OK);
    expect<i32>(load<i32>(at + ENTRY_STATE + ENDS_ENTRIES)).toBe(ENTRY_IN_FLIGHT);
  });
});
