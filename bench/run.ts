/**
 * Runs the cross-worker benchmark matrix of `bench/workloads.ts` — this library against
 * `worker.postMessage`, `MessageChannel` and two npm peers, the same workloads in the same run —
 * prints a table (result and ratio to postMessage per row) with the machine, Deno version and
 * commit, and writes `bench/results/latest.json` (`bench/chart.ts` draws it).
 *
 * Usage: `deno run -A bench/run.ts [--quick] [--only W1,W4] [--runs N] [--no-peers]`
 * - `--quick`: reduced counts (CI smoke, ~10 s), one run per row.
 * - `--only`: the listed workloads.
 * - `--runs N`: passes per row, the median is kept (default 3, 1 with `--quick`).
 * - `--no-peers`: skip `ringbuf.js` and `multithreading` (they come from npm).
 * - `--out FILE`: where to write the JSON (default `bench/results/latest.json`).
 * - `--no-rust`: skip the Rust baseline (`bench/rust/`, built with `cargo --offline` when
 *   `cargo` is on the PATH; without it the Rust rows say so and the run goes on).
 *
 * Every row first runs an untimed warm-up pass (a tenth of the count) over the same workers.
 * Each consumer checks a checksum of what it received; a wrong one marks the row.
 *
 * @module
 */
import { channel, type Receiver, type Sender, syncChannel } from "@wasmring/mpsc";
import { bytes } from "@wasmring/mpsc";
import { CORE } from "../src/_core.ts";
import { rawChannel } from "../src/_arena.ts";
import {
  BOUND,
  BYTES_64K,
  IDLE_CHANNELS,
  idOf,
  label,
  MATRIX,
  type Variant,
  type Workload,
  WORKLOADS,
} from "./workloads.ts";
import type { Setup } from "./workers/bench_worker.ts";

/** One row of the results. */
export interface Row {
  workload: string;
  impl: string;
  variant: Variant | { impl: string };
  /** The median result, in `unit`. */
  value: number;
  unit: string;
  /** Speed-up against postMessage in the same run (>1: better), or null. */
  ratio: number | null;
  /** Against Rust's `std::sync::mpsc` `channel()` on the same workload in the same run (>1:
   * better), or null. */
  vsRust?: number | null;
  /** Every pass's result. */
  runs: number[];
  count: number;
  note?: string;
  error?: string;
}

/** The JSON written to `bench/results/latest.json`. */
export interface Results {
  date: string;
  quick: boolean;
  runs: number;
  machine: { cpu: string; cores: number; os: string; memoryGiB: number };
  /** 1-minute load average before and after the run: other work on the machine skews it. */
  load: { before: number; after: number };
  deno: string;
  v8: string;
  commit: string;
  dirty: boolean;
  rows: Row[];
  targets: Target[];
  seconds: number;
}

/** A target of issue 6 and whether this run met it. */
export interface Target {
  name: string;
  goal: string;
  /** The library's default variant's figure. */
  measured: string;
  met: boolean | null;
  /** The best library variant's figure, when another one did better. */
  best?: string;
}

const WORKER_URL = new URL("./workers/bench_worker.ts", import.meta.url);
const MT_URL = new URL("./workers/multithreading_peer.ts", import.meta.url);
const MEMORY_URL = new URL("./workers/idle_memory.ts", import.meta.url);

// --- options ----------------------------------------------------------------------------------

function parseArgs(args: string[]) {
  const opts = {
    quick: false,
    only: null as Set<string> | null,
    runs: 0,
    peers: true,
    rust: true,
    out: new URL("./results/latest.json", import.meta.url).pathname,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const eq = a.indexOf("=");
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= args.length) throw new TypeError(`${a} needs a value`);
      return args[++i];
    };
    if (a === "--quick") opts.quick = true;
    else if (a === "--no-peers") opts.peers = false;
    else if (a === "--no-rust") opts.rust = false;
    else if (a.startsWith("--only")) {
      opts.only = new Set(value().split(",").map((s) => s.trim().toUpperCase()));
    } else if (a.startsWith("--runs")) opts.runs = Number(value());
    else if (a.startsWith("--out")) opts.out = value();
    else throw new TypeError(`unknown option ${a}`);
  }
  if (opts.runs <= 0) opts.runs = opts.quick ? 1 : 3;
  return opts;
}

