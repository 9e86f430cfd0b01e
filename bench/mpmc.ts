/**
 * Several receivers and select (issue 14), in one run, alternated, medians:
 *
 * - **W7 task pool**: `count` small tasks (cost 0) through 4 workers sharing one channel
 *   (`Receiver.clone`), against `postMessage` pools of 4 workers: round-robin, and least-busy
 *   (each task to the worker with the fewest unacknowledged ones; workers ack each task). Then
 *   tasks of random cost (0–100 µs, busy-waited): the cost each worker was given (max/mean) and
 *   the total time, against the round-robin pool.
 * - **W8 select**: 1 producer worker spreads numbers over 4 channels; the main thread takes them
 *   with `selectSync`, against W1's shape (the same numbers through one channel, `recvSync`).
 * - **recvMany**: W1's shape taken with `recvManySync(1024)` against `recvSync` (the producer
 *   sets the pace there), and the receiver's own cost: draining `count` numbers already in a
 *   channel, in one thread.
 *
 *     deno run -A bench/mpmc.ts            # 1 M tasks / messages per run, 3 runs
 *     deno run -A bench/mpmc.ts --quick    # 50 k, 1 run
 *
 * @module
 */
import { channel, type Receiver, selectSync, spawn } from "@wasmring/mpsc";

const quick = Deno.args.includes("--quick");
const COUNT = quick ? 50_000 : 1_000_000;
const COSTLY = quick ? 2_000 : 20_000;
const RUNS = quick ? 1 : 3;
const WORKERS = 4;
const url = new URL("./workers/mpmc_worker.ts", import.meta.url);

interface Totals {
  count: number;
  cost: number;
}

/** A random task cost in µs, 0–100, from a fixed sequence (the same for every pool). */
function costs(n: number): number[] {
  let x = 0x9e3779b9;
  return Array.from({ length: n }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % 101;
  });
}

/** A pool over one shared channel: seconds, and what each worker took. */
async function channelPool(
  tasks: number[],
  batches = false,
): Promise<{ s: number; per: Totals[] }> {
  const [tx, rx] = channel<number>();
  const many = batches ? 16 : 1;
  const jobs = Array.from(
    { length: WORKERS },
    () => spawn<Totals>(url, { mode: "pool", tasks: rx.clone(), many }),
  );
  rx.close();
  await new Promise((r) => setTimeout(r, 200)); // started
  const t0 = performance.now();
  if (batches) {
    for (let i = 0; i < tasks.length; i += 1024) tx.sendManySync(tasks.slice(i, i + 1024));
  } else {
    for (const task of tasks) tx.sendSync(task);
  }
  tx.close();
  const per = await Promise.all(jobs.map((job) => job.join()));
  return { s: (performance.now() - t0) / 1000, per };
}

/** A postMessage pool: round-robin, or least-busy (acks). */
async function postPool(
  tasks: number[],
  leastBusy: boolean,
): Promise<{ s: number; per: Totals[] }> {
  const jobs = Array.from(
    { length: WORKERS },
    (_, id) => spawn<Totals>(url, { mode: "post-pool", ack: leastBusy, id }),
  );
  const workers = jobs.map((job) => job.worker as Worker);
  const outstanding = new Array(WORKERS).fill(0);
  let acked = 0;
  let allAcked: () => void = () => {};
  for (const [w, worker] of workers.entries()) {
    worker.addEventListener("message", (e: MessageEvent) => {
      if (typeof e.data?.ack !== "number") return;
      outstanding[w]--;
      if (++acked === tasks.length) allAcked();
    });
  }
  await new Promise((r) => setTimeout(r, 200));
  const t0 = performance.now();
  if (!leastBusy) {
    for (let i = 0; i < tasks.length; i++) workers[i % WORKERS].postMessage(tasks[i]);
  } else {
    // Acks arrive between macrotasks: post in slices, each task to the least busy worker.
    const done = new Promise<void>((r) => allAcked = r);
    let i = 0;
    while (i < tasks.length) {
      for (let k = 0; k < 256 && i < tasks.length; k++, i++) {
        let best = 0;
        for (let w = 1; w < WORKERS; w++) if (outstanding[w] < outstanding[best]) best = w;
        outstanding[best]++;
        workers[best].postMessage(tasks[i]);
      }
      await new Promise((r) => setTimeout(r, 0));
    }
    await done;
  }
  for (const worker of workers) worker.postMessage("stop");
  const per = await Promise.all(jobs.map((job) => job.join()));
  return { s: (performance.now() - t0) / 1000, per };
}

