/// <reference lib="deno.worker" />
// A producer of examples/demo.ts: makes the records `start` to `end - 1` and sends them, on a
// channel or over postMessage.
import { Sender, type SenderHandle } from "@wasmring/mpsc";
import { BATCH, makeRecord, type RawRecord } from "./demo_workload.ts";

/** The job: a range of ids, and where to send the records. */
export type ProducerJob =
  & { start: number; end: number }
  & (
    | { transport: "channel" | "channelBatched"; tx: SenderHandle<RawRecord> }
    | { transport: "post" | "batched"; port: MessagePort }
  );

self.onmessage = (e: MessageEvent<ProducerJob>) => {
  const job = e.data;
  if ("tx" in job) {
    if (job.transport === "channel") produceOnChannel(job.start, job.end, job.tx);
    else produceBatchesOnChannel(job.start, job.end, job.tx);
  } else {
    const { start, end, port } = job;
    if (job.transport === "post") {
      for (let id = start; id < end; id++) port.postMessage(makeRecord(id));
    } else {
      for (let id = start; id < end; id += BATCH) {
        const batch: RawRecord[] = [];
        for (let i = id; i < Math.min(id + BATCH, end); i++) batch.push(makeRecord(i));
        port.postMessage(batch);
      }
    }
    port.postMessage(null); // the end of this producer's records
  }
  self.close();
};

function produceOnChannel(start: number, end: number, handle: SenderHandle<RawRecord>): void {
  using tx = Sender.from(handle); // closed on return: the transform stage sees the end
  for (let id = start; id < end; id++) tx.sendSync(makeRecord(id)); // waits while full
}

function produceBatchesOnChannel(start: number, end: number, handle: SenderHandle<RawRecord>) {
  using tx = Sender.from(handle);
  const batch: RawRecord[] = [];
  for (let id = start; id < end; id += BATCH) {
    batch.length = 0;
    for (let i = id; i < Math.min(id + BATCH, end); i++) batch.push(makeRecord(i));
    tx.sendManySync(batch); // one call per batch; still waits while the channel is full
  }
}

self.postMessage("ready"); // loaded: the main thread starts the clock once every worker is
