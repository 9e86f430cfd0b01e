// The worker of examples/events.ts: sends a scripted series of input events, 20 ms apart,
// ending with "quit".
import type { Sender } from "@wasmring/mpsc";

const SCRIPT = [
  { type: "key", key: "h" },
  { type: "key", key: "i" },
  { type: "click", x: 10, y: 20 },
  { type: "resize", width: 80, height: 24 },
  { type: "key", key: "!" },
  { type: "quit" },
] as const;

export default async function (
  { tx }: { tx: Sender<(typeof SCRIPT)[number]> },
): Promise<void> {
  for (const event of SCRIPT) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    tx.sendSync(event);
  }
}
