// deno run --allow-read examples/backpressure.ts
//
// Backpressure with a bounded channel: `syncChannel(2)` holds at most 2 messages, and a send
// on a full channel waits until the receiver takes one. The worker below produces as fast as it
// can; the main thread consumes one message every 100 ms. The producer cannot run ahead by more
// than the bound: after the first few messages it makes one every 100 ms too, and the buffer
// never holds more than 2 messages.
import { spawn, syncChannel } from "@wasmring/mpsc";
import type { Item } from "./workers/fast_producer.ts";

const BOUND = 2;
const COUNT = 8;
const CONSUMER_PAUSE_MS = 100;

const start = Date.now(); // wall clock, shared by the threads (performance.now() is not)
const [tx, rx] = syncChannel<Item>(BOUND);
spawn(new URL("./workers/fast_producer.ts", import.meta.url), { start, count: COUNT, tx });

let last: Item | undefined;
for await (const item of rx) {
  const now = Date.now() - start;
  console.log(
    `took ${item.n} at +${now} ms (made at +${item.madeAt} ms); ` +
      `buffered after the take: ${rx.len} of ${rx.capacity}`,
  );
  last = item;
  await new Promise((resolve) => setTimeout(resolve, CONSUMER_PAUSE_MS)); // a slow consumer
}

// Unbounded, the producer would have made all 8 messages within a millisecond or two. Bounded,
// it had to wait for the consumer: message 8 can only be made once message 8 - BOUND - 1 was
// taken, about (8 - BOUND - 2) consumer pauses after the start.
const held = last !== undefined && last.madeAt >= (COUNT - BOUND - 2) * CONSUMER_PAUSE_MS * 0.9;
console.log(
  `the producer made message ${COUNT} at +${last?.madeAt} ms: ` +
    (held ? "held to the consumer's pace ✓" : "NOT held back ✗"),
);
