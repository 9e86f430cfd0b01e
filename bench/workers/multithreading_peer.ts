/**
 * The `multithreading` npm package on the stream and ping-pong workloads, run by `bench/run.ts`
 * in a process of its own: the package replaces `Atomics.waitAsync` in the thread that imports
 * it (a `setImmediate` loop while a wait is pending), which would change what the other rows of
 * the run measure.
 *
 * Usage: `deno run -A bench/workers/multithreading_peer.ts W1 <count> [warm]`. Prints one JSON
 * line: `{ seconds, checksum, expected }`.
 *
 * Its tasks are functions stringified into its own worker pool (they cannot use this module's
 * imports), so the messages are built inline; they are those of `makeItem` in workloads.ts.
 *
 * @module
 */
import { channel, initRuntime, move, shutdown, spawn } from "multithreading";
import { WORKLOADS } from "../workloads.ts";

const [id, countArg, warmArg] = Deno.args;
const workload = WORKLOADS.find((w) => w.id === id);
if (!workload || (workload.payload !== "number" && workload.payload !== "object")) {
  throw new TypeError(`multithreading_peer: no such workload ${id}`);
}
const count = Number(countArg);
const warm = Number(warmArg ?? Math.max(1, Math.floor(count / 10)));
const objects = workload.payload === "object";
// One pool thread per producer, so that N producers really run at once.
initRuntime({ maxWorkers: Math.max(2, workload.producers) });

/**
 * Bound of the package's channel (it has no unbounded channel). Its items live in a fixed
 * 64 KiB SharedJsonBuffer: at 1024, W2's objects fail with "SharedJsonBuffer OOM".
 */
const CAPACITY = 64;

async function stream(n: number): Promise<{ seconds: number; checksum: number }> {
  const [tx, rx] = channel<unknown>(CAPACITY);
  const t0 = performance.now();
  const tasks = [];
  for (let p = 0; p < workload!.producers; p++) {
    const sender = p === workload!.producers - 1 ? tx : tx.clone();
    tasks.push(
      spawn(move(sender, n, objects), (s, total: number, obj: boolean) => {
        for (let i = 0; i < total; i++) {
          const r = s.blockingSend(obj ? { id: i, body: "hello world" } : i);
          if (!r.ok) throw r.error;
        }
      }),
    );
  }
  let checksum = 0;
  const all = n * workload!.producers;
  for (let k = 0; k < all; k++) {
    const r = rx.blockingRecv();
    if (!r.ok) throw r.error;
    checksum += objects ? (r.value as { id: number }).id : r.value as number;
  }
  const seconds = (performance.now() - t0) / 1000;
  await Promise.all(tasks.map((t) => t.join()));
  return { seconds, checksum };
}

async function pingpong(n: number): Promise<{ seconds: number; checksum: number }> {
  const [pingTx, pingRx] = channel<number>(CAPACITY);
  const [pongTx, pongRx] = channel<number>(CAPACITY);
  const task = spawn(move(pingRx, pongTx, n), (rx, tx, total: number) => {
    for (let k = 0; k < total; k++) {
      const r = rx.blockingRecv();
      if (!r.ok) throw r.error;
      tx.blockingSend(r.value);
    }
  });
  // The first round trip waits for the task to start: not timed.
  pingTx.blockingSend(0);
  const first = pongRx.blockingRecv();
  if (!first.ok) throw first.error;
  let checksum = first.value;
  const t0 = performance.now();
  for (let i = 1; i < n; i++) {
    pingTx.blockingSend(i);
    const r = pongRx.blockingRecv();
    if (!r.ok) throw r.error;
    checksum += r.value as number;
  }
  const seconds = (performance.now() - t0) / 1000;
  await task.join();
  return { seconds: seconds * n / Math.max(1, n - 1), checksum };
}

const pass = workload.kind === "pingpong" ? pingpong : stream;
await pass(warm);
const { seconds, checksum } = await pass(count);
const expected = workload.kind === "pingpong"
  ? count * (count - 1) / 2
  : workload.producers * count * (count - 1) / 2;
console.log(JSON.stringify({ seconds, checksum, expected }));
shutdown();
