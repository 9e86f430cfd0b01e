/**
 * This thread's links to the threads above it, if `spawn` started it: the words it shares with
 * its parent, and a port to its parent and to each thread above that, on which it reports every
 * end it comes to hold, so that whichever of them ends it (directly, or by ending a thread in
 * between) can settle those ends, however they arrived here. Internal.
 *
 * Protocol. A thread posts each report to every port above it, then counts it in REPORTED, so
 * every port above carries the same number of reports. A thread that ends a spawned thread
 * stores CUT in its words (every later channel call there throws `AbortError`), waits until
 * BUSY is 0, stops it, and before it settles waits until it has received as many reports from
 * it as REPORTED says were posted.
 *
 * BUSY makes the steps that must not be cut in half — adopting an end and reporting it, settling
 * the thread's own ends, announcing a new worker — atomic with respect to being stopped (Node
 * and Bun stop a worker between any two instructions). The thread adds 1 to BUSY, then loads
 * CUT; the ender stores CUT, then loads BUSY. All four are sequentially consistent, so at least
 * one of them sees the other: either the thread sees CUT and does not start (its ender settles
 * what it holds), or the ender sees BUSY and waits until the step is over.
 *
 * A thread's own workers stop when it stops: before it ends of its own accord, it cuts them
 * the same way (see `cutBelow`); a thread that ends it cuts every thread below it first.
 *
 * @module
 */
import { nap } from "./_wait.ts";

/** Index of the "this thread was ended by a thread above it" flag. */
export const T_CUT = 0;
/** Index of the number of reports this thread has posted (to each port above it). */
export const T_REPORTED = 1;
/** Index of the "this thread has posted its outcome" flag (set after posting it). */
export const T_DONE = 2;
/** Index of the number of uncuttable steps in progress in this thread (see above). */
export const T_BUSY = 3;
/**
 * Index of the thread's random id: the words arrive as a new object with every message, so
 * threads are told apart by this.
 */
export const T_ID = 4;
/** Words shared by a thread and the threads above it. */
export const THREAD_WORDS = 5;

/** Words for a new thread, with a random id. */
export function threadWords(): Int32Array {
  const words = new Int32Array(new SharedArrayBuffer(THREAD_WORDS * 4));
  words[T_ID] = crypto.getRandomValues(new Int32Array(1))[0];
  return words;
}

/**
 * Longest wait for a thread's step in progress: synchronous code, microseconds, but settling
 * thousands of ends takes a while.
 */
export const BUSY_PATIENCE_MS = 5000;

/** What a thread reports of an end it holds: enough for a thread above to settle it. */
export interface Report {
  readonly kind: "sender" | "receiver";
  readonly memory: WebAssembly.Memory;
  readonly claim: Int32Array;
  readonly lifeline: Int32Array;
}

/** What a thread tells the threads above it when it spawns a worker: the worker's words. */
export interface Announcement {
  readonly thread: Int32Array;
  /** Where the new worker's reports arrive. */
  readonly port: MessagePort;
}

/** What a thread tells the threads above it when threads below it are over and settled. */
export interface Gone {
  /** Their ids (T_ID). */
  readonly gone: number[];
}

interface Links {
  words: Int32Array;
  /** To the parent first, then to each thread above it, nearest first. */
  ports: MessagePort[];
}

let links: Links | null = null;

/** Links this thread to the threads above it (once, by the spawn entry module). */
export function linkParent(words: Int32Array, ports: MessagePort[]): void {
  links = { words, ports };
}

/** The words shared with this thread's parent, or null if `spawn` did not start this thread. */
export function parentWords(): Int32Array | null {
  return links?.words ?? null;
}

/** Whether `spawn` started this thread (its ends are then reported to the threads above). */
export function spawned(): boolean {
  return links !== null;
}

/** Notes that this thread has posted its outcome to its parent (see T_DONE). */
export function posted(): void {
  if (links !== null) Atomics.store(links.words, T_DONE, 1);
}

