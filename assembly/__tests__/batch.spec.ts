// `commitBatch`: a producer's batch of messages in one claim, published by one CAS (see
// assembly/producer.ts). One instance, step by step.
import {
  ADMITTED, BUSY, EMPTY, FIRST_OFFSET, HEADER, INVALID, MISMATCH, OK, RECEIVED, UNBOUNDED,
  commitBatch as coreCommitBatch, markDead as coreMarkDead,
} from "../index";
import {
  cancel, channel, gen, length, peek, peekLength, release, reserve, unblock,
} from "./_channels";

function align8(n: i32): i32 {
  return (n + 7) & ~7;
}

/**
 * Reserves one claim for messages of `sizes` and lays them out as a producer does: each payload
 * filled with its index, each further record's header slot holding its length.
 * @returns the claim's payload address (the first message's), and sets `claimLength`.
 */
let claimLength: i32 = 0;
function layOut(ch: usize, sizes: i32[], owner: i32 = 3): i32 {
  let total = 0;
  for (let i = 0; i < sizes.length; i++) total += align8(HEADER + sizes[i]);
  claimLength = total - HEADER;
  const p = reserve(ch, claimLength, owner);
  expect<bool>(p >= FIRST_OFFSET).toBe(true, "claimed");
  let r = <usize>p - HEADER;
  for (let i = 0; i < sizes.length; i++) {
    if (i > 0) store<i32>(r, sizes[i]);
    for (let k = 0; k < sizes[i]; k++) store<u8>(r + HEADER + k, <u8>(i + 1));
    r += align8(HEADER + sizes[i]);
  }
  return p;
}

function commitBatch(ch: usize, p: i32, sizes: i32[], owner: i32 = 3): i32 {
  return coreCommitBatch(ch, gen(ch), p, owner, claimLength, sizes[0], sizes.length);
}

/** Takes the next message and checks it is batch message `i` (of `size` bytes). */
function takeBatch(ch: usize, i: i32, size: i32): void {
  const p = peek(ch);
  expect<bool>(p >= FIRST_OFFSET).toBe(true, "a message is ready");
  expect<i32>(peekLength()).toBe(size, "its length");
  for (let k = 0; k < size; k++) {
    if (load<u8>(<usize>p + k) != <u8>(i + 1)) expect<u8>(load<u8>(<usize>p + k)).toBe(<u8>(i + 1));
  }
  release(ch);
}

describe("commitBatch", () => {
  test("publishes every message of the claim at once, in order, each counted", () => {
    const ch = channel();
    const sizes: i32[] = [5, 0, 17, 8, 100, 1];
    const p = layOut(ch, sizes);
    expect<i32>(peek(ch)).toBe(BUSY, "nothing before the commit");
    expect<i32>(commitBatch(ch, p, sizes)).toBe(OK);
    expect<i32>(length(ch)).toBe(6);
    for (let i = 0; i < sizes.length; i++) takeBatch(ch, i, sizes[i]);
    expect<i32>(peek(ch)).toBe(EMPTY);
    expect<i32>(load<i32>(ch + ADMITTED)).toBe(load<i32>(ch + RECEIVED));
  });
  test("a batch of one is a commit", () => {
    const ch = channel();
    const sizes: i32[] = [12];
    const p = layOut(ch, sizes);
    expect<i32>(commitBatch(ch, p, sizes)).toBe(OK);
    takeBatch(ch, 0, 12);
    expect<i32>(peek(ch)).toBe(EMPTY);
  });
  test("a layout that does not fill the claim exactly is INVALID, and cancels whole", () => {
    const ch = channel();
    const sizes: i32[] = [8, 8, 8];
    const p = layOut(ch, sizes);
    store<i32>(<usize>p - HEADER + align8(HEADER + 8), 16); // the second says 16: past the end
    expect<i32>(commitBatch(ch, p, sizes)).toBe(INVALID);
    expect<i32>(coreCommitBatch(ch, gen(ch), p, 3, claimLength, 8, 2)).toBe(INVALID, "too few");
    expect<i32>(coreCommitBatch(ch, gen(ch), p, 3, claimLength, 8, 0)).toBe(INVALID, "none");
    expect<i32>(coreCommitBatch(ch, gen(ch), p, 3, claimLength, -1, 3)).toBe(INVALID);
    expect<i32>(cancel(ch, p, 3, claimLength)).toBe(OK);
    expect<i32>(peek(ch)).toBe(EMPTY, "skipped as one padding record");
    expect<i32>(length(ch)).toBe(0);
  });
  test("only on an unbounded channel", () => {
    const ch = channel(16);
    const sizes: i32[] = [8, 8];
    const p = layOut(ch, sizes);
    expect<i32>(commitBatch(ch, p, sizes)).toBe(INVALID);
    expect<i32>(cancel(ch, p, 3, claimLength)).toBe(OK);
    expect<i32>(peek(ch)).toBe(EMPTY);
    expect<u32>(UNBOUNDED).toBe(0xffffffff);
  });
  test("a batch claim whose producer died is skipped whole, and its admission given back", () => {
    const ch = channel();
    const sizes: i32[] = [8, 24, 8];
    const p = layOut(ch, sizes, 5);
    expect<i32>(coreMarkDead(ch, gen(ch), p, 5)).toBe(OK);
    expect<i32>(commitBatch(ch, p, sizes, 5)).toBe(MISMATCH, "the commit finds it dead");
    expect<i32>(load<i32>(ch + ADMITTED)).toBe(1, "only what reserve admitted");
    expect<i32>(unblock(ch)).toBe(OK);
    expect<i32>(peek(ch)).toBe(EMPTY);
    expect<i32>(length(ch)).toBe(0);
  });
});