// --- workers ----------------------------------------------------------------------------------

function nextMessage(target: Worker | MessagePort): Promise<unknown> {
  return new Promise((resolve, reject) => {
    target.onmessage = (e: MessageEvent) => resolve(e.data);
    if (target instanceof Worker) {
      target.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`worker: ${e.message}`));
      };
    }
  });
}

async function spawn(): Promise<Worker> {
  const worker = new Worker(WORKER_URL, { type: "module" });
  await nextMessage(worker); // { loaded }: module evaluated, imports done.
  return worker;
}

async function configure(
  worker: Worker,
  setup: Omit<Setup, "cmd">,
  transfer: Transferable[] = [],
): Promise<void> {
  const ready = nextMessage(worker);
  worker.postMessage({ cmd: "setup", ...setup }, transfer);
  await ready;
}

function stop(workers: Worker[]): void {
  for (const w of workers) {
    w.postMessage({ cmd: "exit" });
    // A worker that already exited ignores this; one still in its event loop stops.
    setTimeout(() => w.terminate(), 200);
  }
}

async function loadRingbuf() {
  return (await import("ringbuf.js")).RingBuffer;
}

// --- stream workloads: N producer workers → main ---------------------------------------------

/** A prepared stream row: `pass(count)` returns seconds and the checksum received. */
export interface Pass {
  pass(count: number): Promise<{ seconds: number; checksum: number }>;
  close(): void;
}

export async function prepareStream(w: Workload, v: Variant): Promise<Pass> {
  const workers = await Promise.all(Array.from({ length: w.producers }, spawn));
  const payload = w.payload;
  const go = (count: number) => {
    for (const worker of workers) worker.postMessage({ cmd: "run", count });
  };
  switch (v.impl) {
    case "mpsc": {
      const codec = v.codec === "bytes" ? { codec: bytes } : {};
      const [tx, rx] = (v.bound === "unbounded" ? channel(codec) : syncChannel(BOUND, codec)) as [
        Sender<unknown>,
        Receiver<unknown>,
      ];
      const senders = workers.map((_, i) => i === workers.length - 1 ? tx : tx.clone());
      await Promise.all(
        workers.map((worker, i) =>
          configure(worker, { role: "produce", variant: v, payload, tx: senders[i].transfer() })
        ),
      );
      return {
        async pass(count) {
          const total = count * workers.length;
          let checksum = 0;
          const t0 = performance.now();
          go(count);
          if (v.recv === "async") {
            for (let k = 0; k < total; k++) checksum += idOf(payload, await rx.recv());
          } else if (v.recv === "into") {
            // One buffer for every message: no array made per message.
            const buffer = new Uint8Array(BYTES_64K);
            for (let k = 0; k < total; k++) {
              if (rx.recvIntoSync(buffer) !== BYTES_64K) throw new Error("a short message");
              checksum += idOf(payload, buffer);
            }
          } else if (v.recv === "many") {
            for (let k = 0; k < total;) {
              const values = rx.recvManySync(256);
              k += values.length;
              for (const value of values) checksum += idOf(payload, value);
            }
          } else {
            for (let k = 0; k < total; k++) checksum += idOf(payload, rx.recvSync());
          }
          return { seconds: (performance.now() - t0) / 1000, checksum };
        },
        close() {
          stop(workers);
          rx.close();
        },
      };
    }
    case "postMessage":
    case "postMessage+transfer":
    case "MessageChannel": {
      const ports: (Worker | MessagePort)[] = [];
      for (const worker of workers) {
        if (v.impl === "MessageChannel") {
          const mc = new MessageChannel();
          await configure(worker, { role: "produce", variant: v, payload, port: mc.port2 }, [
            mc.port2,
          ]);
          ports.push(mc.port1);
        } else {
          await configure(worker, { role: "produce", variant: v, payload });
          ports.push(worker);
        }
      }
      return {
        pass(count) {
          const total = count * workers.length;
          return new Promise((resolve) => {
            let k = 0;
            let checksum = 0;
            const t0 = performance.now();
            const onmessage = (e: MessageEvent) => {
              checksum += idOf(payload, e.data);
              if (++k === total) resolve({ seconds: (performance.now() - t0) / 1000, checksum });
            };
            for (const p of ports) p.onmessage = onmessage;
            go(count);
          });
        },
        close() {
          for (const p of ports) if (p instanceof MessagePort) p.close();
          stop(workers);
        },
      };
    }
    case "ringbuf.js": {
      const RingBuffer = await loadRingbuf();
      const numbers = payload === "number";
      // Room for 1024 messages, as syncChannel(BOUND).
      const sab = numbers
        ? RingBuffer.getStorageForCapacity(BOUND, Float64Array)
        : RingBuffer.getStorageForCapacity(16 * BYTES_64K, Uint8Array);
      const rb = new RingBuffer(sab, numbers ? Float64Array : Uint8Array);
      await configure(workers[0], { role: "produce", variant: v, payload, sab });
      return {
        // deno-lint-ignore require-await
        async pass(count) {
          let checksum = 0;
          const t0 = performance.now();
          go(count);
          if (numbers) {
            const one = new Float64Array(1);
            for (let k = 0; k < count; k++) {
              while (rb.pop(one) === 0) { /* empty: spin */ }
              checksum += one[0];
            }
          } else {
            for (let k = 0; k < count; k++) {
              // A fresh array per message, as the bytes codec's decode makes.
              const out = new Uint8Array(BYTES_64K);
              for (let off = 0; off < out.length;) off += rb.pop(out, out.length - off, off);
              checksum += idOf(payload, out);
            }
          }
          return { seconds: (performance.now() - t0) / 1000, checksum };
        },
        close() {
          stop(workers);
        },
      };
    }
    default:
      throw new Error(`${v.impl} does not run stream workloads`);
  }
}

