/// <reference lib="deno.worker" />
// A producer for the fault trials: sends (p, seq) with sendSync or send until told to stop by
// the channel closing — or until it is terminated, at any moment. Every third message is a
// typed array large enough to be written in place in the ring (terminated mid-write, then).
import { Sender, type SenderHandle, SendError } from "../../mod.ts";

type Message = number[] | Uint32Array;
/** [p, seq] followed by 254 words: 1 KiB, above the codec's in-place threshold. */
const large = new Uint32Array(256).map((_, i) => i * 0x01010101);

self.onmessage = async (e: MessageEvent<{ handle: SenderHandle<Message>; p: number }>) => {
  const { handle, p } = e.data;
  const tx = Sender.from(handle);
  self.postMessage("ready");
  try {
    for (let seq = 0;; seq++) {
      let message: Message = [p, seq];
      if (seq % 3 === 2) {
        message = large;
        large[0] = p;
        large[1] = seq;
      }
      if (seq % 2 === 0) tx.sendSync(message);
      else await tx.send(message);
    }
  } catch (error) {
    // SendError: the receiver closed. AbortError: this worker was terminated while a send
    // blocked (it unwinds, as it must).
    if (error instanceof DOMException && error.name === "AbortError") return;
    if (!(error instanceof SendError)) throw error;
  }
  tx.close();
};
