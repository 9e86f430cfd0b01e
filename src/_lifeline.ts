/**
 * Workaround for Deno's `worker.terminate()` not stopping a worker that runs synchronous code
 * (denoland/deno#35657, seen on Deno 2.9.6): a worker blocked in `recvSync`/`sendSync` would keep
 * running, and the process would never exit.
 *
 * Every handle carries a *claim* (shared by all copies of the handle: adopted once, and the
 * owner id its senders write in their claims) and a *lifeline* (one per posting). The thread
 * that posts a handle to a worker remembers it; when that thread calls `worker.terminate()`, the
 * lifelines it posted to that worker are cut and the channels' waiters are woken. A thread that
 * adopted a handle checks its lifelines whenever a blocking call wakes (at least every 50 ms)
 * and, once one is cut, every blocking call there throws, so the worker unwinds to its event
 * loop, where Deno stops it.
 *
 * A worker that dies of an unhandled error is treated the same way: the error reaches the
 * parent's `Worker` object (Deno ends the worker either way), and a listener there does what
 * `terminate()` would.
 *
 * The same hook settles the dead worker's accounts, so that its peers do not wait for it for
 * ever: the senders it held are dropped (the receiver sees disconnection once the others are
 * gone), a receiver it held is closed (senders get `SendError`), and a claim its senders left
 * unfinished in the ring (they record where, CLAIM_AT) is marked dead, so that it is skipped. A lifeline counts the ends
 * its thread holds (HELD); whoever settles them takes that count with one CAS (to SETTLING), so
 * each end is settled exactly once, by its thread or by the terminator, and a terminator that
 * finds the worker settling its own ends waits until it is done. A handle the dead worker never
 * adopted is settled too, unless some other thread adopted it.
 *
 * Posting one handle to two workers is allowed (the second adoption throws); the second posting
 * gets a copy of the handle with its own lifeline, so that terminating the worker that did not
 * adopt it leaves the one that did alone.
 *
 * To see which worker a handle goes to and when it is terminated, this module wraps
 * `Worker.prototype.postMessage` and `Worker.prototype.terminate` in a thread as soon as it
 * holds a channel end (before any `transfer()`: `worker.postMessage(tx.transfer())` looks up
 * `postMessage` before it calls `transfer()`). The wrappers do nothing else: a message without
 * handles costs one WeakSet lookup (plus one per element for small arrays and plain objects).
 *
 * @module
 */
import { CORE, instantiate } from "./_core.ts";

const WORDS = [CORE.DATA_SEQ >> 2, CORE.SPACE_SEQ >> 2];
/** The `protocol` of handles (see handle.ts). */
const PROTOCOL = "@wasmring/mpsc@1";

/** Index of the "adopted" flag in a claim. */
export const ADOPTED = 0;
/** Index of the owner id that the adopting thread's senders write in their claims. */
export const OWNER = 1;
/** Index of the "worker terminated" flag in a lifeline. */
export const CUT = 0;
/**
 * Index of the count of ends the adopting thread holds (SETTLING, SETTLED: settled for it by a
 * terminator, or by its own `self.close()`).
 */
export const HELD = 1;
/** Index of a lifeline's random id, to recognise one this thread posted when it comes back. */
export const ID = 2;
/**
 * Index of where the adopting thread's senders have a claim in progress: its payload address,
 * or 0 (none; a stale address is harmless: `markDead` checks the claim is still there). A
 * terminator marks that claim dead (see `markDead` in assembly/ends.ts), so that the consumer
 * can skip it however many producers die. A sender stores it, then looks at CUT; a terminator
 * stores CUT, then reads it: one of them sees the other (see `Chan.#claim`).
 */
export const CLAIM_AT = 3;
/** Words of a lifeline. */
export const LIFELINE_WORDS = 4;
/** HELD once the ends have been settled. */
export const SETTLED = -1;
/** HELD while a thread settles the ends; SETTLED follows once their channels say so. */
export const SETTLING = -2;
/** Longest wait for another thread to finish settling (it runs synchronous code: microseconds). */
const SETTLING_PATIENCE_MS = 1000;

/** A handle as far as this module is concerned. */
export interface Lifelined {
  readonly kind: "sender" | "receiver";
  readonly claim: Int32Array;
  readonly lifeline: Int32Array;
  readonly memory: WebAssembly.Memory;
}

/** The handles adopted in this thread. */
const adopted: Lifelined[] = [];

/** Creates the claim of a new handle, whose senders will claim as `owner`. */
export function createClaim(owner: number): Int32Array {
  const claim = new Int32Array(new SharedArrayBuffer(8));
  claim[OWNER] = owner;
  return claim;
}

/** Creates a lifeline: nothing held yet, not cut. */
export function createLifeline(): Int32Array {
  const lifeline = new Int32Array(new SharedArrayBuffer(LIFELINE_WORDS * 4));
  lifeline[ID] = crypto.getRandomValues(new Int32Array(1))[0];
  return lifeline;
}

