// The main-thread side of the scripted workers used by the ports of Rust's mpsc test suites
// (tests/mpsc_test.ts, tests/sync_channel_test.ts, tests/async_test.ts): the step language, a
// way to spawn and join workers that never leaves one running, a watchdog for awaits, and the
// stress factor. The worker itself is tests/workers/mpsc_steps.ts. Imported by the tests, never
// spawned.
import assert from "node:assert/strict";
import { type EndHandle, type Receiver, RecvError, SendError } from "@wasmring/mpsc";

const STEPS_URL = new URL("./mpsc_steps.ts", import.meta.url);

/** Multiplier of the stress counts: env `MPSC_STRESS` (like Rust's `RUST_TEST_STRESS`), default 1. */
export const STRESS: number = (() => {
  const granted = Deno.permissions.querySync({ name: "env", variable: "MPSC_STRESS" }).state;
  const value = granted === "granted" ? Deno.env.get("MPSC_STRESS") : undefined;
  const factor = Number(value ?? 1);
  if (!Number.isInteger(factor) || factor < 1) {
    throw new RangeError(`MPSC_STRESS must be a positive integer, not ${value}`);
  }
  return factor;
})();

/** Longest wait anywhere in these tests: a lost wake-up fails a test instead of hanging it. */
export const WATCHDOG_MS = 30_000;

/** Options for a main-thread blocking call: bounded by the watchdog. */
export const WAIT = { timeout: WATCHDOG_MS } as const;

/** Awaits `promise`, failing after `ms` milliseconds; the timer is always cleared. */
export async function within<T>(promise: Promise<T>, what: string, ms = WATCHDOG_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const watchdog = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Watchdog: ${what} took over ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, watchdog]);
  } finally {
    clearTimeout(timer);
  }
}

/** Sleeps without blocking the event loop. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `e` is the `TimeoutError` of a timed-out blocking call. */
export function isTimeout(e: unknown): boolean {
  return e instanceof DOMException && e.name === "TimeoutError";
}

/** `f` must throw a `SendError` carrying `value` (Rust's `Err(SendError(value))`). */
export function assertSendError(f: () => unknown, value: unknown): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof SendError, `expected a SendError, got ${e}`);
    assert.deepEqual(e.value, value);
    return true;
  });
}

/** `f` must throw a `RecvError` (Rust's `Err(RecvError)`). */
export function assertRecvError(f: () => unknown): void {
  assert.throws(f, RecvError);
}

/** `f` must throw a `TimeoutError` (Rust's `Err(RecvTimeoutError::Timeout)`). */
export function assertTimeout(f: () => unknown): void {
  assert.throws(f, (e: unknown) => isTimeout(e));
}

/**
 * Rust's `loop { match rx.recv_timeout(t) { Ok(v) => …, Err(Timeout) => continue,
 * Err(Disconnected) => break } }` on the main thread, under the watchdog; every message must
 * equal `expected`.
 * @returns the number of messages received.
 */
export function recvTimeoutCount(rx: Receiver<unknown>, timeout: number, expected: unknown) {
  const deadline = performance.now() + WATCHDOG_MS;
  let count = 0;
  for (;;) {
    assert.ok(performance.now() < deadline, `Watchdog: no disconnection after ${WATCHDOG_MS} ms`);
    try {
      assert.deepEqual(rx.recvSync({ timeout }), expected);
      count++;
    } catch (e) {
      if (isTimeout(e)) continue;
      if (e instanceof RecvError) return count;
      throw e;
    }
  }
}

/**
 * Receives until disconnection on the main thread (Rust's `while rx.recv().is_ok() {}`), each
 * wait bounded by the watchdog. @returns the number of messages received.
 */
export function recvUntilDisconnected(rx: Receiver<unknown>): number {
  let count = 0;
  for (;;) {
    try {
      rx.recvSync(WAIT);
      count++;
    } catch (e) {
      if (e instanceof RecvError) return count;
      throw e;
    }
  }
}

/**
 * The workers of one test: `spawn` starts one, `join` awaits them all (under the watchdog) and
 * terminates them; disposing (`await using threads = new Threads()`) terminates whatever is
 * still running, so a failing test never leaves a worker behind.
 */
export class Threads implements AsyncDisposable {
  #running: { worker: Worker; done: Promise<Done> }[] = [];

  /**
   * Spawns a scripted worker. The returned promise is also awaited by `join`, so a worker that
   * fails is reported even if the test never awaits it (Rust's detached threads).
   */
  spawn(ends: Record<string, EndHandle>, steps: readonly Step[]): Promise<Done> {
    const child = runScript(ends, steps);
    child.done.then(() => child.worker.terminate(), () => {});
    this.#running.push(child);
    return child.done;
  }

  /** Awaits every worker spawned so far, then terminates them. @returns their results. */
  async join(what = "joining the workers"): Promise<Done[]> {
    const running = this.#running.splice(0);
    try {
      return await within(Promise.all(running.map((child) => child.done)), what);
    } finally {
      for (const child of running) child.worker.terminate();
    }
  }

