// The three stages of examples/pipeline.ts, one per worker started by `spawn`.
import type { Receiver, Sender } from "@wasmring/mpsc";

/** An order, as parsed from a line; `cents` is in `currency`. */
export interface Order {
  user: string;
  cents: number;
  currency: string;
}

/** The aggregate's result: total in euro cents per user. */
export interface Totals {
  byUser: Map<string, number>;
  orders: number;
}

/** Exchange rates to euro, in per-mille to keep the arithmetic in integers. */
const TO_EUR_PERMILLE: Record<string, number> = { EUR: 1000, USD: 900, GBP: 1150 };

/** Stage 1: text lines to orders. Malformed lines are dropped. */
function parse(input: Receiver<string>, output: Sender<Order>): void {
  for (const line of input) {
    const match = /^(\w+),(\d+)\.(\d\d),([A-Z]{3})$/.exec(line);
    if (match === null) continue;
    const [, user, units, hundredths, currency] = match;
    output.sendSync({ user, cents: Number(units) * 100 + Number(hundredths), currency });
  }
}

/** Stage 2: normalizes user names and converts amounts to euro. */
function transform(input: Receiver<Order>, output: Sender<Order>): void {
  for (const order of input) {
    const rate = TO_EUR_PERMILLE[order.currency];
    output.sendSync({
      ...order,
      user: order.user.toLowerCase(),
      cents: Math.round((order.cents * rate) / 1000),
      currency: "EUR",
    });
  }
}

/** Stage 3: sums per user; sends the totals once its input is exhausted. */
function aggregate(input: Receiver<Order>, output: Sender<Totals>): void {
  const totals: Totals = { byUser: new Map(), orders: 0 };
  for (const order of input) {
    totals.byUser.set(order.user, (totals.byUser.get(order.user) ?? 0) + order.cents);
    totals.orders++;
  }
  output.sendSync(totals);
}

/** What `spawn` gives a stage: which one it is, the receiver it reads, the sender it writes. */
export type Stage =
  | { stage: "parse"; input: Receiver<string>; output: Sender<Order> }
  | { stage: "transform"; input: Receiver<Order>; output: Sender<Order> }
  | { stage: "aggregate"; input: Receiver<Order>; output: Sender<Totals> };

/**
 * Runs a stage. When it returns, its two ends are closed: the next stage sees disconnection.
 * (The stage is picked by the data it is given, not by the worker's name: `self.name` is not
 * set in every runtime.)
 */
export default function (setup: Stage): void {
  if (setup.stage === "parse") parse(setup.input, setup.output);
  else if (setup.stage === "transform") transform(setup.input, setup.output);
  else aggregate(setup.input, setup.output);
}