/** Numbers through `n` channels from one producer worker, taken with `take`: messages/s. */
async function stream(n: number, take: (rxs: Receiver<number>[]) => number): Promise<number> {
  const ends = Array.from({ length: n }, () => channel<number>());
  const job = spawn(url, { mode: "produce", txs: ends.map(([tx]) => tx), count: COUNT });
  const rxs = ends.map(([, rx]) => rx);
  const t0 = performance.now();
  const got = take(rxs);
  const s = (performance.now() - t0) / 1000;
  await job.join();
  for (const rx of rxs) rx.close();
  if (got !== COUNT) throw new Error(`${got} of ${COUNT}`);
  return COUNT / s;
}

const takers = {
  recvSync: (rxs: Receiver<number>[]) => {
    let got = 0;
    for (const _ of rxs[0]) got++;
    return got;
  },
  "recvManySync(1024)": (rxs: Receiver<number>[]) => {
    let got = 0;
    try {
      for (;;) got += rxs[0].recvManySync(1024).length;
    } catch { /* disconnected */ }
    return got;
  },
  "selectSync over 4": (rxs: Receiver<number>[]) => {
    let got = 0;
    let open = rxs;
    while (open.length > 0) {
      const r = selectSync(open);
      if (r.state === "ok") got++;
      else open = open.filter((_, i) => i !== r.index);
    }
    return got;
  },
};

/** CPU ms a worker blocked 2 s uses, in selectSync over 4 empty channels or recvSync on one. */
async function idle(select: boolean): Promise<number> {
  const ends = Array.from({ length: 4 }, () => channel<number>());
  const job = spawn<{ cpuMs: number }>(url, {
    mode: "idle",
    rxs: ends.map(([, rx]) => rx),
    select,
    ms: quick ? 200 : 2000,
  });
  const { cpuMs } = await job.join();
  for (const [tx] of ends) tx.close();
  return cpuMs;
}

/**
 * Round trips main → worker → main, µs: the main thread sends on one of 4 channels in turn and
 * waits for the echo (recvSync); the worker waits in selectSync over the 4, or in recvSync on one
 * channel (everything sent on it).
 */
async function roundTrip(select: boolean): Promise<number> {
  const ends = Array.from({ length: 4 }, () => channel<number>());
  const [outTx, outRx] = channel<number>();
  const job = spawn(url, { mode: "echo", rxs: ends.map(([, rx]) => rx), out: outTx, select });
  const trips = quick ? 2_000 : 20_000;
  for (let i = 0; i < 200; i++) { // warm-up
    ends[select ? i & 3 : 0][0].sendSync(i);
    outRx.recvSync();
  }
  const t0 = performance.now();
  for (let i = 0; i < trips; i++) {
    ends[select ? i & 3 : 0][0].sendSync(i);
    if (outRx.recvSync() !== i) throw new Error("wrong echo");
  }
  const us = (performance.now() - t0) * 1000 / trips;
  for (const [tx] of ends) tx.close();
  await job.join();
  outRx.close();
  return us;
}