// --- ping-pong ---------------------------------------------------------------------------------

export async function preparePingPong(w: Workload, v: Variant): Promise<Pass> {
  const worker = await spawn();
  const payload = w.payload;
  switch (v.impl) {
    case "mpsc": {
      const make = () =>
        (v.bound === "unbounded" ? channel<number>() : syncChannel<number>(BOUND)) as [
          Sender<number>,
          Receiver<number>,
        ];
      const [pingTx, pingRx] = make();
      const [pongTx, pongRx] = make();
      await configure(worker, {
        role: "echo",
        variant: v,
        payload,
        ping: pingRx.transfer(),
        pong: pongTx.transfer(),
      });
      return {
        async pass(count) {
          const done = nextMessage(worker);
          worker.postMessage({ cmd: "run", count });
          // The first round trip waits for the worker to take the run message: not timed.
          pingTx.sendSync(0);
          let checksum = v.recv === "async" ? await pongRx.recv() : pongRx.recvSync();
          const t0 = performance.now();
          if (v.recv === "async") {
            for (let i = 1; i < count; i++) {
              pingTx.sendSync(i);
              checksum += await pongRx.recv();
            }
          } else {
            for (let i = 1; i < count; i++) {
              pingTx.sendSync(i);
              checksum += pongRx.recvSync();
            }
          }
          const seconds = (performance.now() - t0) / 1000 * count / Math.max(1, count - 1);
          await done;
          return { seconds, checksum };
        },
        close() {
          stop([worker]);
          pingTx.close();
          pongRx.close();
        },
      };
    }
    case "postMessage":
    case "MessageChannel": {
      let port: Worker | MessagePort = worker;
      if (v.impl === "MessageChannel") {
        const mc = new MessageChannel();
        await configure(worker, { role: "echo", variant: v, payload, port: mc.port2 }, [
          mc.port2,
        ]);
        port = mc.port1;
      } else {
        await configure(worker, { role: "echo", variant: v, payload });
      }
      let next: (value: number) => void = () => {};
      port.onmessage = (e: MessageEvent<number>) => next(e.data);
      const roundTrip = (i: number) =>
        new Promise<number>((resolve) => {
          next = resolve;
          port.postMessage(i);
        });
      return {
        async pass(count) {
          let checksum = await roundTrip(0);
          const t0 = performance.now();
          for (let i = 1; i < count; i++) checksum += await roundTrip(i);
          const seconds = (performance.now() - t0) / 1000 * count / Math.max(1, count - 1);
          return { seconds, checksum };
        },
        close() {
          if (port instanceof MessagePort) port.close();
          worker.terminate();
        },
      };
    }
    case "ringbuf.js": {
      const RingBuffer = await loadRingbuf();
      const sab = RingBuffer.getStorageForCapacity(BOUND, Float64Array);
      const sab2 = RingBuffer.getStorageForCapacity(BOUND, Float64Array);
      const ping = new RingBuffer(sab, Float64Array);
      const pong = new RingBuffer(sab2, Float64Array);
      await configure(worker, { role: "echo", variant: v, payload, sab, sab2 });
      const one = new Float64Array(1);
      const roundTrip = (i: number) => {
        one[0] = i;
        while (ping.push(one) === 0) { /* full: spin */ }
        while (pong.pop(one) === 0) { /* empty: spin */ }
        return one[0];
      };
      return {
        async pass(count) {
          const done = nextMessage(worker);
          worker.postMessage({ cmd: "run", count });
          let checksum = roundTrip(0);
          const t0 = performance.now();
          for (let i = 1; i < count; i++) checksum += roundTrip(i);
          const seconds = (performance.now() - t0) / 1000 * count / Math.max(1, count - 1);
          await done;
          return { seconds, checksum };
        },
        close() {
          stop([worker]);
        },
      };
    }
    default:
      throw new Error(`${v.impl} does not run ping-pong`);
  }
}

