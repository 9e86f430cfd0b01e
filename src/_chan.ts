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
import { assertAlive, CLAIM_AT, CUT, watchWorkers } from "./_lifeline.ts";
import { ChannelCorruptedError } from "./errors.ts";

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
/** Longest wait in one send for another producer to link a new ring (see `#reserve`). */
const SEALER_PATIENCE_MS = 20;
/** Spins on an unfinished claim at the head before `pull` reports BUSY. */
const BUSY_SPINS = 1000;
/** Busy-polls before parking: waking a parked thread costs ~30 µs on an idle CPU. */
export const SPIN = 2000;

/** A wait word of the channel. */
export type Word = typeof DATA | typeof SPACE;
export { DATA, SPACE };

/** Status codes of the core, re-exported for the ends. */
export const { OK, EMPTY, BUSY, FULL, DISCONNECTED, TOO_LARGE, NO_MEMORY, CLAIMED, CORRUPTED } =
  CORE;

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
  /**
   * For a sender adopted from a handle: the lifeline where it records its claim in progress,
   * so that a terminator can mark it dead (CLAIM_AT in _lifeline.ts). Null elsewhere.
   */
  claims: Int32Array | null = null;
  /** The channel's id, read once (see `ChannelCorruptedError`). */
  #id = 0;

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
    return this.#id ||= this.core.channelId(CH);
  }

  /** Throws the channel's `ChannelCorruptedError`. */
  corrupted(): never {
    const check = this.core.corrupted(CH);
    throw new ChannelCorruptedError(
      this.id,
      `its shared memory was overwritten (check ${check === 0 ? "?" : check} failed)`,
    );
  }

  /**
   * The gate of the ends' getters: throws `AbortError` if this worker was terminated, and
   * `ChannelCorruptedError` if the channel was found corrupted, in any thread.
   */
  assertUsable(): void {
    assertAlive();
    if (this.core.corrupted(CH) !== 0) this.corrupted();
  }

  /** The largest message the channel takes, in bytes. */
  get largest(): number {
    const largest = this.core.largestPayload(CH);
    return largest < 0 ? this.corrupted() : largest;
  }

  /**
   * Handles a claim whose header is no longer the one this thread wrote (`MISMATCH`): a
   * terminator marked it dead (this worker was terminated: throws `AbortError`), or another
   * thread wrote over it (the channel is corrupted: says so, in every thread, and throws).
   */
  #lost(): never {
    assertAlive();
    this.core.corrupt(CH);
    this.corrupted();
  }

  /** The bound in messages: 0 for a rendezvous channel, -1 when unbounded. */
  get bound(): number {
    return this.core.channelBound(CH);
  }

  /** A view of the memory covering `[0, end)`. */
  #view(end: number): Uint8Array {
    if (end > this.#u8.length) {
      // The core has already brought this thread's view of the memory up to date (see
      // `reach` in assembly/channel.ts); take the longer buffer.
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
    const length = bytes.length;
    const at = this.#claim(length, owner);
    if (at < CORE.FIRST_OFFSET) return at;
    try {
      const u8 = this.#view(at + length);
      if (length <= 16) {
        for (let i = 0; i < length; i++) u8[at + i] = bytes[i];
      } else {
        u8.set(bytes, at);
      }
    } catch (error) {
      this.#unclaim(this.core.cancel(CH, at, owner, length));
      throw error;
    }
    this.#unclaim(this.core.commit(CH, at, owner, length));
    return OK;
  }

  /**
   * Claims `length` bytes for `owner` and, for an adopted sender, tells a terminator where
   * (CLAIM_AT in _lifeline.ts).
   * @returns the payload's address, or FULL, DISCONNECTED, TOO_LARGE or NO_MEMORY.
   * @throws `AbortError` if this worker was terminated; `ChannelCorruptedError`.
   */
  #claim(length: number, owner: number): number {
    // A terminated worker keeps running synchronous code on Deno 2.9.6: it must not send, or
    // it would write into a claim its terminator has reported dead (see _lifeline.ts). An
    // adopted sender looks at its own lifeline below (a terminator cuts every lifeline posted
    // to the worker); any other looks at them all.
    const claims = this.claims;
    if (claims === null) assertAlive();
    const at = this.#reserve(length, owner);
    if (at < CORE.FIRST_OFFSET) return at === CORRUPTED ? this.corrupted() : at;
    if (claims !== null) {
      // Published before this thread looks at its lifeline again, while a terminator cuts the
      // lifeline before it reads this: either the terminator finds the claim (and marks it
      // dead), or this thread finds the cut (and gives the claim up itself).
      Atomics.store(claims, CLAIM_AT, at);
      if (Atomics.load(claims, CUT) !== 0) {
        this.#unclaim(this.core.cancel(CH, at, owner, length));
        assertAlive(); // throws
      }
    }
    return at;
  }

  /** Ends a claim with the status of its `commit` or `cancel`, which it checks. */
  #unclaim(status: number): void {
    // A plain store: a terminator that still reads the old address finds no claim there.
    if (this.claims !== null) this.claims[CLAIM_AT] = 0;
    if (status === OK) return;
    if (status === CORRUPTED) this.corrupted();
    if (status === CORE.MISMATCH) this.#lost();
    throw new Error(`Internal error: status ${status} for a claim`);
  }

  /**
   * Claims `length` bytes for `owner` (`reserve` in assembly/producer.ts). While another thread is
   * linking a new ring (BUSY: it sealed the current one and is allocating), waits for it on the
   * space word, as `tryRecv` waits for an unfinished write: at most SEALER_PATIENCE_MS, then
   * reports the channel full for now.
   * @returns the payload's address, or a status.
   */
  #reserve(length: number, owner: number): number {
    let at = this.core.reserve(CH, length, owner);
    if (at !== BUSY) return at;
    const deadline = performance.now() + SEALER_PATIENCE_MS;
    do {
      Atomics.wait(this.#i32, SPACE, Atomics.load(this.#i32, SPACE), 1);
      at = this.core.reserve(CH, length, owner);
    } while (at === BUSY && performance.now() < deadline);
    return at === BUSY ? FULL : at;
  }

  /**
   * Enqueues `value` on behalf of sender `owner`, encoded in place by `encoder` into a claim of
   * `bound` bytes (`encoder.measure(value)`); only what it writes is published. If it throws, the
   * claim is given up and nothing is sent.
   * @returns OK, or the core's FULL, DISCONNECTED, TOO_LARGE or NO_MEMORY (for the bound).
   */
  pushInto<T>(encoder: DirectEncoder<T>, value: T, bound: number, owner: number): number {
    const at = this.#claim(bound, owner);
    if (at < CORE.FIRST_OFFSET) return at;
    let end: number;
    try {
      end = encoder.encodeInto(value, this.#view(at + bound), at, bound);
    } catch (error) {
      this.#unclaim(this.core.cancel(CH, at, owner, bound));
      throw error;
    }
    const status = this.core.commitLength(CH, at, owner, bound, end - at);
    if (status === CORE.INVALID) {
      this.#unclaim(this.core.cancel(CH, at, owner, bound));
      throw new Error(`Internal error: ${end - at} bytes written in place of at most ${bound}`);
    }
    this.#unclaim(status);
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
        // Skip a claim nobody will finish (its producer was reported dead, or no sender is
        // left) only a while after that was seen: a dying worker may still be writing into it.
        if (this.core.headDead(CH) === 0) {
          this.#deadSince = 0;
          return BUSY;
        }
        const now = performance.now();
        const grace = UNBLOCK_AFTER_MS + this.core.peekLength() / UNBLOCK_BYTES_PER_MS;
        if (this.#deadSince === 0) this.#deadSince = now;
        else if (now - this.#deadSince > grace) {
          const status = this.core.unblock(CH);
          if (status === CORRUPTED) this.corrupted();
          if (status === OK) {
            this.#deadSince = 0;
            spins = 0;
            continue;
          }
        }
        return BUSY;
      }
    }
    this.#deadSince = 0;
    if (at < CORE.FIRST_OFFSET) return at === CORRUPTED ? this.corrupted() : at;
    const length = this.core.peekLength();
    const u8 = this.#view(at + length);
    try {
      this.value = codec.decodeFrom !== undefined
        ? codec.decodeFrom(u8, at, at + length)
        : codec.decode(u8.subarray(at, at + length));
    } finally {
      if (this.core.release(CH) !== OK) this.corrupted();
    }
    return OK;
  }

  /** @returns whether `pull` has something to report: a message, disconnection, corruption. */
  ready(): boolean {
    const at = this.core.peek(CH);
    return at >= CORE.FIRST_OFFSET || at === DISCONNECTED || at === CORRUPTED;
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
