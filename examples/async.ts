// deno run --allow-read examples/async.ts
//
// The same stream as stream.ts, received with `await`: `rx.recv()` and `for await … of` wait
// without blocking the thread, so the event loop keeps running timers, I/O and callbacks while
// a message is on its way. Here a timer ticks every 30 ms during the whole receive loop.
import { channel, spawn } from "@wasmring/mpsc";

const [tx, rx] = channel<number>();
spawn(new URL("./workers/counter_worker.ts", import.meta.url), { tx });

const start = performance.now();
const elapsed = () => `${Math.round(performance.now() - start)}`.padStart(4) + " ms";

let ticks = 0;
const timer = setInterval(() => {
  ticks++;
  console.log(`${elapsed()}  tick ${ticks}`);
}, 30);

// One message with a single `await`…
const first = await rx.recv();
console.log(`${elapsed()}  received ${first}`);

// …and the rest with `for await`, which ends when the worker closes its sender.
for await (const n of rx) {
  console.log(`${elapsed()}  received ${n}`);
}

clearInterval(timer);
console.log(`done: the timer ticked ${ticks} times while we waited for messages`);
