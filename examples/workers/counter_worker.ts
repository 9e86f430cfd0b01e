/// <reference lib="deno.worker" />
// The worker of examples/stream.ts and examples/async.ts: sends 1, 2, 3, 4 with a pause
// between them, then closes its sender so that the receiver's loop ends.
import { Sender, type SenderHandle } from "@wasmring/mpsc";

const PAUSE_MS = 100;

self.onmessage = async (e: MessageEvent<SenderHandle<number>>) => {
  await count(e.data);
  // Only now end the worker: `self.close()` stops it at once, so a sender still open at that
  // point would never be closed and the receiver would wait forever.
  self.close();
};

async function count(handle: SenderHandle<number>): Promise<void> {
  using tx = Sender.from(handle); // closed when this function returns
  for (let n = 1; n <= 4; n++) {
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    tx.sendSync(n);
  }
}
