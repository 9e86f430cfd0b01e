/**
 * The arena allocator (assembly/arena.ts) in one thread: an alloc+free pair per class size —
 * a control block (class 0), the smallest ring (class 1), a 4 KiB ring (class 9) and a 64 KiB
 * ring (class 13) — where the free zeroes the payload, so the larger classes measure mostly
 * `memory.fill`. Pairs reuse the block the free put back (pop and push of one free list); the
 * "1000 allocs, then 1000 frees" rows walk a list 1000 blocks deep.
 *
 * The "×1000" benches run 1000 pairs per iteration (divide by 1000) to show the figure without
 * `Deno.bench`'s per-iteration overhead.
 *
 * Run: `deno bench -A --no-check bench/arena_bench.ts`
 *
 * @module
 */
import { CORE, instantiate } from "../src/_core.ts";

const CAP_PAGES = 1024; // 64 MiB
const memory = new WebAssembly.Memory({ initial: 1, maximum: CAP_PAGES, shared: true });
const core = instantiate(memory);
if (core.arenaInit(CORE.ARENA_BASE, CAP_PAGES * CORE.PAGE) !== CORE.OK) {
  throw new Error("arenaInit failed");
}
const A = CORE.ARENA_BASE;
let sink = 0;

/** One alloc+free of class `k`. */
function pair(k: number): void {
  const p = core.arenaAlloc(A, k, 1);
  if (p < CORE.FIRST_OFFSET) throw new Error(`arenaAlloc: status ${p}`);
  // A block's first generation is 0 and each free adds one: read it, as a holder keeps it.
  const status = core.arenaFree(A, p, core.arenaGeneration(A, p));
  if (status !== CORE.OK) throw new Error(`arenaFree: status ${status}`);
  sink += p;
}

/** 1000 allocs of class `k`, then their 1000 frees. */
const held = new Int32Array(1000);
const gens = new Int32Array(1000);
function thousandThenFree(k: number): void {
  for (let i = 0; i < 1000; i++) {
    const p = core.arenaAlloc(A, k, 1);
    if (p < CORE.FIRST_OFFSET) throw new Error(`arenaAlloc: status ${p}`);
    held[i] = p;
    gens[i] = core.arenaGeneration(A, p);
  }
  for (let i = 999; i >= 0; i--) core.arenaFree(A, held[i], gens[i]);
}

Deno.bench("empty function (Deno.bench overhead)", { group: "arena, 1 pair" }, () => {
  sink++;
});
Deno.bench("class 0 (control block, 512 B)", { group: "arena, 1 pair", baseline: true }, () => {
  pair(0);
});
Deno.bench("class 1 (16-byte ring, 256 B)", { group: "arena, 1 pair" }, () => pair(1));
Deno.bench("class 9 (4 KiB ring)", { group: "arena, 1 pair" }, () => pair(9));
Deno.bench("class 13 (64 KiB ring)", { group: "arena, 1 pair" }, () => pair(13));

Deno.bench("class 0: 1000 pairs", { group: "arena, ×1000", baseline: true }, () => {
  for (let i = 0; i < 1000; i++) pair(0);
});
Deno.bench("class 1: 1000 pairs", { group: "arena, ×1000" }, () => {
  for (let i = 0; i < 1000; i++) pair(1);
});
Deno.bench("class 0: 1000 allocs, then 1000 frees", { group: "arena, ×1000" }, () => {
  thousandThenFree(0);
});
Deno.bench("class 1: 1000 allocs, then 1000 frees", { group: "arena, ×1000" }, () => {
  thousandThenFree(1);
});

globalThis.addEventListener("unload", () => {
  if (core.arenaCorrupted(A) !== 0 || sink === 0) throw new Error("the arena broke");
});
