/**
 * The memories channels live in, as this thread sees them. Each is a shared
 * `WebAssembly.Memory` holding an arena of channels (see assembly/arena.ts) at offset 0: this
 * thread's default arena, created on first use and shared by every `channel()` made here; an
 * isolated arena, holding one channel, for each channel that asks for one; and any arena whose
 * memory arrives from another thread with a handle. For each memory this thread keeps one
 * `Mapped`: the one core instance it runs over that memory (instantiating the core costs 50–90
 * µs) and its views of the memory, shared by every end of every channel in it. Internal.
 *
 * A memory that arrives by `postMessage` is a new `WebAssembly.Memory` object each time, so
 * memories are told apart by an identity written in the arena's header (ARENA_ID, random), and
 * two objects with one identity are taken for one memory only if a word written through one
 * reads back through the other (ARENA_PROBE).
 *
 * @module
 */
import { CORE, type Core, instantiate } from "./_core.ts";

/**
 * Most bytes the default arena of a thread may take: the channels made by `channel()` and
 * `syncChannel()` in that thread, all together (each within its own `maxBytes`). The memory is
 * reserved (address space) at once, and grows with use; pages never touched cost no RSS.
 */
export const DEFAULT_ARENA_CAP = 1024 * 1024 * 1024;
/** First ring of a channel in the default arena (rings grow with the backlog). */
export const ARENA_INITIAL_CAPACITY = 1024;
/** First ring of an isolated channel (as every channel had before arenas). */
export const ISOLATED_INITIAL_CAPACITY = CORE.MAX_INITIAL_CAPACITY;

/** Where the arena starts in a memory of channels. */
export const ARENA = CORE.ARENA_BASE;

/** One thread's view of a memory of channels: its core instance and views of the memory. */
export class Mapped {
  readonly memory: WebAssembly.Memory;
  readonly core: Core;
  /** Whether this thread made the memory for one isolated channel. */
  readonly isolated: boolean;
  #u8: Uint8Array;
  #i32: Int32Array;

  constructor(memory: WebAssembly.Memory, isolated = false) {
    this.memory = memory;
    this.core = instantiate(memory);
    this.isolated = isolated;
    this.#u8 = new Uint8Array(memory.buffer);
    this.#i32 = new Int32Array(memory.buffer);
  }

