/// <reference lib="deno.worker" />
// The worker of examples/events.ts: sends a scripted series of input events, 20 ms apart,
// ending with "quit".
import { Sender, type SenderHandle } from "@wasmring/mpsc";

const SCRIPT = [
  { type: "key", key: "h" },
  { type: "key", key: "i" },
  { type: "click", x: 10, y: 20 },
  { type: "resize", width: 80, height: 24 },
  { type: "key", key: "!" },
  { type: "quit" },
] as const;

self.onmessage = async (e: MessageEvent<SenderHandle<(typeof SCRIPT)[number]>>) => {
  const tx = Sender.from(e.data);
  for (const event of SCRIPT) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    tx.sendSync(event);
  }
  tx.close();
  self.close();
};
