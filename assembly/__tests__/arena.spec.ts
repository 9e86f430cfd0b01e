// Unit tests of the arena allocator (assembly/arena.ts), one instance, driven step by step: every
// size class, the cap, reuse and generations, growth (two growers replayed by hand), stray
// writes to the header and the free lists, and two threads' steps interleaved against a model.
// Real threads are exercised by tests/arena_stress_test.ts.
import {
  ARENA_BUMP, ARENA_CAP, ARENA_CLASSES, ARENA_CORRUPT, ARENA_HEADS, ARENA_CONTROL_CLASS, ARENA_FULL, ARENA_GROW_PAGES,
  ARENA_HEADER_SIZE, ARENA_MAX_END, BLOCK_CHECK, BLOCK_HEADER, BLOCK_LIFE,
  BLOCK_NEXT, BUSY, CONTROL_SIZE, CORRUPTED, FIRST_OFFSET, GROW_FAILED, INVALID, MIN_CAPACITY,
  NO_MEMORY, OK, PAGE, RING_DATA, STALE, arenaAlloc, arenaCarved, arenaCheck, arenaClassBytes,
  arenaClassOf, arenaCorrupt, arenaCorrupted, arenaFree, arenaFreeCount, arenaGeneration,
  arenaInit, arenaOwner, arenaRingClass,
} from "../index";
import {
  carveAt, enter, freeClaim, growTo, headOf, popNext, popTake, pushLink, pushPublish,
} from "../arena";

// The test runtime's heap grows this memory too, and an arena takes every page past its start
// as its own. So give the heap room up front: the block freed here stays in its pool,
// and the tests' own allocations never make the heap grow again. Each test then sets up an
// arena in fresh pages at the memory's end and uses no arena of an earlier test after that.
heap.free(heap.alloc(32 << 20));

/** A fresh arena in the page at the memory's end, that may span `capPages` pages. */
function arena(capPages: i32 = 1024): usize {
  const a = <usize>memory.grow(1) * PAGE;
  expect<i32>(arenaInit(a, capPages * PAGE)).toBe(OK);
  // Attach this instance to it, as any call does: the step functions expect it.
  expect<i32>(enter(a)).toBe(OK);
  return a;
}

function blockBytes(k: i32): i32 {
  return BLOCK_HEADER + arenaClassBytes(k);
}

/** Whether `bytes` bytes at `p` read 0: every byte, or every 4,096th word and the last one. */
function zero(p: usize, bytes: i32, sampled: bool = false): bool {
  const step = sampled ? 4096 : 8;
  for (let i = 0; i + 8 <= bytes; i += step) if (load<u64>(p + i) != 0) return false;
  return load<u64>(p + bytes - 8) == 0;
}

function fill(p: usize, bytes: i32, v: u32): void {
  for (let i = 0; i < bytes; i += 4) store<u32>(p + i, v ^ <u32>i);
}

function filled(p: usize, bytes: i32, v: u32): bool {
  for (let i = 0; i < bytes; i += 4) if (load<u32>(p + i) != (v ^ <u32>i)) return false;
  return true;
}

function tag(head: i64): i64 {
  return head >>> 32;
}

describe("arenaInit", () => {
  test("rejects an unaligned start, a cap that is not whole pages or too large, a memory past it", () => {
    const a = <usize>memory.grow(2) * PAGE;
    expect<i32>(arenaInit(a + 64, 4 * PAGE)).toBe(INVALID, "start not page-aligned");
    expect<i32>(arenaInit(a, 4 * PAGE + 64)).toBe(INVALID, "cap not whole pages");
    expect<i32>(arenaInit(a, 0)).toBe(INVALID, "no cap");
    expect<i32>(arenaInit(a, ARENA_MAX_END - <i32>a + PAGE)).toBe(INVALID, "past ARENA_MAX_END");
    expect<i32>(arenaInit(a, PAGE)).toBe(INVALID, "the memory is already larger than the cap");
    expect<i32>(arenaAlloc(a, 0, 1)).toBe(INVALID, "no arena there");
    expect<i32>(arenaInit(a, 2 * PAGE)).toBe(OK);
    expect<i32>(load<i32>(a + ARENA_CAP)).toBe(2 * PAGE);
    expect<i32>(load<i32>(a + ARENA_BUMP)).toBe(<i32>a + ARENA_HEADER_SIZE);
    expect<i32>(arenaCorrupted(a)).toBe(0);
    expect<i32>(arenaAlloc(a, ARENA_CLASSES, 1)).toBe(INVALID, "no such class");
    expect<i32>(arenaAlloc(a, -1, 1)).toBe(INVALID, "no such class");
  });
});

