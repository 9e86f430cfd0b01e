/// <reference lib="deno.worker" />
// A worker of examples/tasks.ts: takes tasks from its own channel until it is closed, and sends
// each result on the shared result channel.
import { Receiver, type ReceiverHandle, Sender, type SenderHandle } from "@wasmring/mpsc";

interface Task {
  id: number;
  limit: number;
}

interface Result {
  id: number;
  primes: number;
  worker: number;
}

interface Setup {
  worker: number;
  tasks: ReceiverHandle<Task>;
  results: SenderHandle<Result>;
}

self.onmessage = (e: MessageEvent<Setup>) => {
  work(e.data);
  self.close(); // after `work` has returned and closed both ends
};

function work({ worker, tasks, results }: Setup): void {
  using taskRx = Receiver.from(tasks);
  using resultTx = Sender.from(results);
  // Blocks between tasks; ends when the main thread closes the task sender.
  for (const task of taskRx) {
    resultTx.sendSync({ id: task.id, primes: countPrimes(task.limit), worker });
  }
}

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
