/**
 * `spawn`: starts a worker that runs a module's default export with the data given, the channel
 * ends in it moved there, as Rust's `thread::spawn(move || …)` does; and `JoinHandle`, which
 * waits for its result.
 *
 * @module
 */
import { isSettled, settleSlots, slotsOf, type SlotTable } from "./_slots.ts";
import { find } from "./_walk.ts";
import { defaultMapped, isIsolated } from "./_arena.ts";
import { type Lifelined, prune, terminated } from "./_lifeline.ts";
import { cutAll, finished, handlesFor, ownWorkers } from "./_settlement.ts";
import { type Outcome, START, type Start } from "./_spawned.ts";
import {
  announce,
  type Announcement,
  BUSY_PATIENCE_MS,
  cut,
  forget,
  forgetBelow,
  type Gone,
  noteBelow,
  report,
  T_DONE,
  T_ID,
  T_REPORTED,
  threadWords,
  uncut,
} from "./_thread.ts";
import { adoptMoved, DOWN, type Prepared, prepareEnds } from "./_move.ts";
import { canStartWorkers, CLOSED, EXITED, type Started, startWorker } from "./_workers.ts";

export { serve as serveSpawned } from "./_spawned.ts";

/** Options of {@linkcode spawn}: what the runtime's `Worker` takes, passed through. */
export interface SpawnOptions {
  /** The worker's name, for debugging (`self.name` inside it). */
  name?: string;
  /** Deno's worker options, e.g. `{ permissions: "inherit" }` (ignored elsewhere). */
  deno?: Record<string, unknown>;
  /**
   * Node's `worker_threads` options, e.g. `{ resourceLimits, env }` (ignored elsewhere; spawn
   * sets `workerData` and `transferList` itself).
   */
  node?: Record<string, unknown>;
  /** Objects in `data` to transfer rather than copy (`MessagePort`s, `ArrayBuffer`s). */
  transfer?: Transferable[];
}

/** Options of {@linkcode JoinHandle.join}. */
export interface JoinOptions {
  /** Stops waiting (the promise rejects with the signal's reason); the worker runs on. */
  signal?: AbortSignal;
}

/** How long a parent waits for reports a worker posted before it ended (see _thread.ts). */
const REPORT_PATIENCE_MS = 1000;

/** Length of a JoinHandle's held list below which it is not pruned. */
const PRUNE_MIN = 64;

/**
 * The arena a worker shares with the thread that spawns it: this thread's default arena, unless
 * the worker gets narrower permissions than this thread (Deno's `permissions` other than
 * `"inherit"`): any thread that maps an arena can read and write every channel in it, so such a
 * worker gets an arena of its own, and only isolated channels or channels of its own arena
 * reach it (see `channel({ isolated: true })`).
 */
function sharedArena(options: SpawnOptions | undefined): WebAssembly.Memory | null {
  const permissions = options?.deno?.permissions;
  if (permissions !== undefined && permissions !== "inherit") return null;
  return defaultMapped().memory;
}

/** The module the worker's entry imports: this one, or the bundle it is part of. */
const SELF = import.meta.url;

