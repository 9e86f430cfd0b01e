/**
 * Keeps the process alive while an async channel call is pending: Deno does not count a pending
 * `Atomics.waitAsync` as pending work, so a main module awaiting only a `recv()` would exit with
 * "Top-level await promise never resolved". A ref'd timer stands in for the wait, only while
 * something is pending. Internal.
 *
 * @module
 */

let pending = 0;
let timer: ReturnType<typeof setInterval> | undefined;

/** Marks one async call as pending. */
export function hold(): void {
  if (pending++ === 0) timer = setInterval(() => {}, 0x7fffffff);
}

/** Marks one async call as settled. */
export function release(): void {
  if (--pending === 0) {
    clearInterval(timer);
    timer = undefined;
  }
}