/** Drains `COUNT` numbers sent beforehand, in this thread, with `take`: messages/s. */
function drain(many: boolean): number {
  const [tx, rx] = channel<number>();
  for (let i = 0; i < COUNT; i++) tx.sendSync(i);
  const t0 = performance.now();
  let got = 0;
  if (many) { while (got < COUNT) got += rx.recvManySync(1024).length; }
  else for (; got < COUNT; got++) rx.recvSync();
  const s = (performance.now() - t0) / 1000;
  tx.close();
  rx.close();
  return COUNT / s;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows = new Map<string, number[]>();
const add = (name: string, value: number) => rows.set(name, [...(rows.get(name) ?? []), value]);
const small = new Array(COUNT).fill(0);
const costly = costs(COSTLY);
const balance: Record<string, number[]> = {};

for (let run = 0; run < RUNS; run++) {
  const a = await channelPool(small);
  add("W7 pool: one shared channel", COUNT / a.s);
  const a2 = await channelPool(small, true);
  add("W7 pool: shared, sendMany/recvMany(16)", COUNT / a2.s);
  const b = await postPool(small, false);
  add("W7 pool: postMessage round-robin", COUNT / b.s);
  const c = await postPool(small, true);
  add("W7 pool: postMessage least-busy", COUNT / c.s);
  for (
    const [name, pool] of [
      ["shared channel", () => channelPool(costly)],
      ["postMessage round-robin", () => postPool(costly, false)],
    ] as const
  ) {
    const r = await pool();
    const mean = r.per.reduce((s, t) => s + t.cost, 0) / WORKERS;
    (balance[`${name} max/mean cost`] ??= []).push(Math.max(...r.per.map((t) => t.cost)) / mean);
    (balance[`${name} seconds`] ??= []).push(r.s);
  }
  add("W1 shape: recvSync", await stream(1, takers.recvSync));
  add("W1 shape: recvManySync(1024)", await stream(1, takers["recvManySync(1024)"]));
  add("W8: selectSync over 4 channels", await stream(4, takers["selectSync over 4"]));
  add("round trip µs: worker in recvSync", await roundTrip(false));
  add("round trip µs: worker in selectSync/4", await roundTrip(true));
  add("idle CPU ms/2 s: recvSync", await idle(false));
  add("idle CPU ms/2 s: selectSync over 4", await idle(true));
  add("drain, one thread: recvSync", drain(false));
  add("drain, one thread: recvManySync(1024)", drain(true));
}

const fmt = (x: number) =>
  x < 1000
    ? x.toFixed(2)
    : x >= 1e6
    ? `${(x / 1e6).toFixed(2)} M/s`
    : `${(x / 1e3).toFixed(0)} k/s`;
console.log(`${COUNT.toLocaleString("en")} per row, ${RUNS} run(s), medians (all runs):`);
for (const [name, xs] of rows) {
  console.log(`  ${name.padEnd(36)} ${fmt(median(xs)).padStart(10)}   [${xs.map(fmt).join(", ")}]`);
}
const m = (name: string) => median(rows.get(name)!);
console.log("ratios (medians):");
console.log(
  `  W7 shared, batches / postMessage round-robin ${
    (m("W7 pool: shared, sendMany/recvMany(16)") / m("W7 pool: postMessage round-robin")).toFixed(1)
  }×`,
);
console.log(
  `  W7 shared channel / postMessage round-robin  ${
    (m("W7 pool: one shared channel") / m("W7 pool: postMessage round-robin")).toFixed(1)
  }×`,
);
console.log(
  `  W7 shared channel / postMessage least-busy   ${
    (m("W7 pool: one shared channel") / m("W7 pool: postMessage least-busy")).toFixed(1)
  }×`,
);
console.log(
  `  recvManySync(1024) / recvSync                ${
    (m("W1 shape: recvManySync(1024)") / m("W1 shape: recvSync")).toFixed(2)
  }×`,
);
console.log(
  `  drain: recvManySync(1024) / recvSync          ${
    (m("drain, one thread: recvManySync(1024)") / m("drain, one thread: recvSync")).toFixed(2)
  }×`,
);
console.log(
  `  round trip: select / recvSync                ${
    (m("round trip µs: worker in selectSync/4") / m("round trip µs: worker in recvSync")).toFixed(2)
  }×`,
);
console.log(
  `  W8 selectSync over 4 / W1 recvSync           ${
    (m("W8: selectSync over 4 channels") / m("W1 shape: recvSync")).toFixed(2)
  }×`,
);
console.log(`random-cost tasks (${COSTLY.toLocaleString("en")}, 0–100 µs), medians:`);
for (const [name, xs] of Object.entries(balance)) {
  console.log(
    `  ${name.padEnd(40)} ${median(xs).toFixed(3)}   [${xs.map((x) => x.toFixed(3)).join(", ")}]`,
  );
}
console.log(
  `  shared channel time / round-robin time        ${
    (median(balance["shared channel seconds"]) / median(balance["postMessage round-robin seconds"]))
      .toFixed(2)
  }`,
);
Deno.exit(0);