/**
 * Starts a worker that runs the default export of `module` with `data`, as Rust's
 * `thread::spawn(move || …)` runs a closure with what it captured.
 *
 * Every {@linkcode Sender} and {@linkcode Receiver} anywhere in `data` that `postMessage` copies
 * (at any depth: in objects, arrays and their other properties, `Map`s, `Set`s, an Error's
 * `cause`) is *moved*: it is unusable here from now on, and arrives in the worker as an end
 * ready to use, without `transfer()` or `from()`. Everything else in `data` is copied as
 * `postMessage` copies it. The worker owns the ends it holds, however they reached it:
 * when it ends — its function returned or threw, it was terminated, it called `self.close()`,
 * or an error went unhandled — they are closed (senders dropped, receivers closed), so that its
 * peers see disconnection instead of waiting for ever.
 *
 * The module runs in a module worker; its default export may be async. When it settles, the
 * ends the worker still holds are closed, the worker ends, and {@linkcode JoinHandle.join}
 * settles with its result (structured-cloned; ends in it are moved back, adopted) or its error. A custom codec travels by name:
 * register it with `registerCodec` at the top level of a module that both threads import.
 *
 * @typeParam R The type of the module's default export's result.
 * @param module The worker's module: a `URL` (e.g. `new URL("./worker.ts", import.meta.url)`)
 * or an absolute URL string.
 * @param data What the default export is called with.
 * @param options Passed to the runtime's `Worker`.
 * @returns A handle to join or terminate the worker.
 * @throws {TypeError} `module` is not an absolute URL, an end in `data` is closed, transferred
 * or has async calls pending, an end is where `postMessage` would drop it (a property of a
 * `Date`, a `Map`, an Error other than its `cause`…), or this runtime has no workers.
 * @throws {DOMException} `DataCloneError` if `data` cannot be copied (a `MessagePort` in it
 * must be listed in `options.transfer`); nothing is moved then.
 * @example
 * ```ts ignore
 * // main.ts
 * import { channel, spawn } from "@wasmring/mpsc";
 *
 * const [tx, rx] = channel<string>();
 * const worker = spawn<number>(new URL("./worker.ts", import.meta.url), { tx });
 * console.log(await rx.recv()); // "Hello from the worker!"
 * console.log(await worker.join()); // 42
 *
 * // worker.ts
 * import type { Sender } from "@wasmring/mpsc";
 *
 * export default function ({ tx }: { tx: Sender<string> }) {
 *   tx.sendSync("Hello from the worker!");
 *   return 42;
 * }
 * ```
 */
export function spawn<R = unknown>(
  module: string | URL,
  data?: unknown,
  options?: SpawnOptions,
): JoinHandle<R> {
  if (!canStartWorkers()) throw new TypeError("Cannot spawn: this runtime has no workers");
  const url = absolute(module);
  const prepared = prepareEnds(data, "Cannot spawn", DOWN);
  if (sharedArena(options) === null) {
    // Narrower permissions: only what it may see (see `sharedArena`).
    const handles = (find(prepared.data)?.handles ?? []) as Lifelined[];
    const exposed = handles.find((handle) =>
      handle.memory instanceof WebAssembly.Memory && !isIsolated(handle.memory)
    );
    if (exposed !== undefined) {
      prepared.abort();
      throw new TypeError(
        `Cannot spawn: a worker with narrower permissions gets an arena of its own, and only ` +
          `isolated channels' ends (channel({ isolated: true })): a ${exposed.kind} in its data ` +
          `would give it every channel of this thread's arena`,
      );
    }
  }
  return new JoinHandle<R>(url, prepared, options, key);
}

const key = Symbol("JoinHandle");

/**
 * A worker started by {@linkcode spawn}: wait for its result with {@linkcode JoinHandle.join},
 * stop it with {@linkcode JoinHandle.terminate} (or `await using`).
 *
 * @typeParam R The type of the worker's result.
 */
export class JoinHandle<R = unknown> implements AsyncDisposable {
  /**
   * The worker, for `postMessage` and events. Handles posted to it (at any depth) are
   * settled with it; `worker.terminate()` is {@linkcode JoinHandle.terminate}.
   */
  readonly worker: Worker;
  #words = threadWords();
  /**
   * The worker and every thread below it that this thread heard of (see _thread.ts): their
   * words, where their reports arrive, and how many have arrived.
   */
  #below = new Map<number, { words: Int32Array; port: MessagePort; received: number }>();
  /** What the worker holds or was posted, for settling when it ends. */
  #held: Lifelined[] = [];
  /** The slots of the tables the threads below reported (see _slots.ts). */
  #slots: Lifelined[] = [];
  #slotsPruneAt = PRUNE_MIN;
  #pruneAt = PRUNE_MIN;
  #outcome: Outcome | null = null;
  #settled: Promise<void>;
  #resolveSettled!: () => void;
  #ended = false;
  #started: Started | undefined;

