// deno run --allow-read examples/tasks.ts
//
// A worker pool: each worker has its own task channel, the main thread deals the tasks out
// round-robin, and every worker sends its results back on one shared result channel (each
// with a clone of the result sender). Closing the task senders tells the workers that no more
// tasks will come; they then close their result senders, which ends the result loop.
import { channel, type Sender, spawn } from "@wasmring/mpsc";
import type { Result, Task } from "./workers/pool_worker.ts";

const POOL_SIZE = 3;
const TASKS: Task[] = [10, 100, 1_000, 10_000, 100_000, 200_000, 300_000, 400_000, 500_000]
  .map((limit, id) => ({ id, limit }));

const [resultTx, resultRx] = channel<Result>();
const taskTxs: Sender<Task>[] = [];
for (let worker = 0; worker < POOL_SIZE; worker++) {
  const [taskTx, taskRx] = channel<Task>();
  taskTxs.push(taskTx);
  const url = new URL("./workers/pool_worker.ts", import.meta.url);
  spawn(url, { worker, tasks: taskRx, results: resultTx.clone() });
}
resultTx.close(); // only the workers send results

// Deal the tasks out, then close the task channels: the workers finish the tasks they have and
// stop.
for (const task of TASKS) taskTxs[task.id % POOL_SIZE].sendSync(task);
for (const taskTx of taskTxs) taskTx.close();

// Results arrive in completion order; sort them by task for printing.
const results: Result[] = [];
for await (const result of resultRx) results.push(result);
results.sort((a, b) => a.id - b.id);
for (const { id, primes, worker } of results) {
  console.log(`task ${id}: ${primes} primes below ${TASKS[id].limit} (worker ${worker})`);
}
console.log(`${results.length} of ${TASKS.length} tasks done by ${POOL_SIZE} workers`);
