/// <reference lib="deno.worker" />
// A producer for the fault trials: sends (p, seq) with sendSync or send until told to stop by
// the channel closing — or until it is terminated, at any moment.
import { Sender, type SenderHandle, SendError } from "../../mod.ts";

self.onmessage = async (e: MessageEvent<{ handle: SenderHandle<number[]>; p: number }>) => {
  const { handle, p } = e.data;
  const tx = Sender.from(handle);
  self.postMessage("ready");
  try {
    for (let seq = 0;; seq++) {
      if (seq % 2 === 0) tx.sendSync([p, seq]);
      else await tx.send([p, seq]);
    }
  } catch (error) {
    // SendError: the receiver closed. AbortError: this worker was terminated while a send
    // blocked (it unwinds, as it must).
    if (error instanceof DOMException && error.name === "AbortError") return;
    if (!(error instanceof SendError)) throw error;
  }
  tx.close();
};