describe("size classes", () => {
  test("class 0 holds a control block, class k a ring of capacity 16 << (k - 1)", () => {
    expect<bool>(arenaClassBytes(ARENA_CONTROL_CLASS) >= CONTROL_SIZE).toBe(true);
    for (let k = 1; k < ARENA_CLASSES; k++) {
      const capacity = MIN_CAPACITY << (k - 1);
      expect<i32>(arenaRingClass(capacity)).toBe(k);
      expect<bool>(arenaClassBytes(k) >= RING_DATA + capacity).toBe(true, "holds the ring");
      expect<bool>(arenaClassBytes(k) < RING_DATA + capacity + 64).toBe(true, "and little more");
      expect<i32>(arenaClassBytes(k) & 63).toBe(0, "whole lines");
    }
    expect<i32>(arenaRingClass(0x20000000)).toBe(ARENA_CLASSES - 1, "the largest ring");
    expect<i32>(arenaRingClass(0x40000000)).toBe(-INVALID);
    expect<i32>(arenaRingClass(8)).toBe(-INVALID);
    expect<i32>(arenaRingClass(48)).toBe(-INVALID);
    expect<i32>(arenaClassBytes(ARENA_CLASSES)).toBe(-INVALID);
  });
  test("every class: a zero block of its size, aligned, distinct; freed, it comes back zero", () => {
    // Room for one block of every class (the largest alone takes 512 MiB).
    const a = arena(17000);
    const blocks = new StaticArray<i32>(ARENA_CLASSES);
    for (let k = 0; k < ARENA_CLASSES; k++) {
      const p = arenaAlloc(a, k, 100 + k);
      const bytes = arenaClassBytes(k);
      expect<bool>(p >= FIRST_OFFSET).toBe(true, "a block");
      expect<i32>(p & 63).toBe(0, "aligned");
      expect<bool>(<usize>p >= a + ARENA_HEADER_SIZE + BLOCK_HEADER).toBe(true, "after the header");
      expect<bool>(<i64>p + bytes <= <i64>memory.size() * PAGE).toBe(true, "inside the memory");
      expect<i32>(arenaClassOf(a, p)).toBe(k);
      expect<i32>(arenaOwner(a, p)).toBe(100 + k);
      expect<i32>(arenaGeneration(a, p)).toBe(0);
      expect<bool>(zero(p, bytes, k > 12)).toBe(true, "zero");
      // Its whole payload is the holder's: write all of it (its ends only, for large ones).
      if (k <= 12) fill(p, bytes, <u32>k);
      else {
        fill(p, 64, <u32>k);
        fill(p + bytes - 64, 64, <u32>k);
      }
      blocks[k] = p;
    }
    for (let k = 0; k < ARENA_CLASSES; k++) {
      const p = <usize>blocks[k];
      const bytes = arenaClassBytes(k);
      const intact = k <= 12 ? filled(p, bytes, <u32>k) : filled(p, 64, <u32>k) &&
        filled(p + bytes - 64, 64, <u32>k);
      expect<bool>(intact).toBe(true, "no block overlaps another");
    }
    for (let k = 0; k < ARENA_CLASSES; k++) expect<i32>(arenaFree(a, blocks[k], 0)).toBe(OK);
    for (let k = 0; k < ARENA_CLASSES; k++) {
      expect<i32>(arenaFreeCount(a, k)).toBe(1);
      const p = arenaAlloc(a, k, 1);
      expect<i32>(p).toBe(blocks[k], "the freed block again");
      expect<i32>(arenaGeneration(a, p)).toBe(1);
      expect<bool>(zero(p, arenaClassBytes(k), k > 12)).toBe(true, "zeroed by its free");
      expect<i32>(arenaFree(a, p, 1)).toBe(OK);
    }
    expect<i32>(arenaCorrupted(a)).toBe(0);
  });
});

