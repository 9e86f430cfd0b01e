// A producer process for tests/nats_processes_test.ts (and a stand-in for another machine):
// sends { id, body } for ids [from, to) on a NATS channel, prints "sent N", then closes its
// sender and prints "closed" — or, with --hold, stays open (heartbeat running) until killed.
//
//   deno run -A tests/nats/producer.ts --servers 127.0.0.1:4222 --channel jobs --from 0 --to 1000
import { parseArgs } from "node:util";
import { natsSender } from "../../nats.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: {
    servers: { type: "string", default: "127.0.0.1:4222" },
    channel: { type: "string", default: "jobs" },
    from: { type: "string", default: "0" },
    to: { type: "string", default: "1000" },
    ttl: { type: "string" },
    bound: { type: "string" },
    hold: { type: "boolean", default: false },
  },
});
const from = Number(args.from);
const to = Number(args.to);
const tx = await natsSender<{ id: number; body: string }>(args.channel, {
  servers: args.servers,
  senderTtl: args.ttl === undefined ? undefined : Number(args.ttl),
  bound: args.bound === undefined ? undefined : Number(args.bound),
});
console.log("ready");
for (let id = from; id < to; id++) await tx.send({ id, body: `job ${id}` });
console.log(`sent ${to - from}`);
if (args.hold) {
  await new Promise(() => {}); // until killed: the heartbeat keeps the sender alive
}
await tx.close();
console.log("closed");
