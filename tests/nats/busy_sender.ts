// A NATS sender that stalls: sends 1, blocks its event loop for 3 × its TTL (alive, but its
// heartbeat cannot run), then tries to send 2 and prints what became of it. For
// tests/nats_processes_test.ts.
import { natsSender, SendError } from "../../nats.ts";

const [servers, ttl] = [Deno.args[0], Number(Deno.args[1])];
const tx = await natsSender<number>("busy", { servers, senderTtl: ttl });
await tx.send(1);
console.log("sent 1");
const until = Date.now() + 3 * ttl;
while (Date.now() < until) { /* busy: no heartbeat */ }
try {
  await tx.send(2);
  console.log("sent 2");
} catch (error) {
  console.log(error instanceof SendError ? `SendError ${error.value}` : `error ${error}`);
}
await tx.close();