// --- W0: raw core across two workers -----------------------------------------------------------

/** The core's single-thread cost: one 16-byte record through it, in ns (as core_bench.ts). */
function coreOneThread(count: number): number {
  const maxBytes = 256 * 1024 * 1024;
  const { memory, core, ch, gen } = rawChannel(CORE.UNBOUNDED, maxBytes);
  const u8 = new Uint8Array(memory.buffer);
  let sum = 0;
  const loop = (n: number) => {
    for (let i = 0; i < n; i++) {
      const at = core.reserve(ch, gen, 16, 1);
      for (let j = 0; j < 16; j++) u8[at + j] = i + j;
      core.commit(ch, gen, at, 1, 16);
      const got = core.peek(ch, gen, CORE.FIRST_TOKEN);
      sum += u8[got];
      core.release(ch, gen, CORE.FIRST_TOKEN);
    }
  };
  loop(Math.min(count, 100_000));
  const t0 = performance.now();
  loop(count);
  const ns = (performance.now() - t0) * 1e6 / count;
  if (sum < 0) throw new Error("unreachable");
  return ns;
}

async function runCore(v: Variant, count: number): Promise<{ seconds: number; note: string }> {
  const maxBytes = 256 * 1024 * 1024;
  const bound = v.bound === "unbounded" ? CORE.UNBOUNDED : v.bound!;
  const { memory, ch, gen } = rawChannel(bound, maxBytes);
  const [producer, consumer] = await Promise.all([spawn(), spawn()]);
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const base = { variant: v, payload: "record16" as const, memory, ch, gen, flag };
  await configure(producer, { role: "core-producer", ...base });
  await configure(consumer, { role: "core-consumer", ...base });
  const armed = [nextMessage(producer), nextMessage(consumer)];
  producer.postMessage({ cmd: "run", count });
  consumer.postMessage({ cmd: "run", count });
  await Promise.all(armed);
  const results = [nextMessage(producer), nextMessage(consumer)];
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
  const [, r] = await Promise.all(results) as [unknown, {
    elapsedMs: number;
    bad: number;
    storage: number;
  }];
  stop([producer, consumer]);
  if (r.bad !== 0) throw new Error(`${r.bad} records arrived damaged`);
  return {
    seconds: r.elapsedMs / 1000,
    note: `ring storage at the end: ${Math.round(r.storage / 1024)} KiB`,
  };
}

// --- W6: idle cost -------------------------------------------------------------------------------

async function runIdle(v: Variant, ms: number): Promise<{ cpuMs: number; note: string }> {
  const worker = await spawn();
  let keep: Sender<number> | undefined;
  if (v.impl === "mpsc") {
    const [tx, rx] = channel<number>();
    keep = tx;
    await configure(worker, { role: "idle", variant: v, payload: "number", ping: rx.transfer() });
  } else {
    await configure(worker, { role: "idle", variant: v, payload: "number" });
  }
  const done = nextMessage(worker);
  const cpu0 = processCpuMs();
  worker.postMessage({ cmd: "run", count: ms });
  const r = await done as { cpuNs: number; wallMs: number };
  const processMs = processCpuMs() - cpu0;
  keep?.close();
  stop([worker]);
  return {
    cpuMs: r.cpuNs / 1e6,
    note: `blocked ${r.wallMs.toFixed(0)} ms; whole process ${processMs.toFixed(1)} CPU ms`,
  };
}