  /** Not public: use {@linkcode spawn}. */
  constructor(
    url: string,
    prepared: Prepared,
    options: SpawnOptions | undefined,
    token: symbol,
  ) {
    if (token !== key) throw new TypeError("Cannot construct a JoinHandle: use spawn()");
    this.#settled = new Promise((resolve) => this.#resolveSettled = resolve);
    // Found before the worker exists: a DataCloneError here leaves nothing behind.
    const handles = handlesFor(prepared.data);
    // Started, and what it was given told to the threads above, or neither: this thread may be
    // stopped at any moment, and whoever stops it settles only what it heard of.
    const started = uncut(() => {
      const started = this.#start(url, prepared, handles, options);
      prepared.commit();
      return started;
    }, () => {
      prepared.abort();
      throw terminated();
    });
    const worker = this.worker = started.worker as Worker;
    // Postings to this worker are watched here, not by any wrapper on a prototype.
    const post = Object.getPrototypeOf(worker).postMessage as (...args: unknown[]) => void;
    Object.defineProperties(worker, {
      postMessage: {
        configurable: true,
        writable: true,
        value: (message: unknown, ...rest: unknown[]) => {
          const found = handlesFor(message);
          uncut(() => {
            post.call(worker, message, ...rest);
            this.#remember(found, true);
          }, () => {
            throw terminated();
          });
        },
      },
      terminate: { configurable: true, writable: true, value: () => this.terminate() },
    });
  }