describe("the cap", () => {
  test("blocks until the cap, then ARENA_FULL, class by class; a freed block serves its class", () => {
    const a = arena(4);
    const k0 = blockBytes(0); // 576
    const room = 4 * PAGE - ARENA_HEADER_SIZE;
    let n = 0;
    let p = 0;
    let last = 0;
    while ((p = arenaAlloc(a, 0, 1)) >= FIRST_OFFSET) {
      last = p;
      n++;
    }
    expect<i32>(p).toBe(ARENA_FULL);
    expect<bool>(ARENA_FULL != NO_MEMORY).toBe(true, "not the per-channel quota");
    expect<i32>(n).toBe(room / k0);
    expect<i32>(memory.size()).toBe(<i32>(a / PAGE) + 4, "the memory grew exactly to the cap");
    // What class 0 leaves (320 bytes) is one block of class 1, and no more.
    expect<i32>(room % k0).toBe(blockBytes(1));
    expect<bool>(arenaAlloc(a, 1, 1) >= FIRST_OFFSET).toBe(true);
    expect<i32>(arenaAlloc(a, 1, 1)).toBe(ARENA_FULL);
    expect<i32>(arenaCarved(a)).toBe(room);
    // A freed block serves its class; free lists of other classes are not split.
    expect<i32>(arenaFree(a, last, 0)).toBe(OK);
    expect<i32>(arenaAlloc(a, 1, 1)).toBe(ARENA_FULL);
    expect<i32>(arenaAlloc(a, 0, 1)).toBe(last);
    expect<i32>(arenaAlloc(a, 0, 1)).toBe(ARENA_FULL);
    expect<i32>(arenaCorrupted(a)).toBe(0);
  });
  test("a block larger than the cap is ARENA_FULL at once, and grows nothing", () => {
    const a = arena(4);
    const size = memory.size();
    // A 128 KiB ring fits 4 pages (the memory grows to the cap for it); a 256 KiB one does not.
    expect<bool>(arenaAlloc(a, 14, 1) >= FIRST_OFFSET).toBe(true);
    expect<i32>(memory.size()).toBe(size + 3, "grown for it");
    expect<i32>(arenaAlloc(a, 15, 1)).toBe(ARENA_FULL);
    expect<i32>(memory.size()).toBe(size + 3, "nothing grown for what cannot fit");
  });
});

describe("reuse and generations", () => {
  test("a freed block comes back zero, with a new generation and owner", () => {
    const a = arena();
    const p = arenaAlloc(a, 3, 7);
    const q = arenaAlloc(a, 3, 7);
    fill(p, arenaClassBytes(3), 0xabcdef);
    expect<i32>(arenaFree(a, p, 0)).toBe(OK);
    expect<i32>(arenaOwner(a, p)).toBe(0);
    expect<i32>(arenaGeneration(a, p)).toBe(-STALE, "free");
    expect<bool>(zero(p, arenaClassBytes(3))).toBe(true, "zeroed at once");
    const r = arenaAlloc(a, 3, 9);
    expect<i32>(r).toBe(p, "last freed, first reused");
    expect<i32>(arenaGeneration(a, r)).toBe(1);
    expect<i32>(arenaOwner(a, r)).toBe(9);
    expect<i32>(arenaAlloc(a, 3, 9)).toBe(q + blockBytes(3), "then fresh space");
  });
  test("a stale offset is detected: by its generation, its owner, or not being a block", () => {
    const a = arena();
    const p = arenaAlloc(a, 2, 5);
    expect<i32>(arenaCheck(a, p, 0, 5)).toBe(OK);
    expect<i32>(arenaCheck(a, p, 0, 6)).toBe(INVALID, "another owner's block");
    expect<i32>(arenaCheck(a, p, 1, 5)).toBe(STALE, "a generation it does not have");
    expect<i32>(arenaFree(a, p, 0)).toBe(OK);
    expect<i32>(arenaCheck(a, p, 0, 5)).toBe(STALE, "freed");
    expect<i32>(arenaFree(a, p, 0)).toBe(STALE, "freed twice");
    expect<i32>(arenaFreeCount(a, 2)).toBe(1, "listed once");
    const q = arenaAlloc(a, 2, 6);
    expect<i32>(q).toBe(p);
    fill(q, arenaClassBytes(2), 42);
    expect<i32>(arenaCheck(a, p, 0, 5)).toBe(STALE, "handed out again");
    expect<i32>(arenaFree(a, p, 0)).toBe(STALE, "a stale free changes nothing");
    expect<bool>(filled(q, arenaClassBytes(2), 42)).toBe(true, "the new holder's bytes stay");
    expect<i32>(arenaCheck(a, q, 1, 6)).toBe(OK);
    // Not blocks: inside one, misaligned, before the first, past the memory.
    expect<i32>(arenaCheck(a, p + 64, 0, 5)).toBe(INVALID);
    expect<i32>(arenaFree(a, p + 64, 0)).toBe(INVALID);
    expect<i32>(arenaFree(a, p + 8, 0)).toBe(INVALID);
    expect<i32>(arenaFree(a, a + 64, 0)).toBe(INVALID);
    expect<i32>(arenaFree(a, 0x7ffe0000, 0)).toBe(INVALID);
    expect<i32>(arenaFree(a, 0xfffffff0, 0)).toBe(INVALID);
    expect<i32>(arenaCorrupted(a)).toBe(0, "a caller's bad offset is not the arena's fault");
  });
  test("the generation wraps within 31 bits", () => {
    const a = arena();
    const p = arenaAlloc(a, 0, 1);
    store<i32>(<usize>p - BLOCK_HEADER + BLOCK_LIFE, (0x7fffffff << 1) | 1);
    expect<i32>(arenaGeneration(a, p)).toBe(0x7fffffff);
    expect<i32>(arenaFree(a, p, 0x7fffffff)).toBe(OK);
    expect<i32>(arenaAlloc(a, 0, 1)).toBe(p);
    expect<i32>(arenaGeneration(a, p)).toBe(0);
  });
});

