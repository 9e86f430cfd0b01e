/// <reference lib="deno.worker" />
// A thread of tests/arena_stress_test.ts: allocates and frees arena blocks of random classes
// over the shared memory, holding up to `maxHeld` at a time. It claims every block it gets in a
// shared ownership table (a block claimed twice is a double allocation), checks that the block
// is zero, fills it with a token naming this worker, and checks the token is intact before it
// frees the block (a block handed to two threads at once would lose it).
import { CORE, instantiate } from "../../src/_core.ts";

/** What the main thread sends. */
export interface ArenaWork {
  memory: WebAssembly.Memory;
  /** Int32 per 64 bytes of the memory: the id + 1 of the worker holding the block there. */
  table: SharedArrayBuffer;
  id: number;
  /** Operations to run; or, if `seconds` > 0, run that long instead. */
  ops: number;
  seconds: number;
  seed: number;
  /** "mixed": classes 0 to 13 (control blocks to 64 KiB rings); "hot": class 1 only. */
  mix: "mixed" | "hot";
  maxHeld: number;
}

/** What the worker sends back. */
export interface ArenaReport {
  id: number;
  allocs: number;
  frees: number;
  /** ARENA_FULL answers: the cap reached (then the worker frees a block, if it holds one). */
  full: number;
  /** BUSY answers: another thread was growing the memory. */
  busy: number;
  error?: string;
}

self.onmessage = (event: MessageEvent<ArenaWork>) => {
  const report = run(event.data);
  self.postMessage(report);
  self.close();
};

function run(work: ArenaWork): ArenaReport {
  const { memory, id, mix, maxHeld } = work;
  const core = instantiate(memory);
  const owners = new Int32Array(work.table);
  const me = id + 1;
  const report: ArenaReport = { id, allocs: 0, frees: 0, full: 0, busy: 0 };
  let words = new Uint32Array(memory.buffer);
  let state = work.seed >>> 0 || 1;
  const random = () => {
    // xorshift32
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return state >>>= 0;
  };
  const pick = (r: number) => {
    if (mix === "hot") return 1;
    const n = r % 100;
    if (n < 45) return 0; // control blocks
    if (n < 75) return 1 + (r >>> 8) % 4; // rings of 16 to 128 bytes
    if (n < 95) return 5 + (r >>> 8) % 5; // 256 bytes to 4 KiB
    return 10 + (r >>> 8) % 4; // 8 to 64 KiB
  };
  /** A view that covers [0, end): the memory grows under this thread. */
  const view = (end: number) => {
    if (end > words.byteLength) {
      if (end > memory.buffer.byteLength) memory.grow(0);
      words = new Uint32Array(memory.buffer);
    }
    return words;
  };
  const heldAt: number[] = [];
  const heldWords: number[] = [];
  const heldGen: number[] = [];
  const heldToken: number[] = [];
  let tokens = 0;

  const free = (j: number) => {
    const p = heldAt[j];
    const n = heldWords[j];
    const token = heldToken[j];
    const w = view(p + n * 4);
    for (let i = p >> 2, end = (p >> 2) + n; i < end; i++) {
      if (w[i] !== token) {
        throw new Error(`block ${p} word ${i - (p >> 2)} is ${w[i]}, not this worker's ${token}`);
      }
    }
    const held = core.arenaCheck(0, p, heldGen[j], me);
    if (held !== CORE.OK) throw new Error(`arenaCheck of a held block ${p}: status ${held}`);
    // Released in the table before the arena may hand the block to someone else.
    if (Atomics.compareExchange(owners, p >> 6, me, 0) !== me) {
      throw new Error(`block ${p} was not this worker's in the table`);
    }
    const status = core.arenaFree(0, p, heldGen[j]);
    if (status !== CORE.OK) throw new Error(`arenaFree(${p}): status ${status}`);
    const last = heldAt.length - 1;
    heldAt[j] = heldAt[last];
    heldWords[j] = heldWords[last];
    heldGen[j] = heldGen[last];
    heldToken[j] = heldToken[last];
    heldAt.pop();
    heldWords.pop();
    heldGen.pop();
    heldToken.pop();
    report.frees++;
  };

  const alloc = (k: number) => {
    const p = core.arenaAlloc(0, k, me);
    if (p < CORE.FIRST_OFFSET) {
      if (p === CORE.ARENA_FULL) {
        report.full++;
        if (heldAt.length > 0) free(random() % heldAt.length);
        return;
      }
      if (p === CORE.BUSY) {
        report.busy++;
        return;
      }
      throw new Error(`arenaAlloc(${k}): status ${p} (arena check ${core.arenaCorrupted(0)})`);
    }
    const other = Atomics.compareExchange(owners, p >> 6, 0, me);
    if (other !== 0) {
      throw new Error(`block ${p} handed to worker ${me - 1} while ${other - 1} holds it`);
    }
    const n = core.arenaClassBytes(k) >> 2;
    const w = view(p + n * 4);
    for (let i = p >> 2, end = (p >> 2) + n; i < end; i++) {
      if (w[i] !== 0) {
        throw new Error(`block ${p} of class ${k} handed out with word ${i} = ${w[i]}`);
      }
    }
    const gen = core.arenaGeneration(0, p);
    if (gen < 0 || core.arenaOwner(0, p) !== me || core.arenaClassOf(0, p) !== k) {
      throw new Error(`block ${p}: generation ${gen}, owner ${core.arenaOwner(0, p)}`);
    }
    const token = ((me << 24) | (++tokens & 0xffffff)) >>> 0;
    w.fill(token, p >> 2, (p >> 2) + n);
    heldAt.push(p);
    heldWords.push(n);
    heldGen.push(gen);
    heldToken.push(token);
    report.allocs++;
  };

  try {
    const until = work.seconds > 0 ? performance.now() + work.seconds * 1000 : Infinity;
    for (let op = 0; work.seconds > 0 || op < work.ops; op++) {
      if ((op & 1023) === 0 && performance.now() > until) break;
      const r = random();
      if (heldAt.length === 0 || (heldAt.length < maxHeld && (r & 0x10000) !== 0)) alloc(pick(r));
      else free(r % heldAt.length);
    }
    while (heldAt.length > 0) free(heldAt.length - 1);
  } catch (e) {
    report.error = (e as Error).message;
  }
  return report;
}