/**
 * Counts one more (`delta` = 1) or one fewer (-1) end held under `lifeline`.
 * @returns false if the terminator has settled the ends already (nothing to do then).
 */
export function adjustHeld(lifeline: Int32Array, delta: number): boolean {
  for (let held = Atomics.load(lifeline, HELD);;) {
    if (held < 0) return false; // SETTLING or SETTLED
    const seen = Atomics.compareExchange(lifeline, HELD, held, held + delta);
    if (seen === held) return true;
    held = seen;
  }
}

/**
 * Adopts `handle` in this thread: claims it (once, across all its copies) and counts the end
 * as held under its lifeline — or under a fresh one if its lifeline is one this thread posted
 * to a worker (the handle came back unadopted): terminating that worker must not touch it.
 * @returns the lifeline the end is held under, or an error message.
 */
export function claim(handle: Lifelined): Int32Array | string {
  if (Atomics.compareExchange(handle.claim, ADOPTED, 0, 1) !== 0) {
    return "this handle was already adopted";
  }
  if (postedIds.has(handle.lifeline[ID])) handle = { ...handle, lifeline: createLifeline() };
  if (!adjustHeld(handle.lifeline, 1)) {
    // The terminator settled this lifeline between our claim and now, and saw the handle as
    // adopted: the end is ours to close.
    closeEnds(handle, 1);
    return "the worker it was posted to was terminated";
  }
  // Forget handles whose ends are all closed or moved on (as a parent forgets them at its next
  // posting): `assertAlive` runs on every send and must not grow with the handles ever adopted.
  let kept = 0;
  for (const h of adopted) if (Atomics.load(h.lifeline, HELD) !== 0) adopted[kept++] = h;
  adopted.length = kept;
  adopted.push(handle);
  wrapClose();
  return handle.lifeline;
}

/** Throws an `AbortError` if this thread's worker was terminated. */
export function assertAlive(): void {
  for (let i = 0; i < adopted.length; i++) {
    if (Atomics.load(adopted[i].lifeline, CUT) !== 0) {
      throw new DOMException("Cannot use a channel: this worker was terminated", "AbortError");
    }
  }
}

const handles = new WeakSet<object>();
const posted = new WeakSet<object>();
/** Ids of the lifelines this thread posted to workers. */
const postedIds = new Set<number>();
const postedTo = new WeakMap<Worker, Lifelined[]>();
let installed = false;

/** Registers a handle created in this thread, so that posting it to a worker is noticed. */
export function track(handle: Lifelined): void {
  handles.add(handle);
}

/** Installs the wrappers in this thread (once); called whenever a channel end is made here. */
export function watchWorkers(): void {
  if (!installed && typeof Worker === "function") install();
}

/**
 * Finds the handles in `message` (top level, or among the first 16 entries of a top-level array
 * or plain object) and notes them in `found`.
 * @returns the message to post: `message` itself, or a shallow copy in which handles posted
 * before are replaced by copies with lifelines of their own.
 */
function handlesIn(message: unknown, found: Lifelined[]): unknown {
  if (typeof message !== "object" || message === null) return message;
  if (isHandle(message)) return note(message as Lifelined, found);
  if (Array.isArray(message)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < message.length && i < 16; i++) {
      if (!isHandle(message[i])) continue;
      const handle = note(message[i], found);
      if (handle !== message[i]) (copy ??= [...message])[i] = handle;
    }
    return copy ?? message;
  }
  if (Object.getPrototypeOf(message) === Object.prototype) {
    let copy: Record<string, unknown> | undefined;
    let n = 0;
    for (const key in message) {
      const value = (message as Record<string, unknown>)[key];
      if (isHandle(value)) {
        const handle = note(value as Lifelined, found);
        if (handle !== value) (copy ??= { ...message })[key] = handle;
      }
      if (++n === 16) break;
    }
    return copy ?? message;
  }
  return message;
}

/**
 * Whether `value` is a handle: one made here, or one received from another thread and being
 * forwarded (it gets a lifeline of its own: the one it came with belongs to this thread).
 */
function isHandle(value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  if (handles.has(value)) return true;
  const h = value as Partial<Lifelined> & { protocol?: unknown };
  if (h.protocol !== PROTOCOL || !(h.claim instanceof Int32Array)) return false;
  handles.add(value);
  posted.add(value); // forwarded: never under the lifeline it arrived with
  return true;
}

/** Notes a handle being posted. @returns the handle to post (a copy if it was posted before). */
function note(handle: Lifelined, found: Lifelined[]): Lifelined {
  if (posted.has(handle)) handle = { ...handle, lifeline: createLifeline() };
  posted.add(handle);
  postedIds.add(handle.lifeline[ID]);
  found.push(handle);
  return handle;
}

