/// <reference lib="deno.worker" />
// A producer of tests/batch_test.ts: sends `count` strings [p, seq, filler] in batches of random
// sizes with `sendManySync`, then closes.
import type { Sender } from "../../mod.ts";

export default function (
  { tx, p, count, seed }: {
    tx: Sender<[number, number, string]>;
    p: number;
    count: number;
    seed: number;
  },
): number {
  let x = seed | 1;
  const next = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  let seq = 0;
  while (seq < count) {
    const n = Math.min(count - seq, 1 + next() % 300);
    const batch: [number, number, string][] = [];
    for (let i = 0; i < n; i++, seq++) {
      // Mostly small; now and then one over a batch claim's 4 KiB, which goes alone.
      const len = next() % 50 === 0 ? 5000 + next() % 3000 : next() % 200;
      batch.push([p, seq, String.fromCharCode(97 + seq % 26).repeat(len)]);
    }
    tx.sendManySync(batch);
  }
  tx.close();
  return count;
}
