/**
 * Channel ends carried inside messages: `jobs.send({ n, reply })` moves `reply` with the
 * message, and the thread that receives it gets a usable end. Internal.
 *
 * Sending: the structured codec hands every end it meets to `collect` (see `setEndSink`),
 * which refuses what cannot travel — an end of another arena (the receiving thread may not map
 * its memory), one that is closed, transferred or has async calls pending — with a
 * `DataCloneError` before anything is enqueued. The message is then written as a RECORD_ENDS
 * (see "Ends table" in assembly/layout.ts):
 *
 *   [ends table: count, entries (channel, generation, kind | flags)]
 *   [i32 length, then the ends' codec names as a JSON array (none: every end's codec is the
 *    default one), padded to 8 bytes]
 *   [the codec's bytes, where each end is an END tag and its index in the table]
 *
 * Until it is committed each end is lent (unusable, but still this thread's: a failed send gives
 * it back); the commit and the ends leaving this thread's accounts are one uncuttable step
 * (see `uncut` in _thread.ts). In flight, an end is counted in its channel and held by no
 * thread.
 *
 * Receiving: the receiving thread takes each entry by one CAS (the core's `takeEntry`), holds
 * the end as if it had made it (under its own lifeline when `spawn` started it: see `heldHere`),
 * and decodes with `withEndSource` putting the ends back in place. A receiver closed before it
 * takes them — by its thread, or for a thread that died — has the core drop every end still in
 * flight (`scanEnds` in assembly/ends.ts), without decoding anything.
 *
 * @module
 */
import { type CarriedEnd, endCloneError, foreignVersion, moverOf } from "./_brand.ts";
import { terminated } from "./_lifeline.ts";
import { type PushStatus, setCarriedPull, type SharedChannel } from "./_shared_channel.ts";
import { uncut } from "./_thread.ts";
import { VERSION } from "./_version.ts";
import { CORE } from "./_core.ts";
import { codecNamed } from "./codec/mod.ts";
import type { Codec } from "./codec/types.ts";
import { setEndSink, withEndSource } from "./codec/structured/mod.ts";

/** Flag of an entry: the end is a oneshot end (see oneshot.ts). */
export const ONESHOT = 4;

/**
 * How the receiving thread makes an end's public object, by kind (registered by each class): as
 * an end made here (`newSender`, `newReceiver`), held as `channel()`'s ends are.
 */
export interface Makers {
  sender?: (chan: SharedChannel, codec: Codec<unknown>) => object;
  receiver?: (chan: SharedChannel, codec: Codec<unknown>) => object;
  /** Wraps a sender or receiver of a oneshot channel (see oneshot.ts). */
  oneshot?: (end: object) => object;
}

/** The classes' makers: filled in as sender.ts, receiver.ts and oneshot.ts load. */
export const makers: Makers = {};

// ── Sending

/** The channel whose message is being encoded (for `collect`), or null. */
let carrier: SharedChannel | null = null;
/** The ends `collect` found in it, in the order of their indices (NONE: none yet). */
const NONE: CarriedEnd[] = [];
let found: CarriedEnd[] = NONE;
/** Their indices, by end object (made with `found`). */
let foundAt: Map<object, number> | null = null;
/**
 * Takes an end the encoder met: checks it can travel in the carrier's message. The structured
 * codec's sink for every encoding (see `setEndSink`): outside a channel's send, an end is the
 * DataCloneError it always was.
 */
function collect(end: object): number {
  if (carrier === null) throw endCloneError();
  const mover = moverOf(end);
  if (mover === null) {
    throw new DOMException(
      `A channel end from another copy of @wasmring/mpsc (${foreignVersion(end)}; this one is ` +
        `${VERSION}) cannot travel in a message: use one copy in every module`,
      "DataCloneError",
    );
  }
  if (found.length === CORE.MAX_ENDS) {
    throw new DOMException(
      `A message carries at most ${CORE.MAX_ENDS} channel ends`,
      "DataCloneError",
    );
  }
  // An end met again (by a codec that encodes the value twice): the index it has.
  const again = foundAt?.get(end);
  if (again !== undefined) return again;
  const carried = mover.carry();
  if (carried.chan.memory !== carrier!.memory) {
    throw new DOMException(
      `A ${carried.kind} can travel only in a message of a channel of its own arena, and this ` +
        `channel is ${
          carrier!.isolated ? "isolated" : "in another arena"
        }: move it with spawn() or transfer()`,
      "DataCloneError",
    );
  }
  if (found === NONE) {
    found = [];
    foundAt = new Map();
  }
  foundAt!.set(end, found.length);
  found.push(carried);
  return found.length - 1;
}

/**
 * Encodes `value` with `codec` for a message of `chan` by `encodeWith` (the sender's encoding:
 * see `encodedBytes` in sender.ts), taking the ends in it (see `takeCarried`).
 * @throws what the codec throws; `DataCloneError` for an end that cannot travel in it.
 */
