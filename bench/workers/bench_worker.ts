/// <reference lib="deno.worker" />
/**
 * The worker side of `bench/run.ts`: one module for every role, told what to be by a `setup`
 * message, then driven by `run` messages (one per measured pass) until `exit`.
 *
 * Roles: `produce` (stream workloads), `echo` (ping-pong), `idle` (W6), `core-producer` and
 * `core-consumer` (W0). While a `postMessage` or `MessageChannel` role runs, this worker posts
 * nothing but the messages being measured.
 *
 * @module
 */
import { Receiver, Sender, type SenderHandle } from "@wasmring/mpsc";
import { CORE, instantiate, isOffset } from "../../src/_core.ts";
import { makeItem, type Payload, type Variant } from "../workloads.ts";

/** What `run.ts` sends first. */
export interface Setup {
  cmd: "setup";
  role: "produce" | "echo" | "idle" | "core-producer" | "core-consumer";
  variant: Variant;
  payload: Payload;
  /** mpsc: the sender (produce) or the ping receiver and pong sender (echo, idle). */
  tx?: SenderHandle<unknown>;
  ping?: unknown;
  pong?: unknown;
  /** MessageChannel: the worker's port. */
  port?: MessagePort;
  /** ringbuf.js storage (ping: main → worker; pong: worker → main). */
  sab?: SharedArrayBuffer;
  sab2?: SharedArrayBuffer;
  /** core: the channel's memory, its control block and generation, and a start flag. */
  memory?: WebAssembly.Memory;
  ch?: number;
  gen?: number;
  flag?: Int32Array;
}

/** A measured pass. */
export interface Run {
  cmd: "run";
  count: number;
}

// deno-lint-ignore no-explicit-any
let sink: any;
let setup: Setup;
let tx: Sender<unknown> | undefined;
let ping: Receiver<unknown> | undefined;
let port: MessagePort | undefined;
// deno-lint-ignore no-explicit-any
let ringbuf: any;

/** CPU time of this thread in nanoseconds (Linux), or NaN. */
export function threadCpuNs(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]);
  } catch {
    return NaN;
  }
}

async function loadRingbuf() {
  return ringbuf ??= (await import("ringbuf.js")).RingBuffer;
}

self.onmessage = async (e: MessageEvent<Setup | Run | { cmd: "exit" }>) => {
  const msg = e.data;
  if (msg.cmd === "setup") {
    setup = msg;
    await configure();
    self.postMessage({ ready: true });
  } else if (msg.cmd === "run") {
    const result = await run(msg.count);
    if (result !== undefined) self.postMessage(result);
  } else {
    tx?.close();
    ping?.close();
    port?.close();
    self.close();
  }
};

/** What a handle that failed adoption holds. */
function describe(handle: unknown): string {
  const h = handle as Record<string, unknown>;
  const kinds = Object.entries(h ?? {}).map(([k, v]) =>
    `${k}=${Object.prototype.toString.call(v)}`
  );
  let buffer = "";
  try {
    buffer = Object.prototype.toString.call((h.memory as WebAssembly.Memory).buffer);
  } catch (error) {
    buffer = String(error);
  }
  return `${kinds.join(" ")} memory.buffer=${buffer}`;
}

async function configure(): Promise<void> {
  const { variant, role } = setup;
  if (variant.impl === "mpsc") {
    try {
      if (setup.tx) tx = Sender.from(setup.tx);
      if (setup.ping) ping = Receiver.from(setup.ping as never);
      if (setup.pong) tx = Sender.from(setup.pong as never);
    } catch (error) {
      throw new Error(`${(error as Error).message}; handle: ${describe(setup.tx ?? setup.ping)}`);
    }
  } else if (variant.impl === "MessageChannel") {
    port = setup.port!;
    if (role === "echo") port.onmessage = (e) => port!.postMessage(e.data);
  } else if (variant.impl === "postMessage" && role === "echo") {
    // From now on every message is a ping; run.ts terminates this worker.
    self.onmessage = (e) => self.postMessage(e.data);
  } else if (variant.impl === "ringbuf.js") {
    await loadRingbuf();
  }
}

async function run(count: number): Promise<unknown> {
  switch (setup.role) {
    case "produce":
      produce(count);
      return undefined;
    case "echo":
      return await echo(count);
    case "idle":
      return await idle(count);
    case "core-producer":
      coreProducer(count);
      return { done: true };
    case "core-consumer":
      return coreConsumer(count);
  }
}

function produce(count: number): void {
  const { payload, variant } = setup;
  switch (variant.impl) {
    case "mpsc": {
      const sender = tx!;
      const unbounded = variant.bound === "unbounded";
      for (let i = 0; i < count; i++) {
        const item = makeItem(payload, i);
        if (!unbounded) {
          sender.sendSync(item);
          continue;
        }
        // An unbounded channel refuses a send (RangeError) once its storage reaches maxBytes;
        // wait for the receiver to catch up, as a caller must.
        for (;;) {
          try {
            sender.sendSync(item);
            break;
          } catch (error) {
            if (!(error instanceof RangeError)) throw error;
            retries++;
            Atomics.wait(pause, 0, 0, 0.05);
          }
        }
      }
      return;
    }
    case "postMessage":
      for (let i = 0; i < count; i++) self.postMessage(makeItem(payload, i));
      return;
    case "postMessage+transfer":
      for (let i = 0; i < count; i++) {
        const b = makeItem(payload, i, true) as Uint8Array<ArrayBuffer>;
        self.postMessage(b, [b.buffer]);
      }
      return;
    case "MessageChannel":
      for (let i = 0; i < count; i++) port!.postMessage(makeItem(payload, i));
      return;
    case "ringbuf.js": {
      if (payload === "number") {
        const rb = new ringbuf(setup.sab!, Float64Array);
        const one = new Float64Array(1);
        for (let i = 0; i < count; i++) {
          one[0] = i;
          while (rb.push(one) === 0) { /* full: spin */ }
        }
      } else {
        const rb = new ringbuf(setup.sab!, Uint8Array);
        for (let i = 0; i < count; i++) {
          const b = makeItem(payload, i) as Uint8Array;
          for (let off = 0; off < b.length;) off += rb.push(b, b.length - off, off);
        }
      }
      return;
    }
    default:
      throw new Error(`cannot produce with ${variant.impl}`);
  }
}

