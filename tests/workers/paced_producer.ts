/// <reference lib="deno.worker" />
// Sends 0 … n-1, one every `gapMs` (busy-waiting in between), then closes its sender.
import { Sender, type SenderHandle } from "../../mod.ts";

self.onmessage = (e: MessageEvent<{ tx: SenderHandle<number>; n: number; gapMs: number }>) => {
  const { n, gapMs } = e.data;
  using tx = Sender.from(e.data.tx);
  for (let i = 0; i < n; i++) {
    const until = performance.now() + gapMs;
    while (performance.now() < until) { /* pace */ }
    tx.sendSync(i);
  }
};