describe("growth", () => {
  test("the bump pointer grows the memory ARENA_GROW_PAGES at a time, to the cap exactly", () => {
    const a = arena(40);
    const first = <i32>(a / PAGE);
    let n = 0;
    let grown = 0;
    let p = 0;
    // Plain checks in the loop (expect is slow); one expect reports the first failure.
    let failure = 0;
    while ((p = arenaAlloc(a, 0, 1)) >= FIRST_OFFSET) {
      n++;
      const size = memory.size();
      if (size != first + 1 + grown) {
        // Grown: by ARENA_GROW_PAGES, or by what is left below the cap.
        if (size - (first + 1 + grown) != min(ARENA_GROW_PAGES, 39 - grown)) failure = 1;
        grown = size - first - 1;
      }
      if (<i64>p + arenaClassBytes(0) > <i64>size * PAGE) failure = 2;
    }
    expect<i32>(failure).toBe(0);
    expect<i32>(p).toBe(ARENA_FULL);
    expect<i32>(grown).toBe(39);
    expect<i32>(n).toBe((40 * PAGE - ARENA_HEADER_SIZE) / blockBytes(0), "every page used");
  });
  test("a block larger than ARENA_GROW_PAGES grows the memory by what it needs", () => {
    const a = arena(1024);
    const size = memory.size();
    const p = arenaAlloc(a, 20, 1); // an 8 MiB ring: 128 pages and a bit
    expect<bool>(p >= FIRST_OFFSET).toBe(true);
    const need = (ARENA_HEADER_SIZE + blockBytes(20) + PAGE - 1) / PAGE;
    expect<i32>(memory.size()).toBe(size - 1 + need);
    expect<bool>(zero(p, arenaClassBytes(20), true)).toBe(true);
  });
  test("a need the memory already reaches grows nothing", () => {
    const a = arena(64);
    const size = memory.size();
    expect<i32>(growTo(a, a + 2 * PAGE)).toBe(OK);
    expect<i32>(memory.size()).toBe(size + ARENA_GROW_PAGES);
    expect<i32>(growTo(a, a + 3 * PAGE)).toBe(OK, "there already");
    expect<i32>(memory.size()).toBe(size + ARENA_GROW_PAGES);
  });
  test("two growers that read the same size both grow: the bump pointer walks all of it", () => {
    const a = arena(64);
    const size = memory.size();
    // Another thread's growth for the same need lands first (it read the size this one did):
    // this one grows too, and nothing grown is lost.
    memory.grow(ARENA_GROW_PAGES);
    expect<i32>(growTo(a, a + (ARENA_GROW_PAGES + 2) * PAGE)).toBe(OK);
    expect<i32>(memory.size()).toBe(size + 2 * ARENA_GROW_PAGES);
    const end = <i32>(memory.size() * PAGE);
    const n = (end - <i32>a - ARENA_HEADER_SIZE) / blockBytes(0);
    let carved = 0;
    for (let i = 0; i < n; i++) if (arenaAlloc(a, 0, 1) >= FIRST_OFFSET) carved++;
    expect<i32>(carved).toBe(n);
    expect<i32>(memory.size()).toBe(size + 2 * ARENA_GROW_PAGES, "all of it was used first");
    expect<bool>(end - <i32>(load<i32>(a + ARENA_BUMP)) < blockBytes(0)).toBe(true);
  });
  test("growth stops at the cap: what the cap leaves, then ARENA_FULL", () => {
    const a = arena(20);
    const size = memory.size();
    expect<i32>(growTo(a, a + 2 * PAGE)).toBe(OK);
    expect<i32>(memory.size()).toBe(size + ARENA_GROW_PAGES);
    expect<i32>(growTo(a, a + 19 * PAGE)).toBe(OK);
    expect<i32>(memory.size()).toBe(size + 19, "only what the cap leaves");
    expect<i32>(growTo(a, a + 21 * PAGE)).toBe(ARENA_FULL);
    expect<i32>(memory.size()).toBe(size + 19);
  });
  test("a memory grown by another thread is used before the arena grows it again", () => {
    const a = arena(64);
    const size = memory.size();
    memory.grow(1);
    // A 64 KiB ring's block needs the arena's second page, which is there now.
    expect<bool>(arenaAlloc(a, arenaRingClass(65536), 1) >= FIRST_OFFSET).toBe(true);
    expect<i32>(memory.size()).toBe(size + 1, "no growth: the page is there");
    expect<i32>(arenaCorrupted(a)).toBe(0);
  });
});

