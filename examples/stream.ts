// deno run --allow-read examples/stream.ts
//
// A stream of messages, received with a blocking `for … of` loop: each turn of the loop waits
// (in `recvSync`) for the next message, and the loop ends when the worker's function has returned
// (which closes its sender) and every message has been taken — like Rust's `for n in rx`.
import { channel, spawn } from "@wasmring/mpsc";

const [tx, rx] = channel<number>();
spawn(new URL("./workers/counter_worker.ts", import.meta.url), { tx });

// Blocking is fine here: the main thread has nothing else to do meanwhile. (A blocked thread
// runs no timers or callbacks; see async.ts for the non-blocking way.)
for (const n of rx) {
  console.log(`received ${n}`);
}
console.log("the worker closed its sender: done");
