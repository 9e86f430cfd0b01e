/**
 * Marks the objects that are live channel ends (`Sender`, `Receiver`), so that a codec can refuse
 * to encode one inside a message (it would arrive as a plain object, detached from its channel)
 * and so that `spawn` can move the ends it finds in a worker's data. Internal.
 *
 * @module
 */
import type { EndHandle } from "./handle.ts";
import type { SharedChannel } from "./_shared_channel.ts";
import { VERSION } from "./_version.ts";

/**
 * Every copy of the library marks its `Sender` and `Receiver` prototypes with this registered
 * symbol (value: its version), so that an end of another copy in the same thread — a bundle
 * beside the source, another release — is recognised as an end, not copied as a plain object.
 */
export const END_BRAND: unique symbol = Symbol.for("@wasmring/mpsc/end") as never;

/**
 * Where this copy's end classes keep how to move their ends (a symbol no other copy knows): on
 * the prototype, so that making an end costs nothing here — a `WeakMap` entry per end (its
 * mover, whose closures hold the end) cost ~2.7 µs per end in garbage collection, more than
 * the rest of making and closing a channel.
 */
const MOVER: unique symbol = Symbol("mover");

/**
 * Marks the prototype of an end class (once, at class definition), with how to move its ends:
 * `mover(end)` returns the end's `Mover`, or null for an object that only inherits from it.
 */
export function brandEndClass(proto: object, mover?: (end: object) => Mover | null): void {
  Object.defineProperty(proto, END_BRAND, { value: VERSION });
  if (mover !== undefined) Object.defineProperty(proto, MOVER, { value: mover });
}

/** How `spawn` moves an end into a handle, in two steps (see `End.prepare`). */
export interface Mover {
  /** @returns why the end cannot move now (closed, transferred, calls pending), or null. */
  blocker(): string | null;
  /** A handle for the end, which stays usable until `commit()`. */
  prepare(): EndHandle;
  /** The end has moved: the object becomes unusable, as after `transfer()`. */
  /** Marks the end moved into `handle` (from `prepare()`). */
  commit(handle: object): void;
  /** How the end travels inside a message sent through a channel (see _carry.ts). */
  carry(): CarriedEnd;
}

/** An end as a message carries it through a channel of its arena (see _carry.ts). */
export interface CarriedEnd {
  /** The end's channel. */
  readonly chan: SharedChannel;
  readonly kind: "sender" | "receiver";
  /** Flags its receiving thread needs (see ONESHOT in _carry.ts). */
  readonly flags: number;
  /** The name of its channel's codec. */
  readonly codec: string;
  /**
   * Lends the end to the message being sent: unusable here until `restore()` (the send failed)
   * or `away()` (it went).
   * @throws {TypeError} why it cannot move (closed, transferred, lent, calls pending).
   */
  lend(): void;
  /** The send failed: the end is usable again. */
  restore(): void;
  /**
   * The message is being committed (inside an uncuttable step): the end leaves this thread.
   * @returns false if a terminator settled it first (it is closed: the message must not go).
   */
  away(): boolean;
}

/** Objects marked as ends one by one (see `markEnd`). */
const ends = new WeakMap<object, Mover | null>();

/**
 * Marks the object `end` as a live channel end, moved by `mover` (for an object that is not of
 * an end class: the end classes mark their prototype, see `brandEndClass`).
 */
export function markEnd(end: object, mover: Mover | null = null): void {
  ends.set(end, mover);
}

/**
 * @returns whether `value` is a channel end (open, closed or transferred alike), of this copy of
 * the library or of another one.
 */
export function isEnd(value: object): boolean {
  return ends.has(value) || (value as { [END_BRAND]?: unknown })[END_BRAND] !== undefined;
}

/** @returns the version of the other copy of the library that made the end `value`, or null. */
export function foreignVersion(value: object): string | null {
  if (ends.has(value) || (value as { [MOVER]?: unknown })[MOVER] !== undefined) return null;
  const version = (value as { [END_BRAND]?: unknown })[END_BRAND];
  return version === undefined ? null : String(version);
}

/** @returns how to move the channel end `end`, or null if it is not one. */
export function moverOf(end: object): Mover | null {
  const mover = (end as { [MOVER]?: (end: object) => Mover | null })[MOVER];
  return mover !== undefined ? mover(end) : ends.get(end) ?? null;
}

/** The error a codec throws for an end found inside a message. */
export function endCloneError(): DOMException {
  return new DOMException(
    "Cannot send a channel end inside a message: move it with transfer() and postMessage instead",
    "DataCloneError",
  );
}
