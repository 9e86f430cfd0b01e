/**
 * The inside of a worker that `spawn` started: waits for its start message, imports the
 * worker's module, adopts the ends moved into its data, runs the module's default export,
 * settles the ends the thread still holds, and reports the outcome to the parent. Internal.
 *
 * The worker's entry is a small module (a `data:` URL; a `blob:` URL in a browser: see
 * _workers.ts) that imports this library by its URL and the worker's module, then calls
 * `serve()`, so that the library and the user's module share one copy of it.
 *
 * @module
 */
import { settleSlots, slotsHere } from "./_slots.ts";
import { shareArena } from "./_arena.ts";
import { cutAll } from "./_settlement.ts";
import { adoptedHere } from "./_lifeline.ts";
import { cutBelow, linkParent, posted, report, uncut } from "./_thread.ts";
import { abandonUnsent, disarm } from "./handle.ts";
import { abandonMoved, adoptMoved, type Prepared, prepareEnds, UP } from "./_move.ts";

/** Marks a start message (see spawn.ts). */
export const START = "@wasmring/mpsc/spawn@1";

/** The start message a parent posts to a worker it spawned. */
export interface Start {
  type: typeof START;
  /** URL of the worker's module. */
  module: string;
  /** The data, ends replaced by handles marked `moved`. */
  data: unknown;
  /** Words shared with the threads above (see _thread.ts). */
  words: Int32Array;
  /**
   * Where this thread reports the ends it holds: to its parent (which hears its outcome there
   * too), then to each thread above that, nearest first.
   */
  ports: MessagePort[];
  /**
   * The spawning thread's arena, to be this worker's default arena too (so that ends of the
   * channels either makes can travel in the other's messages); null for a worker spawned with
   * narrower permissions, which gets an arena of its own (see `sharedArena` in spawn.ts).
   */
  arena: WebAssembly.Memory | null;
}

/** What the worker reports when its function settles. */
export type Outcome =
  | { done: true; ok: true; value: unknown }
  | { done: true; ok: false; error: unknown };

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;

/**
 * What the worker's entry module (see `entry` in spawn.ts) gives `serve`: the worker's module
 * (or why it failed to load), which it imported in parallel with this library; the messages
 * that arrived meanwhile, held back by its listener `hold`, which calls `wake` for each; and, on
 * Deno, its `unload` listener, which tells the parent that the worker exited until this library
 * tells it instead.
 */
export interface Entry {
  /**
   * Imports the worker's module: called once this thread is linked to the threads above and
   * shares its parent's arena, so that ends the module makes at its top level are held as this
   * thread's (settled with it) and can travel in its parent's channels.
   */
  load: () => Promise<{ module?: Record<string, unknown>; error?: unknown }>;
  /** The start data, when the runtime handed it over with the worker (Node's `workerData`). */
  start: Start | null;
  early: MessageEvent[];
  hold: ((event: MessageEvent) => void) | null;
  wake: (notify: () => void) => void;
  unload: (() => void) | null;
}

/**
 * Runs this worker for `spawn`: called once by the worker's entry module. The first message is
 * the start message; messages posted to the worker after it are held back until the default
 * export has been called (its synchronous part has run, and installed its listeners), then
 * dispatched in order.
 */
export function serve(entry: Entry): void {
  if (entry.start !== null) {
    run(entry.start, entry, () => {});
    return;
  }
  const { early, hold } = entry;
  const begin = () => {
    entry.wake(() => {});
    const start = early.shift()!.data as Start; // the parent posts the start message first
    run(start, entry, () => {
      scope.removeEventListener("message", hold);
      for (const e of early.splice(0)) {
        scope.dispatchEvent(new MessageEvent("message", { data: e.data, ports: [...e.ports] }));
      }
    });
  };
  if (early.length > 0) begin();
  else entry.wake(begin);
}

/** The data of the function running in this worker (see `run`). */
const holding = new Set<unknown>();

/** Where the outcome goes, until it has gone. */
let parentPort: MessagePort | null = null;

async function run(
  start: Start,
  { load, unload }: Entry,
  called: () => void,
): Promise<void> {
  let returned: Prepared | undefined;
  const port = start.ports[0];
  parentPort = port;
  linkParent(start.words, start.ports);
  if (start.arena !== null) shareArena(start.arena);
  guardClose();
  let outcome: Outcome;
  try {
    const loaded = await load();
    if (loaded.module === undefined) throw loaded.error;
    const module = loaded.module;
    // After the module's own listeners, so that an error it handles is left alone.
    guardErrors(unload);
    const main = module.default;
    if (typeof main !== "function") {
      throw new TypeError(
        `Cannot run ${start.module}: its default export is ${
          main === undefined ? "missing" : `a ${typeof main}`
        }, not a function`,
      );
    }
    // The function's data is held until it settles, as a closure holds what it captured: an
    // end in it that the function no longer references must not be collected (and closed) while
    // the worker lives.
    const data = adoptMoved(start.data);
    holding.add(data);
    const result = main(data);
    called();
    let value: unknown;
    try {
      value = await result;
    } finally {
      holding.delete(data);
    }
    // Ends in the result move to the parent, as a Rust thread's result moves to `join()`. They
    // leave this thread before it closes what it still holds.
    returned = prepareEnds(value, "Cannot return from a spawned worker", UP);
    outcome = { done: true, ok: true, value: returned.data };
  } catch (error) {
    called();
    outcome = { done: true, ok: false, error };
  }
  if (returned !== undefined) {
    // The ends in the result leave this thread, and the threads above hear of them, in one
    // step: if this thread is stopped before the parent takes the result, its ender settles
    // them (then nobody adopted them: they are closed).
    const moving = returned;
    try {
      uncut(() => {
        for (const handle of moving.handles) {
          report(handle);
          disarm(handle); // not lost with this thread: the threads above hold them now
        }
        moving.commit();
      }, () => moving.abort()); // being ended: they stay, and are settled with this thread
    } catch (error) {
      outcome = { done: true, ok: false, error };
    }
  }
  // As a Rust closure drops what it captured: the ends this thread still holds are closed (and
  // cut: a callback that runs later cannot use them), then the parent hears the outcome. A
  // function that threw died, as far as its peers can tell: its work is unfinished.
  settleHere(!outcome.ok);
  // Ends moved here that were never adopted (the module failed to load, or an adoption before
  // theirs failed) are closed here too: the parent may be blocked on one of their channels.
  if (!outcome.ok) abandonMoved(start.data);
  if (parentPort === null) return; // self.close() was called
  parentPort = null;
  try {
    port.postMessage(outcome);
  } catch (error) {
    // The value cannot be cloned: the parent hears why instead, and the ends it held, which
    // left this thread, are lost with it.
    abandonMoved(outcome.ok ? outcome.value : undefined);
    const why = outcome.ok ? error : clonable(outcome.error, error);
    port.postMessage({ done: true, ok: false, error: why } satisfies Outcome);
  }
  posted();
  port.close();
  close();
}