  /**
   * Joins one spawned worker (under the watchdog) and terminates it; `join` will not report it
   * again, so a test can await a worker that is meant to fail.
   */
  async joinOne(done: Promise<Done>, what = "joining a worker"): Promise<Done> {
    const at = this.#running.findIndex((child) => child.done === done);
    assert.ok(at >= 0, "joinOne: not a running worker of these threads");
    const [child] = this.#running.splice(at, 1);
    try {
      return await within(done, what);
    } finally {
      child.worker.terminate();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const child of this.#running.splice(0)) child.worker.terminate();
    await delay(0);
  }
}

/** One step of a scripted thread. Blocking steps use the blocking (`…Sync`) calls. */
export type Step =
  /** `sendSync(value)`, `times` times (default 1); must succeed. */
  | readonly ["send", tx: string, value: unknown, times?: number]
  /** `sendSync([tag, i])` for i in 0..count: a producer whose order the receiver checks. */
  | readonly ["sendSeq", tx: string, tag: number, count: number]
  /** `sendSync(value)`; a `SendError` is fine (Rust's `let _ = tx.send(v)`). */
  | readonly ["sendIgnore", tx: string, value: unknown]
  /** `sendSync(value)` must throw a `SendError` carrying `value` (the very same object). */
  | readonly ["sendErr", tx: string, value: unknown]
  /** `sendSync(value)` until it throws `SendError` (`while tx.send(v).is_ok() {}`). */
  | readonly ["sendUntilErr", tx: string, value: unknown]
  /** `trySend(value)` must return `expected`. */
  | readonly ["trySend", tx: string, value: unknown, expected: boolean]
  /** `recvSync()` must return `expected`, `times` times (default 1). */
  | readonly ["recv", rx: string, expected: unknown, times?: number]
  /** `recvSync()` must throw `RecvError`. */
  | readonly ["recvErr", rx: string]
  /** `recvSync({ timeout })` must return `expected`. */
  | readonly ["recvTimeout", rx: string, timeout: number, expected: unknown]
  /** `recvSync()` until `RecvError`; results += the number received. */
  | readonly ["recvUntilErr", rx: string]
  /**
   * Receives `producers × perProducer` `[tag, i]` messages (`recvSync({ timeout })` in a loop
   * that retries on timeouts when `timeout` is given), checking per-producer order.
   */
  | readonly ["recvSeq", rx: string, producers: number, perProducer: number, timeout?: number]
  /**
   * Loops on `recvSync({ timeout })` until `RecvError`, retrying on timeouts; every message must
   * equal `expected`, and `total` (if given) messages must arrive. results += the number
   * received.
   */
  | readonly ["recvTimeoutCount", rx: string, timeout: number, expected: unknown, total?: number]
  /** `tryRecv()` must not be `"ok"` (Rust's `assert!(rx.try_recv().is_err())`). */
  | readonly ["tryRecvNotOk", rx: string]
  /**
   * `for (const x of rx) { if (count >= stopAt) break; count += x; }` then
   * `out.sendSync(count)` — Rust's `for x in rx.iter()` loops.
   */
  | readonly ["iterSum", rx: string, out: string, stopAt: number]
  /**
   * test_recv_try_iter's requester: loop { for x of response.tryIter(): count += x, stop at
   * `target`; request.sendSync(null) }. results += count.
   */
  | readonly ["tryIterRequests", response: string, request: string, target: number]
  /** Blocks the thread for `ms` milliseconds (`thread::sleep`). */
  | readonly ["sleep", ms: number]
  /** `close()` (Rust's `drop`). */
  | readonly ["close", end: string]
  /** Makes a clone of the sender `tx` under the name `as`. */
  | readonly ["clone", tx: string, as: string]
  /** Spawns a nested worker running `steps` with the named ends moved into it. */
  | readonly ["spawn", ends: readonly string[], steps: readonly Step[]]
  /** Joins every worker spawned so far (they are joined at the end of the script anyway). */
  | readonly ["join"]
  /** Keeps `end` open when the script ends: a worker that never closes it. */
  | readonly ["leak", end: string]
  /** Moves `end` back to the parent: its handle is returned in the done message. */
  | readonly ["giveBack", end: string];

/** What a scripted worker posts when it is done. */
export interface Done {
  /** Values produced by the steps that produce one, in order. */
  results: unknown[];
  /** Ends given back with `giveBack`. */
  handles: Record<string, EndHandle>;
}

/** What a scripted worker posts. */
export type Report = ({ type: "done" } & Done) | { type: "error"; message: string };

/**
 * Moves the end `handle` (named `name`) through `links` workers in turn, worker i running
 * `step(i)`: Rust's `stream_send_recv_stress`, where thread i spawns thread i + 1 with the end.
 * Here each link gives the end back to this thread, which spawns the next link with it, since a
 * worker spawned by a worker takes ~0.5–1 s to start on Deno 2.9.6.
 */
export async function relay(
  threads: Threads,
  name: string,
  handle: EndHandle,
  step: (i: number) => Step,
  links = 10,
): Promise<void> {
  for (let i = 0; i < links; i++) {
    const last = i === links - 1;
    const steps: Step[] = last ? [step(i)] : [step(i), ["giveBack", name]];
    const done = await threads.joinOne(threads.spawn({ [name]: handle }, steps));
    if (!last) handle = done.handles[name];
  }
}

/**
 * Spawns a scripted worker (tests/workers/mpsc_steps.ts) with `ends` moved into it.
 * @returns the worker and a promise of its results that rejects with its failure.
 */
export function runScript(
  ends: Record<string, EndHandle>,
  steps: readonly Step[],
): { worker: Worker; done: Promise<Done> } {
  const worker = new Worker(STEPS_URL, { type: "module" });
  const done = new Promise<Done>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<Report>) => {
      if (e.data.type === "done") resolve({ results: e.data.results, handles: e.data.handles });
      else reject(new Error(e.data.message));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`Uncaught in worker: ${e.message}`));
    };
    worker.onmessageerror = () => reject(new Error("A worker's message could not be read"));
  });
  worker.postMessage({ ...ends, steps });
  return { worker, done };
}
