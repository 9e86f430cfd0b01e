/**
 * Workaround for denoland/deno#35657 (seen on Deno 2.9.6): `worker.terminate()` does not stop a
 * worker that runs synchronous code, so a plain `Worker` blocked in `recvSync`, or looping on
 * `trySend`, would run for ever, holding its channel ends. Installed on Deno only; delete this
 * module (and its one caller in _end.ts) once Deno stops such workers. `spawn` never relies on
 * it: it watches the workers it starts itself (see spawn.ts).
 *
 * To see which plain worker a handle goes to and when that worker ends, this module wraps
 * `Worker.prototype.postMessage` and `Worker.prototype.terminate` in a thread as soon as it holds
 * a channel end (before any `transfer()`: `worker.postMessage(tx.transfer())` looks up
 * `postMessage` before it calls `transfer()`). `postMessage` finds the handles anywhere in the
 * message (one walk, see _walk.ts) and remembers them with the worker; `terminate()`, or an
 * unhandled error that reaches the parent (Deno ends the worker then), cuts their lifelines, so
 * that the worker's calls throw `AbortError` and it unwinds to its event loop, where Deno stops
 * it, and settles its ends (see _settlement.ts). A live end posted by mistake (a `Sender`
 * instead of `tx.transfer()`, which `structuredClone` would turn into `{}`) is a
 * `DataCloneError`, and so is an end or a handle where `structuredClone` would drop it. In a worker that adopted handles, `self.close()` is wrapped to settle them
 * first: it ends the worker at once, without running `using` blocks or `finally` clauses.
 *
 * @module
 */
import type { Lifelined } from "./_lifeline.ts";
import { adoptedHere, prune } from "./_lifeline.ts";
import { cutAll, finished, handlesFor, ownWorkers } from "./_settlement.ts";

const postedTo = new WeakMap<Worker, Lifelined[]>();
let installed = false;

/** Installs the wrappers in this thread, on Deno, once; called whenever an end is made here. */
export function watchWorkers(): void {
  if (installed) return;
  installed = true;
  // deno-lint-ignore no-explicit-any
  const deno = (globalThis as any).Deno;
  if (typeof deno !== "object" || typeof deno?.version?.deno !== "string") return;
  if (typeof Worker === "function") wrapWorker();
  wrapClose();
}

function wrapWorker(): void {
  const proto = Worker.prototype;
  const postMessage = proto.postMessage;
  const terminate = proto.terminate;
  proto.postMessage = function (this: Worker, message: unknown, ...rest: unknown[]) {
    if (!ownWorkers.has(this)) {
      const found = handlesFor(message);
      if (found.length > 0) remember(this, found);
    }
    // deno-lint-ignore no-explicit-any
    return (postMessage as any).call(this, message, ...rest);
  };
  proto.terminate = function (this: Worker) {
    // A spawned worker's owner settles it (and comes back here to stop it: then a no-op).
    const owner = ownWorkers.get(this);
    if (owner !== undefined) owner();
    else end(this);
    return terminate.call(this);
  };
}

function remember(worker: Worker, found: Lifelined[]): void {
  const list = postedTo.get(worker);
  if (list === undefined) {
    postedTo.set(worker, found);
    // An error that reaches the parent was not handled in the worker, and Deno ends a worker
    // on an unhandled error: its ends are settled as if it were terminated.
    worker.addEventListener("error", () => end(worker));
    return;
  }
  // Forget handles whose ends were adopted and have all been closed or moved on: there is
  // nothing left to settle, and keeping them would keep their channels' memory.
  prune(list, (handle) => !finished(handle));
  list.push(...found);
}

function end(worker: Worker): void {
  const list = postedTo.get(worker);
  postedTo.delete(worker);
  if (list !== undefined) cutAll(list, true);
}

/**
 * A worker that ends itself with `self.close()` stops at once: `using` blocks and `finally`
 * clauses do not run, and the ends it holds would stay open for ever. `self.close` is wrapped
 * to settle them first, as a terminator would.
 */
function wrapClose(): void {
  // deno-lint-ignore no-explicit-any
  const scope = globalThis as any;
  if (typeof scope.WorkerGlobalScope !== "function" || typeof scope.close !== "function") return;
  const close = scope.close;
  scope.close = function (this: unknown) {
    cutAll(adoptedHere(), false); // closed, not died: the worker ends itself
    return close.call(this);
  };
}
