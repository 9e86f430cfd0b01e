// The worker of examples/stream.ts and examples/async.ts: sends 1, 2, 3, 4 (Rust's `1..5`) with a
// pause between them. When it returns, its sender is closed, so the receiver's loop ends.
import type { Sender } from "@wasmring/mpsc";

const PAUSE_MS = 100;

export default async function ({ tx }: { tx: Sender<number> }): Promise<void> {
  for (let n = 1; n < 5; n++) {
    await new Promise((resolve) => setTimeout(resolve, PAUSE_MS));
    tx.sendSync(n);
  }
}