/** Send retries after a RangeError (unbounded channel at maxBytes), reported by `idle`. */
let retries = 0;
const pause = new Int32Array(new SharedArrayBuffer(4));

async function echo(count: number): Promise<unknown> {
  const { variant } = setup;
  if (variant.impl === "mpsc") {
    const rx = ping!;
    const pong = tx!;
    if (variant.recv === "async") {
      for (let k = 0; k < count; k++) pong.sendSync(await rx.recv());
    } else {
      for (let k = 0; k < count; k++) pong.sendSync(rx.recvSync());
    }
    return { done: true };
  }
  if (variant.impl === "ringbuf.js") {
    const rbIn = new ringbuf(setup.sab!, Float64Array);
    const rbOut = new ringbuf(setup.sab2!, Float64Array);
    const one = new Float64Array(1);
    for (let k = 0; k < count; k++) {
      while (rbIn.pop(one) === 0) { /* empty: spin */ }
      while (rbOut.push(one) === 0) { /* full: spin */ }
    }
    return { done: true };
  }
  throw new Error(`cannot echo with ${variant.impl}`);
}

async function idle(ms: number): Promise<unknown> {
  const cpu0 = threadCpuNs();
  const t0 = performance.now();
  const { variant } = setup;
  if (variant.idle === "recvSync") {
    try {
      sink = ping!.recvSync({ timeout: ms });
    } catch (error) {
      if (!(error instanceof DOMException && error.name === "TimeoutError")) throw error;
    }
  } else if (variant.idle === "recv") {
    try {
      sink = await ping!.recv({ signal: AbortSignal.timeout(ms) });
    } catch (error) {
      if (!(error instanceof DOMException && error.name === "TimeoutError")) throw error;
    }
  } else {
    await new Promise((resolve) => setTimeout(resolve, ms));
  }
  const cpuNs = threadCpuNs() - cpu0;
  return { cpuNs, wallMs: performance.now() - t0, retries, received: sink !== undefined };
}

function waitForStart(): void {
  const flag = setup.flag!;
  self.postMessage({ armed: true });
  while (Atomics.load(flag, 0) === 0) Atomics.wait(flag, 0, 0, 100);
}

function coreProducer(count: number): void {
  const memory = setup.memory!;
  const { ch, gen } = setup as { ch: number; gen: number };
  const core = instantiate(memory);
  let u8 = new Uint8Array(memory.buffer);
  waitForStart();
  for (let i = 0; i < count; i++) {
    let at: number;
    while (!isOffset(at = core.reserve(ch, gen, 16, 1))) {
      if (at !== CORE.FULL && at !== CORE.NO_MEMORY) throw new Error(`reserve: status ${at}`);
    }
    if (at + 16 > u8.length) u8 = new Uint8Array(memory.buffer);
    u8[at] = i;
    u8[at + 1] = i >>> 8;
    u8[at + 2] = i >>> 16;
    u8[at + 3] = i >>> 24;
    for (let j = 4; j < 16; j++) u8[at + j] = j;
    core.commit(ch, gen, at, 1, 16);
  }
}

function coreConsumer(count: number): unknown {
  const memory = setup.memory!;
  const { ch, gen } = setup as { ch: number; gen: number };
  const core = instantiate(memory);
  let u8 = new Uint8Array(memory.buffer);
  waitForStart();
  const t0 = performance.now();
  let bad = 0;
  for (let i = 0; i < count; i++) {
    let at: number;
    while (!isOffset(at = core.peek(ch, gen, CORE.FIRST_TOKEN))) {
      if (at !== CORE.EMPTY && at !== CORE.BUSY) throw new Error(`peek: status ${at}`);
      // Spin as the channel does: on the head record's header only, a bounded number of times
      // (see Receiver.recvSync). Only `peek` follows a sealed ring to its successor: spinning on
      // `poll` alone hung for ever when the consumer caught up with a ring being sealed.
      for (
        let spins = 0;
        spins < 1000 && core.poll(ch, gen, CORE.FIRST_TOKEN) === 0;
        spins++
      ) { /* spin */ }
    }
    if (at + 16 > u8.length) u8 = new Uint8Array(memory.buffer);
    if (u8[at] !== (i & 0xff) || u8[at + 15] !== 15) bad++;
    core.release(ch, gen, CORE.FIRST_TOKEN);
  }
  const elapsedMs = performance.now() - t0;
  return { elapsedMs, bad, storage: core.storageBytes(ch, gen) };
}

self.postMessage({ loaded: true });
