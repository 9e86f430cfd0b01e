// A worker of examples/tasks.ts: takes tasks from its own channel until it is closed, and sends
// each result on the shared result channel.
import type { Receiver, Sender } from "@wasmring/mpsc";

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
  { worker, tasks, results }: { worker: number; tasks: Receiver<Task>; results: Sender<Result> },
): void {
  // Blocks between tasks; ends when the main thread closes the task sender.
  for (const task of tasks) {
    results.sendSync({ id: task.id, primes: countPrimes(task.limit), worker });
  }
} // both ends are closed when the function returns

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
