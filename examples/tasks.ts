// deno run --allow-read examples/tasks.ts
//
// A worker pool: each worker has its own task channel, the main thread deals the tasks out
// round-robin, and every worker sends its results back on one shared result channel (each
// with a clone of the result sender). Closing the task senders tells the workers that no more
// tasks will come; they then close their result senders, which ends the result loop.
import { channel, type Sender } from "@wasmring/mpsc";

/** A task: count the primes below `limit`. */
interface Task {
  id: number;
  limit: number;
}

/** A result: the task's answer, and which worker computed it. */
interface Result {
  id: number;
  primes: number;
  worker: number;
}

const POOL_SIZE = 3;
const TASKS: Task[] = [10, 100, 1_000, 10_000, 100_000, 200_000, 300_000, 400_000, 500_000]
  .map((limit, id) => ({ id, limit }));

const [resultTx, resultRx] = channel<Result>();
const taskTxs: Sender<Task>[] = [];
for (let worker = 0; worker < POOL_SIZE; worker++) {
  const [taskTx, taskRx] = channel<Task>();
  taskTxs.push(taskTx);
  new Worker(new URL("./workers/pool_worker.ts", import.meta.url), { type: "module" })
    .postMessage({ worker, tasks: taskRx.transfer(), results: resultTx.clone().transfer() });
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
