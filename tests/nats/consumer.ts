// A consumer process for tests/nats_processes_test.ts (and a stand-in for another machine):
// takes { id, body } messages with recvDelivery, writes each id on its own line to stdout, then
// acknowledges it (so an id written and not acknowledged when the process is killed comes
// again); prints "done N" at disconnection.
//
//   deno run -A tests/nats/consumer.ts --servers 127.0.0.1:4222 --channel jobs
import { parseArgs } from "node:util";
import { natsReceiver, RecvError } from "../../nats.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    servers: { type: "string", default: "127.0.0.1:4222" },
    channel: { type: "string", default: "jobs" },
    "ack-wait": { type: "string" },
    prefetch: { type: "string" },
  },
});
const rx = await natsReceiver<{ id: number; body: string }>(args.channel, {
  servers: args.servers,
  ackWait: args["ack-wait"] === undefined ? undefined : Number(args["ack-wait"]),
  prefetch: args.prefetch === undefined ? undefined : Number(args.prefetch),
});
const encoder = new TextEncoder();
Deno.stdout.writeSync(encoder.encode("ready\n"));
let n = 0;
for (;;) {
  let delivery;
  try {
    delivery = await rx.recvDelivery();
  } catch (error) {
    if (error instanceof RecvError) break;
    throw error;
  }
  const { id, body } = delivery.value;
  if (body !== `job ${id}`) throw new Error(`bad body for ${id}: ${body}`);
  Deno.stdout.writeSync(encoder.encode(`${id}\n`)); // processed (written), then acknowledged
  await delivery.ack();
  n++;
}
await rx.close();
Deno.stdout.writeSync(encoder.encode(`done ${n}\n`));
