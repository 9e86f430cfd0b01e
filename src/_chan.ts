/**
 * One thread's connection to a channel's shared memory: the core instance, views of the memory,
 * and the two primitives the ends are built from — push one encoded message, pull and decode
 * one — plus parking on the channel's wait words. Internal.
 *
 * @module
 */
import { CORE, type Core, createMemory, instantiate } from "./_core.ts";
import type { Codec } from "./codec/types.ts";
import type { DirectEncoder } from "./codec/_direct.ts";
import { assertAlive, watchWorkers } from "./_lifeline.ts";

/** Control block address: one channel per memory, at its start. */
const CH = 0;
const DATA = CORE.DATA_SEQ >> 2;
const SPACE = CORE.SPACE_SEQ >> 2;
/** Longest single sleep: blocked calls look at their worker's lifeline this often. */
const SLICE_MS = 50;
/** Longest single async sleep; a notify normally ends it much sooner. */
export const SLICE_ASYNC_MS = 1000;
/**
 * How long a claim stays untouched, once its producer is seen reported dead, before it is
 * skipped: 100 ms, plus 10 ms per MB claimed — a terminated worker may still be writing into it
 * (copying, or encoding in place), and must be done before the space can go to another message.
 */
const UNBLOCK_AFTER_MS = 100;
const UNBLOCK_BYTES_PER_MS = 100_000;
/** Spins on an unfinished claim at the head before `pull` reports BUSY. */
const BUSY_SPINS = 1000;
/** Busy-polls before parking: waking a parked thread costs ~30 µs on an idle CPU. */
export const SPIN = 2000;

/** A wait word of the channel. */
export type Word = typeof DATA | typeof SPACE;
export { DATA, SPACE };

/** Status codes of the core, re-exported for the ends. */
export const { OK, EMPTY, BUSY, FULL, DISCONNECTED, TOO_LARGE, NO_MEMORY, CLAIMED } = CORE;

