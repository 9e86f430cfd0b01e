/// <reference lib="deno.worker" />
// The transform stage of examples/demo.ts: takes the producers' records, enriches them, and
// passes them on to the main thread — on channels, or over postMessage.
import {
  Receiver,
  type ReceiverHandle,
  RecvError,
  Sender,
  type SenderHandle,
} from "@wasmring/mpsc";
import { BATCH, enrich, type Enriched, type RawRecord } from "./demo_workload.ts";

/** The job: where records come from and where they go. */
export type TransformJob =
  | {
    transport: "channel" | "channelBatched";
    rx: ReceiverHandle<RawRecord>;
    tx: SenderHandle<Enriched>;
  }
  | { transport: "post" | "batched"; ports: MessagePort[] };

self.onmessage = (e: MessageEvent<TransformJob>) => {
  const job = e.data;
  if ("rx" in job) {
    if (job.transport === "channel") transformOnChannels(job.rx, job.tx);
    else transformBatchesOnChannels(job.rx, job.tx);
    self.close();
    return;
  }
  // postMessage: one port per producer; each ends its records with `null`. Output goes to the
  // main thread on this worker's own port, ended with `null` once every producer has ended.
  let open = job.ports.length;
  for (const port of job.ports) {
    port.onmessage = (event: MessageEvent<RawRecord | RawRecord[] | null>) => {
      const data = event.data;
      if (data === null) {
        port.close();
        if (--open === 0) {
          self.postMessage(null);
          self.close();
        }
      } else if (Array.isArray(data)) {
        self.postMessage(data.map(enrich));
      } else {
        self.postMessage(enrich(data));
      }
    };
  }
};

function transformOnChannels(
  rxHandle: ReceiverHandle<RawRecord>,
  txHandle: SenderHandle<Enriched>,
): void {
  using rx = Receiver.from(rxHandle);
  using tx = Sender.from(txHandle); // closed on return: the main thread's loop ends
  for (const record of rx) tx.sendSync(enrich(record)); // ends once every producer is done
}

function transformBatchesOnChannels(
  rxHandle: ReceiverHandle<RawRecord>,
  txHandle: SenderHandle<Enriched>,
): void {
  using rx = Receiver.from(rxHandle);
  using tx = Sender.from(txHandle);
  for (;;) {
    let records: RawRecord[];
    try {
      records = rx.recvManySync(BATCH); // what is ready, up to BATCH; blocks while empty
    } catch (error) {
      if (error instanceof RecvError) return; // every producer is done
      throw error;
    }
    tx.sendManySync(records.map(enrich));
  }
}

self.postMessage("ready");