describe("untrusted memory", () => {
  test("a config overwritten is found by the next thread (or instance) that attaches", () => {
    const a = arena();
    expect<bool>(arenaAlloc(a, 0, 1) >= FIRST_OFFSET).toBe(true);
    store<i32>(a + ARENA_CAP, 1 << 30);
    // This instance keeps its checked copy; attaching again (another arena first) finds it.
    expect<bool>(arenaAlloc(a, 0, 1) >= FIRST_OFFSET).toBe(true, "the copy is used");
    const b = arena();
    expect<bool>(arenaAlloc(b, 0, 1) >= FIRST_OFFSET).toBe(true);
    expect<i32>(arenaAlloc(a, 0, 1)).toBe(CORRUPTED);
    expect<i32>(arenaCorrupted(a)).toBe(2);
    expect<i32>(arenaCorrupted(b)).toBe(0, "other arenas are not affected");
  });
  test("BUMP misaligned, below the blocks, past the cap or the memory", () => {
    const bumps: i32[] = [8, -ARENA_HEADER_SIZE, 64 * PAGE, 32 * PAGE];
    for (let i = 0; i < bumps.length; i++) {
      const a = arena(64); // one page of memory, 64 of cap
      store<i32>(a + ARENA_BUMP, <i32>a + ARENA_HEADER_SIZE + bumps[i]);
      expect<i32>(arenaAlloc(a, 0, 1)).toBe(CORRUPTED);
      expect<i32>(arenaCorrupted(a)).toBe(4);
    }
  });
  test("BUMP written back over a block: found, never handed out twice", () => {
    const a = arena();
    const p = arenaAlloc(a, 0, 1);
    store<i32>(a + ARENA_BUMP, p - BLOCK_HEADER);
    expect<i32>(arenaAlloc(a, 0, 1)).toBe(CORRUPTED);
    expect<i32>(arenaCorrupted(a)).toBe(5);
    expect<i32>(arenaOwner(a, p)).toBe(-CORRUPTED, "sticky: every call now fails");
    expect<i32>(arenaFree(a, p, 0)).toBe(CORRUPTED);
  });
  test("a free-list head that is not a block of its class", () => {
    // Misaligned, inside a block, a block of another class, before the blocks, past the memory,
    // at the very top of the address space.
    for (let i = 0; i < 6; i++) {
      const a = arena();
      const p = arenaAlloc(a, 1, 1);
      const q = arenaAlloc(a, 2, 1);
      expect<i32>(arenaFree(a, p, 0)).toBe(OK);
      const heads: i64[] = [p + 8, p + 64, q, a + 64, 0x7fff0000, 0xffffffc0];
      store<i64>(a + ARENA_HEADS + 64, heads[i]); // class 1's head
      expect<i32>(arenaAlloc(a, 1, 1)).toBe(CORRUPTED);
      expect<i32>(arenaCorrupted(a)).toBe(7);
    }
  });
  test("a free-list link that is not a block of its class", () => {
    const a = arena();
    const p = arenaAlloc(a, 1, 1);
    const q = arenaAlloc(a, 1, 1);
    const r = arenaAlloc(a, 2, 1);
    expect<i32>(arenaFree(a, q, 0)).toBe(OK);
    expect<i32>(arenaFree(a, p, 0)).toBe(OK); // p → q
    store<i32>(<usize>p - BLOCK_HEADER + BLOCK_NEXT, r);
    expect<i32>(arenaAlloc(a, 1, 1)).toBe(CORRUPTED);
    expect<i32>(arenaCorrupted(a)).toBe(8);
  });
  test("a block header overwritten: its check word", () => {
    const a = arena();
    const p = arenaAlloc(a, 1, 1);
    expect<i32>(arenaFree(a, p, 0)).toBe(OK);
    store<i32>(<usize>p - BLOCK_HEADER + BLOCK_CHECK, 12345);
    expect<i32>(arenaAlloc(a, 1, 1)).toBe(CORRUPTED);
    expect<i32>(arenaCorrupted(a)).toBe(7);
  });
  test("a list that loops back to a block: found when it would be handed out twice", () => {
    for (let shape = 0; shape < 2; shape++) {
      const a = arena();
      const p = arenaAlloc(a, 1, 1);
      const q = arenaAlloc(a, 1, 1);
      expect<i32>(arenaFree(a, q, 0)).toBe(OK);
      expect<i32>(arenaFree(a, p, 0)).toBe(OK); // p → q
      // p → p, or p → q → p
      if (shape == 0) store<i32>(<usize>p - BLOCK_HEADER + BLOCK_NEXT, p);
      else store<i32>(<usize>q - BLOCK_HEADER + BLOCK_NEXT, p);
      expect<i32>(arenaFreeCount(a, 1)).toBe(-CORRUPTED, "a walk finds the loop");
      expect<i32>(arenaCorrupted(a)).toBe(10);
      // Allocation finds it too, without the walk: reset the flag and pop.
      store<i32>(a + ARENA_CORRUPT, 0);
      expect<i32>(arenaAlloc(a, 1, 1)).toBe(p);
      if (shape == 1) expect<i32>(arenaAlloc(a, 1, 1)).toBe(q);
      expect<i32>(arenaAlloc(a, 1, 1)).toBe(CORRUPTED, "p again");
      expect<i32>(arenaCorrupted(a)).toBe(9);
    }
  });
  test("a list that links a block in use", () => {
    const a = arena();
    const p = arenaAlloc(a, 1, 1);
    const q = arenaAlloc(a, 1, 1);
    expect<i32>(arenaFree(a, p, 0)).toBe(OK);
    store<i32>(<usize>p - BLOCK_HEADER + BLOCK_NEXT, q); // q is in use
    expect<i32>(arenaFreeCount(a, 1)).toBe(-CORRUPTED);
    expect<i32>(arenaCorrupted(a)).toBe(11);
    store<i32>(a + ARENA_CORRUPT, 0);
    expect<i32>(arenaAlloc(a, 1, 1)).toBe(p);
    expect<i32>(arenaAlloc(a, 1, 1)).toBe(CORRUPTED, "q is someone's");
    expect<i32>(arenaCorrupted(a)).toBe(9);
  });
  test("marked corrupted by a caller", () => {
    const a = arena();
    expect<i32>(arenaCorrupt(a)).toBe(CORRUPTED);
    expect<i32>(arenaCorrupted(a)).toBe(1);
    expect<i32>(arenaAlloc(a, 0, 1)).toBe(CORRUPTED);
  });
});

