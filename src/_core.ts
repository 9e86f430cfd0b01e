/**
 * Loads the Wasm ring core (built from `assembly/` by `build.ts`) and instantiates it over a
 * channel's shared memory. Internal: the channel classes are the public API.
 *
 * @module
 */
import { CORE, CORE_WASM_BASE64 } from "./_core_generated.ts";

export { CORE };

/** The functions of one core instance; see `assembly/index.ts` for where each is defined. */
export interface Core {
  init(ch: number, bound: number, maxBytes: number, initialCapacity: number, id: number): number;
  channelId(ch: number): number;
  channelBound(ch: number): number;
  newOwner(ch: number): number;
  markDead(ch: number, payload: number, owner: number): number;
  corrupt(ch: number): number;
  corrupted(ch: number): number;
  largestPayload(ch: number): number;
  channelMaxBytes(ch: number): number;
  unblock(ch: number): number;
  headDead(ch: number): number;
  validate(ch: number): number;
  reserve(ch: number, length: number, owner: number): number;
  commit(ch: number, payload: number, owner: number, length: number): number;
  commitLength(
    ch: number,
    payload: number,
    owner: number,
    reserved: number,
    length: number,
  ): number;
  cancel(ch: number, payload: number, owner: number, length: number): number;
  peek(ch: number): number;
  peekLength(): number;
  poll(ch: number): number;
  release(ch: number): number;
  addSender(ch: number): number;
  dropSender(ch: number): number;
  closeReceiver(ch: number): void;
  senderCount(ch: number): number;
  markDied(ch: number, ends: number): void;
  diedEnds(ch: number): number;
  receiverOpen(ch: number): number;
  length(ch: number): number;
  storageBytes(ch: number): number;
  ringCapacity(ch: number): number;
  waitDataBegin(ch: number): number;
  waitDataEnd(ch: number): void;
  waitSpaceBegin(ch: number): number;
  waitSpaceEnd(ch: number): void;
  recvWaitBegin(ch: number): void;
  recvWaitEnd(ch: number): number;
  // The arena (assembly/arena.ts): many channels in one memory. Not used by channels yet.
  arenaInit(a: number, cap: number): number;
  arenaAlloc(a: number, sizeClass: number, owner: number): number;
  arenaFree(a: number, block: number, generation: number): number;
  arenaCheck(a: number, block: number, generation: number, owner: number): number;
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

/** Instantiates the core over `memory`. Instances keep no shared state: one per thread is fine. */
export function instantiate(memory: WebAssembly.Memory): Core {
  const instance = new WebAssembly.Instance(coreModule(), { env: { memory } });
  return instance.exports as unknown as Core;
}

/** Capacity of a channel's first ring (it shares the control block's 64 KiB page). */
export const DEFAULT_INITIAL_CAPACITY = CORE.MAX_INITIAL_CAPACITY;

/** Creates a shared memory for one channel whose ring storage may reach `maxBytes`. */
export function createMemory(maxBytes: number): WebAssembly.Memory {
  // The control block's page, then ring pages as counted by the core against maxBytes.
  const pages = 1 + Math.ceil(maxBytes / CORE.PAGE);
  return new WebAssembly.Memory({ initial: 1, maximum: pages, shared: true });
}

/** @returns whether `value` returned by `reserve` or `peek` is an offset (else a status). */
export function isOffset(value: number): boolean {
  return value >= CORE.FIRST_OFFSET;
}
