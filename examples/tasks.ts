// deno run --allow-read examples/tasks.ts
//
// A worker pool that answers: each worker serves the calls on its own channel of tasks, the
// main thread deals the tasks out round-robin with `call()`, and each result comes back through
// the reply end its task carried (a oneshot, made per call) — straight to the call that asked,
// in whatever order the workers finish. Closing the task channels stops the workers.
import { type Call, call, channel, spawn } from "@wasmring/mpsc";
import type { Result, Task } from "./workers/pool_worker.ts";

const POOL_SIZE = 3;
const TASKS: Task[] = [10, 100, 1_000, 10_000, 100_000, 200_000, 300_000, 400_000, 500_000]
  .map((limit, id) => ({ id, limit }));

const url = new URL("./workers/pool_worker.ts", import.meta.url);
const pool = Array.from({ length: POOL_SIZE }, (_, worker) => {
  const [tasks, incoming] = channel<Call<Task, Result>>();
  return { tasks, job: spawn<number>(url, { worker, tasks: incoming }) };
});

// Every task is a call: its promise resolves with that task's result.
const results = await Promise.all(
  TASKS.map((task) => call(pool[task.id % POOL_SIZE].tasks, task)),
);
for (const { id, primes, worker } of results) {
  console.log(`task ${id}: ${primes} primes below ${TASKS[id].limit} (worker ${worker})`);
}

// No more tasks: each worker's `serve` returns how many it answered.
for (const { tasks } of pool) tasks.close();
const answered = await Promise.all(pool.map(({ job }) => job.join()));
console.log(
  `${results.length} of ${TASKS.length} tasks done by ${POOL_SIZE} workers ` +
    `(${answered.join(" + ")} calls answered)`,
);