function processCpuMs(): number {
  const usage = (Deno as unknown as { cpuUsage?: () => { user: number; system: number } })
    .cpuUsage?.();
  return usage ? (usage.user + usage.system) / 1000 : NaN;
}

async function idleMemory(kind: string, n: number): Promise<{ perChannel: number; vm: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", MEMORY_URL.pathname, kind, `${n}`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).slice(-500));
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  return { perChannel: r.rssPerChannel, vm: r.vmKiBPerChannel };
}

// --- multithreading (its own process) ----------------------------------------------------------

async function runMultithreading(w: Workload, count: number): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MT_URL.pathname, w.id, `${count}`],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).split("\n").filter((l) =>
      /error|Error/.test(l)
    );
    throw new Error(err.slice(0, 2).join(" ").slice(0, 200));
  }
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  if (r.checksum !== r.expected) {
    throw new Error(`wrong checksum: ${r.checksum}, expected ${r.expected} (messages lost)`);
  }
  return r.seconds;
}

// --- Rust's std::sync::mpsc (bench/rust/, its own process) -----------------------------------------

const RUST_DIR = new URL("./rust/", import.meta.url).pathname;
let rustBinary: Promise<string> | undefined;

/** Builds `bench/rust/` once per run (offline: the crate is std-only) and returns the binary. */
function buildRust(): Promise<string> {
  return rustBinary ??= (async () => {
    let out;
    try {
      out = await new Deno.Command("cargo", {
        args: ["build", "--release", "--offline", "--quiet"],
        cwd: RUST_DIR,
        stdout: "piped",
        stderr: "piped",
      }).output();
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error("cargo is not installed: no Rust baseline");
      }
      throw error;
    }
    if (!out.success) {
      throw new Error(`cargo build failed: ${new TextDecoder().decode(out.stderr).slice(-300)}`);
    }
    return `${RUST_DIR}target/release/mpsc-baseline`;
  })();
}

/** Runs one workload on Rust's channels: the seconds of each of `runs` passes. */
async function runRust(w: Workload, v: Variant, count: number, runs: number): Promise<number[]> {
  const binary = await buildRust();
  const out = await new Deno.Command(binary, {
    args: [w.id, `${v.bound}`, `${count}`, `${runs}`],
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(300_000),
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr).slice(-300));
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  return r.runs as number[];
}

// --- the matrix ----------------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The figure of a pass in the workload's unit. */
export function figure(w: Workload, count: number, seconds: number): number {
  const messages = count * w.producers;
  switch (w.unit) {
    case "msgs/s":
    case "records/s":
      return messages / seconds;
    case "MB/s":
      return messages * BYTES_64K / seconds / 1e6;
    case "µs/rtt":
      return seconds * 1e6 / count;
    default:
      return seconds;
  }
}

async function runVariant(
  w: Workload,
  v: Variant,
  count: number,
  runs: number,
): Promise<{ runs: number[]; note?: string; unit?: string }> {
  const warm = Math.max(2, Math.floor(count / 10));
  const expected = (n: number) => w.producers * n * (n - 1) / 2;
  if (v.impl === "rust") {
    return { runs: (await runRust(w, v, count, runs)).map((s) => figure(w, count, s)) };
  }
  if (v.impl === "multithreading") {
    const results: number[] = [];
    for (let r = 0; r < runs; r++) {
      results.push(figure(w, count, await runMultithreading(w, count)));
    }
    return { runs: results };
  }
  if (w.kind === "core" && v.oneThread) {
    const results: number[] = [];
    for (let r = 0; r < runs; r++) results.push(coreOneThread(count));
    return { runs: results, unit: "ns/record" };
  }
  if (w.kind === "core") {
    const results: number[] = [];
    let note = "";
    for (let r = 0; r < runs; r++) {
      const out = await runCore(v, count);
      results.push(figure(w, count, out.seconds));
      note = out.note;
    }
    return { runs: results, note };
  }
  if (w.kind === "idle") {
    const results: number[] = [];
    let note = "";
    for (let r = 0; r < runs; r++) {
      const out = await runIdle(v, count);
      results.push(out.cpuMs);
      note = out.note;
    }
    return { runs: results, note };
  }
  const prepared = w.kind === "pingpong" ? await preparePingPong(w, v) : await prepareStream(w, v);
  try {
    const warmUp = await prepared.pass(warm);
    if (warmUp.checksum !== expected(warm)) {
      throw new Error(`wrong checksum ${warmUp.checksum}, expected ${expected(warm)}`);
    }
    const results: number[] = [];
    for (let r = 0; r < runs; r++) {
      const { seconds, checksum } = await prepared.pass(count);
      if (checksum !== expected(count)) {
        throw new Error(`wrong checksum ${checksum}, expected ${expected(count)}`);
      }
      results.push(figure(w, count, seconds));
    }
    return { runs: results };
  } finally {
    prepared.close();
  }
}