describe("two threads, by hand", () => {
  test("ABA: a pop whose top was taken and given back meanwhile fails its CAS (the tag)", () => {
    const a = arena();
    const A = arenaAlloc(a, 1, 1);
    const B = arenaAlloc(a, 1, 1);
    expect<i32>(arenaFree(a, B, 0)).toBe(OK);
    expect<i32>(arenaFree(a, A, 0)).toBe(OK); // A → B
    // Thread X begins a pop: top A, next B.
    const head = headOf(a, 1);
    const next = popNext(a, 1, head);
    expect<i64>(<i64><u32>head).toBe(A);
    expect<i64>(next).toBe(B);
    // Thread Y takes A and B, and gives A back: A is on top again, above nothing.
    expect<i32>(arenaAlloc(a, 1, 2)).toBe(A);
    expect<i32>(arenaAlloc(a, 1, 2)).toBe(B);
    expect<i32>(arenaFree(a, A, 1)).toBe(OK);
    const now = headOf(a, 1);
    expect<i64>(<i64><u32>now).toBe(A, "the same top: an untagged CAS would succeed");
    expect<i64>(tag(now)).toBe(tag(head) + 3, "three operations later");
    // X's CAS fails (else B, which Y holds, would be the head), and X reads again.
    expect<i32>(popTake(a, 1, head, next)).toBe(BUSY);
    const again = headOf(a, 1);
    expect<i64>(popNext(a, 1, again)).toBe(0);
    expect<i32>(popTake(a, 1, again, 0)).toBe(A);
    expect<i32>(arenaFreeCount(a, 1)).toBe(0);
    expect<i32>(arenaCheck(a, B, 1, 2)).toBe(OK, "B is Y's alone (freed once before)");
    expect<i32>(arenaCorrupted(a)).toBe(0);
  });
  test("a push whose head moved links again", () => {
    const a = arena();
    const A = arenaAlloc(a, 1, 1);
    const B = arenaAlloc(a, 1, 1);
    expect<i32>(freeClaim(a, A, 0)).toBe(1);
    const head = headOf(a, 1);
    expect<i32>(pushLink(a, 1, A, head)).toBe(OK);
    expect<i32>(arenaFree(a, B, 0)).toBe(OK); // another thread pushes B first
    expect<i32>(pushPublish(a, 1, A, head)).toBe(BUSY);
    const now = headOf(a, 1);
    expect<i32>(pushLink(a, 1, A, now)).toBe(OK);
    expect<i32>(pushPublish(a, 1, A, now)).toBe(OK);
    expect<i32>(arenaFreeCount(a, 1)).toBe(2);
    expect<i32>(arenaAlloc(a, 1, 1)).toBe(A);
    expect<i32>(arenaAlloc(a, 1, 1)).toBe(B);
  });
  test("two carvers: the one whose BUMP moved reads it again", () => {
    const a = arena();
    const bump = load<i32>(a + ARENA_BUMP);
    const p = carveAt(a, 0, bump);
    expect<i32>(p).toBe(bump + BLOCK_HEADER);
    expect<i32>(carveAt(a, 0, bump)).toBe(BUSY, "the second with the same BUMP");
    expect<i32>(carveAt(a, 0, load<i32>(a + ARENA_BUMP))).toBe(p + blockBytes(0));
  });
});

