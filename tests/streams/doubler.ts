// A spawned worker of tests/streams_test.ts: pipes its receiver's stream, through a transform
// that doubles each number, into its sender's stream. Returns how many numbers it passed on.
import type { Receiver, Sender } from "../../mod.ts";

export default async function (
  { rx, tx }: { rx: Receiver<number>; tx: Sender<number> },
): Promise<number> {
  let count = 0;
  const double = new TransformStream<number, number>({
    transform(n, controller) {
      count++;
      controller.enqueue(2 * n);
    },
  });
  await rx.readable.pipeThrough(double).pipeTo(tx.writable);
  return count;
}
