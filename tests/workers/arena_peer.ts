/// <reference lib="deno.worker" />
// One of the workers of tests/arena_channels_test.ts, in a ring of them: it creates `rounds`
// channels in its own default arena, hands the receiver of each to the next worker (through a
// MessagePort), sends a seeded number of messages on it (waiting asynchronously on the bounded
// ones, so that no worker blocks the ring) and closes its sender; it receives on the channels
// the previous worker hands it, checks and counts every message, closes each receiver, and
// reports each channel's count on a channel of the main thread's arena. Whichever end closes
// last gives the channel's blocks back to this worker's arena, from either thread. On "check",
// it says how many bytes of its arena are still in use.
import {
  channel,
  Receiver,
  type ReceiverHandle,
  Sender,
  type SenderHandle,
  syncChannel,
} from "../../mod.ts";
import { defaultMapped, inUse } from "../../src/_arena.ts";

/** One message: [creator, round, index]. */
type Message = [number, number, number];
/** One report: a channel fully received. */
export interface Report {
  creator: number;
  round: number;
  count: number;
  /** Something was wrong with the messages (out of order, another channel's). */
  wrong?: string;
}

/** A receiver handed to the next worker, and which channel it is. */
interface Handed {
  creator: number;
  round: number;
  rx: ReceiverHandle<Message>;
}

export interface Start {
  id: number;
  rounds: number;
  report: SenderHandle<Report>;
  next: MessagePort;
  prev: MessagePort;
}

/** Messages on round `round` of worker `creator`: 0 to 40. */
export function messagesOf(creator: number, round: number): number {
  return (creator * 7919 + round * 104729) % 41;
}

self.onmessage = async (e: MessageEvent<Start | "check">) => {
  if (e.data === "check") {
    self.postMessage({ inUse: inUse(defaultMapped()) });
    return;
  }
  const { id, rounds, report: reportHandle, next, prev } = e.data;
  const report = Sender.from(reportHandle);
  let received = 0;
  const receiving: Promise<void>[] = [];
  const allReceived = new Promise<void>((resolve) => {
    prev.onmessage = (m: MessageEvent<Handed>) => {
      const { creator, round } = m.data;
      const rx = Receiver.from(m.data.rx);
      receiving.push((async () => {
        let count = 0;
        let wrong: string | undefined;
        for await (const [c, r, i] of rx) {
          if (c !== creator || r !== round || i !== count) wrong ??= `${c}/${r}/${i} at ${count}`;
          count++;
        }
        rx.close();
        report.sendSync({ creator, round, count, wrong });
      })());
      if (++received === rounds) resolve();
    };
  });
  for (let round = 0; round < rounds; round++) {
    const [tx, rx] = round % 3 === 0 ? syncChannel<Message>(1 + (round % 4)) : channel<Message>();
    next.postMessage({ creator: id, round, rx: rx.transfer() } satisfies Handed);
    const n = messagesOf(id, round);
    for (let i = 0; i < n; i++) await tx.send([id, round, i]);
    tx.close();
  }
  await allReceived;
  await Promise.all(receiving);
  report.close();
  prev.close();
  next.close();
  self.postMessage("done");
};
