/// <reference lib="deno.worker" />
// A stress producer: sends its messages with sendSync or send, then closes its sender; or,
// when the receiver closes first, checks that every failed send carries its value.
import { Sender, type SenderHandle, SendError } from "../../mod.ts";
import { message } from "./_messages.ts";

interface Job {
  handle: SenderHandle<unknown>;
  p: number;
  count: number;
  async: boolean;
}

self.onmessage = async (e: MessageEvent<Job>) => {
  const { handle, p, count, async } = e.data;
  const tx = Sender.from(handle);
  let sent = 0;
  let failed = 0;
  for (let seq = 0; seq < count; seq++) {
    const value = message(p, seq);
    for (;;) {
      try {
        if (async) await tx.send(value);
        else tx.sendSync(value);
        sent++;
      } catch (error) {
        if (error instanceof RangeError) {
          // An unbounded channel at maxBytes: the receiver is behind; let it catch up.
          await new Promise((resolve) => setTimeout(resolve, 1));
          continue;
        }
        if (!(error instanceof SendError) || error.value !== value) throw error;
        failed++;
      }
      break;
    }
  }
  tx.close();
  self.postMessage({ p, sent, failed });
};
