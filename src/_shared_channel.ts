/**
 * The boundary to a channel's shared memory: the only module that calls the Wasm core. A
 * `SharedChannel` is one thread's connection to the channel whose control block lies at
 * `offset` in `memory`; it has the two primitives the ends are built from — push one encoded
 * message, pull and decode one — the end counts, and the channel's two wait words as `Park`s.
 * Core statuses come out as typed constants; nothing is left in out-parameters. Internal.
 *
 * @module
 */
import { CORE, type Core, createMemory, DEFAULT_INITIAL_CAPACITY, instantiate } from "./_core.ts";
import type { Codec } from "./codec/types.ts";
import type { DirectEncoder } from "./codec/_direct.ts";
import { assertAlive, CLAIM_AT, CUT } from "./_lifeline.ts";
import { ChannelCorruptedError } from "./errors.ts";
import { nap, type Park } from "./_wait.ts";

/** Longest single sleep: blocked calls look at their worker's lifeline this often. */
const SLICE_MS = 50;
/**
 * How long a claim stays untouched, once its producer is seen reported dead, before it is
 * skipped: 100 ms, plus 10 ms per MB claimed — a terminated worker may still be writing into it
 * (copying, or encoding in place), and must be done before the space can go to another message.
 */
const UNBLOCK_AFTER_MS = 100;
const UNBLOCK_BYTES_PER_MS = 100_000;
/** Longest wait in one send for another producer to link a new ring (see `#reserve`). */
const SEALER_PATIENCE_MS = 20;
/** Spins on an unfinished claim at the head before `pull` reports it (`PULL_BUSY`). */
const BUSY_SPINS = 1000;

const { OK, BUSY, FULL, DISCONNECTED, TOO_LARGE, NO_MEMORY, CLAIMED, CORRUPTED } = CORE;

/** The `bound` of an unbounded channel. */
export const UNBOUNDED = CORE.UNBOUNDED;
/** Largest `maxBytes` of a channel. */
export const MAX_STORAGE = CORE.MAX_STORAGE;
/**
 * Largest reservation `pushInto` takes: the core records at most this many unwritten bytes of
 * a reservation (MAX_TRIM).
 */
export const IN_PLACE_MAX = CORE.MAX_TRIM;

/** What a push ends with: sent, or why not. */
export type PushStatus =
  | typeof OK
  | typeof FULL
  | typeof DISCONNECTED
  | typeof TOO_LARGE
  | typeof NO_MEMORY;
export { DISCONNECTED, FULL, NO_MEMORY, OK, TOO_LARGE };

/** `pull` found no message ready. */
export const PULL_EMPTY: unique symbol = Symbol("empty");
/** `pull` found the next message still being written (its producer was preempted, or died). */
export const PULL_BUSY: unique symbol = Symbol("busy");
/** `pull` found no message, and no sender left. */
export const PULL_DISCONNECTED: unique symbol = Symbol("disconnected");
/** What `pull` returns instead of a message. */
export type PullStatus = typeof PULL_EMPTY | typeof PULL_BUSY | typeof PULL_DISCONNECTED;

/** A thread's connection to one channel in a shared memory. */
export class SharedChannel {
  readonly memory: WebAssembly.Memory;
  /** The control block's address in `memory`. */
  readonly offset: number;
  /** Parks on "a message was published" (consumers wait there). */
  readonly data: Park;
  /** Parks on "room was made" (producers wait there). */
  readonly space: Park;
  /**
   * For a sender adopted from a handle: the lifeline where it records its claim in progress,
   * so that a terminator can mark it dead (CLAIM_AT in _lifeline.ts). Null elsewhere.
   */
  claims: Int32Array | null = null;
  #core: Core;
  #u8: Uint8Array;
  #i32: Int32Array;
  /** When `pull` first found the head claim unfinished and its producer dead (0: it did not). */
  #deadSince = 0;
  /** The channel's id, read once (see `ChannelCorruptedError`). */
  #id = 0;

