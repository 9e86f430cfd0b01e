/// <reference lib="deno.worker" />
// A spawned worker for tests/select_test.ts: sends `count` numbers to the senders given, in
// turn (after `delay` ms), then closes them.
import type { Sender } from "../../mod.ts";

export default async function (
  { txs, count, delay }: { txs: Sender<number>[]; count: number; delay: number },
): Promise<number> {
  if (delay > 0) await new Promise((r) => setTimeout(r, delay));
  for (let i = 0; i < count; i++) txs[i % txs.length].sendSync(i);
  for (const tx of txs) tx.close();
  return count;
}
