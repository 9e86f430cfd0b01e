// deno run --allow-read examples/hello.ts
//
// The smallest program: a worker sends one message, the main thread receives it.
import { channel } from "@wasmring/mpsc";

// A channel is a pair: the sender (tx) and the receiver (rx).
const [tx, rx] = channel<string>();

// Move the sender into a worker: `transfer()` turns it into a handle that `postMessage` can
// carry; the worker adopts it with `Sender.from()` (see workers/hello_worker.ts).
const worker = new Worker(new URL("./workers/hello_worker.ts", import.meta.url), {
  type: "module",
});
worker.postMessage(tx.transfer());

// Wait for the message without blocking the event loop.
console.log(await rx.recv());
