// Two producers' reserve/commit steps driven by hand in every interleaving, with the consumer
// draining after every step, checked against a model queue (claims in reserve order; the head
// is delivered only once committed).
import { BUSY, EMPTY, FIRST_OFFSET, HEADER, UNBOUNDED } from "../index";
import { channel, commit, peek, peekLength, release, reserve } from "./_channels";

/**
 * Commits claim `p`, still in progress, as the producer that made it would: with the owner and
 * length it claimed (read from its header, which only a test may do).
 */
function commitClaim(ch: usize, p: i32): void {
  commit(ch, p, load<i32>(<usize>p - 4) >>> 16, -load<i32>(<usize>p - 8) - HEADER);
}


const STEPS = 8; // per interleaving: each producer reserves and commits twice
const LENGTHS: i32[] = [16, 8]; // payload lengths of producer 0 and 1 (24 and 16-byte records)

// The model.
const modelOwner: i32[] = [];
const modelSeq: i32[] = [];
const modelDone: bool[] = [];
let front = 0;
// Producer state.
const nextSeq: i32[] = [0, 0];
const pending: i32[] = [0, 0];

function resetModel(): void {
  modelOwner.length = 0;
  modelSeq.length = 0;
  modelDone.length = 0;
  front = 0;
  nextSeq[0] = 0;
  nextSeq[1] = 0;
  pending[0] = 0;
  pending[1] = 0;
}

function producerStep(ch: usize, who: i32): void {
  if (pending[who] == 0) {
    const len = LENGTHS[who];
    const p = reserve(ch, len, who + 1);
    expect<bool>(p >= FIRST_OFFSET).toBe(true, "reserve");
    const seq = nextSeq[who]++;
    for (let i = 0; i < len; i++) store<u8>(<usize>p + i, <u8>(who * 100 + seq * 10 + i));
    pending[who] = p;
    modelOwner.push(who);
    modelSeq.push(seq);
    modelDone.push(false);
  } else {
    commitClaim(ch, pending[who]);
    pending[who] = 0;
    for (let k = modelOwner.length - 1; k >= front; k--) {
      if (modelOwner[k] == who) {
        modelDone[k] = true;
        break;
      }
    }
  }
}

/** Drains what the model says is deliverable and checks every answer of `peek`. */
function drain(ch: usize): void {
  while (true) {
    const p = peek(ch);
    if (front == modelOwner.length) {
      expect<i32>(p).toBe(EMPTY, "model is empty");
      return;
    }
    if (!modelDone[front]) {
      expect<i32>(p).toBe(BUSY, "model head is uncommitted");
      return;
    }
    const who = modelOwner[front];
    const seq = modelSeq[front];
    expect<bool>(p >= FIRST_OFFSET).toBe(true, "model head is committed");
    expect<i32>(peekLength()).toBe(LENGTHS[who]);
    for (let i = 0; i < LENGTHS[who]; i++) {
      expect<u8>(load<u8>(<usize>p + i)).toBe(<u8>(who * 100 + seq * 10 + i));
    }
    release(ch);
    front++;
  }
}

describe("two producers, every interleaving", () => {
  test("against a model queue, at every ring offset, with growth", () => {
    let interleavings = 0;
    for (let offset = 0; offset < 64; offset += 8) {
      for (let mask = 0; mask < 1 << STEPS; mask++) {
        if (popcnt<i32>(mask) != STEPS / 2) continue;
        const ch = channel(UNBOUNDED, 64, 1 << 20);
        if (offset > 0) {
          const p = reserve(ch, offset - 8, 9);
          commitClaim(ch, p);
          expect<i32>(peek(ch)).toBe(p);
          release(ch);
        }
        resetModel();
        for (let step = 0; step < STEPS; step++) {
          producerStep(ch, (mask >> step) & 1);
          drain(ch);
        }
        expect<i32>(front).toBe(4, "all four messages delivered");
        interleavings++;
      }
    }
    expect<i32>(interleavings).toBe(70 * 8);
  });
});