  #start(
    url: string,
    { data, abort }: Prepared,
    handles: Lifelined[],
    options: SpawnOptions | undefined,
  ): Started {
    const { port1, port2 } = new MessageChannel();
    const above = announce(this.#words);
    const start: Start = {
      type: START,
      module: url,
      data,
      words: this.#words,
      ports: [port2, ...above],
      arena: sharedArena(options),
    };
    let started: Started;
    try {
      started = startWorker(
        (viaWorkerData) => entry(url, viaWorkerData),
        start,
        [port2, ...above, ...(options?.transfer ?? [])],
        { name: options?.name, deno: options?.deno, node: options?.node },
        {
          // Owned before anything is posted to it: a wrapper must not note the start message.
          created: (worker) => ownWorkers.set(worker, () => void this.terminate()),
          error: (error) => void this.#exited(error),
          exit: (code) => void this.#exited(exited(code)),
        },
      );
    } catch (error) {
      port1.close();
      for (const port of above) port.close();
      forget([this.#words[T_ID]]);
      abort();
      throw error;
    }
    this.#started = started;
    this.#listen(this.#words, port1);
    this.#held.push(...handles);
    for (const handle of handles) report(handle);
    return started;
  }

  /**
   * Waits for the worker's function to settle and its ends to be closed.
   *
   * @param options A signal to stop waiting.
   * @returns The default export's return value (or what its promise resolved to), cloned.
   * @throws What the worker's function threw, or an error that ended the worker; a
   * `DOMException` named `AbortError` if the worker was terminated; the signal's reason.
   * @example
   * ```ts ignore
   * const result = await spawn<number>(new URL("./worker.ts", import.meta.url)).join();
   * ```
   */
  async join(options?: JoinOptions): Promise<R> {
    const signal = options?.signal;
    if (signal !== undefined) {
      signal.throwIfAborted();
      let onAbort!: () => void;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      try {
        await Promise.race([this.#settled, aborted]);
      } finally {
        signal.removeEventListener("abort", onAbort);
      }
    } else {
      await this.#settled;
    }
    const outcome = this.#outcome!;
    if (outcome.ok) return outcome.value as R;
    throw outcome.error;
  }

  /**
   * Stops the worker (if it is still running: `join()` then rejects with an `AbortError`) and
   * settles the ends it held.
   *
   * @returns A promise that resolves once the worker's ends are settled.
   */
  terminate(): Promise<void> {
    this.#finish({
      done: true,
      ok: false,
      error: new DOMException("The worker was terminated", "AbortError"),
    });
    return this.#settled;
  }

  /** {@linkcode JoinHandle.terminate}, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.terminate();
  }

  /**
   * Holds `found` for settling when the worker ends. `mine`: this thread posted them (not a
   * thread below, which has told the threads above itself): it tells the threads above, since
   * this thread's workers end when it ends, and so must their ends be settled then, though this
   * JoinHandle is gone with it.
   */
  #remember(found: Lifelined[], mine: boolean): void {
    if (found.length === 0) return;
    if (this.#ended) {
      uncut(() => cutAll(found, true), () => {});
      return;
    }
    // Forget what is settled once the list has doubled: linear in the reports, not quadratic.
    if (this.#held.length >= this.#pruneAt) {
      this.#pruneAt = prune(this.#held, (handle) => !finished(handle), PRUNE_MIN);
    }
    this.#held.push(...found);
    if (mine) { for (const handle of found) report(handle); }
  }

  /** Notes the slots of a table a thread below reported (see _slots.ts). */
  #slotsFrom(table: SlotTable): void {
    // Slots settled with a thread below that ended before this worker: nothing more to do.
    if (this.#slots.length >= this.#slotsPruneAt) {
      this.#slotsPruneAt = prune(this.#slots, (slot) => !isSettled(slot), PRUNE_MIN);
    }
    this.#slots.push(...slotsOf(table));
  }

  /** Takes the reports of `thread` (the worker, or one below it) from `port`. */
  #listen(thread: Int32Array, port: MessagePort): void {
    const from = { words: thread, port, received: 0 };
    const id = thread[T_ID];
    this.#below.set(id, from);
    noteBelow(thread);
    port.onmessage = (event) => {
      const message = event.data as Outcome | Lifelined | Announcement | Gone | SlotTable;
      if ("done" in message) {
        if (thread === this.#words) this.#done(message);
      } else if ("gone" in message) {
        // Settled by the thread below that spawned them: what they reported here was reported
        // there too.
        const gone = message.gone.filter((other) => other !== this.#words[T_ID]);
        for (const other of gone) {
          this.#below.get(other)?.port.close();
          this.#below.delete(other);
        }
        forgetBelow(gone);
      } else {
        from.received++;
        if ("thread" in message) this.#listen(message.thread, message.port);
        else if ("table" in message) this.#slotsFrom(message);
        else this.#remember([message], false);
      }
    };
  }

  #done(outcome: Outcome): void {
    // Too late (terminated): the ends in the result were reported, and are settled with the
    // worker (closed: nobody adopted them).
    if (this.#outcome !== null) return;
    // Ends in the result were moved here: adopted at once, so that they are held by this
    // thread (and settled with it) whether or not anyone joins.
    if (outcome.ok) {
      try {
        outcome = { done: true, ok: true, value: adoptMoved(outcome.value) };
      } catch (error) {
        outcome = { done: true, ok: false, error };
      }
    }
    this.#finish(outcome);
  }

  /**
   * The runtime says the worker ended, with `error` (its unhandled error, or how it exited). If
   * the worker posted its outcome first, that message may still be on its way (a port and the
   * worker's events are separate queues): wait for it. (A worker posts an unhandled error as its
   * outcome: the runtime's copy of it may have lost its class and message.)
   */
  async #exited(error: unknown): Promise<void> {
    await until(
      () => this.#outcome !== null || Atomics.load(this.#words, T_DONE) === 0,
      REPORT_PATIENCE_MS,
    );
    this.#finish({ done: true, ok: false, error });
  }

  /** Ends the worker with `outcome` (the first one wins) and settles what it held. */
  #finish(outcome: Outcome): void {
    if (this.#outcome !== null) return;
    this.#outcome = outcome;
    void this.#stop();
  }

  /**
   * Stops the worker and settles what it and the threads below it held. First every one of
   * them is cut (every channel call there throws AbortError from now on; a blocked one unwinds)
   * and out of its uncuttable steps, and every report they posted has arrived (one may announce
   * another thread below, cut in turn): the runtime stops the threads below with the worker,
   * and none may be stopped in the middle of a step (see _thread.ts).
   */
  async #stop(): Promise<void> {
    const below = () => [...this.#below.values()];
    const quiet = () =>
      cut(below().map((from) => from.words), false) &&
      below().every((from) => from.received >= Atomics.load(from.words, T_REPORTED));
    if (!quiet()) await until(quiet, BUSY_PATIENCE_MS);
    this.#started?.terminate(); // not there yet if starting it failed
    this.#ended = true;
    // Whatever the worker still held when it ended is lost with it: it died. (A function that
    // returned closed its ends itself before saying so: nothing is left here then.) Not if this
    // thread is being ended itself: its ender heard of all of them, and settles them.
    uncut(() => cutAll([...this.#held, ...settleSlots(this.#slots)], true), () => {});
    this.#held = [];
    this.#slots = [];
    const threads = [...this.#below.keys()];
    for (const from of this.#below.values()) from.port.close();
    this.#below.clear();
    forgetBelow(threads);
    forget(threads);
    this.#resolveSettled();
  }
}

/** Waits until `done()` holds, or `patience` ms have passed. */
async function until(done: () => boolean, patience: number): Promise<void> {
  const deadline = Date.now() + patience;
  while (!done() && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}

function absolute(module: string | URL): string {
  if (module instanceof URL) return module.href;
  if (typeof module === "string") {
    try {
      return new URL(module).href;
    } catch {
      // deno-lint-ignore no-explicit-any
      const base = (globalThis as any).location?.href;
      if (typeof base === "string") return new URL(module, base).href;
    }
  }
  throw new TypeError(
    `Cannot spawn ${String(module)}: pass a URL, e.g. new URL("./worker.ts", import.meta.url)`,
  );
}

/**
 * The worker's entry: a small module that imports this library, which links this worker to the
 * threads above and then imports the worker's module (see `Entry` in _spawned.ts). On the web,
 * the start message comes first, and the entry holds back every message until the library takes
 * over; on Node, the start data is the worker's `workerData`.
 */
function entry(module: string, viaWorkerData: boolean): string {
  // No top-level await: Node 20 can abort the whole process when a worker is terminated while a
  // module's top-level await is pending (nodejs/node#53238).
  // The library first, the module when the library says (see `Entry.load`): so that what the
  // module makes at its top level is this worker's, settled with it, in its parent's arena.
  const load = (serve: string) =>
    `const load=()=>import(${JSON.stringify(module)})` +
    `.then((module)=>({module}),(error)=>({error}));` +
    `import(${JSON.stringify(SELF)}).then((lib)=>{${serve}});`;
  const source = viaWorkerData
    ? `import{workerData}from"node:worker_threads";` +
      load(`lib.serveSpawned({load,start:workerData,early:[],hold:null,wake:()=>{},unload:null})`)
    : `const early=[];let notify=()=>{};` +
      `const hold=(e)=>{e.stopImmediatePropagation();early.push(e);notify()};` +
      `addEventListener("message",hold);` +
      // self.close() while the modules load (or ever after: the library wraps this) is told to
      // the parent, which may hear of it no other way (Deno gives no exit event).
      `const close0=self.close;if(typeof close0==="function")self.close=function(){` +
      `postMessage(${JSON.stringify(CLOSED)});return close0.call(self)};` +
      // So is Deno.exit() or process.exit() (both run `unload` listeners, the code set), until
      // the library takes over (it removes this listener).
      `let unload=null;if(typeof Deno==="object"){` +
      `unload=()=>postMessage(${JSON.stringify(EXITED)}+Deno.exitCode);` +
      `addEventListener("unload",unload)}` +
      load(`lib.serveSpawned({load,start:null,early,hold,wake:(f)=>{notify=f},unload})`);
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/**
 * The error `join()` rejects with when the worker ended without settling its function (with
 * `code`, where the runtime tells it).
 */
function exited(code?: number): DOMException {
  const how = code === undefined ? "ended" : `exited (code ${code})`;
  return new DOMException(`The worker ${how} before its function settled`, "AbortError");
}
