/**
 * Starting a worker for `spawn` on this runtime, and what the runtime tells about its end: a web
 * `Worker` (Deno, browsers, Bun) or a `node:worker_threads` `Worker` (Node, which has no global
 * `Worker`). Internal.
 *
 * | runtime | worker             | start data          | it failed           | it ended            |
 * | ------- | ------------------ | ------------------- | ------------------- | ------------------- |
 * | Deno    | web, `data:` entry | first message       | `error` event       | (no event)          |
 * | browser | web, `blob:` entry | first message       | `error` event       | (no event)          |
 * | Bun     | web, `data:` entry | first message       | `error` event       | `close` event       |
 * | Node    | worker_threads     | `workerData`        | `error` event       | `exit` event        |
 *
 * Where the runtime tells nothing, the worker's entry posts a mark as the worker closes itself or
 * (on Deno) exits, until the library in the worker takes over and tells the parent itself.
 *
 * @module
 */

/**
 * What a spawned web worker's entry posts on the worker's own channel as it closes itself (see
 * `entry` in spawn.ts): the only sign of it on Deno, where a worker that ends tells nothing.
 */
export const CLOSED = "@wasmring/mpsc/closed";

/**
 * What a spawned worker's entry posts on Deno, followed by the exit code (`"…/exited 3"`), as the
 * worker exits (`Deno.exit()`, `process.exit()`) before the library has taken over from it.
 */
export const EXITED = "@wasmring/mpsc/exited ";

/** What `spawn` hears from a worker's runtime object. */
export interface WorkerEvents {
  /** The worker object exists (called before anything is posted to it). */
  created(worker: object): void;
  /** An error nobody handled in the worker ended it. */
  error(error: unknown): void;
  /** The worker ended (where the runtime says so), with its exit code if the runtime tells it. */
  exit(code?: number): void;
}

/** A started worker. */
export interface Started {
  /** The runtime's worker object (given to the user as `JoinHandle.worker`). */
  worker: object;
  /** The runtime's own `postMessage` of that worker (whatever its instance now has). */
  post(message: unknown, transfer: Transferable[]): void;
  /** The runtime's own `terminate`. */
  terminate(): void;
}

interface NodeWorker {
  postMessage(message: unknown, transfer?: readonly unknown[]): void;
  terminate(): Promise<number>;
  on(event: string, listener: (arg: unknown) => void): void;
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;

/** The Node `worker_threads` module, when this runtime is Node (no web `Worker`), else null. */
function nodeWorkers(): { Worker: new (url: URL, options: object) => NodeWorker } | null {
  if (typeof scope.Worker === "function") return null;
  const load = scope.process?.getBuiltinModule;
  return typeof load === "function" ? load("node:worker_threads") : null;
}

/** Whether `spawn` can start workers here. */
export function canStartWorkers(): boolean {
  return typeof scope.Worker === "function" || nodeWorkers() !== null;
}

/**
 * Starts a worker on `entry` (see `entry` in spawn.ts: a `data:` module whose source depends on
 * `workerData`, the runtime's way to hand over `start`), with `start` as its first message or
 * its `workerData`.
 * @throws whatever the runtime throws for `start` (a `DataCloneError`): nothing is started then.
 */
export function startWorker(
  entry: (viaWorkerData: boolean) => string,
  start: unknown,
  transfer: Transferable[],
  options: { name?: string; deno?: unknown; node?: Record<string, unknown> },
  events: WorkerEvents,
): Started {
  const node = nodeWorkers();
  if (node !== null) {
    const worker = new node.Worker(new URL(entry(true)), {
      ...options.node,
      workerData: start,
      transferList: transfer,
      name: options.name,
    });
    events.created(worker);
    const proto = Object.getPrototypeOf(worker) as NodeWorker;
    worker.on("error", (error) => events.error(error));
    worker.on("exit", (code) => events.exit(code as number));
    return {
      worker,
      post: (message, list) => proto.postMessage.call(worker, message, list),
      terminate: () => void proto.terminate.call(worker),
    };
  }
  const worker = new scope.Worker(webURL(entry(false)), {
    type: "module",
    name: options.name,
    deno: options.deno,
  }) as Worker;
  events.created(worker);
  const proto = Object.getPrototypeOf(worker) as Worker;
  try {
    proto.postMessage.call(worker, start, { transfer });
  } catch (error) {
    proto.terminate.call(worker);
    throw error;
  }
  // Before any listener of the user's: the mark is not theirs to see.
  worker.addEventListener("message", (event) => {
    const mark = event.data;
    const exited = typeof mark === "string" && mark.startsWith(EXITED);
    if (!exited && mark !== CLOSED) return;
    event.stopImmediatePropagation();
    events.exit(exited ? Number(mark.slice(EXITED.length)) : undefined);
  });
  worker.addEventListener("error", (event) => {
    // The worker's error belongs to join(), as a thread's panic to Rust's join().
    event.preventDefault();
    events.error(errorOf(event));
  });
  // Bun tells when a worker has ended, whatever ended it (`process.exit()` included), and its code.
  worker.addEventListener("close", (event) => events.exit((event as CloseEvent).code));
  return {
    worker,
    post: (message, list) => proto.postMessage.call(worker, message, { transfer: list }),
    terminate: () => proto.terminate.call(worker),
  };
}

/** The `blob:` URLs made for entries, by their `data:` URL: one per worker module, kept. */
const blobs = new Map<string, string>();

/**
 * The URL a web worker starts on, for its entry's `data:` URL. A browser gives a `data:` worker an
 * opaque origin: it is not cross-origin isolated (it has no `SharedArrayBuffer`), and its imports
 * are cross-origin requests. There it starts on a `blob:` URL of the same source, which has the
 * page's origin; the URL is never revoked (a browser may load it after `new Worker` returns), and
 * the next worker on the same module reuses it. Deno and Bun take the `data:` URL.
 */
function webURL(dataURL: string): string {
  if (typeof scope.Deno === "object" || typeof scope.Bun === "object") return dataURL;
  let url = blobs.get(dataURL);
  if (url === undefined) {
    const source = decodeURIComponent(dataURL.slice(dataURL.indexOf(",") + 1));
    url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    blobs.set(dataURL, url);
  }
  return url;
}

function errorOf(event: Event): unknown {
  const e = event as ErrorEvent;
  if (e.error !== undefined && e.error !== null) return e.error;
  return new Error(e.message || "The worker failed");
}