/** A thread's view of one channel. */
export class Chan {
  readonly memory: WebAssembly.Memory;
  readonly core: Core;
  /** The value decoded by the last successful `pull`. */
  value: unknown = undefined;
  #u8: Uint8Array;
  #i32: Int32Array;
  /** When `pull` first found the head claim unfinished and its producer dead (0: it did not). */
  #deadSince = 0;

  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
    this.core = instantiate(memory);
    watchWorkers();
    this.#u8 = new Uint8Array(memory.buffer);
    this.#i32 = new Int32Array(memory.buffer);
  }

  /** Creates a channel's memory and control block. */
  static create(bound: number, maxBytes: number, initialCapacity: number): Chan {
    const memory = createMemory(maxBytes);
    const chan = new Chan(memory);
    const id = crypto.getRandomValues(new Int32Array(1))[0];
    const status = chan.core.init(CH, bound, maxBytes, initialCapacity, id);
    if (status !== OK) throw new RangeError(`Cannot create a channel: invalid limits (${status})`);
    return chan;
  }

  get id(): number {
    return this.core.channelId(CH);
  }

  /** The bound in messages: 0 for a rendezvous channel, -1 when unbounded. */
  get bound(): number {
    return this.core.channelBound(CH);
  }

  /** A view of the memory covering `[0, end)`. */
  #view(end: number): Uint8Array {
    if (end > this.#u8.length) {
      // The core has already brought this thread's view of the memory up to date (see
      // `reach` in assembly/ring.ts); take the longer buffer.
      this.#u8 = new Uint8Array(this.memory.buffer);
      if (end > this.#u8.length) {
        this.memory.grow(0);
        this.#u8 = new Uint8Array(this.memory.buffer);
      }
    }
    return this.#u8;
  }

  /**
   * Enqueues one encoded message on behalf of sender `owner`.
   * @returns OK, or the core's FULL, DISCONNECTED, TOO_LARGE or NO_MEMORY.
   */
  push(bytes: Uint8Array, owner: number): number {
    // A terminated worker keeps running synchronous code on Deno 2.9.6: it must not send, or
    // it would write into a claim its terminator has reported dead (see _lifeline.ts).
    assertAlive();
    const length = bytes.length;
    const at = this.core.reserve(CH, length, owner);
    if (at < CORE.FIRST_OFFSET) return at;
    const u8 = this.#view(at + length);
    if (length <= 16) {
      for (let i = 0; i < length; i++) u8[at + i] = bytes[i];
    } else {
      u8.set(bytes, at);
    }
    this.core.commit(CH, at, owner, length);
    return OK;
  }

  /**
   * Enqueues `value` on behalf of sender `owner`, encoded in place by `encoder` into a claim of
   * `bound` bytes (`encoder.measure(value)`); only what it writes is published. If it throws, the
   * claim is given up and nothing is sent.
   * @returns OK, or the core's FULL, DISCONNECTED, TOO_LARGE or NO_MEMORY (for the bound).
   */
  pushInto<T>(encoder: DirectEncoder<T>, value: T, bound: number, owner: number): number {
    assertAlive(); // see `push`
    const at = this.core.reserve(CH, bound, owner);
    if (at < CORE.FIRST_OFFSET) return at;
    const u8 = this.#view(at + bound);
    let end: number;
    try {
      end = encoder.encodeInto(value, u8, at, bound);
    } catch (error) {
      this.core.cancel(CH, at, owner, bound);
      throw error;
    }
    if (this.core.commitLength(CH, at, owner, bound, end - at) !== OK) {
      this.core.cancel(CH, at, owner, bound);
      throw new Error(`Internal error: ${end - at} bytes written in place of at most ${bound}`);
    }
    return OK;
  }

  /**
   * Takes and decodes the next message into `this.value`. A claim at the head that is still
   * being written is spun on briefly (most writes take nanoseconds); if it stays unfinished, its
   * producer was preempted between reserve and commit, or died there — then whoever saw it die
   * reported it (see _lifeline.ts) and `unblock` skips it.
   * The message is consumed even when `decode` throws; the error is rethrown.
   * @returns OK, EMPTY, DISCONNECTED, or BUSY (the head claim stayed unfinished; callers wait).
   */
  pull(codec: Codec<unknown>): number {
    let at: number;
    for (let spins = 0; (at = this.core.peek(CH)) === BUSY; spins++) {
      if (spins === BUSY_SPINS) {
        // Skip a claim of a producer reported dead only a while after its death was seen: a
        // terminated worker may still be finishing a write into it.
        if (this.core.headDead(CH) === 0) {
          this.#deadSince = 0;
          return BUSY;
        }
        const now = performance.now();
        const grace = UNBLOCK_AFTER_MS + this.core.peekLength() / UNBLOCK_BYTES_PER_MS;
        if (this.#deadSince === 0) this.#deadSince = now;
        else if (now - this.#deadSince > grace && this.core.unblock(CH) === OK) {
          this.#deadSince = 0;
          spins = 0;
          continue;
        }
        return BUSY;
      }
    }
    this.#deadSince = 0;
    if (at < CORE.FIRST_OFFSET) return at;
    const length = this.core.peekLength();
    const u8 = this.#view(at + length);
    try {
      this.value = codec.decodeFrom !== undefined
        ? codec.decodeFrom(u8, at, at + length)
        : codec.decode(u8.subarray(at, at + length));
    } finally {
      this.core.release(CH);
    }
    return OK;
  }

  /** @returns whether `pull` has something to report: a message, or disconnection. */
  ready(): boolean {
    const at = this.core.peek(CH);
    return at >= CORE.FIRST_OFFSET || at === DISCONNECTED;
  }

  /**
   * Pulls, waiting out a head claim that stays unfinished for up to `ms` (see `pull`).
   * @returns OK, EMPTY or DISCONNECTED; EMPTY also when the claim outlasts `ms`.
   */
  pullWithin(codec: Codec<unknown>, ms: number): number {
    let status = this.pull(codec);
    if (status !== BUSY) return status;
    const deadline = performance.now() + ms;
    do {
      Atomics.wait(this.#i32, DATA, Atomics.load(this.#i32, DATA), 0.1);
      status = this.pull(codec);
    } while (status === BUSY && performance.now() < deadline);
    return status === BUSY ? EMPTY : status;
  }

  /** Registers as a waiter on `word`. @returns the value to wait on. */
  begin(word: Word): number {
    return word === DATA ? this.core.waitDataBegin(CH) : this.core.waitSpaceBegin(CH);
  }

  /** Unregisters a waiter registered by `begin`. */
  end(word: Word): void {
    if (word === DATA) this.core.waitDataEnd(CH);
    else this.core.waitSpaceEnd(CH);
  }

  /**
   * Sleeps on `word` while it still holds `seq`, at most until `deadline` (a
   * `performance.now()` time) and at most one slice. Throws if this worker was terminated.
   */
  sleep(word: Word, seq: number, deadline: number): void {
    const ms = Math.min(deadline - performance.now(), SLICE_MS);
    if (ms > 0) Atomics.wait(this.#i32, word, seq, ms);
    assertAlive();
  }

  /** Sleeps asynchronously on `word` while it still holds `seq`, for at most `ms`. */
  async sleepAsync(word: Word, seq: number, ms: number): Promise<void> {
    const result = Atomics.waitAsync(this.#i32, word, seq, ms);
    if (result.async) await result.value;
  }

  /** Wakes every sleeper on `word` (they re-check their condition). */
  wakeAll(word: Word): void {
    Atomics.add(this.#i32, word, 1);
    Atomics.notify(this.#i32, word);
  }
}
