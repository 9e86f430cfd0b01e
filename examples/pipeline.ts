// deno run --allow-read examples/pipeline.ts
//
// A pipeline of three workers connected by channels:
//
//   main ──lines──▶ parse ──orders──▶ transform ──orders──▶ aggregate ──totals──▶ main
//
// Each stage loops over its input receiver and sends on its output sender. When the main
// thread closes the first sender, disconnection flows down the pipeline: each stage's loop
// ends, it closes its own sender, and the next stage's loop ends in turn.
import { channel, spawn } from "@wasmring/mpsc";
import type { Order, Totals } from "./workers/pipeline_stages.ts";

const [linesTx, linesRx] = channel<string>();
const [parsedTx, parsedRx] = channel<Order>();
const [pricedTx, pricedRx] = channel<Order>();
const [totalsTx, totalsRx] = channel<Totals>();

// One worker per stage, given the receiver it reads and the sender it writes (both moved).
const stages = new URL("./workers/pipeline_stages.ts", import.meta.url);
spawn(stages, { stage: "parse", input: linesRx, output: parsedTx });
spawn(stages, { stage: "transform", input: parsedRx, output: pricedTx });
spawn(stages, { stage: "aggregate", input: pricedRx, output: totalsTx });

// Feed stage 1 with CSV lines ("user,amount,currency"), one of them malformed, then close.
const LINES = [
  "alice,12.50,EUR",
  "bob,3.00,USD",
  "Alice,7.25,EUR",
  "carol,100.00,GBP",
  "this line is not an order",
  "bob,1.99,EUR",
  "carol,0.01,USD",
];
for (const line of LINES) linesTx.sendSync(line);
linesTx.close();

// The aggregate stage sends one message, its totals, when its input disconnects.
const totals = await totalsRx.recv();
totalsRx.close();
for (const [user, cents] of [...totals.byUser].sort(([a], [b]) => a.localeCompare(b))) {
  console.log(`${user}: ${(cents / 100).toFixed(2)} EUR`);
}
console.log(`${totals.orders} orders from ${LINES.length} lines (the parser dropped the others)`);
