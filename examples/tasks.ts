// deno run --allow-read examples/tasks.ts
//
// A task pool: the workers share one queue of tasks (each holds a clone of its receiver), and
// whichever worker is free takes the next task — a slow task holds up only the worker doing it.
// The main thread asks with `call()`; each result comes back through the reply end its task
// carried (a oneshot, made per call), straight to the call that asked, in whatever order the
// workers finish. Closing the queue stops the workers once it is drained.
import { type Call, call, channel, spawn } from "@wasmring/mpsc";
import type { Result, Task } from "./workers/pool_worker.ts";

const POOL_SIZE = 3;
const TASKS: Task[] = [5e6, 100, 1_000, 4e6, 10_000, 100_000, 3e6, 1e6, 2e6]
  .map((limit, id) => ({ id, limit }));

// One queue; every worker receives from it through a clone of its receiver.
const [tasks, queue] = channel<Call<Task, Result>>();
const url = new URL("./workers/pool_worker.ts", import.meta.url);
const pool = Array.from(
  { length: POOL_SIZE },
  (_, worker) => spawn<number>(url, { worker, tasks: queue.clone() }),
);
queue.close(); // the workers hold the receivers now

// Every task is a call: its promise resolves with that task's result.
const results = await Promise.all(TASKS.map((task) => call(tasks, task)));
for (const { id, primes } of results) {
  console.log(`task ${id}: ${primes} primes below ${TASKS[id].limit}`);
}
const byWorker = Array.from(
  { length: POOL_SIZE },
  (_, w) => results.filter((r) => r.worker === w).length,
);

// No more tasks: each worker's `serve` returns how many it answered.
tasks.close();
const answered = await Promise.all(pool.map((job) => job.join()));
console.log(
  `${results.length} of ${TASKS.length} tasks done by ${POOL_SIZE} workers sharing one queue ` +
    `(each answered ${answered.join(", ")}: ${
      answered.every((n, w) => n === byWorker[w]) ? "as counted" : "MISMATCH"
    })`,
);
