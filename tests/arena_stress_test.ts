// The arena allocator (assembly/arena.ts) across real threads: workers, each with its own core
// instance over one shared memory, allocate and free blocks of random classes at random, from
// a memory of one page that grows under them up to a cap they run into. Each worker claims
// every block it gets in a shared ownership table, checks it is zero, fills it with its own
// token and checks the token before freeing it (see tests/workers/arena_worker.ts). At the end
// the arena must be intact, every block ever carved back on its class's free list, once, zero.
//
// CI runs a few seconds' worth. Longer runs:
//   ARENA_STRESS_SECONDS=60 deno test -A --no-check tests/arena_stress_test.ts
// (each test then runs that long), ARENA_STRESS_WORKERS (default 4), ARENA_STRESS_OPS
// (operations per worker when not timed; default 300,000), ARENA_STRESS_SEED.
import assert from "node:assert/strict";
import { CORE, instantiate } from "../src/_core.ts";
import type { ArenaReport, ArenaWork } from "./workers/arena_worker.ts";
import { nextReply } from "./_helpers/workers.ts";

const WORKERS = Number(Deno.env.get("ARENA_STRESS_WORKERS") ?? 4);
const OPS = Number(Deno.env.get("ARENA_STRESS_OPS") ?? 300_000);
const SECONDS = Number(Deno.env.get("ARENA_STRESS_SECONDS") ?? 0);
const SEED = Number(Deno.env.get("ARENA_STRESS_SEED") ?? 20261205);
const PAGE = CORE.PAGE;

async function stress(mix: ArenaWork["mix"], capPages: number, maxHeld: number) {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: capPages, shared: true });
  const core = instantiate(memory);
  assert.equal(core.arenaInit(CORE.ARENA_BASE, capPages * PAGE), CORE.OK);
  const table = new SharedArrayBuffer((capPages * PAGE) / 64 * 4);
  const workers: Worker[] = [];
  const reports: Promise<ArenaReport>[] = [];
  for (let id = 0; id < WORKERS; id++) {
    const worker = new Worker(new URL("./workers/arena_worker.ts", import.meta.url), {
      type: "module",
    });
    workers.push(worker);
    reports.push(nextReply(worker, `arena worker ${id}`));
    const work: ArenaWork = {
      memory,
      table,
      id,
      ops: OPS,
      seconds: SECONDS,
      seed: SEED + id * 7919 + (mix === "hot" ? 1 : 0),
      mix,
      maxHeld,
    };
    worker.postMessage(work);
  }
  let done: ArenaReport[];
  try {
    done = await Promise.all(reports);
  } finally {
    for (const worker of workers) worker.terminate();
  }
  for (const r of done) assert.equal(r.error, undefined, `worker ${r.id}: ${r.error}`);
  assert.equal(core.arenaCorrupted(CORE.ARENA_BASE), 0, "the arena is intact");

  // Every block carved from fresh space is on its free list again (no leak), and each of them
  // once (a block listed twice would be counted twice, or loop the walk).
  let listed = 0;
  const perClass: number[] = [];
  for (let k = 0; k < CORE.ARENA_CLASSES; k++) {
    const n = core.arenaFreeCount(CORE.ARENA_BASE, k);
    assert.ok(n >= 0, `class ${k}: walk status ${-n}`);
    perClass.push(n);
    listed += n * (CORE.BLOCK_HEADER + core.arenaClassBytes(k));
  }
  assert.equal(listed, core.arenaCarved(CORE.ARENA_BASE), "carved = on the free lists");
  assert.ok(new Int32Array(table).every((owner) => owner === 0), "no block left claimed");

  // The memory stayed within the cap; every free block is zero.
  memory.grow(0);
  const pages = memory.buffer.byteLength / PAGE;
  assert.ok(pages <= capPages);
  const i32 = new Int32Array(memory.buffer);
  const i64 = new BigInt64Array(memory.buffer);
  for (let k = 0; k < CORE.ARENA_CLASSES; k++) {
    let p = Number(i64[(CORE.ARENA_BASE + CORE.ARENA_HEADS + 64 * k) / 8] & 0xffffffffn);
    const words = core.arenaClassBytes(k) / 4;
    for (let n = 0; p !== 0; n++) {
      assert.ok(n < perClass[k]);
      for (let i = p / 4; i < p / 4 + words; i++) {
        if (i32[i] !== 0) assert.fail(`free block ${p} of class ${k} is not zero`);
      }
      p = i32[(p - CORE.BLOCK_HEADER + CORE.BLOCK_NEXT) / 4];
    }
  }
  const sum = (key: "allocs" | "frees" | "full" | "busy") =>
    done.reduce((total, r) => total + r[key], 0);
  const allocs = sum("allocs");
  assert.equal(sum("frees"), allocs);
  return { allocs, full: sum("full"), busy: sum("busy"), pages, carved: core.arenaCarved(0) };
}

Deno.test(`${WORKERS} workers, blocks of random classes, grown from one page into the cap`, async () => {
  // Up to 64 blocks held per worker, some of them 64 KiB rings: 1 MiB is not enough for all.
  const figures = await stress("mixed", 16, 64);
  if (Deno.env.get("ARENA_STRESS_VERBOSE")) console.log("mixed", figures);
  assert.ok(figures.pages > 1, "the memory grew");
  assert.ok(figures.full > 0, "the cap was reached");
});

Deno.test(`${WORKERS} workers on one class: its free list's head under contention`, async () => {
  const figures = await stress("hot", 64, 4);
  if (Deno.env.get("ARENA_STRESS_VERBOSE")) console.log("hot", figures);
});