export function encodeCarrying<T>(
  chan: SharedChannel,
  codec: Codec<T>,
  value: T,
  encodeWith: (codec: Codec<T>, value: T) => Uint8Array,
): Uint8Array {
  // Saved and restored: a getter of `value` may send on another channel meanwhile. (Locals,
  // and `found` made only when an end turns up: this runs on every message.)
  const outerCarrier = carrier;
  const outerFound = found;
  const outerFoundAt = foundAt;
  carrier = chan;
  found = NONE;
  foundAt = null;
  try {
    return encodeWith(codec, value);
  } finally {
    lastFound = found;
    carrier = outerCarrier;
    found = outerFound;
    foundAt = outerFoundAt;
  }
}

let lastFound: CarriedEnd[] = NONE;

/**
 * The ends the last `encodeCarrying` found, lent to the message (unusable until it is sent or
 * given back), or null if it found none.
 * @throws {TypeError} an end that cannot move now (closed meanwhile by a getter, lent to
 * another message, with calls pending): nothing is lent then.
 */
export function takeCarried(): CarriedEnd[] | null {
  const ends = lastFound;
  if (ends.length === 0) return null;
  lastFound = NONE;
  let lent = 0;
  try {
    for (; lent < ends.length; lent++) ends[lent].lend();
  } catch (error) {
    for (let i = 0; i < lent; i++) ends[i].restore();
    throw error;
  }
  return ends;
}

/** Gives the ends of a message that was not sent back to this thread. */
export function restoreCarried(ends: CarriedEnd[] | null): void {
  if (ends !== null) { for (const end of ends) end.restore(); }
}

