// deno run --allow-read examples/producers.ts
//
// Many producers, one consumer: three workers send on the same channel, each with its own
// sender made by `tx.clone()`. Messages from different producers interleave in whatever order
// they happen to arrive, but the messages of one producer always arrive in the order it sent
// them. The receiver sees disconnection once every sender — clones included — is closed.
import { channel } from "@wasmring/mpsc";

/** What the producers send: who sent it, and its position in that producer's sequence. */
interface Message {
  producer: string;
  seq: number;
}

const PRODUCERS = ["A", "B", "C"];
const PER_PRODUCER = 5;

const [tx, rx] = channel<Message>();
for (const name of PRODUCERS) {
  const worker = new Worker(new URL("./workers/producer_worker.ts", import.meta.url), {
    type: "module",
  });
  // A handle can travel inside any message: here with the producer's name and count.
  worker.postMessage({ name, count: PER_PRODUCER, tx: tx.clone().transfer() });
}
// The main thread's own sender is not needed any more. Close it, or the channel never
// disconnects and the loop below never ends.
tx.close();

const arrival: string[] = [];
const received = new Map<string, number[]>(PRODUCERS.map((name) => [name, []]));
for (const { producer, seq } of rx) {
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
