/// <reference lib="deno.worker" />
// A worker of examples/producers.ts: sends `count` numbered messages on its own sender.
import { Sender, type SenderHandle } from "@wasmring/mpsc";

interface Job {
  name: string;
  count: number;
  tx: SenderHandle<{ producer: string; seq: number }>;
}

self.onmessage = async (e: MessageEvent<Job>) => {
  const { name, count } = e.data;
  const tx = Sender.from(e.data.tx);
  for (let seq = 1; seq <= count; seq++) {
    tx.sendSync({ producer: name, seq });
    // A short random pause, so that the producers interleave differently on every run.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
  }
  tx.close();
  self.close();
};
