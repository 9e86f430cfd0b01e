/// <reference lib="deno.worker" />
// The three stages of examples/pipeline.ts. The worker's name (`new Worker(…, { name })`)
// picks the stage; each gets its input receiver and output sender in its first message.
import { Receiver, type ReceiverHandle, Sender, type SenderHandle } from "@wasmring/mpsc";

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

/** A stage's first message: the receiver it reads and the sender it writes. */
interface Setup<In, Out> {
  input: ReceiverHandle<In>;
  output: SenderHandle<Out>;
}

/** Adopts the two ends, runs `body`, then closes both: the next stage sees disconnection. */
function run<In, Out>(setup: Setup<In, Out>, body: (i: Receiver<In>, o: Sender<Out>) => void) {
  using input = Receiver.from(setup.input);
  using output = Sender.from(setup.output);
  body(input, output);
}

self.onmessage = (e: MessageEvent) => {
  if (self.name === "parse") run<string, Order>(e.data, parse);
  else if (self.name === "transform") run<Order, Order>(e.data, transform);
  else if (self.name === "aggregate") run<Order, Totals>(e.data, aggregate);
  self.close(); // only after `run` has closed the ends
};