  /**
   * A byte view covering `[0, end)`. The memory grows (any thread's `memory.grow` is seen by the
   * core at once, see `reach` in assembly/channel.ts), and a view taken before keeps its old
   * length: take a longer one when needed.
   */
  u8(end: number): Uint8Array {
    if (end > this.#u8.length) this.#refresh(end);
    return this.#u8;
  }

  /** A word view covering word `index`. */
  i32(index: number): Int32Array {
    if (index >= this.#i32.length) this.#refresh(index * 4 + 4);
    return this.#i32;
  }

  #refresh(end: number): void {
    if (this.memory.buffer.byteLength < end) this.memory.grow(0);
    this.#u8 = new Uint8Array(this.memory.buffer);
    this.#i32 = new Int32Array(this.memory.buffer);
  }
}

/** Views by memory object (the same object again: the common case). */
const byMemory = new WeakMap<WebAssembly.Memory, Mapped>();
/** Views by arena identity, weakly: a memory no end here uses any more is forgotten. */
const byId = new Map<string, WeakRef<Mapped>>();
const forgotten = new FinalizationRegistry<string>((id) => {
  if (byId.get(id)?.deref() === undefined) byId.delete(id);
});

/** The identity written in the header of `memory`'s arena, or "" (none readable there). */
function idOf(memory: WebAssembly.Memory): string {
  if (memory.buffer.byteLength < CORE.ARENA_HEADER_SIZE) return "";
  const words = new Int32Array(memory.buffer, ARENA + CORE.ARENA_ID, 2);
  const lo = Atomics.load(words, 0);
  const hi = Atomics.load(words, 1);
  return lo === 0 && hi === 0 ? "" : `${hi}:${lo}`;
}

/** Whether `memory` is the memory `known` views: a word written through one reads through both. */
function same(known: Mapped, memory: WebAssembly.Memory): boolean {
  const probe = (ARENA + CORE.ARENA_PROBE) >> 2;
  const nonce = crypto.getRandomValues(new Int32Array(1))[0] | 1;
  Atomics.store(new Int32Array(memory.buffer, 0, probe + 1), probe, nonce);
  return Atomics.load(known.i32(probe), probe) === nonce;
}

/**
 * This thread's view of `memory` (a memory of channels that came with a handle), made once per
 * memory and shared by every end here.
 * @throws {WebAssembly.LinkError} for a memory the core cannot be instantiated over.
 */
export function mapped(memory: WebAssembly.Memory): Mapped {
  const known = byMemory.get(memory);
  if (known !== undefined) return known;
  const id = idOf(memory);
  const seen = id === "" ? undefined : byId.get(id)?.deref();
  if (seen !== undefined && same(seen, memory)) {
    byMemory.set(memory, seen);
    return seen;
  }
  return remember(new Mapped(memory), id);
}

function remember(view: Mapped, id: string): Mapped {
  byMemory.set(view.memory, view);
  if (id !== "") {
    byId.set(id, new WeakRef(view));
    forgotten.register(view, id);
  }
  return view;
}

/**
 * Creates a memory holding an empty arena that may span `cap` bytes (whole pages), reserving
 * that much address space and growing as it is used.
 * @throws {RangeError} when the runtime cannot reserve the memory.
 */
export function createArena(cap: number, isolated = false): Mapped {
  const pages = Math.ceil(cap / CORE.PAGE);
  const memory = new WebAssembly.Memory({ initial: 1, maximum: pages, shared: true });
  const view = new Mapped(memory, isolated);
  const status = view.core.arenaInit(ARENA, pages * CORE.PAGE);
  if (status !== CORE.OK) throw new Error(`Internal error: arenaInit returned ${status}`);
  // Written before any other thread can see the memory.
  const id = crypto.getRandomValues(new Int32Array(2));
  id[0] |= 1;
  const words = view.i32((ARENA + CORE.ARENA_ID) >> 2);
  words.set(id, (ARENA + CORE.ARENA_ID) >> 2);
  words[(ARENA + CORE.ARENA_ISOLATED) >> 2] = isolated ? 1 : 0;
  return remember(view, `${id[1]}:${id[0]}`);
}

/**
 * Whether `memory` is the arena of one isolated channel, as its creator marked it (see
 * ARENA_ISOLATED): what a worker with narrower permissions may be given (see spawn.ts).
 */
export function isIsolated(memory: WebAssembly.Memory): boolean {
  return new Int32Array(memory.buffer, ARENA + CORE.ARENA_ISOLATED, 1)[0] === 1;
}

let defaultArena: Mapped | undefined;

/**
 * This thread's default arena, created on first use (DEFAULT_ARENA_CAP).
 * @throws {RangeError} when the runtime cannot reserve its memory.
 */
export function defaultMapped(): Mapped {
  return defaultArena ??= createArena(DEFAULT_ARENA_CAP);
}

/** Whether `memory` is this thread's default arena (made here, or shared by its parent). */
export function isDefaultArena(memory: WebAssembly.Memory): boolean {
  return defaultArena !== undefined && defaultArena.memory === memory;
}

/**
 * Makes `memory` (an arena that the thread which spawned this one made) this thread's default
 * arena, before this thread makes any channel: so that ends of the channels either thread
 * makes can travel in the other's messages. Called once, as a spawned worker starts.
 */
export function shareArena(memory: WebAssembly.Memory): void {
  defaultArena ??= mapped(memory);
}

/** The bytes of an arena that holds one channel of quota `maxBytes`: header, control block. */
export function isolatedCap(maxBytes: number): number {
  const overhead = CORE.ARENA_HEADER_SIZE + CORE.BLOCK_HEADER + CORE.CONTROL_SIZE;
  return Math.ceil((overhead + maxBytes) / CORE.PAGE) * CORE.PAGE;
}

/** A channel of the raw core, for the core's own tests and benchmarks. */
export interface RawChannel {
  memory: WebAssembly.Memory;
  core: Core;
  /** The control block's offset. */
  ch: number;
  /** Its generation. */
  gen: number;
}

/**
 * For tests and benchmarks of the raw core: a channel in a memory of its own (an isolated
 * arena), as `channel({ isolated: true })` makes one, driven through `core` directly.
 */
export function rawChannel(
  bound: number,
  maxBytes: number,
  initialCapacity: number = ISOLATED_INITIAL_CAPACITY,
): RawChannel {
  const view = createArena(isolatedCap(maxBytes), true);
  const ch = view.core.create(ARENA, bound, maxBytes, initialCapacity, 1);
  if (ch < CORE.FIRST_OFFSET) throw new Error(`Internal error: create returned ${ch}`);
  return { memory: view.memory, core: view.core, ch, gen: view.core.arenaGeneration(ARENA, ch) };
}

/**
 * Bytes of the arena `view` maps that are handed out and not freed: blocks of live channels
 * (and of channels whose blocks leaked), headers included. For tests and diagnostics: racy
 * while other threads allocate or free; -1 while a free list changes under the count.
 */
export function inUse(view: Mapped): number {
  const core = view.core;
  let free = 0;
  for (let k = 0; k < CORE.ARENA_CLASSES; k++) {
    const count = core.arenaFreeCount(ARENA, k);
    if (count < 0) return -1;
    free += count * (CORE.BLOCK_HEADER + core.arenaClassBytes(k));
  }
  return core.arenaCarved(ARENA) - free;
}
