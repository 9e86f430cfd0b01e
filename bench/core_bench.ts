/**
 * The raw Wasm core in one thread: one 16-byte record through reserve → write → commit → peek →
 * release, the path every message of a channel takes (target: ≤ 50 ns). Driven as
 * tests/core_workers_test.ts drives it, on a channel from `rawChannel` (a memory of its own).
 *
 * Each bench is one record per iteration; the "×1000" benches run 1000 records per iteration
 * (divide by 1000) to show the figure without `Deno.bench`'s per-iteration overhead, which the
 * "empty function" bench shows.
 *
 * Run: `deno bench -A --no-check bench/core_bench.ts`
 *
 * @module
 */
import { CORE, type Core } from "../src/_core.ts";
import { rawChannel } from "../src/_arena.ts";

const MAX_BYTES = 256 * 1024 * 1024;

function open(bound: number) {
  const { memory, core, ch, gen } = rawChannel(bound, MAX_BYTES, CORE.MAX_INITIAL_CAPACITY);
  return { core, ch, gen, u8: new Uint8Array(memory.buffer) };
}

const unbounded = open(CORE.UNBOUNDED);
const bounded = open(1024);
let sink = 0;
let kept: unknown;
let seq = 0;

/** One record through the core, its 16 bytes written and read like a channel's push/pull. */
function oneRecord(chan: { core: Core; ch: number; gen: number; u8: Uint8Array }): void {
  const { core, ch, gen, u8 } = chan;
  const at = core.reserve(ch, gen, 16, 1);
  if (at < CORE.FIRST_OFFSET) throw new Error(`reserve: status ${at}`);
  const n = seq++;
  for (let i = 0; i < 16; i++) u8[at + i] = n + i;
  core.commit(ch, gen, at, 1, 16);
  const got = core.peek(ch, gen, CORE.FIRST_TOKEN);
  if (got < CORE.FIRST_OFFSET) throw new Error(`peek: status ${got}`);
  sink += u8[got] + core.peekLength();
  core.release(ch, gen, CORE.FIRST_TOKEN);
}

/** The core's four calls alone, no payload bytes touched. */
function callsOnly(chan: { core: Core; ch: number; gen: number }): void {
  const { core, ch, gen } = chan;
  const at = core.reserve(ch, gen, 16, 1);
  core.commit(ch, gen, at, 1, 16);
  sink += core.peek(ch, gen, CORE.FIRST_TOKEN);
  core.release(ch, gen, CORE.FIRST_TOKEN);
}

Deno.bench("empty function (Deno.bench overhead)", { group: "core, 1 record" }, () => {
  sink++;
});
Deno.bench("unbounded: reserve+write+commit+peek+release", {
  group: "core, 1 record",
  baseline: true,
}, () => oneRecord(unbounded));
Deno.bench(
  "bound 1024: reserve+write+commit+peek+release",
  { group: "core, 1 record" },
  () => oneRecord(bounded),
);
Deno.bench(
  "unbounded: the four calls only",
  { group: "core, 1 record" },
  () => callsOnly(unbounded),
);

Deno.bench("unbounded: 1000 records", { group: "core, ×1000", baseline: true }, () => {
  for (let i = 0; i < 1000; i++) oneRecord(unbounded);
});
Deno.bench("bound 1024: 1000 records", { group: "core, ×1000" }, () => {
  for (let i = 0; i < 1000; i++) oneRecord(bounded);
});
Deno.bench("unbounded: 1000 × the four calls only", { group: "core, ×1000" }, () => {
  for (let i = 0; i < 1000; i++) callsOnly(unbounded);
});
Deno.bench("unbounded: 1000 × a batch (reserve+commit ×8, then peek+release ×8)", {
  group: "core, ×1000",
}, () => {
  const { core, ch, gen, u8 } = unbounded;
  for (let i = 0; i < 1000; i += 8) {
    for (let j = 0; j < 8; j++) {
      const at = core.reserve(ch, gen, 16, 1);
      for (let k = 0; k < 16; k++) u8[at + k] = k;
      core.commit(ch, gen, at, 1, 16);
    }
    for (let j = 0; j < 8; j++) {
      sink += u8[core.peek(ch, gen, CORE.FIRST_TOKEN)];
      core.release(ch, gen, CORE.FIRST_TOKEN);
    }
  }
});

// --- each side alone: where a record's time goes -------------------------------------------------
// 1000 records reserved+written+committed into an empty ring (consumer's work untimed), and
// 1000 committed records peeked+read+released (producer's work untimed).
Deno.bench("producer side: 1000 × reserve+write+commit", { group: "core, one side" }, (b) => {
  const { core, ch, gen, u8 } = unbounded;
  b.start();
  for (let i = 0; i < 1000; i++) {
    const at = core.reserve(ch, gen, 16, 1);
    for (let k = 0; k < 16; k++) u8[at + k] = k;
    core.commit(ch, gen, at, 1, 16);
  }
  b.end();
  for (let i = 0; i < 1000; i++) {
    core.peek(ch, gen, CORE.FIRST_TOKEN);
    core.release(ch, gen, CORE.FIRST_TOKEN);
  }
});
Deno.bench("consumer side: 1000 × peek+read+release", { group: "core, one side" }, (b) => {
  const { core, ch, gen, u8 } = unbounded;
  for (let i = 0; i < 1000; i++) {
    const at = core.reserve(ch, gen, 16, 1);
    for (let k = 0; k < 16; k++) u8[at + k] = k;
    core.commit(ch, gen, at, 1, 16);
  }
  b.start();
  for (let i = 0; i < 1000; i++) {
    sink += u8[core.peek(ch, gen, CORE.FIRST_TOKEN)];
    core.release(ch, gen, CORE.FIRST_TOKEN);
  }
  b.end();
});

// --- a 64 KiB record: the core's own cost for W5's messages, no payload copies ------------------
const big = open(CORE.UNBOUNDED);
Deno.bench("64 KiB record: reserve+commit+peek+release, payload untouched", {
  group: "core, 64 KiB record",
  baseline: true,
}, () => {
  const { core, ch, gen } = big;
  const at = core.reserve(ch, gen, 65536, 1);
  core.commit(ch, gen, at, 1, 65536);
  sink += core.peek(ch, gen, CORE.FIRST_TOKEN);
  core.release(ch, gen, CORE.FIRST_TOKEN);
});
// The copies a channel adds around it, on shared memory like the ring's.
const src = new Uint8Array(65536);
const shared = new Uint8Array(new SharedArrayBuffer(4 * 65536));
Deno.bench("64 KiB: one copy into shared memory (u8.set)", { group: "core, 64 KiB record" }, () => {
  shared.set(src, 4096);
});
Deno.bench("64 KiB: one copy out (new Uint8Array(view))", { group: "core, 64 KiB record" }, () => {
  kept = new Uint8Array(shared.subarray(4096, 4096 + 65536));
});
Deno.bench("64 KiB: structuredClone(Uint8Array)", { group: "core, 64 KiB record" }, () => {
  kept = structuredClone(src);
});

globalThis.addEventListener("unload", () => {
  if (sink === 0.5) console.log(sink, kept);
});
