// `consumeNext`: a lone receiver that keeps the head between receives (see "Keeping the head"
// in src/_shared_channel.ts) consumes and publishes each message at once — HEAD, RECEIVED and
// its zeroed bytes are what `release` leaves — and holds the lock only while a next message is
// there, peeked. One instance, step by step.
import * as core from "../index";
import {
  CONS_HOLDER, CONS_RING, EMPTY, FIRST_OFFSET, FIRST_TOKEN, HEADER, RECEIVED, RING_DATA,
  RING_HEAD, STALE,
} from "../index";
import { channel, commit, gen, peek, peekLength, release, reserve, settleHolder } from "./_channels";

/** Sends a message of `len` bytes, each `byte`. */
function send(ch: usize, len: i32, byte: u8): void {
  const p = reserve(ch, len, 3);
  expect<bool>(p >= FIRST_OFFSET).toBe(true, "claimed");
  memory.fill(<usize>p, byte, len);
  commit(ch, p, 3, len);
}

function head(ch: usize): i64 {
  return load<i64>(<usize><u32>load<i32>(ch + CONS_RING) + RING_HEAD);
}

function consumeNext(ch: usize): i32 {
  return core.consumeNext(ch, gen(ch), FIRST_TOKEN);
}

describe("consumeNext", () => {
  test("publishes each message as it goes and peeks the next, holding the lock", () => {
    const ch = channel();
    for (let i = 0; i < 3; i++) send(ch, 8, <u8>(i + 1));
    let p = peek(ch);
    expect<u8>(load<u8>(<usize>p)).toBe(1);
    const ring = <usize><u32>load<i32>(ch + CONS_RING);
    for (let i = 1; i < 3; i++) {
      p = consumeNext(ch);
      expect<bool>(p >= FIRST_OFFSET).toBe(true, "the next one");
      expect<u8>(load<u8>(<usize>p)).toBe(<u8>(i + 1));
      expect<i32>(peekLength()).toBe(8);
      // Published: HEAD at this message, RECEIVED counts the ones before, their bytes zeroed.
      expect<i64>(head(ch)).toBe(<i64>(i * (HEADER + 8)));
      expect<i32>(load<i32>(ch + RECEIVED)).toBe(i);
      expect<i64>(load<i64>(ring + RING_DATA + (i - 1) * (HEADER + 8))).toBe(0);
      expect<i32>(load<i32>(ch + CONS_HOLDER)).toBe(FIRST_TOKEN, "held");
    }
    // Nothing next: consumed, published, and let go.
    expect<i32>(consumeNext(ch)).toBe(EMPTY);
    expect<i32>(load<i32>(ch + RECEIVED)).toBe(3);
    expect<i64>(head(ch)).toBe(<i64>(3 * (HEADER + 8)));
    expect<i32>(load<i32>(ch + CONS_HOLDER)).toBe(0, "let go");
    expect<i32>(peek(ch)).toBe(EMPTY);
  });

  test("a lock taken over consumes nothing: STALE", () => {
    const ch = channel();
    send(ch, 4, 7);
    send(ch, 4, 8);
    expect<bool>(peek(ch) >= FIRST_OFFSET).toBe(true);
    expect<i32>(settleHolder(ch, FIRST_TOKEN)).toBe(1); // found dead
    store<i32>(ch + CONS_HOLDER, 2); // and taken over by another receiver
    expect<i32>(consumeNext(ch)).toBe(STALE);
    expect<i32>(load<i32>(ch + RECEIVED)).toBe(0, "nothing consumed");
    expect<i64>(head(ch)).toBe(0);
    store<i32>(ch + CONS_HOLDER, FIRST_TOKEN);
    expect<i32>(release(ch)).toBe(0);
  });
});
