// The worker of examples/hello.ts: `spawn` calls its default export with the data it was given,
// the sender already adopted. Ends it still holds are closed when it returns.
import type { Sender } from "@wasmring/mpsc";

export default function ({ tx }: { tx: Sender<string> }): number {
  tx.sendSync("Hello from the worker!");
  return 42;
}
