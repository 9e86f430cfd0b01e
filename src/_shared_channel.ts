/**
 * The boundary to a channel's shared memory: the only module that calls the Wasm core on a
 * channel (_arena.ts makes the memories and their arenas). A `SharedChannel` is one thread's
 * connection to the channel whose control block lies at `offset` in `memory`, with that block's
 * `generation` (an end of a channel destroyed since finds it gone, whatever is in its blocks
 * now); it has the two primitives the ends are built from — push one encoded message, pull and
 * decode one — the end counts, and the channel's two wait words as `Park`s. Core statuses come
 * out as typed constants; nothing is left in out-parameters. Internal.
 *
 * @module
 */
import { CORE, type Core } from "./_core.ts";
import {
  ARENA,
  ARENA_INITIAL_CAPACITY,
  createArena,
  DEFAULT_ARENA_CAP,
  defaultMapped,
  ISOLATED_INITIAL_CAPACITY,
  isolatedCap,
  type Mapped,
  mapped,
} from "./_arena.ts";
import { type Codec, NOT_BYTES } from "./codec/types.ts";
import { abDetached } from "./codec/structured/intrinsics.ts";
import type { DirectEncoder } from "./codec/_direct.ts";
import { assertAlive, CLAIM_AT, CUT, terminated, TOKENS_OUT } from "./_lifeline.ts";
import { uncut } from "./_thread.ts";
import { ArenaFullError, ChannelCorruptedError } from "./errors.ts";
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

const { OK, BUSY, FULL, DISCONNECTED, TOO_LARGE, NO_MEMORY, CLAIMED, CORRUPTED, STALE } = CORE;
const { LOCKED, FIRST_TOKEN, TOKEN_MASK } = CORE;
const { ARENA_FULL, GROW_FAILED, PEEK_ENDS } = CORE;

/** Record headers' size, and their alignment (see assembly/layout.ts). */
const { HEADER, ALIGN } = CORE;
const align8 = (n: number): number => (n + ALIGN - 1) & -ALIGN;

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
  | typeof NO_MEMORY
  | typeof ARENA_FULL
  | typeof GROW_FAILED;
export { ARENA_FULL, DISCONNECTED, FULL, GROW_FAILED, NO_MEMORY, OK, TOO_LARGE };

/** Options of `SharedChannel.create`. */
export interface CreateOptions {
  /** A memory of its own (an arena holding this one channel), not this thread's default arena. */
  isolated?: boolean;
  /** Capacity of the first ring (a power of two from 16 to 32768). */
  initialCapacity?: number;
  /** The arena to create the channel in (for tests: one with a small cap, say). */
  arena?: Mapped;
}

/** `pull` found no message ready. */
export const PULL_EMPTY: unique symbol = Symbol("empty");
/** `pull` found the next message still being written (its producer was preempted, or died). */
export const PULL_BUSY: unique symbol = Symbol("busy");
/** `pull` found no message, and no sender left. */
export const PULL_DISCONNECTED: unique symbol = Symbol("disconnected");
/**
 * Decodes a message that carries ends (see _carry.ts, which sets it: this module must not
 * import it), and releases it — or, when it throws before adopting any end, leaves it unconsumed.
 */
let carriedPull:
  | (<T>(chan: SharedChannel, codec: Codec<T>, at: number, length: number) => T)
  | null = null;

/** Sets how `pull` decodes a message that carries ends (_carry.ts, once). */
export function setCarriedPull(
  pull: <T>(chan: SharedChannel, codec: Codec<T>, at: number, length: number) => T,
): void {
  carriedPull = pull;
}

/** What `pull` returns instead of a message. */
export type PullStatus = typeof PULL_EMPTY | typeof PULL_BUSY | typeof PULL_DISCONNECTED;

/** `decodeInto` for a codec without it: `value` copied into `target` (see `Codec.decodeInto`). */
function copyInto(value: unknown, target: Uint8Array): number {
  if (!(value instanceof Uint8Array)) return NOT_BYTES;
  if (value.length > target.length) return -2 - value.length;
  target.set(value);
  return value.length;
}

/** A thread's connection to one channel in a shared memory. */
export class SharedChannel {
  /** This thread's view of the channel's memory (shared with every channel in it). */
  readonly mapped: Mapped;
  /** The control block's address in `memory`. */
  readonly offset: number;
  /** The control block's generation: what tells this channel from a later one in its blocks. */
  readonly generation: number;
  /** Parks on "a message was published" (consumers wait there). */
  readonly data: Park;
  /** Parks on "room was made" (producers wait there). */
  readonly space: Park;
  /**
   * For a sender adopted from a handle: the lifeline where it records its claim in progress,
   * so that a terminator can mark it dead (CLAIM_AT in _lifeline.ts). Null elsewhere.
   */
  claims: Int32Array | null = null;
  /**
   * For receivers held under a lifeline (adopted, or made in a spawned worker): that lifeline,
   * where their rendezvous tokens out are counted (TOKENS_OUT; see `offerToken`). Null elsewhere.
   */
  tokens: Int32Array | null = null;
  #core: Core;
  /** When `pull` first found the head claim unfinished and its producer dead (0: it did not). */
  #deadSince = 0;
  /** The channel's id (see `ChannelCorruptedError`). */
  #id: number;
  /** The bound, read once (0 for rendezvous, -1 unbounded; NaN until read). */
  #bound = NaN;
  /**
   * This thread's receiver token for the channel (see "Several receivers" in
   * assembly/consumer.ts): FIRST_TOKEN for the thread that created it, else one handed out when
   * first needed (0 until then).
   */
  #token = 0;
  /** When `pull` first found the consumer lock held by a receiver found dead (0: it did not). */
  #holderDeadSince = 0;

