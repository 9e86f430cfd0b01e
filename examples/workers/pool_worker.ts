// A worker of examples/tasks.ts: serves the calls on the pool's shared queue of tasks (its own
// clone of the queue's receiver) until the queue is closed and drained; each result goes back
// through the reply end its task carried.
import { type Call, type Receiver, serve } from "@wasmring/mpsc";

/** A task: count the primes below `limit`. */
export interface Task {
  id: number;
  limit: number;
}

/** A result: the task's answer, and which worker computed it. */
export interface Result {
  id: number;
  primes: number;
  worker: number;
}

export default function (
  { worker, tasks }: { worker: number; tasks: Receiver<Call<Task, Result>> },
): Promise<number> {
  // Waits between tasks; resolves with the number answered once the task channel is closed.
  return serve(tasks, (task) => ({ id: task.id, primes: countPrimes(task.limit), worker }));
} // the task receiver is closed when the function settles

/** Counts the primes below `limit` with a sieve of Eratosthenes. */
function countPrimes(limit: number): number {
  const composite = new Uint8Array(limit);
  let count = 0;
  for (let n = 2; n < limit; n++) {
    if (composite[n]) continue;
    count++;
    for (let m = n * n; m < limit; m += n) composite[m] = 1;
  }
  return count;
}
