// deno run --allow-read examples/select.ts
//
// A worker that listens to two sources at once — a stream of readings and a shutdown signal —
// with `selectSync`: it takes whichever has something first, and stops at shutdown even while
// readings keep coming (`biased`: shutdown is looked at first). The main thread feeds readings
// from a timer and, after a while, sends shutdown.
import { channel, SendError, spawn } from "@wasmring/mpsc";
import type { Report } from "./workers/monitor_worker.ts";

const [readingsTx, readings] = channel<number>();
const [shutdownTx, shutdown] = channel<string>();
const monitor = spawn<Report>(new URL("./workers/monitor_worker.ts", import.meta.url), {
  readings,
  shutdown,
});

let t = 0;
const feed = setInterval(() => {
  try {
    readingsTx.sendSync(Math.round(20 + 10 * Math.sin(t++ / 5)));
  } catch (error) {
    if (!(error instanceof SendError)) throw error;
    clearInterval(feed); // the monitor has stopped
  }
}, 1);
await new Promise((resolve) => setTimeout(resolve, 300));
shutdownTx.sendSync("maintenance window");

const { handled, highest, why } = await monitor.join();
clearInterval(feed);
readingsTx.close();
shutdownTx.close();
console.log(`the monitor handled ${handled} readings (highest: ${highest})`);
console.log(`and stopped: ${why}`);
