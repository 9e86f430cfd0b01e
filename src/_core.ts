/**
 * Loads the Wasm ring core (built from `assembly/` by `build.ts`) and instantiates it over a
 * shared memory of channels. Internal: the channel classes are the public API.
 *
 * @module
 */
import { CORE, CORE_WASM_BASE64 } from "./_core_generated.ts";

export { CORE };

/**
 * The functions of one core instance; see `assembly/index.ts` for where each is defined. A
 * channel is named by its control block's offset `ch` and that block's generation `gen`.
 */
export interface Core {
  create(a: number, bound: number, maxBytes: number, initialCapacity: number, id: number): number;
  validate(ch: number, gen: number): number;
  usable(ch: number, gen: number): number;
  condemn(a: number, ch: number, gen: number): number;
  corrupt(ch: number, gen: number): number;
  corrupted(ch: number, gen: number): number;
  channelId(ch: number, gen: number): number;
  channelBound(ch: number, gen: number): number;
  channelMaxBytes(ch: number, gen: number): number;
  largestPayload(ch: number, gen: number): number;
  newOwner(ch: number, gen: number): number;
  markDead(ch: number, gen: number, payload: number, owner: number): number;
  unblock(ch: number, gen: number, token: number): number;
  headDead(ch: number, gen: number, token: number): number;
  reserve(ch: number, gen: number, length: number, owner: number): number;
  commit(ch: number, gen: number, payload: number, owner: number, length: number): number;
  commitLength(
    ch: number,
    gen: number,
    payload: number,
    owner: number,
    reserved: number,
    length: number,
  ): number;
  commitBatch(
    ch: number,
    gen: number,
    payload: number,
    owner: number,
    length: number,
    first: number,
    count: number,
  ): number;
  cancel(ch: number, gen: number, payload: number, owner: number, length: number): number;
  // Ends carried in messages (see "Ends table" in assembly/layout.ts).
  commitEnds(ch: number, gen: number, payload: number, owner: number, length: number): number;
  writeEntry(payload: number, i: number, end: number, endGen: number, low: number): number;
  peekEnds(): number;
  takeEntry(i: number): number;
  takenEnd(): number;
  takenEndGen(): number;
  peek(ch: number, gen: number, token: number): number;
  peekDead(ch: number, gen: number, token: number): number;
  unpeek(ch: number, token: number): void;
  peekLength(): number;
  poll(ch: number, gen: number, token: number): number;
  release(ch: number, gen: number, token: number): number;
  releaseNext(ch: number, gen: number, token: number): number;
  addSender(ch: number, gen: number): number;
  dropSender(ch: number, gen: number): number;
  closeReceiver(ch: number, gen: number): number;
  addReceiver(ch: number, gen: number): number;
  newToken(ch: number, gen: number): number;
  settleHolder(ch: number, gen: number, token: number): number;
  holderDead(ch: number, gen: number): number;
  senderCount(ch: number, gen: number): number;
  markDied(ch: number, gen: number, ends: number): void;
  diedEnds(ch: number, gen: number): number;
  receiverOpen(ch: number, gen: number): number;
  length(ch: number, gen: number): number;
  storageBytes(ch: number, gen: number): number;
  ringCapacity(ch: number, gen: number): number;
  waitDataBegin(ch: number, gen: number): number;
  waitDataEnd(ch: number, gen: number): void;
  waitSpaceBegin(ch: number, gen: number): number;
  waitSpaceEnd(ch: number, gen: number): void;
  wakeAll(ch: number, gen: number): number;
  recvWaitBegin(ch: number, gen: number): void;
  selectBegin(ch: number, gen: number): number;
  selectEnd(ch: number, gen: number): void;
  recvWaitEnd(ch: number, gen: number): number;
  // The arena (assembly/arena.ts): the blocks channels are made of.
  arenaInit(a: number, cap: number): number;
  arenaAlloc(a: number, sizeClass: number, owner: number): number;
  arenaFree(a: number, block: number, generation: number): number;
  arenaCheck(a: number, block: number, generation: number, owner: number): number;
  arenaHolds(
    a: number,
    block: number,
    sizeClass: number,
    generation: number,
    owner: number,
  ): number;
  arenaGeneration(a: number, block: number): number;
  arenaOwner(a: number, block: number): number;
  arenaClassOf(a: number, block: number): number;
  arenaClassBytes(sizeClass: number): number;
  arenaRingClass(capacity: number): number;
  arenaCorrupt(a: number): number;
  arenaCorrupted(a: number): number;
  arenaCarved(a: number): number;
  arenaFreeCount(a: number, sizeClass: number): number;
}

let compiled: WebAssembly.Module | undefined;

/** The compiled core, compiled once per thread. */
export function coreModule(): WebAssembly.Module {
  return compiled ??= new WebAssembly.Module(fromBase64(CORE_WASM_BASE64));
}

// deno-lint-ignore no-explicit-any
const G = globalThis as any;

/**
 * Decodes base64: natively where the runtime can (Deno, Bun; 0.04 ms for the core), else with
 * Node's Buffer (Node 20: 0.1 ms), else through `atob` (about 0.5–1 ms).
 */
export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  if (typeof G.Uint8Array.fromBase64 === "function") return G.Uint8Array.fromBase64(text);
  if (typeof G.Buffer?.from === "function") {
    const b = G.Buffer.from(text, "base64") as Uint8Array;
    return new Uint8Array(b.buffer as ArrayBuffer, b.byteOffset, b.length);
  }
  if (typeof G.atob !== "function") {
    throw new TypeError("Cannot load the channel core: this runtime cannot decode base64");
  }
  const binary: string = G.atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/**
 * Instantiates the core over `memory` (50–90 µs). Instances keep no shared state; the channels
 * use one per thread and memory (see `mapped` in _arena.ts).
 */
export function instantiate(memory: WebAssembly.Memory): Core {
  const instance = new WebAssembly.Instance(coreModule(), { env: { memory } });
  return instance.exports as unknown as Core;
}

/** @returns whether `value` returned by `reserve` or `peek` is an offset (else a status). */
export function isOffset(value: number): boolean {
  return value >= CORE.FIRST_OFFSET;
}
