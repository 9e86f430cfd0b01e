/**
 * This thread's link to the thread that spawned it, if `spawn` started it: the words they share
 * and the port on which this thread reports every end it comes to hold, so that its parent can
 * settle those ends when this thread ends, however they arrived here. Internal.
 *
 * Protocol: this thread posts a report, then counts it in REPORTED. A parent that ends this
 * thread stores CUT (every later call here throws `AbortError`), and before it settles waits
 * until it has received as many reports as REPORTED says were posted. A report posted whose
 * count this thread did not live to add still arrives, and is settled on arrival.
 *
 * @module
 */

/** Index of the "this thread was ended by its parent" flag. */
export const T_CUT = 0;
/** Index of the number of reports this thread has posted. */
export const T_REPORTED = 1;
/** Index of the "this thread has posted its outcome" flag (set after posting it). */
export const T_DONE = 2;
/** Words shared by a parent and the thread it spawned. */
export const THREAD_WORDS = 3;

/** What a thread reports of an end it holds: enough for its parent to settle it. */
export interface Report {
  readonly kind: "sender" | "receiver";
  readonly memory: WebAssembly.Memory;
  readonly claim: Int32Array;
  readonly lifeline: Int32Array;
}

interface ParentLink {
  words: Int32Array;
  port: MessagePort;
}

let parent: ParentLink | null = null;

/** Links this thread to the thread that spawned it (once, by the spawn entry module). */
export function linkParent(words: Int32Array, port: MessagePort): void {
  parent = { words, port };
}

/** The words shared with this thread's parent, or null if `spawn` did not start this thread. */
export function parentWords(): Int32Array | null {
  return parent?.words ?? null;
}

/** Whether `spawn` started this thread (its ends are then reported to its parent). */
export function spawned(): boolean {
  return parent !== null;
}

/** Notes that this thread has posted its outcome to its parent (see T_DONE). */
export function posted(): void {
  if (parent !== null) Atomics.store(parent.words, T_DONE, 1);
}

/** Tells this thread's parent about an end held here (no-op if `spawn` did not start it). */
export function report(end: Report): void {
  if (parent === null) return;
  const { kind, memory, claim, lifeline } = end;
  parent.port.postMessage({ kind, memory, claim, lifeline });
  Atomics.add(parent.words, T_REPORTED, 1);
}