async function git(...args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command("git", {
      args,
      cwd: new URL("..", import.meta.url).pathname,
      stdout: "piped",
      stderr: "null",
    }).output();
    return new TextDecoder().decode(out.stdout).trim();
  } catch {
    return "";
  }
}

function machine(): Results["machine"] {
  let cpu = "unknown";
  try {
    cpu = /model name\s*:\s*(.*)/.exec(Deno.readTextFileSync("/proc/cpuinfo"))?.[1] ?? cpu;
  } catch { /* not Linux */ }
  return {
    cpu,
    cores: navigator.hardwareConcurrency,
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    memoryGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
  };
}

function fmt(value: number, unit: string): string {
  if (!Number.isFinite(value)) return "—";
  if (unit === "msgs/s" || unit === "records/s") {
    return value >= 1e6 ? `${(value / 1e6).toFixed(2)} M` : `${(value / 1e3).toFixed(0)} k`;
  }
  if (unit === "µs/rtt") return value < 10 ? value.toFixed(2) : value.toFixed(1);
  if (unit === "KiB/channel") return value.toFixed(1);
  return value < 100 ? value.toFixed(2) : value.toFixed(0);
}

/** Evaluates the targets of issue 6 on the rows. */
function targets(rows: Row[]): Target[] {
  const find = (wl: string, impl: string) =>
    rows.find((r) => r.workload === wl && r.impl === impl && !r.error);
  const lib = (wl: string) => rows.filter((r) => r.workload === wl && r.impl.startsWith("mpsc"));
  const out: Target[] = [];
  const ratioTarget = (wl: string, goal: number, headline: string, name: string) => {
    const head = find(wl, headline);
    if (!rows.some((r) => r.workload === wl)) return;
    const best = lib(wl).filter((r) => r.ratio !== null).sort((a, b) => b.ratio! - a.ratio!)[0];
    const ratio = head?.ratio ?? null;
    out.push({
      name,
      goal: `≥ ${goal}× postMessage`,
      measured: ratio === null ? "n/a" : `${ratio.toFixed(1)}× (${headline})`,
      met: ratio === null ? null : ratio >= goal,
      best: best && best !== head ? `${best.ratio!.toFixed(1)}× (${best.impl})` : undefined,
    });
  };
  ratioTarget("W1", 30, "mpsc channel() recvSync", "W1 numbers 1→1");
  ratioTarget("W2", 15, "mpsc channel() recvSync", "W2 small objects 1→1");
  ratioTarget("W3", 12, "mpsc channel() recvSync", "W3 numbers 4→1");
  ratioTarget("W4", 20, "mpsc channel() recvSync", "W4 ping-pong (round trip ≤ 1/20)");
  ratioTarget("W5", 3, "mpsc channel() bytes recvIntoSync", "W5 64 KiB, bytes, into a buffer");
  ratioTarget("W5", 3, "mpsc channel() recvIntoSync", "W5 64 KiB, structured, into a buffer");
  ratioTarget("W5", 2, "mpsc channel() bytes recvSync", "W5 64 KiB with the bytes codec");
  ratioTarget("W5", 2, "mpsc channel() recvSync", "W5 64 KiB with the structured codec");
  // Issue 15: against Rust's std::sync::mpsc channel() on the same workload, in the same run.
  const rustTarget = (wl: string, goal: number, impl: string, name: string) => {
    if (!rows.some((r) => r.workload === wl)) return;
    const row = find(wl, impl);
    if (!row || row.vsRust === undefined || row.vsRust === null) {
      out.push({
        name,
        goal: `≥ ${goal}× Rust channel()`,
        measured: "n/a (no Rust row)",
        met: null,
      });
      return;
    }
    out.push({
      name,
      goal: `≥ ${goal}× Rust channel()`,
      measured: `${row.vsRust.toFixed(2)}× (${impl})`,
      met: row.vsRust >= goal,
    });
  };
  rustTarget("W1", 0.5, "mpsc channel() recvSync", "W1 vs Rust");
  rustTarget("W2", 0.5, "mpsc channel() recvSync", "W2 vs Rust");
  rustTarget("W3", 0.5, "mpsc channel() recvManySync(256)", "W3 vs Rust, batch receive");
  rustTarget("W3", 0.25, "mpsc channel() recvSync", "W3 vs Rust, one receive per message");
  const idle = find("W6", "mpsc recvSync");
  if (idle) {
    out.push({
      name: "W6 blocked receiver",
      goal: "< 10 ms CPU in 2 s",
      measured: `${idle.value.toFixed(2)} ms in ${idle.count} ms`,
      met: idle.count >= 2000 ? idle.value < 10 : null,
    });
  }
  const mem = find("W6", "mpsc channel() idle RSS");
  if (mem) {
    out.push({
      name: "W6 idle channel memory",
      goal: "≤ 128 KiB RSS per channel",
      measured: `${mem.value.toFixed(1)} KiB`,
      met: mem.value <= 128,
    });
  }
  const one = rows.find((r) => r.workload === "W0" && r.unit === "ns/record" && !r.error);
  if (one) {
    out.push({
      name: "W0 raw core, one thread",
      goal: "≤ 50 ns per 16-byte record",
      measured: `${one.value.toFixed(1)} ns`,
      met: one.value <= 50,
    });
  }
  const w0 = find("W0", "core unbounded");
  if (w0) {
    const bounded = find("W0", `core bound ${BOUND}`);
    out.push({
      name: "W0 raw core across two workers",
      goal: "≥ 10 M records/s",
      measured: `${fmt(w0.value, w0.unit)} records/s (unbounded)`,
      met: w0.value >= 10e6,
      best: bounded ? `${fmt(bounded.value, bounded.unit)} records/s (bound ${BOUND})` : undefined,
    });
  }
  return out;
}

