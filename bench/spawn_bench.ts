/**
 * What `spawn` and the handle walk cost (issue 12), measured against what they replace:
 *
 * - **The walk**: posting a message of 1,000 small objects with no handle in it to a worker,
 *   with the runtime's own `postMessage` and with the Deno workaround's wrapper (which walks the
 *   message for handles first); and the walk alone.
 * - **Start-up**: `spawn(url, { tx })` until the first message arrives, against
 *   `new Worker(url)` + `postMessage(tx.transfer())` until the first message arrives, alternated,
 *   medians of `--runs` (default 20) each.
 *
 * Run: `deno run -A --no-check bench/spawn_bench.ts [--runs 20]`
 *
 * @module
 */
import { channel, spawn } from "../mod.ts";
import { find } from "../src/_walk.ts";

const runs = Number(Deno.args[Deno.args.indexOf("--runs") + 1] || 20) || 20;
const sink = new URL("./workers/sink.ts", import.meta.url);

// ── The walk ──────────────────────────────────────────────────────────────────────────────
const original = Worker.prototype.postMessage;
channel()[0].close(); // installs the Deno wrapper
const wrapped = Worker.prototype.postMessage;

const message = Array.from({ length: 1000 }, (_, i) => ({ id: i, name: `item ${i}`, ok: true }));
const worker = new Worker(sink, { type: "module" });

function perCall(f: () => void, n: number): number {
  for (let i = 0; i < n / 10; i++) f();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) f();
  return (performance.now() - t0) / n * 1000; // µs
}

const rows: [string, number][] = [];
for (let round = 0; round < 5; round++) {
  rows.push(["postMessage (runtime's own)", perCall(() => original.call(worker, message), 2000)]);
  rows.push([
    "postMessage (wrapped: walk + post)",
    perCall(() => wrapped.call(worker, message), 2000),
  ]);
  rows.push(["walk alone (find)", perCall(() => void find(message), 2000)]);
}
const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
console.log("Message: 1,000 objects { id, name, ok }, no handles (median of 5 rounds)");
for (const name of new Set(rows.map(([n]) => n))) {
  console.log(
    `  ${name.padEnd(38)} ${
      median(rows.filter(([n]) => n === name).map(([, v]) => v)).toFixed(1)
    } µs`,
  );
}
worker.terminate();

// ── Start-up ──────────────────────────────────────────────────────────────────────────────
const hello = new URL("../tests/spawn/hello.ts", import.meta.url);
const plain = new URL("./workers/hello_plain.ts", import.meta.url);
const spawnTimes: number[] = [];
const plainTimes: number[] = [];
for (let i = 0; i < runs; i++) {
  {
    const [tx, rx] = channel<string>();
    const t0 = performance.now();
    const job = spawn(hello, { tx });
    await rx.recv();
    spawnTimes.push(performance.now() - t0);
    await job.join();
  }
  {
    const [tx, rx] = channel<string>();
    const t0 = performance.now();
    const w = new Worker(plain, { type: "module" });
    w.postMessage(tx.transfer());
    await rx.recv();
    plainTimes.push(performance.now() - t0);
    w.terminate();
  }
}
console.log(`Start-up to the first message (median of ${runs}, alternated)`);
console.log(`  spawn(url, { tx })                     ${median(spawnTimes).toFixed(1)} ms`);
console.log(`  new Worker + postMessage(transfer())   ${median(plainTimes).toFixed(1)} ms`);
