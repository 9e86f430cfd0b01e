/// <reference lib="deno.worker" />
// The worker of examples/hello.ts: adopts the sender it is given and sends one message.
import { Sender, type SenderHandle } from "@wasmring/mpsc";

self.onmessage = (e: MessageEvent<SenderHandle<string>>) => {
  const tx = Sender.from(e.data);
  tx.sendSync("Hello from the worker!");
  tx.close(); // the receiver now sees disconnection once it has taken the message
  self.close(); // end the worker (an idle worker would keep the process alive)
};