function table(results: Results): string {
  const lines: string[] = [];
  const m = results.machine;
  lines.push(
    `${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}`,
    `Deno ${results.deno} (V8 ${results.v8}), commit ${results.commit}${
      results.dirty ? " (+ uncommitted changes)" : ""
    }, ${results.quick ? "quick" : "full"}, median of ${results.runs} run(s), ${results.date}`,
    `load average ${results.load.before.toFixed(2)} before, ${
      results.load.after.toFixed(2)
    } after (anything else running skews the figures)`,
    "",
  );
  const head = [
    "workload",
    "implementation",
    "result",
    "unit",
    "vs postMessage",
    "vs Rust",
    "note",
  ];
  const times = (x: number | null | undefined) =>
    x === null || x === undefined ? "—" : `${x.toFixed(x < 10 ? 2 : 1)}×`;
  const body = results.rows.map((r) => [
    r.workload,
    r.impl,
    r.error ? "failed" : fmt(r.value, r.unit),
    r.unit,
    times(r.ratio),
    times(r.vsRust),
    r.error ? r.error.slice(0, 90) : r.note ?? "",
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const row = (cells: string[]) =>
    cells.map((c, i) => i === 2 || i === 4 || i === 5 ? c.padStart(widths[i]) : c.padEnd(widths[i]))
      .join("  ").trimEnd();
  lines.push(row(head), widths.map((w) => "-".repeat(w)).join("  "));
  let last = "";
  for (let i = 0; i < body.length; i++) {
    if (last && body[i][0] !== last) lines.push("");
    last = body[i][0];
    lines.push(row(body[i]));
  }
  lines.push(
    "",
    "Targets (issues 6 and 15; the ratios between rows: deno run -A bench/pairs.ts):",
  );
  for (const t of results.targets) {
    const mark = t.met === null ? "n/a " : t.met ? "MET " : "MISS";
    lines.push(
      `  ${mark} ${t.name}: ${t.goal}; measured ${t.measured}${t.best ? `; best ${t.best}` : ""}`,
    );
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const opts = parseArgs(Deno.args);
  const started = performance.now();
  const loadBefore = Deno.loadavg()[0];
  const rows: Row[] = [];
  for (const w of WORKLOADS) {
    if (opts.only && !opts.only.has(w.id)) continue;
    const count = opts.quick ? w.quickCount : w.count;
    console.error(`${w.id}: ${w.title} (${count})`);
    let baseline: number | null = null;
    for (const v of MATRIX[w.id]) {
      if (!opts.peers && (v.impl === "ringbuf.js" || v.impl === "multithreading")) continue;
      if (!opts.rust && v.impl === "rust") continue;
      const name = label(v);
      const row: Row = {
        workload: w.id,
        impl: name,
        variant: v,
        value: NaN,
        unit: w.unit,
        ratio: null,
        runs: [],
        count,
      };
      try {
        const out = await runVariant(w, v, count, opts.runs);
        row.runs = out.runs;
        row.value = median(out.runs);
        if (out.note) row.note = out.note;
        if (out.unit) row.unit = out.unit;
      } catch (error) {
        row.error = error instanceof Error ? error.message : String(error);
      }
      if (w.kind !== "idle" && w.kind !== "core") {
        if (v.impl === "postMessage" && !row.error) baseline = row.value;
        else if (baseline !== null && !row.error) {
          row.ratio = w.higherIsBetter ? row.value / baseline : baseline / row.value;
        }
      }
      console.error(
        `  ${name}: ${
          row.error ? `failed: ${row.error}` : `${fmt(row.value, row.unit)} ${w.unit}`
        }`,
      );
      rows.push(row);
    }
    const rust = rows.find((r) =>
      r.workload === w.id && r.impl === label({ impl: "rust", bound: "unbounded" }) && !r.error
    );
    if (rust) {
      for (const r of rows) {
        if (r.workload !== w.id || r.error || r.unit !== w.unit) continue;
        r.vsRust = w.higherIsBetter ? r.value / rust.value : rust.value / r.value;
      }
    }
    if (w.kind === "idle") {
      const n = opts.quick ? IDLE_CHANNELS / 10 : IDLE_CHANNELS;
      for (const kind of ["channel", "syncChannel", "MessageChannel"]) {
        const name = kind === "MessageChannel"
          ? "MessageChannel idle RSS"
          : `mpsc ${kind === "channel" ? "channel()" : `syncChannel(${BOUND})`} idle RSS`;
        const row: Row = {
          workload: w.id,
          impl: name,
          variant: { impl: kind },
          value: NaN,
          unit: "KiB/channel",
          ratio: null,
          runs: [],
          count: n,
        };
        try {
          const r = await idleMemory(kind, n);
          row.value = r.perChannel / 1024;
          row.runs = [row.value];
          row.note = `${n} channels; ${(r.vm / 1024).toFixed(1)} MiB address space reserved each`;
        } catch (error) {
          row.error = error instanceof Error ? error.message : String(error);
        }
        console.error(`  ${name}: ${row.error ?? `${fmt(row.value, row.unit)} KiB`}`);
        rows.push(row);
      }
    }
  }
  const results: Results = {
    date: new Date().toISOString(),
    quick: opts.quick,
    runs: opts.runs,
    machine: machine(),
    load: { before: loadBefore, after: Deno.loadavg()[0] },
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    commit: await git("rev-parse", "--short", "HEAD") || "unknown",
    dirty: (await git("status", "--porcelain")).length > 0,
    rows,
    targets: targets(rows),
    seconds: (performance.now() - started) / 1000,
  };
  console.log(table(results));
  console.log(`\n${results.seconds.toFixed(1)} s; results in ${opts.out}`);
  const dir = opts.out.replace(/[^/]*$/, "");
  if (dir) await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(opts.out, JSON.stringify(results, null, 2) + "\n");
  // A failure of this library or of the platform's baselines fails the run; a peer's does not.
  const failed = rows.some((r) =>
    r.error && r.impl !== label({ impl: "ringbuf.js" }) &&
    !r.impl.startsWith("multithreading") && r.variant.impl !== "rust"
  );
  // Deno.exit: workers left blocked by a failed row must not keep the process alive.
  Deno.exit(failed ? 1 : 0);
}
