/**
 * The benchmark matrix, defined once: the workloads (what crosses which threads, how many
 * times), the messages they carry, and which implementations run each of them. `bench/run.ts`
 * runs this matrix; `bench/workers/bench_worker.ts` and `bench/workers/multithreading_peer.ts`
 * build the same messages from here.
 *
 * @module
 */

/** The messages of the matrix. */
export type Payload = "number" | "object" | "bytes64k" | "record16";

/** How a workload is driven. */
export type Kind =
  /** N producer workers stream `count` messages each into one consumer (the main thread). */
  | "stream"
  /** The main thread and one worker bounce a message `count` times. */
  | "pingpong"
  /** A receiver blocked on an empty channel, and the memory of idle channels. */
  | "idle"
  /** Two workers, producer and consumer, over the raw Wasm core, spinning. */
  | "core";

/** One workload of the matrix. */
export interface Workload {
  id: WorkloadId;
  title: string;
  kind: Kind;
  payload: Payload;
  /** Producer workers (stream workloads). */
  producers: number;
  /** Messages per producer, round trips, or milliseconds blocked (idle). */
  count: number;
  /** The same for `--quick`. */
  quickCount: number;
  /** What the result measures. */
  unit: "msgs/s" | "µs/rtt" | "MB/s" | "records/s" | "CPU ms";
  /** Whether a larger result is better. */
  higherIsBetter: boolean;
  /** The target, stated as in issue 6. */
  target: string;
}

/** Workload ids, in run order. */
export type WorkloadId = "W0" | "W1" | "W2" | "W3" | "W4" | "W5" | "W6";

/** The workloads. */
export const WORKLOADS: readonly Workload[] = [
  {
    id: "W0",
    title: "raw core, 1 producer worker → 1 consumer worker, 16-byte records, spinning",
    kind: "core",
    payload: "record16",
    producers: 1,
    count: 10_000_000,
    quickCount: 200_000,
    unit: "records/s",
    higherIsBetter: true,
    target: "≥ 10 M records/s",
  },
  {
    id: "W1",
    title: "1 producer worker → main, numbers",
    kind: "stream",
    payload: "number",
    producers: 1,
    count: 1_000_000,
    quickCount: 20_000,
    unit: "msgs/s",
    higherIsBetter: true,
    target: "≥ 25× postMessage",
  },
  {
    id: "W2",
    title: '1 producer worker → main, { id: i, body: "hello world" }',
    kind: "stream",
    payload: "object",
    producers: 1,
    count: 200_000,
    quickCount: 5_000,
    unit: "msgs/s",
    higherIsBetter: true,
    target: "≥ 15× postMessage",
  },
  {
    id: "W3",
    title: "4 producer workers → main, numbers",
    kind: "stream",
    payload: "number",
    producers: 4,
    count: 250_000,
    quickCount: 5_000,
    unit: "msgs/s",
    higherIsBetter: true,
    target: "≥ 12× postMessage",
  },
  {
    id: "W4",
    title: "ping-pong main ⇄ worker, a number",
    kind: "pingpong",
    payload: "number",
    producers: 1,
    count: 20_000,
    quickCount: 500,
    unit: "µs/rtt",
    higherIsBetter: false,
    target: "≤ 1/20 of postMessage's round trip",
  },
  {
    id: "W5",
    title: "1 producer worker → main, 64 KiB Uint8Array",
    kind: "stream",
    payload: "bytes64k",
    producers: 1,
    count: 20_000,
    quickCount: 300,
    unit: "MB/s",
    higherIsBetter: true,
    target: "≥ 2× postMessage with the bytes codec",
  },
  {
    id: "W6",
    title: "a receiver blocked on an empty channel in a worker",
    kind: "idle",
    payload: "number",
    producers: 1,
    count: 2_000,
    quickCount: 200,
    unit: "CPU ms",
    higherIsBetter: false,
    target: "< 10 ms CPU in 2 s; ≤ 128 KiB RSS per idle channel",
  },
];

/** Size of a `bytes64k` message. */
export const BYTES_64K = 64 * 1024;

/** Idle channels created for the RSS measurement of W6 (`--quick`: a tenth). */
export const IDLE_CHANNELS = 1_000;

/** Bound of the bounded library variants. */
export const BOUND = 1024;

/** A scratch buffer per thread for `bytes64k` messages: senders copy it, as `postMessage` does. */
let scratch: Uint8Array | undefined;

/**
 * Message `i` of a payload. `bytes64k` returns the same buffer each time with `i` in its first
 * four bytes (every implementation measured copies it); pass `fresh` for a new buffer (for
 * transfers, which detach it).
 */
export function makeItem(payload: Payload, i: number, fresh = false): unknown {
  switch (payload) {
    case "number":
      return i;
    case "object":
      return { id: i, body: "hello world" };
    case "bytes64k": {
      const b = fresh ? new Uint8Array(BYTES_64K) : (scratch ??= new Uint8Array(BYTES_64K));
      b[0] = i;
      b[1] = i >>> 8;
      b[2] = i >>> 16;
      b[3] = i >>> 24;
      return b;
    }
    case "record16":
      throw new TypeError("record16 is written straight into the ring");
  }
}