// ── Two threads' allocs and frees, every interleaving of their steps, against a model
//
// Each thread runs a script of operations on one class; each operation is the sequence of steps
// arenaAlloc and arenaFree take (pop: read the head, read its next, CAS; carve: read BUMP, CAS;
// free: claim, read the head, link, CAS), restarted where the real loop restarts when a CAS
// fails. The first STEPS steps follow a mask (bit i: which thread takes step i), the rest run
// one thread to its end, then the other. The model records who holds each block, how often it
// was freed, and which blocks are free; after every step no block may be held twice, a block
// must be zero when handed out and carry its generation, and a holder's bytes must be intact
// when it frees them. At the end the free list must hold exactly the model's free blocks.

const K = 1; // the class
const OPS = 5;
const STEPS = 14;
const ALLOC = 0;
const FREE = 1;
// Scripts: thread 0 allocs twice, frees both; thread 1 allocs, frees, allocs, frees.
const SCRIPTS: StaticArray<i32> = [ALLOC, ALLOC, FREE, FREE, -1, ALLOC, FREE, ALLOC, FREE, -1];
const MAX_BLOCKS = 16;

// The model, by block index (offset → index through the arena's first block).
const holder = new StaticArray<i32>(MAX_BLOCKS); // -1 free or never carved, else thread
const frees = new StaticArray<i32>(MAX_BLOCKS);
const listed = new StaticArray<bool>(MAX_BLOCKS);
// Threads.
const opAt = new StaticArray<i32>(2);
const phase = new StaticArray<i32>(2);
const held = new StaticArray<i32>(2 * 4); // per thread, a queue of blocks held
const heldTag = new StaticArray<u32>(2 * 4); // and the pattern it wrote into each
const heldCount = new StaticArray<i32>(2);
const snapHead = new StaticArray<i64>(2);
const snapNext = new StaticArray<i64>(2);
const snapBump = new StaticArray<i32>(2);
const freeing = new StaticArray<i32>(2);
let modelFailure = 0;
let base: usize = 0;

function indexOf(p: i32): i32 {
  return (p - <i32>(base + ARENA_HEADER_SIZE + BLOCK_HEADER)) / blockBytes(K);
}

function got(t: i32, p: i32): void {
  const i = indexOf(p);
  if (i < 0 || i >= MAX_BLOCKS) modelFailure = 1;
  else if (holder[i] >= 0) modelFailure = 2; // held twice
  else if (!zero(p, arenaClassBytes(K))) modelFailure = 3;
  else if (arenaGeneration(base, p) != frees[i]) modelFailure = 4;
  else if (frees[i] > 0 && arenaCheck(base, p, frees[i] - 1, 0) != STALE) modelFailure = 5;
  else {
    holder[i] = t;
    listed[i] = false;
    const v = <u32>(t * 1000 + opAt[t]);
    fill(p, arenaClassBytes(K), v);
    held[t * 4 + heldCount[t]] = p;
    heldTag[t * 4 + heldCount[t]++] = v;
  }
}

