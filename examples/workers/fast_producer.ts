// The worker of examples/backpressure.ts: sends `count` messages as fast as the channel lets
// it. `sendSync` blocks this worker whenever the bounded channel is full.
import type { Sender } from "@wasmring/mpsc";

/** A message: its number, and when the producer made it (ms since `start`). */
export interface Item {
  n: number;
  madeAt: number;
}

export default function (
  { start, count, tx }: { start: number; count: number; tx: Sender<Item> },
): void {
  for (let n = 1; n <= count; n++) {
    tx.sendSync({ n, madeAt: Date.now() - start }); // waits while the channel is full
  }
} // tx is closed when the function returns