/** Bytes of the ends table for `n` ends. */
function tableBytes(n: number): number {
  return CORE.ENDS_ENTRIES + n * CORE.ENTRY_SIZE;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/**
 * The layout of a message of `bytes` carrying `ends`: the names block and where the codec's
 * bytes start.
 */
function carriedLayout(
  ends: CarriedEnd[],
  bytes: number,
): { names: Uint8Array; start: number; length: number } {
  // No names when every end uses the default codec (the common case: 4 bytes of zero).
  const names = ends.every((end) => end.codec === DEFAULT_CODEC)
    ? NO_NAMES
    : textEncoder.encode(JSON.stringify(ends.map((end) => end.codec)));
  const start = (tableBytes(ends.length) + 4 + names.length + 7) & ~7;
  return { names, start, length: start + bytes };
}

/** The codec of an end whose message has no names block. */
const DEFAULT_CODEC = "structured";
const NO_NAMES = new Uint8Array(0);

/**
 * Writes the ends table and names of a message claimed at `at` in `chan` (its codec's bytes at
 * `at + start`).
 */
function writeCarried(
  chan: SharedChannel,
  at: number,
  ends: CarriedEnd[],
  names: Uint8Array,
): void {
  const core = chan.mapped.core;
  const i32 = chan.mapped.i32((at + CORE.ENDS_ENTRIES) >> 2);
  i32[(at + CORE.ENDS_COUNT) >> 2] = ends.length;
  ends.forEach((end, i) => {
    const kind = end.kind === "sender" ? CORE.END_SENDER : CORE.END_RECEIVER;
    const status = core.writeEntry(at, i, end.chan.offset, end.chan.generation, kind | end.flags);
    if (status !== CORE.OK) throw new Error(`Internal error: writeEntry status ${status}`);
  });
  const namesAt = at + tableBytes(ends.length);
  chan.mapped.i32(namesAt >> 2)[namesAt >> 2] = names.length;
  if (names.length > 0) chan.mapped.u8(namesAt + 4 + names.length).set(names, namesAt + 4);
}

/**
 * Enqueues the encoded `bytes` of a message that carries `ends` (lent to it) in `chan`, for
 * sender `owner` (see `SharedChannel.pushEnds`).
 * @returns as `SharedChannel.push`.
 */
export function pushCarried(
  chan: SharedChannel,
  bytes: Uint8Array,
  owner: number,
  ends: CarriedEnd[],
): PushStatus {
  const { names, start, length } = carriedLayout(ends, bytes.length);
  return chan.pushEnds(length, owner, (at) => {
    writeCarried(chan, at, ends, names);
    chan.mapped.u8(at + length).set(bytes, at + start);
  }, () => carryAway(ends));
}

/**
 * The carried ends leave this thread (inside the commit's uncuttable step).
 * @returns false if a terminator settled some of them first: then none may go (the caller gives
 * the claim up), and those that were counted off here are dropped.
 */
function carryAway(ends: CarriedEnd[]): boolean {
  const gone: CarriedEnd[] = [];
  let settled = false;
  for (const end of ends) {
    if (end.away()) gone.push(end);
    else settled = true;
  }
  if (!settled) return true;
  for (const end of gone) {
    if (end.kind === "sender") end.chan.dropSender();
    else end.chan.closeReceiver();
  }
  return false;
}

// ── Receiving

/**
 * Decodes a message that carries ends, peeked at `at` (`length` bytes) in `chan`: adopts them
 * (each entry by one CAS), then decodes with them in place. Called by `SharedChannel.pull`
 * between its peek and its release.
 * @returns the value, or `null` in place of each end a scan dropped first (only for a receiver
 * being closed for a thread that is ending: its caller throws anyway).
 * @throws {ChannelCorruptedError} a table that does not fit; `AbortError` when this thread is
 * being ended (nothing adopted: the ends stay in flight for the scan that closes its receiver);
 * {TypeError} an end whose custom codec this thread has not registered (its end is closed);
 * what the codec throws (the adopted ends are closed).
 */
function pullCarried<T>(chan: SharedChannel, codec: Codec<T>, at: number, length: number): T {
  let adopted = false;
  try {
    const core = chan.mapped.core;
    const count = core.peekEnds();
    if (count <= 0) chan.corrupted();
    const u8 = chan.mapped.u8(at + length);
    const namesAt = at + tableBytes(count);
    let names: unknown = null;
    let start = 0;
    try {
      const n = chan.mapped.i32(namesAt >> 2)[namesAt >> 2];
      start = (tableBytes(count) + 4 + n + 7) & ~7;
      if (n < 0 || start > length) throw new RangeError("names past the message");
      if (n > 0) {
        names = JSON.parse(textDecoder.decode(u8.slice(namesAt + 4, namesAt + 4 + n)));
        if (!Array.isArray(names) || names.length !== count) throw new RangeError("names");
      }
    } catch {
      core.corrupt(chan.offset, chan.generation);
      chan.corrupted();
    }
    const { ends, unknownCodec } = adopt(chan, count, names as unknown[] | null);
    adopted = true;
    if (unknownCodec !== null) {
      closeAll(ends);
      throw new TypeError(
        `Cannot receive: the message carries an end of a channel with the custom codec ` +
          `"${unknownCodec}", not registered in this thread; call registerCodec(codec) at the ` +
          `top level of a module this worker imports (the ends it carried are closed)`,
      );
    }
    const source = (index: number) => {
      if (index >= ends.length) throw new RangeError(`no end ${index} in the message`);
      return ends[index];
    };
    try {
      return withEndSource(
        source,
        () =>
          codec.decodeFrom !== undefined
            ? codec.decodeFrom(u8, at + start, at + length)
            : codec.decode(u8.subarray(at + start, at + length)),
      );
    } catch (error) {
      closeAll(ends);
      throw error;
    }
  } finally {
    // Consumed once its ends are this thread's; else left for the scan that closes this
    // receiver (this thread is being ended) or for nobody (the channel is corrupted).
    if (adopted) chan.releasePeeked();
    else chan.unpeek();
  }
}

/** Closes the ends adopted for a message that will not be delivered. */
function closeAll(ends: (object | null)[]): void {
  for (const end of ends) (end as { close?: () => void } | null)?.close?.();
}

/**
 * Adopts the `count` ends of the message peeked in `chan`, whose codecs are `names`.
 * @returns them (null for an end a scan dropped first, or whose channel is gone), and the first
 * custom codec this thread does not know (its end is closed), if any.
 * @throws `AbortError` when this thread is being ended: nothing was adopted.
 */
function adopt(
  chan: SharedChannel,
  count: number,
  names: unknown[] | null,
): { ends: (object | null)[]; unknownCodec: string | null } {
  const core = chan.mapped.core;
  const ends: (object | null)[] = [];
  let unknownCodec: string | null = null;
  uncut(() => {
    for (let i = 0; i < count; i++) {
      const low = core.takeEntry(i);
      if (low === -CORE.STALE) {
        ends.push(null);
        continue;
      }
      if (low < 0) {
        // Written over: the ends taken before it are this thread's now, and go with the message.
        closeAll(ends);
        chan.corrupted();
      }
      const kind = (low & 3) === CORE.END_SENDER ? "sender" : "receiver";
      const end = chan.openCarried(core.takenEnd(), core.takenEndGen());
      if (end === null) {
        // Taken, but its channel is gone or written over: nothing to hold.
        ends.push(null);
        continue;
      }
      const name = names === null ? DEFAULT_CODEC : names[i];
      const known = typeof name === "string" ? codecNamed(name) : undefined;
      // Held as an end made here; one whose codec is unknown here is closed at once.
      const made = makers[kind]!(end, known ?? codecNamed(DEFAULT_CODEC)!);
      if (known === undefined) {
        (made as { close(): void }).close();
        unknownCodec ??= String(name);
        ends.push(null);
        continue;
      }
      ends.push((low & ONESHOT) !== 0 ? makers.oneshot!(made) : made);
    }
  }, () => {
    throw terminated();
  });
  return { ends, unknownCodec };
}

setCarriedPull(pullCarried);
setEndSink(collect);