  constructor(memory: WebAssembly.Memory, offset: number) {
    this.memory = memory;
    this.offset = offset;
    this.#core = instantiate(memory);
    this.#u8 = new Uint8Array(memory.buffer);
    this.#i32 = new Int32Array(memory.buffer);
    this.data = new WordPark(this.#core, this.#i32, offset, true);
    this.space = new WordPark(this.#core, this.#i32, offset, false);
  }

  /**
   * Creates a channel in a memory of its own: `bound` messages (UNBOUNDED, or 0 for rendezvous),
   * at most `maxBytes` of storage, a first ring of `initialCapacity` bytes.
   */
  static create(
    bound: number,
    maxBytes: number,
    initialCapacity: number = DEFAULT_INITIAL_CAPACITY,
  ): SharedChannel {
    const chan = new SharedChannel(createMemory(maxBytes), 0);
    const id = crypto.getRandomValues(new Int32Array(1))[0];
    const status = chan.#core.init(chan.offset, bound, maxBytes, initialCapacity, id);
    if (status !== OK) throw new RangeError(`Cannot create a channel: invalid limits (${status})`);
    return chan;
  }

  /**
   * Checks the channel's control block (its layout version and config check).
   * @returns "ok", "corrupted" (a channel that was found corrupted) or "invalid" (none there).
   */
  validate(): "ok" | "corrupted" | "invalid" {
    const status = this.#core.validate(this.offset);
    return status === OK ? "ok" : status === CORRUPTED ? "corrupted" : "invalid";
  }

  /** The channel's id (given at creation, random). */
  get id(): number {
    return this.#id ||= this.#core.channelId(this.offset);
  }

  /** The bound in messages: 0 for a rendezvous channel, -1 when unbounded. */
  get bound(): number {
    return this.#core.channelBound(this.offset);
  }

  /** The largest message the channel takes, in bytes. */
  get largest(): number {
    const largest = this.#core.largestPayload(this.offset);
    return largest < 0 ? this.corrupted() : largest;
  }

  /** Throws the channel's `ChannelCorruptedError`. */
  corrupted(): never {
    const check = this.#core.corrupted(this.offset);
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
    if (this.#core.corrupted(this.offset) !== 0) this.corrupted();
  }

  // ── Ends.

  /** Counts one more sender. @throws ChannelCorruptedError */
  addSender(): void {
    if (this.#core.addSender(this.offset) < 0) this.corrupted();
  }

  /** Counts one sender fewer; the last one wakes the receiver. */
  dropSender(): void {
    this.#core.dropSender(this.offset);
  }

  /** Closes the receiver; senders wake and fail from now on. */
  /**
   * Notes that an end of `kind` is being settled for a thread that died; call before dropping or
   * closing it, so that a peer that sees the disconnection sees why.
   */
  markDied(kind: "sender" | "receiver"): void {
    this.#core.markDied(this.offset, kind === "sender" ? CORE.DIED_SENDER : CORE.DIED_RECEIVER);
  }

  /** Why the peers of an end of `kind` are gone: did one of them die holding its end? */
  peersGone(kind: "sender" | "receiver"): "closed" | "died" {
    const died = this.#core.diedEnds(this.offset);
    return (died & (kind === "sender" ? CORE.DIED_RECEIVER : CORE.DIED_SENDER)) !== 0
      ? "died"
      : "closed";
  }

  closeReceiver(): void {
    this.#core.closeReceiver(this.offset);
  }

  /** A new owner id for the claims of a sender (see `markDead`). */
  newOwner(): number {
    return this.#core.newOwner(this.offset);
  }

  /** Marks the unfinished claim of dead producer `owner` at payload `at` as dead (if it is). */
  markDead(at: number, owner: number): void {
    this.#core.markDead(this.offset, at, owner);
  }

  /** Messages claimed and not yet consumed (racy; informational). */
  get length(): number {
    return this.#core.length(this.offset);
  }

  /** Live senders (racy; informational). */
  get senders(): number {
    return this.#core.senderCount(this.offset);
  }

  /** Whether the receiver is open (racy; informational). */
  get receiverOpen(): boolean {
    return this.#core.receiverOpen(this.offset) !== 0;
  }

  /** Rendezvous: publishes a "receiver waiting" token (see `recvWaitBegin` in the core). */
  offerToken(): void {
    this.#core.recvWaitBegin(this.offset);
  }

  /**
   * Rendezvous: withdraws the token published by `offerToken`.
   * @returns false if a sender took it: its message is on the way.
   */
  withdrawToken(): boolean {
    return this.#core.recvWaitEnd(this.offset) !== CLAIMED;
  }

  /** Wakes every thread parked on either word (they re-check their condition). */
  wakeAll(): void {
    this.data.wake();
    this.space.wake();
  }

  /**
   * Wakes every thread parked on either word of the channel at `offset` in `memory`, without
   * connecting to it (for a terminator: no core instance, nothing validated, nothing written
   * but the wait words).
   */
  static wakeAll(memory: WebAssembly.Memory, offset: number): void {
    const words = new Int32Array(memory.buffer, offset, CORE.CONTROL_SIZE >> 2);
    for (const word of [CORE.DATA_SEQ >> 2, CORE.SPACE_SEQ >> 2]) {
      Atomics.add(words, word, 1);
      Atomics.notify(words, word);
    }
  }

  // ── Producing.

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
   * @returns OK, FULL, DISCONNECTED, TOO_LARGE or NO_MEMORY.
   */
  push(bytes: Uint8Array, owner: number): PushStatus {
    const length = bytes.length;
    const at = this.#claim(length, owner);
    if (at < CORE.FIRST_OFFSET) return at as PushStatus;
    try {
      const u8 = this.#view(at + length);
      if (length <= 16) {
        for (let i = 0; i < length; i++) u8[at + i] = bytes[i];
      } else {
        u8.set(bytes, at);
      }
    } catch (error) {
      this.#unclaim(this.#core.cancel(this.offset, at, owner, length));
      throw error;
    }
    this.#unclaim(this.#core.commit(this.offset, at, owner, length));
    return OK;
  }

  /**
   * Enqueues `value` on behalf of sender `owner`, encoded in place by `encoder` into a claim of
   * `bound` bytes (`encoder.measure(value)`); only what it writes is published. If it throws, the
   * claim is given up and nothing is sent.
   * @returns OK, FULL, DISCONNECTED, TOO_LARGE or NO_MEMORY (for the bound).
   */
  pushInto<T>(encoder: DirectEncoder<T>, value: T, bound: number, owner: number): PushStatus {
    const at = this.#claim(bound, owner);
    if (at < CORE.FIRST_OFFSET) return at as PushStatus;
    let end: number;
    try {
      end = encoder.encodeInto(value, this.#view(at + bound), at, bound);
    } catch (error) {
      this.#unclaim(this.#core.cancel(this.offset, at, owner, bound));
      throw error;
    }
    const status = this.#core.commitLength(this.offset, at, owner, bound, end - at);
    if (status === CORE.INVALID) {
      this.#unclaim(this.#core.cancel(this.offset, at, owner, bound));
      throw new Error(`Internal error: ${end - at} bytes written in place of at most ${bound}`);
    }
    this.#unclaim(status);
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
    // it would write into a claim its terminator has reported dead (see _settlement.ts), and
    // must not be told "full" for ever. An adopted sender looks at its own lifeline (a
    // terminator cuts every lifeline posted to the worker); any other looks at them all.
    const claims = this.claims;
    if (claims === null || Atomics.load(claims, CUT) !== 0) assertAlive();
    const at = this.#reserve(length, owner);
    if (at < CORE.FIRST_OFFSET) return at === CORRUPTED ? this.corrupted() : at;
    if (claims !== null) {
      // Published before this thread looks at its lifeline again, while a terminator cuts the
      // lifeline before it reads this: either the terminator finds the claim (and marks it
      // dead), or this thread finds the cut (and gives the claim up itself).
      Atomics.store(claims, CLAIM_AT, at);
      if (Atomics.load(claims, CUT) !== 0) {
        this.#unclaim(this.#core.cancel(this.offset, at, owner, length));
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
   * Handles a claim whose header is no longer the one this thread wrote (`MISMATCH`): a
   * terminator marked it dead (this worker was terminated: throws `AbortError`), or another
   * thread wrote over it (the channel is corrupted: says so, in every thread, and throws).
   */
  #lost(): never {
    assertAlive();
    this.#core.corrupt(this.offset);
    this.corrupted();
  }

  /**
   * Claims `length` bytes for `owner` (`reserve` in assembly/producer.ts). While another thread is
   * linking a new ring (BUSY: it sealed the current one and is allocating), waits for it on the
   * space word, as `pullWithin` waits for an unfinished write: at most SEALER_PATIENCE_MS, then
   * reports the channel full for now.
   * @returns the payload's address, or a status.
   */
  #reserve(length: number, owner: number): number {
    let at = this.#core.reserve(this.offset, length, owner);
    if (at !== BUSY) return at;
    const deadline = performance.now() + SEALER_PATIENCE_MS;
    const space = (this.offset + CORE.SPACE_SEQ) >> 2;
    do {
      nap(this.#i32, space, Atomics.load(this.#i32, space), 1);
      at = this.#core.reserve(this.offset, length, owner);
    } while (at === BUSY && performance.now() < deadline);
    return at === BUSY ? FULL : at;
  }

  // ── Consuming.

  /**
   * Takes and decodes the next message. A claim at the head that is still being written is
   * spun on briefly (most writes take nanoseconds); if it stays unfinished, its producer was
   * preempted between reserve and commit, or died there — then whoever saw it die reported it
   * (see _settlement.ts) and `unblock` skips it.
   * The message is consumed even when `decode` throws; the error is rethrown.
   * @returns the message, or PULL_EMPTY, PULL_DISCONNECTED, or PULL_BUSY (the head claim stayed
   * unfinished; callers wait).
   */
  pull<T>(codec: Codec<T>): T | PullStatus {
    const core = this.#core;
    const ch = this.offset;
    let at: number;
    for (let spins = 0; (at = core.peek(ch)) === BUSY; spins++) {
      if (spins === BUSY_SPINS) {
        if (this.#unblock()) {
          spins = 0;
          continue;
        }
        return PULL_BUSY;
      }
    }
    this.#deadSince = 0;
    if (at < CORE.FIRST_OFFSET) {
      if (at === CORRUPTED) this.corrupted();
      return at === DISCONNECTED ? PULL_DISCONNECTED : PULL_EMPTY;
    }
    const length = core.peekLength();
    const u8 = this.#view(at + length);
    try {
      return codec.decodeFrom !== undefined
        ? codec.decodeFrom(u8, at, at + length)
        : codec.decode(u8.subarray(at, at + length));
    } finally {
      if (core.release(ch) !== OK) this.corrupted();
    }
  }

  /**
   * Skips a claim at the head that nobody will finish (its producer was reported dead, or no
   * sender is left) — only a while after that was first seen: a dying worker may still be
   * writing into it.
   * @returns whether a claim was skipped.
   */
  #unblock(): boolean {
    const core = this.#core;
    const dead = core.headDead(this.offset);
    if (dead === CORRUPTED) this.corrupted();
    if (dead === 0) {
      this.#deadSince = 0;
      return false;
    }
    const now = performance.now();
    const grace = UNBLOCK_AFTER_MS + core.peekLength() / UNBLOCK_BYTES_PER_MS;
    if (this.#deadSince === 0) this.#deadSince = now;
    else if (now - this.#deadSince > grace) {
      const status = core.unblock(this.offset);
      if (status === CORRUPTED) this.corrupted();
      if (status === OK) {
        this.#deadSince = 0;
        return true;
      }
    }
    return false;
  }

  /**
   * Pulls, waiting out a head claim that stays unfinished for up to `ms` (see `pull`).
   * @returns the message, PULL_EMPTY or PULL_DISCONNECTED; PULL_EMPTY also when the claim
   * outlasts `ms`.
   */
  pullWithin<T>(codec: Codec<T>, ms: number): T | PullStatus {
    let pulled = this.pull(codec);
    if (pulled !== PULL_BUSY) return pulled;
    const deadline = performance.now() + ms;
    const data = (this.offset + CORE.DATA_SEQ) >> 2;
    do {
      nap(this.#i32, data, Atomics.load(this.#i32, data), 0.1);
      pulled = this.pull(codec);
    } while (pulled === PULL_BUSY && performance.now() < deadline);
    return pulled === PULL_BUSY ? PULL_EMPTY : pulled;
  }

  /** @returns whether `pull` has something to report: a message, disconnection, corruption. */
  ready(): boolean {
    const at = this.#core.peek(this.offset);
    return at >= CORE.FIRST_OFFSET || at === DISCONNECTED || at === CORRUPTED;
  }

  /**
   * Whether the record at the head is published, reading only its header — not the tail,
   * which producers write on every claim. For spinning; `pull` tells the rest.
   */
  poll(): boolean {
    return this.#core.poll(this.offset) !== 0;
  }
}

/** One of a channel's wait words, with its waiter count (see "Waiting" in assembly/wait.ts). */
class WordPark implements Park {
  #core: Core;
  #i32: Int32Array;
  #ch: number;
  #index: number;
  #data: boolean;

  constructor(core: Core, i32: Int32Array, ch: number, data: boolean) {
    this.#core = core;
    this.#i32 = i32;
    this.#ch = ch;
    this.#index = (ch + (data ? CORE.DATA_SEQ : CORE.SPACE_SEQ)) >> 2;
    this.#data = data;
  }

  begin(): number {
    return this.#data ? this.#core.waitDataBegin(this.#ch) : this.#core.waitSpaceBegin(this.#ch);
  }

  end(): void {
    if (this.#data) this.#core.waitDataEnd(this.#ch);
    else this.#core.waitSpaceEnd(this.#ch);
  }

  sleep(seq: number, deadline: number): void {
    const ms = Math.min(deadline - performance.now(), SLICE_MS);
    if (ms > 0) Atomics.wait(this.#i32, this.#index, seq, ms);
    assertAlive();
  }

  async sleepAsync(seq: number, ms: number): Promise<void> {
    const result = Atomics.waitAsync(this.#i32, this.#index, seq, ms);
    if (result.async) await result.value;
  }

  wake(): void {
    Atomics.add(this.#i32, this.#index, 1);
    Atomics.notify(this.#i32, this.#index);
  }
}
