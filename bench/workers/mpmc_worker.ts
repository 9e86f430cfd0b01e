/// <reference lib="deno.worker" />
// The worker side of bench/mpmc.ts: a task-pool worker (over a shared channel, or over
// postMessage), a producer of numbers into one channel or several, as `mode` says.
import { type Receiver, RecvError, selectSync, type Sender } from "@wasmring/mpsc";

/** This thread's CPU time in ns (Linux). */
function threadCpuNs(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]);
  } catch {
    return NaN;
  }
}

// deno-lint-ignore no-explicit-any
type Data = { mode: string; [key: string]: any };

/** Busy-waits `us` microseconds: a task of that cost. */
function work(us: number): void {
  if (us <= 0) return;
  const end = performance.now() + us / 1000;
  while (performance.now() < end) { /* work */ }
}

export default function (data: Data): unknown {
  switch (data.mode) {
    case "pool": {
      // Takes tasks (a cost in µs) from the shared queue until it is closed and drained.
      // With `many`, takes up to that many ready tasks at a time (recvManySync).
      const tasks = data.tasks as Receiver<number>;
      let count = 0;
      let cost = 0;
      if (data.many > 1) {
        for (;;) {
          let batch: number[];
          try {
            batch = tasks.recvManySync(data.many);
          } catch {
            break; // disconnected and drained
          }
          for (const us of batch) {
            work(us);
            count++;
            cost += us;
          }
        }
        return { count, cost };
      }
      for (const us of tasks) {
        work(us);
        count++;
        cost += us;
      }
      return { count, cost };
    }
    case "produce": {
      // Sends 0 … count - 1, spread over the senders in turn, then closes them.
      const txs = data.txs as Sender<number>[];
      const n = txs.length;
      for (let i = 0; i < data.count; i++) txs[i % n].sendSync(i);
      for (const tx of txs) tx.close();
      return data.count;
    }
    case "idle": {
      // Blocks `ms` on empty receivers — in selectSync over all of them, or recvSync on the
      // first — and reports the CPU this thread used meanwhile.
      const rxs = data.rxs as Receiver<number>[];
      const cpu0 = threadCpuNs();
      const t0 = performance.now();
      try {
        if (data.select) selectSync(rxs, { timeout: data.ms });
        else rxs[0].recvSync({ timeout: data.ms });
      } catch { /* the timeout */ }
      return { cpuMs: (threadCpuNs() - cpu0) / 1e6, wallMs: performance.now() - t0 };
    }
    case "echo": {
      // Sends back each number received — through selectSync over all the receivers, or
      // recvSync on the first — until disconnected.
      const rxs = data.rxs as Receiver<number>[];
      const out = data.out as Sender<number>;
      for (;;) {
        let n: number;
        if (data.select) {
          const r = selectSync(rxs);
          if (r.state !== "ok") break;
          n = r.value;
        } else {
          try {
            n = rxs[0].recvSync();
          } catch (error) {
            if (error instanceof RecvError) break;
            throw error;
          }
        }
        out.sendSync(n);
      }
      out.close();
      return 0;
    }
    case "post-pool": {
      // A postMessage pool worker: runs each task posted (acking it, for a least-busy pool),
      // and resolves with its totals when told to stop.
      let count = 0;
      let cost = 0;
      return new Promise((resolve) => {
        self.onmessage = (e: MessageEvent) => {
          const m = e.data;
          if (typeof m === "number") {
            work(m);
            count++;
            cost += m;
            if (data.ack) self.postMessage({ ack: data.id });
          } else if (m === "stop") resolve({ count, cost });
        };
      });
    }
  }
  throw new Error(`unknown mode ${data.mode}`);
}
