// A worker of examples/producers.ts: sends `count` numbered messages on its own sender.
import type { Sender } from "@wasmring/mpsc";

/** What the producers send: who sent it, and its position in that producer's sequence. */
export interface Message {
  producer: string;
  seq: number;
}

export default async function (
  { name, count, tx }: { name: string; count: number; tx: Sender<Message> },
): Promise<void> {
  for (let seq = 1; seq <= count; seq++) {
    tx.sendSync({ producer: name, seq });
    // A short random pause, so that the producers interleave differently on every run.
    await new Promise((resolve) => setTimeout(resolve, Math.random() * 20));
  }
} // tx is closed when the function returns