/** The number `makeItem(payload, i)` carries, for checksums. */
export function idOf(payload: Payload, item: unknown): number {
  switch (payload) {
    case "number":
      return item as number;
    case "object":
      return (item as { id: number }).id;
    case "bytes64k": {
      const b = item as Uint8Array;
      if (b.length !== BYTES_64K) throw new Error(`a message of ${b.length} bytes arrived`);
      return (b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24) >>> 0;
    }
    case "record16":
      return 0;
  }
}

/** The implementations a workload runs with. */
export type Impl =
  | "mpsc"
  | "postMessage"
  | "postMessage+transfer"
  | "MessageChannel"
  | "ringbuf.js"
  | "multithreading"
  | "core"
  /** Rust's `std::sync::mpsc`, threads of one process (`bench/rust/`). */
  | "rust";

/** One row of the matrix: an implementation and its options. */
export interface Variant {
  impl: Impl;
  /** mpsc: `channel()` ("unbounded") or `syncChannel(BOUND)`; core: the core's bound. */
  bound?: "unbounded" | number;
  /** mpsc: receive with `recvSync`, `recv`, `recvIntoSync` (a buffer reused) or `recvManySync`. */
  recv?: "sync" | "async" | "into" | "many";
  /** mpsc: the codec. */
  codec?: "structured" | "bytes";
  /** W0: the whole record path in one thread (no worker), in ns per record. */
  oneThread?: boolean;
  /** W6: what the blocked worker waits in. */
  idle?: "recvSync" | "recv" | "event loop";
}

/** A short name for a row. */
export function label(v: Variant): string {
  switch (v.impl) {
    case "mpsc": {
      if (v.idle) return `mpsc ${v.idle}`;
      const ctor = v.bound === "unbounded" ? "channel()" : `syncChannel(${v.bound})`;
      const codec = v.codec === "bytes" ? "bytes " : "";
      const call = {
        sync: "recvSync",
        async: "recv",
        into: "recvIntoSync",
        many: "recvManySync(256)",
      };
      return `mpsc ${ctor} ${codec}${call[v.recv ?? "sync"]}`;
    }
    case "core":
      return v.oneThread
        ? "core, one thread: reserve+write+commit+peek+release"
        : `core ${v.bound === "unbounded" ? "unbounded" : `bound ${v.bound}`}`;
    case "postMessage":
      return v.idle ? "idle worker (event loop)" : "postMessage";
    case "ringbuf.js":
      return "ringbuf.js (spin)";
    case "multithreading":
      return "multithreading channel(64) blocking";
    case "rust":
      return `Rust std::sync::mpsc ${
        v.bound === "unbounded" ? "channel()" : `sync_channel(${v.bound})`
      }`;
    default:
      return v.impl;
  }
}

const MPSC_4: Variant[] = [
  { impl: "mpsc", bound: "unbounded", recv: "sync" },
  { impl: "mpsc", bound: "unbounded", recv: "async" },
  { impl: "mpsc", bound: BOUND, recv: "sync" },
  { impl: "mpsc", bound: BOUND, recv: "async" },
];

/** Rust's `std::sync::mpsc` on the same workload: the "vs Rust" baseline of the rows. */
const RUST: Variant[] = [
  { impl: "rust", bound: "unbounded" },
  { impl: "rust", bound: BOUND },
];

/** The rows of each workload. `postMessage` is the baseline of every ratio. */
export const MATRIX: Record<WorkloadId, readonly Variant[]> = {
  W0: [
    { impl: "core", bound: "unbounded", oneThread: true },
    { impl: "core", bound: "unbounded" },
    { impl: "core", bound: BOUND },
  ],
  W1: [
    { impl: "postMessage" },
    { impl: "MessageChannel" },
    ...MPSC_4,
    { impl: "ringbuf.js" },
    { impl: "multithreading" },
    ...RUST,
  ],
  W2: [
    { impl: "postMessage" },
    { impl: "MessageChannel" },
    ...MPSC_4,
    { impl: "multithreading" },
    ...RUST,
  ],
  // ringbuf.js is single-producer: it does not fit N → 1.
  W3: [
    { impl: "postMessage" },
    { impl: "MessageChannel" },
    ...MPSC_4,
    { impl: "mpsc", bound: "unbounded", recv: "many" },
    { impl: "multithreading" },
    ...RUST,
  ],
  W4: [
    { impl: "postMessage" },
    { impl: "MessageChannel" },
    ...MPSC_4,
    { impl: "ringbuf.js" },
    { impl: "multithreading" },
    ...RUST,
  ],
  // multithreading's channels carry JSON: no Uint8Array.
  W5: [
    { impl: "postMessage" },
    { impl: "postMessage+transfer" },
    { impl: "MessageChannel" },
    ...MPSC_4,
    ...MPSC_4.map((v) => ({ ...v, codec: "bytes" as const })),
    { impl: "mpsc", bound: "unbounded", recv: "into" },
    { impl: "mpsc", bound: "unbounded", recv: "into", codec: "bytes" },
    { impl: "ringbuf.js" },
    ...RUST,
  ],
  W6: [
    { impl: "postMessage", idle: "event loop" },
    { impl: "mpsc", bound: "unbounded", idle: "recvSync" },
    { impl: "mpsc", bound: "unbounded", idle: "recv" },
  ],
};
