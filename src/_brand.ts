/**
 * Marks the objects that are live channel ends (`Sender`, `Receiver`), so that a codec can refuse
 * to encode one inside a message: it would arrive as a plain object, detached from its channel.
 * Internal.
 *
 * @module
 */

const ends = new WeakSet<object>();

/** Marks `end` as a live channel end (called by the ends' constructors). */
export function markEnd(end: object): void {
  ends.add(end);
}

/** @returns whether `value` is a channel end (open, closed or transferred alike). */
export function isEnd(value: object): boolean {
  return ends.has(value);
}

/** The error a codec throws for an end found inside a message. */
export function endCloneError(): DOMException {
  return new DOMException(
    "Cannot send a channel end inside a message: move it with transfer() and postMessage instead",
    "DataCloneError",
  );
}
