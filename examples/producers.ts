// deno run --allow-read examples/producers.ts
//
// Many producers, one consumer: three workers send on the same channel, each with its own
// sender made by `tx.clone()`. Messages from different producers interleave in whatever order
// they happen to arrive, but the messages of one producer always arrive in the order it sent
// them. The receiver sees disconnection once every sender — clones included — is closed.
import { channel, spawn } from "@wasmring/mpsc";
import type { Message } from "./workers/producer_worker.ts";

const PRODUCERS = ["A", "B", "C"];
const PER_PRODUCER = 5;

const [tx, rx] = channel<Message>();
const url = new URL("./workers/producer_worker.ts", import.meta.url);
for (const name of PRODUCERS) {
  // Each worker gets a clone of the sender, moved in with its name and count.
  spawn(url, { name, count: PER_PRODUCER, tx: tx.clone() });
}
// The main thread's own sender is not needed any more. Close it, or the channel never
// disconnects and the loop below never ends.
tx.close();

const arrival: string[] = [];
const received = new Map<string, number[]>(PRODUCERS.map((name) => [name, []]));
for await (const { producer, seq } of rx) {
  arrival.push(`${producer}${seq}`);
  received.get(producer)!.push(seq);
}

console.log(`arrival order (varies from run to run): ${arrival.join(" ")}`);
for (const [producer, seqs] of received) {
  const inOrder = seqs.every((seq, i) => seq === i + 1);
  console.log(
    `producer ${producer}: ${seqs.join(", ")}${inOrder ? "  (in order)" : "  OUT OF ORDER"}`,
  );
}
console.log(`${arrival.length} messages from ${PRODUCERS.length} producers`);