  constructor(view: Mapped, offset: number, generation: number, id: number) {
    this.mapped = view;
    this.offset = offset;
    this.generation = generation;
    this.#core = view.core;
    this.#id = id;
    this.data = new WordPark(this, offset + CORE.DATA_SEQ, true);
    this.space = new WordPark(this, offset + CORE.SPACE_SEQ, false);
  }

  /** The channel's shared memory (any handle carries the whole of it). */
  get memory(): WebAssembly.Memory {
    return this.mapped.memory;
  }

  /**
   * Creates a channel: `bound` messages (UNBOUNDED, or 0 for rendezvous), at most `maxBytes` of
   * its arena's storage, in this thread's default arena or (`isolated`) a memory of its own.
   * @throws {ArenaFullError} when the arena has no room for it (or cannot be reserved).
   */
  static create(bound: number, maxBytes: number, options: CreateOptions = {}): SharedChannel {
    const isolated = options.isolated ?? false;
    let view: Mapped;
    try {
      view = options.arena ??
        (isolated ? createArena(isolatedCap(maxBytes), true) : defaultMapped());
    } catch (error) {
      if (!(error instanceof RangeError)) throw error;
      const cap = isolated ? isolatedCap(maxBytes) : DEFAULT_ARENA_CAP;
      throw new ArenaFullError("reserve", cap, "Cannot create a channel", { cause: error });
    }
    const capacity = options.initialCapacity ??
      (isolated ? ISOLATED_INITIAL_CAPACITY : ARENA_INITIAL_CAPACITY);
    // For telling channels apart in errors, and checked at adoption: random enough (it was
    // crypto.getRandomValues, 0.4 µs a channel; offset and generation name the channel).
    const id = (Math.random() * 0x100000000) | 0;
    const core = view.core;
    const ch = core.create(ARENA, bound, maxBytes, capacity, id);
    if (ch < CORE.FIRST_OFFSET) {
      if (ch === ARENA_FULL || ch === GROW_FAILED) {
        const limit = ch === ARENA_FULL ? "cap" : "memory";
        throw new ArenaFullError(limit, capOf(view), "Cannot create a channel");
      }
      if (ch === CORRUPTED) arenaCorrupted(view, id);
      throw new RangeError(`Cannot create a channel: invalid limits (${ch})`);
    }
    const chan = new SharedChannel(view, ch, core.arenaGeneration(ARENA, ch), id);
    chan.#bound = bound === UNBOUNDED ? -1 : bound;
    chan.#token = FIRST_TOKEN;
    return chan;
  }

  /**
   * This thread's connection to the channel at `offset` (of `generation`) in `memory`, which
   * came from another thread: validated by `validate()` before use.
   */
  static open(
    memory: WebAssembly.Memory,
    offset: number,
    generation: number,
    id: number,
  ): SharedChannel {
    return new SharedChannel(mapped(memory), offset, generation, id);
  }

  /**
   * Checks the channel's control block (its layout version, config check and generation).
   * @returns "ok", "corrupted" (a channel that was found corrupted, or its arena), "stale" (its
   * blocks hold no channel of this generation any more) or "invalid" (none there).
   */
  validate(): "ok" | "corrupted" | "stale" | "invalid" {
    const status = this.#core.validate(this.offset, this.generation);
    return status === OK
      ? "ok"
      : status === CORRUPTED
      ? "corrupted"
      : status === STALE
      ? "stale"
      : "invalid";
  }

  /** The id recorded in the channel's config (0 if there is none). */
  recordedId(): number {
    return this.#core.channelId(this.offset, this.generation);
  }

  /** The channel's id (given at creation, random). */
  get id(): number {
    return this.#id;
  }