/**
 * Runs `step` so that it is not cut in half by this thread being stopped (see BUSY above); in a
 * thread `spawn` did not start, just runs it.
 * @returns `step`'s result, or `cut()`'s if a thread above has begun to end this one.
 */
export function uncut<T>(step: () => T, cut: () => T): T {
  // A step inside a step is part of it: the outer one decided, and holds BUSY.
  if (links === null || depth > 0) return step();
  const words = links.words;
  Atomics.add(words, T_BUSY, 1);
  depth++;
  try {
    return Atomics.load(words, T_CUT) !== 0 ? cut() : step();
  } finally {
    depth--;
    if (Atomics.sub(words, T_BUSY, 1) === 1) Atomics.notify(words, T_BUSY);
  }
}

/** How many uncuttable steps this thread is inside (see `uncut`). */
let depth = 0;

/** Tells the threads above this one of an end held here (no-op if `spawn` did not start it). */
export function report(end: Report): void {
  if (links === null) return;
  const { kind, memory, claim, lifeline } = end;
  for (const port of links.ports) port.postMessage({ kind, memory, claim, lifeline });
  Atomics.add(links.words, T_REPORTED, 1);
}

/**
 * Tells the threads above this one of a table of slots that will hold the ends it makes or
 * receives (see _slots.ts): reported once, read by them only when they settle this thread.
 */
export function reportTable(table: { table: Int32Array; memory: WebAssembly.Memory }): void {
  if (links === null) return;
  for (const port of links.ports) port.postMessage(table);
  Atomics.add(links.words, T_REPORTED, 1);
}

/**
 * Tells the threads above this one of a worker it spawns, whose words are `thread`.
 * @returns a port to each of them, for the new worker's reports (nearest first).
 */
export function announce(thread: Int32Array): MessagePort[] {
  if (links === null) return [];
  const ports = links.ports.map((above) => {
    const { port1, port2 } = new MessageChannel();
    above.postMessage({ thread, port: port1 } satisfies Announcement, [port1]);
    return port2;
  });
  Atomics.add(links.words, T_REPORTED, 1);
  return ports;
}

/**
 * Tells the threads above this one that the threads with ids `threads`, below it, are over and
 * everything they reported is settled: they may forget them. Not a report (not counted): a
 * thread stopped before it could say so is forgotten when it is settled itself.
 */
export function forget(threads: number[]): void {
  if (links === null || threads.length === 0) return;
  for (const port of links.ports) port.postMessage({ gone: threads } satisfies Gone);
}

/** Words of the threads below this one that have not been settled yet, by id. */
const below = new Map<number, Int32Array>();

/** Notes a thread below this one (see `cutBelow`). */
export function noteBelow(words: Int32Array): void {
  below.set(words[T_ID], words);
}

/** How many threads below this one are not settled yet (for tests). */
export function belowCount(): number {
  return below.size;
}

/** Notes that the threads with ids `threads`, below this one, are over. */
export function forgetBelow(threads: Iterable<number>): void {
  for (const id of threads) below.delete(id);
}

/**
 * Cuts `threads` (every later channel call in them throws `AbortError`) and waits until none is
 * in an uncuttable step. In a thread that cannot block, returns whether they are all out of one
 * without waiting.
 * @returns whether they are; false if one was still in a step after BUSY_PATIENCE_MS.
 */
export function cut(threads: Iterable<Int32Array>, block: boolean): boolean {
  const list = [...threads];
  for (const words of list) Atomics.store(words, T_CUT, 1);
  const deadline = performance.now() + BUSY_PATIENCE_MS;
  for (const words of list) {
    for (let busy = Atomics.load(words, T_BUSY); busy !== 0; busy = Atomics.load(words, T_BUSY)) {
      if (!block || performance.now() >= deadline) return false;
      nap(words, T_BUSY, busy, 10);
    }
  }
  return true;
}

/**
 * Before this thread ends of its own accord: cuts every thread below it, which the runtime is
 * about to stop with it, so that none is stopped in the middle of a step.
 */
export function cutBelow(): void {
  cut(below.values(), true);
}
