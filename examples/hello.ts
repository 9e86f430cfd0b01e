// deno run --allow-read examples/hello.ts
//
// The smallest program: a worker sends one message, the main thread receives it — Rust's
// `thread::spawn(move || tx.send(…))` and `handle.join()`.
import { channel, spawn } from "@wasmring/mpsc";

// A channel is a pair: the sender (tx) and the receiver (rx).
const [tx, rx] = channel<string>();

// Start a worker that runs the default export of workers/hello_worker.ts with { tx }. The sender
// is moved there: unusable here from now on, ready to use in the worker.
const worker = spawn<number>(new URL("./workers/hello_worker.ts", import.meta.url), { tx });

// Wait for the message without blocking the event loop.
console.log(await rx.recv());

// The worker's function returned: join() gives its result. Its sender was closed when it
// returned, so the channel is now disconnected.
console.log(`the worker returned ${await worker.join()}`);