/** One step of thread `t`. @returns false once its script is done. */
function step(t: i32): bool {
  const op = SCRIPTS[t * OPS + opAt[t]];
  if (op < 0) return false;
  const ph = phase[t];
  if (op == ALLOC) {
    if (ph == 0) {
      snapHead[t] = headOf(base, K);
      phase[t] = <u32>snapHead[t] == 0 ? 10 : 1;
    } else if (ph == 1) {
      snapNext[t] = popNext(base, K, snapHead[t]);
      if (snapNext[t] < 0) modelFailure = 10;
      phase[t] = 2;
    } else if (ph == 2) {
      const p = popTake(base, K, snapHead[t], snapNext[t]);
      if (p == BUSY) phase[t] = 0;
      else if (p < FIRST_OFFSET) modelFailure = 11;
      else {
        got(t, p);
        phase[t] = 0;
        opAt[t]++;
      }
    } else if (ph == 10) {
      snapBump[t] = load<i32>(base + ARENA_BUMP);
      phase[t] = 11;
    } else {
      const p = carveAt(base, K, snapBump[t]);
      if (p == BUSY) phase[t] = 10;
      else if (p < FIRST_OFFSET) modelFailure = 12;
      else {
        got(t, p);
        phase[t] = 0;
        opAt[t]++;
      }
    }
  } else {
    if (ph == 0) {
      // Free the oldest block held.
      const p = held[t * 4];
      const v = heldTag[t * 4];
      for (let j = 1; j < heldCount[t]; j++) {
        held[t * 4 + j - 1] = held[t * 4 + j];
        heldTag[t * 4 + j - 1] = heldTag[t * 4 + j];
      }
      heldCount[t]--;
      const i = indexOf(p);
      if (!filled(p, arenaClassBytes(K), v)) modelFailure = 20;
      if (freeClaim(base, p, frees[i]) != K) modelFailure = 21;
      holder[i] = -1;
      frees[i]++;
      freeing[t] = p;
      phase[t] = 1;
    } else if (ph == 1) {
      snapHead[t] = headOf(base, K);
      phase[t] = 2;
    } else if (ph == 2) {
      if (pushLink(base, K, freeing[t], snapHead[t]) != OK) modelFailure = 22;
      phase[t] = 3;
    } else {
      if (pushPublish(base, K, freeing[t], snapHead[t]) == OK) {
        listed[indexOf(freeing[t])] = true;
        phase[t] = 0;
        opAt[t]++;
      } else phase[t] = 1;
    }
  }
  if (arenaCorrupted(base) != 0) modelFailure = 30;
  return true;
}

describe("two threads, every interleaving", () => {
  test("allocs and frees of one class against a model: never a block twice, none lost", () => {
    base = <usize>memory.grow(1) * PAGE;
    let runs = 0;
    for (let mask = 0; mask < 1 << STEPS && modelFailure == 0; mask++) {
      memory.fill(base, 0, PAGE);
      if (arenaInit(base, PAGE) != OK) modelFailure = 50;
      // Two blocks free to begin with (carved, then freed: the list is [1, 0]), so that pops,
      // carves and pushes all meet.
      const b0 = arenaAlloc(base, K, 0);
      const b1 = arenaAlloc(base, K, 0);
      arenaFree(base, b0, 0);
      arenaFree(base, b1, 0);
      for (let i = 0; i < MAX_BLOCKS; i++) {
        holder[i] = -1;
        frees[i] = i < 2 ? 1 : 0;
        listed[i] = i < 2;
      }
      for (let t = 0; t < 2; t++) {
        opAt[t] = 0;
        phase[t] = 0;
        heldCount[t] = 0;
      }
      for (let s = 0; s < STEPS && modelFailure == 0; s++) {
        const t = (mask >> s) & 1;
        if (!step(t)) step(t ^ 1);
      }
      while (modelFailure == 0 && step(0));
      while (modelFailure == 0 && step(1));
      // Everything was freed: the list holds exactly the model's free blocks, each once.
      let count = 0;
      for (let i = 0; i < MAX_BLOCKS; i++) {
        if (holder[i] >= 0) modelFailure = 40;
        if (listed[i]) count++;
      }
      if (arenaFreeCount(base, K) != count) modelFailure = 41;
      let p = <usize><u32>headOf(base, K);
      while (p != 0 && modelFailure == 0) {
        const i = indexOf(<i32>p);
        if (!listed[i]) modelFailure = 42;
        if (load<i32>(p - BLOCK_HEADER + BLOCK_LIFE) != frees[i] << 1) modelFailure = 43;
        listed[i] = false; // seen once
        p = <usize><u32>load<i32>(p - BLOCK_HEADER + BLOCK_NEXT);
      }
      if (arenaCarved(base) != count * blockBytes(K)) modelFailure = 44;
      runs++;
    }
    expect<i32>(modelFailure).toBe(0, "the first failed check (see the code)");
    expect<i32>(runs).toBe(1 << STEPS);
  });
});