  /** The bound in messages: 0 for a rendezvous channel, -1 when unbounded. */
  get bound(): number {
    if (Number.isNaN(this.#bound)) {
      this.#status(this.#core.usable(this.offset, this.generation));
      this.#bound = this.#core.channelBound(this.offset, this.generation) | 0;
    }
    return this.#bound;
  }

  /** The largest message the channel takes, in bytes. */
  get largest(): number {
    const largest = this.#core.largestPayload(this.offset, this.generation);
    if (largest < 0) this.#status(-largest);
    return largest;
  }

  /** Throws the channel's `ChannelCorruptedError` (its own, or its arena's). */
  corrupted(): never {
    arenaCorrupted(this.mapped, this.#id);
    const check = this.#core.corrupted(this.offset, this.generation);
    throw new ChannelCorruptedError(
      this.#id,
      `its shared memory was overwritten (check ${check <= 0 ? "?" : check} failed)`,
    );
  }

  /**
   * For a call that found the channel's in-call word not this end's (STALE): throws `AbortError`
   * if this worker was terminated (its ends were settled by another thread, and the channel may
   * be gone); else the word was written over, or the channel destroyed under an open end — the
   * memory is corrupted: says so in every thread (if the channel is still there) and throws.
   */
  #stale(): never {
    assertAlive();
    this.#core.condemn(ARENA, this.offset, this.generation);
    arenaCorrupted(this.mapped, this.#id);
    throw new ChannelCorruptedError(
      this.#id,
      "its shared memory was overwritten (its control block does not hold this end's channel)",
    );
  }

  /** Throws for a status other than OK: corruption, or a stale end. */
  #status(status: number): void {
    if (status === OK) return;
    if (status === CORRUPTED) this.corrupted();
    if (status === STALE || status === CORE.INVALID) this.#stale();
    throw new Error(`Internal error: core status ${status}`);
  }

  /**
   * The gate of the ends' getters: throws `AbortError` if this worker was terminated, and
   * `ChannelCorruptedError` if the channel was found corrupted, in any thread.
   */
  assertUsable(): void {
    assertAlive();
    this.#status(this.#core.usable(this.offset, this.generation));
  }

  // ── Ends.

  /**
   * This thread's receiver token for the channel (see `#token`): what its receivers take the
   * consumer lock with, and what a settler of their ends needs (the claim's OWNER).
   * @throws ChannelCorruptedError
   */
  get token(): number {
    if (this.#token === 0) {
      const token = this.#core.newToken(this.offset, this.generation);
      if (token < 0) this.#status(-token);
      this.#token = token;
    }
    return this.#token;
  }

  /** Counts one more receiver (a clone). @throws ChannelCorruptedError */
  addReceiver(): void {
    const receivers = this.#core.addReceiver(this.offset, this.generation);
    if (receivers === -DISCONNECTED) this.#condemn();
    if (receivers < 0) this.#status(-receivers === DISCONNECTED ? CORRUPTED : -receivers);
  }

  /**
   * For a thread settling the ends of a dead one whose receivers had `token`: if one of them
   * holds the consumer lock, marks it dead, so that another receiver takes it over (see
   * "Several receivers" in assembly/consumer.ts). Call before closing the receivers.
   */
  settleHolder(token: number): void {
    if (token > 0) this.#core.settleHolder(this.offset, this.generation, token);
  }

  /** Counts one more sender. @throws ChannelCorruptedError */
  addSender(): void {
    const senders = this.#core.addSender(this.offset, this.generation);
    if (senders < 0) this.#status(-senders);
  }

  /**
   * Counts one sender fewer; the last one wakes the receiver (and, the receiver being closed,
   * gives the channel's memory back to its arena). Never throws: a stale end changes nothing.
   */
  dropSender(): void {
    if (this.#core.dropSender(this.offset, this.generation) !== OK) this.#condemn();
  }

  /**
   * Notes that an end of `kind` is being settled for a thread that died; call before dropping or
   * closing it, so that a peer that sees the disconnection sees why.
   */
  markDied(kind: "sender" | "receiver"): void {
    const ends = kind === "sender" ? CORE.DIED_SENDER : CORE.DIED_RECEIVER;
    this.#core.markDied(this.offset, this.generation, ends);
  }

  /** Why the peers of an end of `kind` are gone: did one of them die holding its end? */
  peersGone(kind: "sender" | "receiver"): "closed" | "died" {
    const died = this.#core.diedEnds(this.offset, this.generation);
    return (died & (kind === "sender" ? CORE.DIED_RECEIVER : CORE.DIED_SENDER)) !== 0
      ? "died"
      : "closed";
  }

  /**
   * Closes the receiver; senders wake and fail from now on (and, no sender being left, the
   * channel's memory goes back to its arena). Never throws.
   */
  closeReceiver(): void {
    if (this.#core.closeReceiver(this.offset, this.generation) !== OK) this.#condemn();
  }

  /** A stale end closing: if the channel is still there, its memory was overwritten. */
  #condemn(): void {
    this.#core.condemn(ARENA, this.offset, this.generation);
  }

  /**
   * This thread's connection to the channel at `offset` (of `generation`) in this channel's
   * memory: one whose end a message carried here. @returns it, or null if that block holds no
   * such channel (gone, or written over).
   */
  openCarried(offset: number, generation: number): SharedChannel | null {
    const chan = new SharedChannel(this.mapped, offset, generation, 0);
    if (chan.validate() !== "ok") return null;
    chan.#id = chan.recordedId();
    return chan;
  }

  /** Whether the channel has a memory of its own (`channel({ isolated: true })`). */
  get isolated(): boolean {
    return this.mapped.isolated;
  }

  /** Consumes the message this thread peeked (see `pull`). */
  releasePeeked(): void {
    this.#status(this.#core.release(this.offset, this.generation, this.#token));
  }

  /** Leaves the message this thread peeked unconsumed (see `pull`). */
  unpeek(): void {
    this.#core.unpeek(this.offset, this.#token);
  }

  /** A new owner id for the claims of a sender (see `markDead`). */
  newOwner(): number {
    const owner = this.#core.newOwner(this.offset, this.generation);
    if (owner < 0) this.#status(-owner);
    return owner;
  }

  /** Marks the unfinished claim of dead producer `owner` at payload `at` as dead (if it is). */
  markDead(at: number, owner: number): void {
    this.#core.markDead(this.offset, this.generation, at, owner);
  }

  /** Messages claimed and not yet consumed (racy; informational). */
  get length(): number {
    const length = this.#core.length(this.offset, this.generation);
    if (length < 0) this.#status(-length);
    return length;
  }

  /** Live senders (racy; informational). */
  get senders(): number {
    const senders = this.#core.senderCount(this.offset, this.generation);
    if (senders < 0) this.#status(-senders);
    return senders;
  }

  /** Whether a receiver is open (racy; informational). */
  get receiverOpen(): boolean {
    return this.receivers > 0;
  }

  /** Open receivers, in every thread (racy; informational). */
  get receivers(): number {
    const open = this.#core.receiverOpen(this.offset, this.generation);
    if (open < 0) this.#status(-open);
    return open;
  }

  /** Bytes of its arena the channel's rings take (racy; informational). */
  get storage(): number {
    const bytes = this.#core.storageBytes(this.offset, this.generation);
    if (bytes < 0) this.#status(-bytes);
    return bytes;
  }

  /** The cap of the arena the channel lives in, in bytes. */
  get arenaCap(): number {
    return capOf(this.mapped);
  }

  /**
   * Registers a selector on the channel: until `selectEnd`, a publish also moves the arena's
   * select word (see `selectWord` and "Selecting" in assembly/wait.ts).
   * @throws ChannelCorruptedError, or AbortError for a stale end in a terminated worker.
   */
  selectBegin(): void {
    this.#status(this.#core.selectBegin(this.offset, this.generation));
  }

  /** Unregisters a selector registered by `selectBegin`. */
  selectEnd(): void {
    this.#core.selectEnd(this.offset, this.generation);
  }

  /**
   * A selector's cheap look (plain loads, no core call, nothing written): whether a receive may
   * have something to report — a message admitted and not taken yet, no sender left, corruption.
   * Only a hint (the words are untrusted): selectors look in full at every slice too.
   */
  hint(): boolean {
    const base = this.offset >> 2;
    const words = this.mapped.i32(base + (CORE.SENDERS >> 2));
    return Atomics.load(words, base + (CORE.ADMITTED >> 2)) !==
        Atomics.load(words, base + (CORE.RECEIVED >> 2)) ||
      Atomics.load(words, base + (CORE.SENDERS >> 2)) <= 0 ||
      Atomics.load(words, base + (CORE.CORRUPT >> 2)) !== 0;
  }

  /** The arena's select word (ARENA_SELECT) as an index into `mapped.i32(index)`. */
  get selectWord(): number {
    return (ARENA + CORE.ARENA_SELECT) >> 2;
  }

  /**
   * Rendezvous: publishes a "receiver waiting" token (see `recvWaitBegin` in the core), counted
   * on the receivers' lifeline (`tokens`) so that whoever settles them for a thread that died
   * waiting withdraws it (see `closeEnds` in _settlement.ts). Both in one uncuttable step.
   */
  offerToken(): void {
    uncut(() => {
      this.#core.recvWaitBegin(this.offset, this.generation);
      if (this.tokens !== null) Atomics.add(this.tokens, TOKENS_OUT, 1);
    }, () => {});
  }

  /**
   * Rendezvous: withdraws a token published by `offerToken`.
   * @returns false if none was left: a sender took one, and its message is on the way.
   */
  withdrawToken(): boolean {
    return uncut(() => {
      if (this.tokens !== null) Atomics.sub(this.tokens, TOKENS_OUT, 1);
      return this.#core.recvWaitEnd(this.offset, this.generation) !== CLAIMED;
    }, () => true); // settled: withdrawn by the settler
  }

  /** Rendezvous: a token published by `offerToken` was spent on the message taken. */
  spendToken(): void {
    if (this.tokens !== null) Atomics.sub(this.tokens, TOKENS_OUT, 1);
  }

  /**
   * Rendezvous: a message taken with no token out was admitted by another receiver's token:
   * gives one back (see `recvWaitEnd` in the core). Not counted as this thread's.
   */
  returnToken(): void {
    this.#core.recvWaitBegin(this.offset, this.generation);
  }

  /**
   * For a thread settling the receivers of one that ended under `lifeline`: withdraws the
   * rendezvous tokens they had out (counted there by `offerToken`).
   */
  withdrawTokensOf(lifeline: Int32Array): void {
    const out = Atomics.exchange(lifeline, TOKENS_OUT, 0);
    for (let i = 0; i < out; i++) this.#core.recvWaitEnd(this.offset, this.generation);
  }

  /** Wakes every thread parked on either word (they re-check their condition). */
  wakeAll(): void {
    SharedChannel.wakeAll(this.mapped.memory, this.offset, this.generation);
  }

  /**
   * Wakes every thread parked on either word of the channel at `offset` (of `generation`) in
   * `memory` (for a terminator, whose thread holds no end of it: through this thread's view of
   * the memory). A channel gone since is only notified: nothing is written.
   */
  static wakeAll(memory: WebAssembly.Memory, offset: number, generation: number): void {
    const view = mapped(memory);
    // Selectors too (they sleep on the arena's word): a select over a receiver closed now, or
    // over a channel found corrupted, looks again.
    const select = (ARENA + CORE.ARENA_SELECT) >> 2;
    Atomics.notify(view.i32(select), select);
    if (view.core.wakeAll(offset, generation) === OK) return;
    // No write into blocks that may be another channel's now: waking costs sleepers a look.
    const last = (offset + CORE.SPACE_SEQ) >> 2;
    const words = view.i32(last);
    if (offset < 0 || last >= words.length) return;
    Atomics.notify(words, (offset + CORE.DATA_SEQ) >> 2);
    Atomics.notify(words, last);
  }

  // ── Producing.

  /** A view of the memory covering `[0, end)`. */
  #view(end: number): Uint8Array {
    return this.mapped.u8(end);
  }

  /**
   * Enqueues one encoded message (`bytes`, or its `length` bytes from `start`) on behalf of
   * sender `owner`.
   * @returns OK, FULL, DISCONNECTED, TOO_LARGE, NO_MEMORY, ARENA_FULL or GROW_FAILED.
   */
  push(bytes: Uint8Array, owner: number, start = 0, length = bytes.length): PushStatus {
    const at = this.#claim(length, owner);
    if (at < CORE.FIRST_OFFSET) return at as PushStatus;
    try {
      const u8 = this.#view(at + length);
      if (length <= 16) {
        for (let i = 0; i < length; i++) u8[at + i] = bytes[start + i];
      } else {
        u8.set(
          start === 0 && length === bytes.length ? bytes : bytes.subarray(start, start + length),
          at,
        );
      }
    } catch (error) {
      this.#unclaim(this.#core.cancel(this.offset, this.generation, at, owner, length));
      throw error;
    }
    this.#unclaim(this.#core.commit(this.offset, this.generation, at, owner, length));
    return OK;
  }

  /**
   * Enqueues messages `from` … `to - 1` of a batch — message `i` is `buffer`'s bytes from
   * `bounds[i]` to `bounds[i + 1]` — in one claim, published at once (`commitBatch` in
   * assembly/producer.ts), on behalf of sender `owner`. Unbounded channels only.
   * @returns as `push`, for all of them.
   */
  pushBatch(
    buffer: Uint8Array,
    bounds: readonly number[],
    from: number,
    to: number,
    owner: number,
  ): PushStatus {
    let total = 0;
    for (let i = from; i < to; i++) total += align8(HEADER + bounds[i + 1] - bounds[i]);
    const length = total - HEADER;
    const at = this.#claim(length, owner);
    if (at < CORE.FIRST_OFFSET) return at as PushStatus;
    const core = this.#core;
    try {
      const record = at - HEADER;
      const u8 = this.#view(record + total);
      const i32 = this.mapped.i32((record + total) >> 2);
      let r = record;
      for (let i = from; i < to; i++) {
        const start = bounds[i];
        const n = bounds[i + 1] - start;
        if (i > from) i32[r >> 2] = n; // its header slot: the core writes the header
        const p = r + HEADER;
        if (n <= 16) { for (let k = 0; k < n; k++) u8[p + k] = buffer[start + k]; }
        else u8.set(buffer.subarray(start, start + n), p);
        r += align8(HEADER + n);
      }
    } catch (error) {
      this.#unclaim(core.cancel(this.offset, this.generation, at, owner, length));
      throw error;
    }
    const first = bounds[from + 1] - bounds[from];
    const status = core.commitBatch(
      this.offset,
      this.generation,
      at,
      owner,
      length,
      first,
      to - from,
    );
    if (status === CORE.INVALID) {
      this.#unclaim(core.cancel(this.offset, this.generation, at, owner, length));
      throw new Error("Internal error: a batch that does not fill its claim");
    }
    this.#unclaim(status);
    return OK;
  }

  /**
   * Enqueues a message that carries ends (see _carry.ts) on behalf of sender `owner`: claims
   * `length` bytes, has `write(at)` write them, then in one uncuttable step (see `uncut`) has
   * `away()` take the ends off this thread and commits the message as one that carries ends.
   * If `write` throws, or `away()` finds this thread's ends settled by a terminator, the claim
   * is given up and nothing is sent.
   * @returns as `push`.
   * @throws what `write` throws; `AbortError` when this thread is being ended.
   */
  pushEnds(
    length: number,
    owner: number,
    write: (at: number) => void,
    away: () => boolean,
  ): PushStatus {
    const at = this.#claim(length, owner);
    if (at < CORE.FIRST_OFFSET) return at as PushStatus;
    const core = this.#core;
    try {
      write(at);
    } catch (error) {
      this.#unclaim(core.cancel(this.offset, this.generation, at, owner, length));
      throw error;
    }
    const sent = uncut(() => {
      if (!away()) return false;
      this.#unclaim(core.commitEnds(this.offset, this.generation, at, owner, length));
      return true;
    }, () => false);
    if (!sent) {
      this.#unclaim(core.cancel(this.offset, this.generation, at, owner, length));
      throw terminated();
    }
    return OK;
  }

  /**
   * Enqueues `value` on behalf of sender `owner`, encoded in place by `encoder` into a claim of
   * `bound` bytes (`encoder.measure(value)`); only what it writes is published. If it throws, the
   * claim is given up and nothing is sent.
   * @returns OK, FULL, DISCONNECTED, TOO_LARGE, NO_MEMORY, ARENA_FULL or GROW_FAILED (for the
   * bound).
   */
  pushInto<T>(encoder: DirectEncoder<T>, value: T, bound: number, owner: number): PushStatus {
    const at = this.#claim(bound, owner);
    if (at < CORE.FIRST_OFFSET) return at as PushStatus;
    let end: number;
    try {
      end = encoder.encodeInto(value, this.#view(at + bound), at, bound);
    } catch (error) {
      this.#unclaim(this.#core.cancel(this.offset, this.generation, at, owner, bound));
      throw error;
    }
    const gen = this.generation;
    const status = this.#core.commitLength(this.offset, gen, at, owner, bound, end - at);
    if (status === CORE.INVALID) {
      this.#unclaim(this.#core.cancel(this.offset, gen, at, owner, bound));
      throw new Error(`Internal error: ${end - at} bytes written in place of at most ${bound}`);
    }
    this.#unclaim(status);
    return OK;
  }

  /**
   * Claims `length` bytes for `owner` and, for an adopted sender, tells a terminator where
   * (CLAIM_AT in _lifeline.ts).
   * Between the claim and its `commit` or `cancel` this thread is inside the channel (see
   * assembly/life.ts): its memory cannot go back to the arena under the payload being written.
   * @returns the payload's address, or FULL, DISCONNECTED, TOO_LARGE, NO_MEMORY, ARENA_FULL or
   * GROW_FAILED.
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
    if (at < CORE.FIRST_OFFSET) {
      if (at === CORRUPTED) this.corrupted();
      if (at === STALE || at === CORE.INVALID) this.#stale();
      return at;
    }
    if (claims !== null) {
      // Published before this thread looks at its lifeline again, while a terminator cuts the
      // lifeline before it reads this: either the terminator finds the claim (and marks it
      // dead), or this thread finds the cut (and gives the claim up itself).
      Atomics.store(claims, CLAIM_AT, at);
      if (Atomics.load(claims, CUT) !== 0) {
        this.#unclaim(this.#core.cancel(this.offset, this.generation, at, owner, length));
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
    this.#core.corrupt(this.offset, this.generation);
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
    let at = this.#core.reserve(this.offset, this.generation, length, owner);
    if (at !== BUSY) return at;
    const deadline = performance.now() + SEALER_PATIENCE_MS;
    const space = (this.offset + CORE.SPACE_SEQ) >> 2;
    do {
      const i32 = this.mapped.i32(space);
      nap(i32, space, Atomics.load(i32, space), 1);
      at = this.#core.reserve(this.offset, this.generation, length, owner);
    } while (at === BUSY && performance.now() < deadline);
    return at === BUSY ? FULL : at;
  }

  // ── Consuming.

  /**
   * Takes and decodes the next message. A claim at the head that is still being written is
   * spun on briefly (most writes take nanoseconds); if it stays unfinished, its producer was
   * preempted between reserve and commit, or died there — then whoever saw it die reported it
   * (see _settlement.ts) and `unblock` skips it.
   * The message is consumed even when `decode` throws; the error is rethrown. Between `peek` and
   * `release` this thread is inside the channel (see assembly/life.ts): its memory cannot go
   * back to the arena under the decode — and if the channel turns out gone (a worker terminated
   * meanwhile), `release` says so and the decoded value is dropped.
   * @returns the message, or PULL_EMPTY, PULL_DISCONNECTED, or PULL_BUSY (the head claim stayed
   * unfinished; callers wait).
   */
  pull<T>(codec: Codec<T>): T | PullStatus {
    const core = this.#core;
    const ch = this.offset;
    const gen = this.generation;
    const token = this.#token === 0 ? this.token : this.#token;
    // `#head`, inline: the path of every receive.
    let at = core.peek(ch, gen, token);
    if (at < CORE.FIRST_OFFSET) {
      const head = this.#head(token, at);
      if (typeof head !== "number") return head;
      at = head;
    } else if (this.#deadSince !== 0 || this.#holderDeadSince !== 0) {
      this.#deadSince = this.#holderDeadSince = 0;
    }
    const length = core.peekLength();
    if (length >= PEEK_ENDS) return carriedPull!(this, codec, at, length - PEEK_ENDS);
    const u8 = this.#view(at + length);
    try {
      return codec.decodeFrom !== undefined
        ? codec.decodeFrom(u8, at, at + length)
        : codec.decode(u8.subarray(at, at + length));
    } finally {
      this.#status(core.release(ch, gen, token));
    }
  }

  /**
   * Takes the next message into `target` when it is a `Uint8Array` that fits (see
   * `Codec.decodeInto`; a codec without it decodes in full and the result is copied). A message
   * that is not one, or does not fit, or carries ends, stays in the channel: `into` reports it.
   * A message the codec fails to decode is consumed, its error rethrown (as `pull`).
   * @returns the bytes written; PULL_EMPTY, PULL_DISCONNECTED or PULL_BUSY; or, the message
   * left unconsumed, NOT_BYTES or `-2 - n` (a message of `n` bytes, more than `target` holds).
   */
  pullInto<T>(codec: Codec<T>, target: Uint8Array): number | PullStatus {
    const core = this.#core;
    const ch = this.offset;
    const gen = this.generation;
    const token = this.#token === 0 ? this.token : this.#token;
    const at = this.#head(token);
    if (typeof at !== "number") return at;
    const length = core.peekLength();
    if (length >= PEEK_ENDS) {
      core.unpeek(ch, token);
      return NOT_BYTES;
    }
    const u8 = this.#view(at + length);
    let n: number;
    try {
      n = codec.decodeInto !== undefined ? codec.decodeInto(u8, at, at + length, target) : copyInto(
        codec.decodeFrom !== undefined
          ? codec.decodeFrom(u8, at, at + length)
          : codec.decode(u8.subarray(at, at + length)),
        target,
      );
    } catch (error) {
      if (abDetached.call(target.buffer)) {
        // Transferred away while the call waited: the copy failed, not the decode.
        core.unpeek(ch, token);
        throw new TypeError("Cannot receive into a Uint8Array whose buffer is detached");
      }
      this.#status(core.release(ch, gen, token));
      throw error;
    }
    const room = target.length;
    if (!(Number.isInteger(n) && (n === NOT_BYTES || n <= -3 - room || (n >= 0 && n <= room)))) {
      // Not an answer `decodeInto` can give: a failed decode (consumed, as any other).
      this.#status(core.release(ch, gen, token));
      throw new TypeError(
        `Codec "${codec.name}" answered ${String(n)} from decodeInto into ${room} bytes: not ` +
          `a count it can have written, NOT_BYTES (-1), nor -2 - n for n > ${room}`,
      );
    }
    if (n < 0) core.unpeek(ch, token);
    else this.#status(core.release(ch, gen, token));
    return n;
  }

  /**
   * Takes and decodes up to `limit` ready messages into `out` (at least one, or none: a
   * status), holding the head from the first to the last: one core call per message (see
   * `releaseNext` in assembly/consumer.ts). Stops early at a message that carries ends (taken
   * alone, by the next call) and where the next is not ready. A message the codec fails to
   * decode is consumed; its error is thrown if it was the first, else handed to `failed` (the
   * messages before it are delivered) and the batch ends there. The batch ends too once `open()`
   * says the receiver was closed (by a codec's decode): what it took so far is delivered.
   * @returns the number taken (≥ 1), or PULL_EMPTY, PULL_DISCONNECTED or PULL_BUSY.
   */
  pullMany<T>(
    codec: Codec<T>,
    limit: number,
    out: T[],
    failed: (error: unknown) => void,
    open: () => boolean,
  ): number | PullStatus {
    const core = this.#core;
    const ch = this.offset;
    const gen = this.generation;
    const token = this.#token === 0 ? this.token : this.#token;
    const head = this.#head(token);
    if (typeof head !== "number") return head;
    let at = head;
    let length = core.peekLength();
    if (length >= PEEK_ENDS) {
      out.push(carriedPull!(this, codec, at, length - PEEK_ENDS));
      return 1;
    }
    const from = codec.decodeFrom;
    let taken = 0;
    for (;;) {
      const u8 = this.#view(at + length);
      let value: T;
      try {
        value = from !== undefined
          ? from.call(codec, u8, at, at + length)
          : codec.decode(u8.subarray(at, at + length));
      } catch (error) {
        this.#status(core.release(ch, gen, token));
        if (taken === 0) throw error;
        failed(error);
        return taken;
      }
      out.push(value);
      if (++taken === limit || !open()) {
        this.#status(core.release(ch, gen, token));
        return taken;
      }
      at = core.releaseNext(ch, gen, token);
      if (at < CORE.FIRST_OFFSET) {
        // Let go: consumed, and nothing (ready) after it.
        if (at === CORRUPTED) this.corrupted();
        if (at === STALE || at === CORE.INVALID) this.#stale();
        return taken;
      }
      length = core.peekLength();
      if (length >= PEEK_ENDS) {
        core.unpeek(ch, token); // taken alone, by the next call
        return taken;
      }
    }
  }

  /**
   * Peeks the next message for `pull` and `pullMany`: its payload's address (this thread then
   * holds the head: release it), or what to report instead.
   * @throws ChannelCorruptedError; AbortError for a stale end in a terminated worker.
   */
  #head(token: number, peeked?: number): number | PullStatus {
    let at = peeked ?? this.#core.peek(this.offset, this.generation, token);
    if (at === BUSY || at === LOCKED) {
      at = this.#contended(at, token);
      if (at === BUSY) return PULL_BUSY;
    } else if (this.#deadSince !== 0 || this.#holderDeadSince !== 0) {
      this.#deadSince = this.#holderDeadSince = 0;
    }
    if (at >= CORE.FIRST_OFFSET) return at;
    if (at === CORRUPTED) this.corrupted();
    if (at === STALE || at === CORE.INVALID) this.#stale();
    return at === DISCONNECTED ? PULL_DISCONNECTED : PULL_EMPTY;
  }

  /**
   * `pull`'s slow path, for a peek that found the next message unfinished (BUSY) or another
   * receiver at the head (LOCKED): spins on it briefly (most writes and decodes take
   * nanoseconds to microseconds); then skips a claim nobody will finish (see `#unblock`), or
   * takes over the consumer lock from a receiver found dead, once that has lasted a grace
   * period (a terminated worker may still be decoding). A receiver that waits for a live one
   * is woken by it as it lets go, if a message is left (see `letGoHead` in the core).
   * @returns what the last peek returned; BUSY if it stays unfinished or held.
   * @throws {TypeError} for a receive from inside the decode of this channel's own message.
   */
  #contended(at: number, token: number): number {
    const core = this.#core;
    const ch = this.offset;
    const gen = this.generation;
    const holder = (ch + CORE.CONS_HOLDER) >> 2;
    for (let spins = 0; at === BUSY || at === LOCKED; spins++) {
      // Held by this very receiver (or a clone of it in this thread): a receive from a codec's
      // decode of one of the channel's own messages, which would wait for itself.
      if (at === LOCKED && (Atomics.load(this.mapped.i32(holder), holder) & TOKEN_MASK) === token) {
        throw new TypeError(
          "Cannot receive from a channel inside the decode of one of its own messages",
        );
      }
      if (spins === BUSY_SPINS) {
        if (at === LOCKED) {
          at = this.#takeOver(token);
          return at === LOCKED ? BUSY : at;
        }
        if (this.#unblock()) {
          spins = 0;
          at = core.peek(ch, gen, token);
          continue;
        }
        return BUSY;
      }
      // Held: look without writing (a CAS would take the line from the holder) until it is free.
      if (at === LOCKED && Atomics.load(this.mapped.i32(holder), holder) !== 0) continue;
      at = core.peek(ch, gen, token);
    }
    this.#deadSince = this.#holderDeadSince = 0;
    return at;
  }

