/// <reference lib="deno.worker" />
// Sends back every message it receives, until the channel disconnects.
import { Receiver, type ReceiverHandle, Sender, type SenderHandle } from "../../mod.ts";

self.onmessage = (e: MessageEvent<{ rx: ReceiverHandle<unknown>; tx: SenderHandle<unknown> }>) => {
  using rx = Receiver.from(e.data.rx);
  using tx = Sender.from(e.data.tx);
  for (const value of rx) tx.sendSync(value);
  self.postMessage("done");
};