/** The worker's own `close`, before `guardClose` wrapped it. */
let close: () => void = () => scope.close?.();

/**
 * `self.close()` stops this worker at once, without running `using` blocks or `finally`
 * clauses: the ends it holds are settled first, here, so that a parent blocked on one of their
 * channels sees it at once. Only this worker's global is touched: `spawn` started it.
 */
function guardClose(): void {
  if (typeof scope.close !== "function") return;
  const original = scope.close;
  close = () => original.call(scope);
  scope.close = function () {
    ending(aborted("The worker closed itself before its function settled"), false);
    return original.call(scope);
  };
}

/**
 * What the parent hears of an error that cannot be cloned (`cloneError` says why): an `Error`
 * with its name and message, if it has them (Bun's module resolution errors, errors holding a
 * function), else `cloneError`.
 */
function clonable(error: unknown, cloneError: unknown): unknown {
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  if (typeof message !== "string") return cloneError;
  const copy = new Error(message);
  if (typeof name === "string") copy.name = name;
  return copy;
}

function aborted(why: string): DOMException {
  return new DOMException(why, "AbortError");
}

/**
 * This worker ends before its function settled, with `error`: its ends are settled here, and the
 * parent hears why (it may have no other way to learn it: Deno tells nothing when a worker exits).
 */
function ending(error: unknown, died: boolean): void {
  settleHere(died);
  const port = parentPort;
  if (port === null) return;
  parentPort = null;
  try {
    port.postMessage({ done: true, ok: false, error } satisfies Outcome);
  } catch (cloneError) {
    // As for a function's error that cannot be cloned (see run).
    port.postMessage(
      { done: true, ok: false, error: clonable(error, cloneError) } satisfies Outcome,
    );
  }
  posted();
  port.close();
}

/**
 * Settles the ends this thread holds, as it ends (`died`: say so to their peers); its own
 * workers, which stop with it, are cut first. Not if a thread above has begun to end this one:
 * that one settles them (and this thread may be stopped at any moment).
 */
function settleHere(died: boolean): void {
  uncut(() => {
    cutBelow();
    cutAll([...adoptedHere(), ...settleSlots(slotsHere())], died);
    abandonUnsent(died);
  }, () => {});
}

/**
 * An error nobody handles ends this worker: its ends are settled first, here, and the parent
 * hears the error as it was thrown, as it hears a function's (the runtime tells it only a
 * message: "Uncaught RangeError: …" on Deno, an excerpt of the source on Bun). So does an exit:
 * on Node and Bun, `process.exit()` runs the process's `exit` listeners; on Deno, `Deno.exit()`
 * and `process.exit()` run `unload` listeners (`Deno.exitCode` set), and the parent hears of it
 * from here (Deno tells it nothing).
 * @param entryUnload The entry's `unload` listener, which told the parent until now.
 */
function guardErrors(entryUnload: (() => void) | null): void {
  if (typeof scope.addEventListener === "function") {
    const settle = (event: Event) => {
      if (event.defaultPrevented) return;
      // Bun dispatches an unhandled rejection as an `error` event too.
      const { error, message, reason } = event as ErrorEvent & PromiseRejectionEvent;
      ending(event.type === "error" ? error ?? new Error(message) : reason, true);
    };
    scope.addEventListener("error", settle);
    scope.addEventListener("unhandledrejection", settle);
  }
  if (typeof scope.Deno === "object" && typeof scope.addEventListener === "function") {
    // One listener tells it: the parent must not hear of the exit twice (the first it hears
    // of ends the worker; the outcome posted here could lose the race, and with it what it says).
    if (entryUnload !== null) scope.removeEventListener("unload", entryUnload);
    scope.addEventListener("unload", () => {
      const code = scope.Deno.exitCode;
      // As process.exit(n) on Node and Bun: n ≠ 0 is a death.
      ending(aborted(`The worker exited (code ${code}) before its function settled`), code !== 0);
    });
  } else if (typeof scope.process?.on === "function") {
    // Node and Bun tell the parent how the worker ended (its error, or that it exited).
    scope.process.on("exit", (code: unknown) => settleHere(code !== 0));
  }
}