  /**
   * The consumer lock stayed held: if by a receiver found dead (see `settleHolder`) for longer
   * than the grace period, takes it over and peeks. @returns the peek's status, or LOCKED.
   */
  #takeOver(token: number): number {
    const core = this.#core;
    if (core.holderDead(this.offset, this.generation) === 0) {
      this.#holderDeadSince = 0;
      return LOCKED;
    }
    const now = performance.now();
    if (this.#holderDeadSince === 0) this.#holderDeadSince = now;
    if (now - this.#holderDeadSince <= UNBLOCK_AFTER_MS) return LOCKED;
    this.#holderDeadSince = 0;
    return core.peekDead(this.offset, this.generation, token);
  }

  /**
   * Skips a claim at the head that nobody will finish (its producer was reported dead, or no
   * sender is left) — only a while after that was first seen: a dying worker may still be
   * writing into it.
   * @returns whether a claim was skipped.
   */
  #unblock(): boolean {
    const core = this.#core;
    const dead = core.headDead(this.offset, this.generation, this.#token);
    if (dead > 1) this.#status(dead);
    if (dead === 0) {
      this.#deadSince = 0;
      return false;
    }
    const now = performance.now();
    const grace = UNBLOCK_AFTER_MS + core.peekLength() / UNBLOCK_BYTES_PER_MS;
    if (this.#deadSince === 0) this.#deadSince = now;
    else if (now - this.#deadSince > grace) {
      const status = core.unblock(this.offset, this.generation, this.#token);
      if (status !== OK && status !== BUSY) this.#status(status);
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
      const i32 = this.mapped.i32(data);
      nap(i32, data, Atomics.load(i32, data), 0.1);
      pulled = this.pull(codec);
    } while (pulled === PULL_BUSY && performance.now() < deadline);
    return pulled === PULL_BUSY ? PULL_EMPTY : pulled;
  }

  /** @returns whether `pull` has something to report: a message, disconnection, corruption. */
  ready(): boolean {
    const token = this.token;
    const at = this.#core.peek(this.offset, this.generation, token);
    if (at >= CORE.FIRST_OFFSET) {
      this.#core.unpeek(this.offset, token); // looked, not taken
      return true;
    }
    return at === DISCONNECTED || at === CORRUPTED || at === STALE;
  }

  /**
   * Whether the record at the head is published, reading only its header — not the tail,
   * which producers write on every claim. For spinning; `pull` tells the rest.
   */
  poll(): boolean {
    return this.#core.poll(this.offset, this.generation, this.#token) !== 0;
  }
}

/**
 * How often a blocking call of this thread was woken by a notify (not by its timeout, nor by a
 * word that changed before it slept): for tests of who gets woken (several receivers: one per
 * message). Internal.
 */
export const parkStats = { woken: 0 };

/** One of a channel's wait words, with its waiter count (see "Waiting" in assembly/wait.ts). */
class WordPark implements Park {
  #chan: SharedChannel;
  #core: Core;
  #index: number;
  #data: boolean;

  constructor(chan: SharedChannel, word: number, data: boolean) {
    this.#chan = chan;
    this.#core = chan.mapped.core;
    this.#index = word >> 2;
    this.#data = data;
  }

  begin(): number {
    const { offset, generation } = this.#chan;
    return this.#data
      ? this.#core.waitDataBegin(offset, generation)
      : this.#core.waitSpaceBegin(offset, generation);
  }

  end(): void {
    const { offset, generation } = this.#chan;
    if (this.#data) this.#core.waitDataEnd(offset, generation);
    else this.#core.waitSpaceEnd(offset, generation);
  }

  sleep(seq: number, deadline: number): void {
    const ms = Math.min(deadline - performance.now(), SLICE_MS);
    if (ms > 0 && Atomics.wait(this.#chan.mapped.i32(this.#index), this.#index, seq, ms) === "ok") {
      parkStats.woken++;
    }
    assertAlive();
  }

  async sleepAsync(seq: number, ms: number): Promise<boolean> {
    const i32 = this.#chan.mapped.i32(this.#index);
    const result = Atomics.waitAsync(i32, this.#index, seq, ms);
    if (!result.async) return false;
    if (await result.value === "ok") parkStats.woken++;
    return true;
  }

  wake(): void {
    this.#chan.wakeAll();
  }
}

/** The cap of the arena `view` maps, in bytes. */
export function capOf(view: Mapped): number {
  return Atomics.load(view.i32((ARENA + CORE.ARENA_CAP) >> 2), (ARENA + CORE.ARENA_CAP) >> 2);
}

/** Throws the arena-wide `ChannelCorruptedError` if the arena `view` maps was found corrupted. */
function arenaCorrupted(view: Mapped, id: number): void {
  const check = view.core.arenaCorrupted(ARENA);
  if (check === 0) return;
  throw new ChannelCorruptedError(
    id,
    `the arena of channels it lives in was overwritten (arena check ${check} failed): every ` +
      `channel in that shared memory is unusable`,
  );
}
