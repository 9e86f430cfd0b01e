/// <reference lib="deno.worker" />
// The worker of bench/nats.ts's local baselines: counts or echoes messages that arrive on a
// local channel or by postMessage.
import { Receiver, type ReceiverHandle, Sender, type SenderHandle } from "@wasmring/mpsc";

/** What the worker does. */
export type PeerJob =
  | { mode: "channel-sink"; count: number; rx: ReceiverHandle<unknown> }
  | { mode: "channel-echo"; count: number; rx: ReceiverHandle<unknown>; tx: SenderHandle<unknown> }
  | { mode: "post-sink"; count: number }
  | { mode: "post-echo"; count: number };

self.onmessage = (e: MessageEvent<PeerJob>) => {
  const job = e.data;
  if (job.mode === "channel-sink") {
    using rx = Receiver.from(job.rx);
    for (let i = 0; i < job.count; i++) rx.recvSync();
    self.postMessage("done");
  } else if (job.mode === "channel-echo") {
    using rx = Receiver.from(job.rx);
    using tx = Sender.from(job.tx);
    for (let i = 0; i < job.count; i++) tx.sendSync(rx.recvSync());
  } else {
    let n = 0;
    const echo = job.mode === "post-echo";
    self.onmessage = (m: MessageEvent) => {
      if (echo) self.postMessage(m.data);
      else if (++n === job.count) self.postMessage("done");
    };
  }
};
self.postMessage("ready");