function install(): void {
  installed = true;
  const proto = Worker.prototype;
  const postMessage = proto.postMessage;
  const terminate = proto.terminate;
  proto.postMessage = function (this: Worker, message: unknown, ...rest: unknown[]) {
    const found: Lifelined[] = [];
    message = handlesIn(message, found);
    if (found.length > 0) {
      const list = postedTo.get(this);
      if (list) {
        // Forget handles whose ends were adopted and have all been closed or moved on: there
        // is nothing left to settle, and keeping them would keep their channels' memory.
        let kept = 0;
        for (const handle of list) if (!finished(handle)) list[kept++] = handle;
        list.length = kept;
        list.push(...found);
      } else {
        postedTo.set(this, found);
        // An error that reaches the parent was not handled in the worker, and Deno ends a
        // worker on an unhandled error: its ends are settled as if it were terminated.
        this.addEventListener("error", () => cutAll(this));
      }
    }
    // deno-lint-ignore no-explicit-any
    return (postMessage as any).call(this, message, ...rest);
  };
  proto.terminate = function (this: Worker) {
    cutAll(this);
    return terminate.call(this);
  };
}

/** Whether `handle` was adopted and every end held under its lifeline is gone. */
function finished(handle: Lifelined): boolean {
  return Atomics.load(handle.claim, ADOPTED) !== 0 && Atomics.load(handle.lifeline, HELD) === 0;
}

/** Cuts the lifelines of every handle posted to `worker` and settles the ends it held. */
function cutAll(worker: Worker): void {
  for (const handle of postedTo.get(worker) ?? []) {
    Atomics.store(handle.lifeline, CUT, 1);
    settle(handle);
    // Wake the worker if it sleeps on this channel; sleepers elsewhere wake within a slice.
    const words = new Int32Array(handle.memory.buffer, 0, 128);
    for (const word of WORDS) {
      Atomics.add(words, word, 1);
      Atomics.notify(words, word);
    }
  }
  postedTo.delete(worker);
}

let closeWrapped = false;

/**
 * A worker that ends itself with `self.close()` stops at once: `using` blocks and `finally`
 * clauses do not run, and the ends it holds would stay open for ever. In a worker that adopted
 * handles, `self.close` is wrapped to settle them first, as a terminator would.
 */
function wrapClose(): void {
  if (closeWrapped) return;
  closeWrapped = true;
  // deno-lint-ignore no-explicit-any
  const scope = globalThis as any;
  if (typeof scope.WorkerGlobalScope !== "function" || typeof scope.close !== "function") return;
  const close = scope.close;
  scope.close = function (this: unknown) {
    for (const handle of adopted) settle(handle);
    return close.call(this);
  };
}

/**
 * Closes the ends a dead worker held under `handle`'s lifeline; or the end itself if nobody
 * adopted the handle (it is lost with the worker). Exactly one caller does it: the first to
 * change HELD to SETTLING. A caller that finds another one settling waits until it is done, so
 * that when `terminate()` returns, the worker's ends are settled whoever did it (a worker that
 * posts its last message and calls `self.close()` races its terminator).
 */
export function settle(handle: Lifelined): void {
  const lifeline = handle.lifeline;
  for (let held = Atomics.load(lifeline, HELD);;) {
    if (held === SETTLED) return;
    if (held === SETTLING) {
      const deadline = performance.now() + SETTLING_PATIENCE_MS;
      while (Atomics.load(lifeline, HELD) === SETTLING && performance.now() < deadline) {
        Atomics.wait(lifeline, HELD, SETTLING, 10);
      }
      return;
    }
    const seen = Atomics.compareExchange(lifeline, HELD, held, SETTLING);
    if (seen !== held) {
      held = seen;
      continue;
    }
    try {
      // Not adopted under this lifeline: if not adopted at all, it is lost with the worker.
      if (held > 0) closeEnds(handle, held);
      else if (Atomics.compareExchange(handle.claim, ADOPTED, 0, 1) === 0) closeEnds(handle, 1);
    } finally {
      Atomics.store(lifeline, HELD, SETTLED);
      Atomics.notify(lifeline, HELD);
    }
    return;
  }
}

/** Closes `count` ends of `handle`'s kind on its channel, for a thread that cannot. */
function closeEnds(handle: Lifelined, count: number): void {
  const core = instantiate(handle.memory);
  if (core.validate(0) !== CORE.OK) return;
  if (handle.kind === "receiver") {
    core.closeReceiver(0);
    return;
  }
  // A claim in progress is marked dead before the senders are dropped, so that a consumer that
  // sees no sender left also sees the claim as nobody's.
  const at = Atomics.load(handle.lifeline, CLAIM_AT);
  if (at > 0) core.markDead(0, at, handle.claim[OWNER]);
  for (let i = 0; i < count; i++) core.dropSender(0);
}
