/// <reference lib="deno.worker" />
// The worker of examples/backpressure.ts: sends `count` messages as fast as the channel lets
// it. `sendSync` blocks this worker whenever the bounded channel is full.
import { Sender, type SenderHandle } from "@wasmring/mpsc";

interface Job {
  start: number;
  count: number;
  tx: SenderHandle<{ n: number; madeAt: number }>;
}

self.onmessage = (e: MessageEvent<Job>) => {
  const { start, count } = e.data;
  const tx = Sender.from(e.data.tx);
  for (let n = 1; n <= count; n++) {
    tx.sendSync({ n, madeAt: Date.now() - start }); // waits while the channel is full
  }
  tx.close();
  self.close();
};
