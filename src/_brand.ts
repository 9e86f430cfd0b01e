/**
 * Marks the objects that are live channel ends (`Sender`, `Receiver`), so that a codec can refuse
 * to encode one inside a message (it would arrive as a plain object, detached from its channel)
 * and so that `spawn` can move the ends it finds in a worker's data. Internal.
 *
 * @module
 */
import type { EndHandle } from "./handle.ts";

/** How `spawn` moves an end into a handle, in two steps (see `End.prepare`). */
export interface Mover {
  /** @returns why the end cannot move now (closed, transferred, calls pending), or null. */
  blocker(): string | null;
  /** A handle for the end, which stays usable until `commit()`. */
  prepare(): EndHandle;
  /** The end has moved: the object becomes unusable, as after `transfer()`. */
  commit(): void;
}

const ends = new WeakMap<object, Mover | null>();

/** Marks `end` as a live channel end (called by the ends' constructors). */
export function markEnd(end: object, mover: Mover | null = null): void {
  ends.set(end, mover);
}

/** @returns whether `value` is a channel end (open, closed or transferred alike). */
export function isEnd(value: object): boolean {
  return ends.has(value);
}

/** @returns how to move the channel end `end`, or null if it is not one. */
export function moverOf(end: object): Mover | null {
  return ends.get(end) ?? null;
}

/** The error a codec throws for an end found inside a message. */
export function endCloneError(): DOMException {
  return new DOMException(
    "Cannot send a channel end inside a message: move it with transfer() and postMessage instead",
    "DataCloneError",
  );
}
