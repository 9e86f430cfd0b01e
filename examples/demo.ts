// deno run -A examples/demo.ts [--records N] [--producers P] [--no-batched]
// (also `deno task demo`; only --allow-read is needed: `deno run -R examples/demo.ts`)
//
// The same multi-worker pipeline over a large synthetic workload, run on @wasmring/mpsc
// channels and then on postMessage, with the throughput of each:
//
//   producer 1 ─┐
//   producer 2 ─┤  records                    enriched records
//   producer 3 ─┼───────────▶ transform worker ─────────────────▶ main thread (aggregate)
//   producer 4 ─┘
//
// Producers make records `{ id, user, amount, tags }`; the transform stage adds tax and flags
// refunds; the main thread sums per user. On channels, every stage blocks in `sendSync` /
// `for … of`, and bounded channels (`syncChannel`) keep fast producers from running ahead; a
// second channel run moves 1,000 records per call (`sendManySync` / `recvManySync`) over the
// same channels. On postMessage, each record is one message, then 1,000 records are; postMessage
// has no backpressure, so its queues grow while the consumer lags (memory use peaks during
// those runs). Every run must produce the same aggregate, and each run's clock starts once its
// workers have loaded. `--no-batched` leaves out the two runs of 1,000 records per call.
import { parseArgs } from "node:util";
import { RecvError, syncChannel } from "@wasmring/mpsc";
import {
  Aggregate,
  BATCH,
  type Enriched,
  type RawRecord,
  type Transport,
} from "./workers/demo_workload.ts";
import type { ProducerJob } from "./workers/demo_producer.ts";
import type { TransformJob } from "./workers/demo_transform.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "1000000" },
    producers: { type: "string", default: "4" },
    "no-batched": { type: "boolean", default: false },
  },
});
const RECORDS = Number(args.values.records);
const PRODUCERS = Number(args.values.producers);
if (!Number.isSafeInteger(RECORDS) || RECORDS < 1) {
  throw new RangeError(`--records must be a positive integer, not ${args.values.records}`);
}
if (!Number.isInteger(PRODUCERS) || PRODUCERS < 1 || PRODUCERS > 64) {
  throw new RangeError(`--producers must be an integer from 1 to 64, not ${args.values.producers}`);
}
/** Messages each channel buffers at most. */
const BOUND = 4096;

const PRODUCER_URL = new URL("./workers/demo_producer.ts", import.meta.url);
const TRANSFORM_URL = new URL("./workers/demo_transform.ts", import.meta.url);

// --- progress ------------------------------------------------------------------------------------

const encoder = new TextEncoder();
const tty = Deno.stdout.isTerminal();
const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text));

/** Reports progress: a bar redrawn in place on a terminal, a line per quarter otherwise. */
class Progress {
  #start = performance.now();
  #lastDraw = 0;
  #nextQuarter = 1;

  /** Called with the number of records aggregated so far (cheap unless it draws). */
  update(done: number): void {
    if (tty) {
      const now = performance.now();
      if (now - this.#lastDraw < 100 && done < RECORDS) return;
      this.#lastDraw = now;
      const width = 30;
      const filled = Math.round((done / RECORDS) * width);
      const rate = done / ((now - this.#start) / 1000);
      write(
        `\r  [${"█".repeat(filled)}${"░".repeat(width - filled)}] ` +
          `${String(Math.floor((done / RECORDS) * 100)).padStart(3)}%  ` +
          `${fmt(done)} / ${fmt(RECORDS)}  ${fmt(rate)} records/s   `,
      );
    } else {
      while (done >= (RECORDS * this.#nextQuarter) / 4 && this.#nextQuarter <= 4) {
        const seconds = (performance.now() - this.#start) / 1000;
        console.log(`  ${this.#nextQuarter * 25}%  ${fmt(done)} records  ${seconds.toFixed(2)} s`);
        this.#nextQuarter++;
      }
    }
  }

  finish(): void {
    if (tty) write("\n");
  }
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

// --- workers ---------------------------------------------------------------------------------------

/** Starts a worker and waits until its module has loaded (it posts "ready"). */
function spawn(url: URL): Promise<Worker> {
  const worker = new Worker(url, { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = () => resolve(worker);
    worker.onerror = (e) => reject(e.error ?? new Error(e.message));
  });
}

/** Starts the producers and the transform stage, all loaded and idle. */
async function startWorkers(): Promise<{ producers: Worker[]; transform: Worker }> {
  const [transform, ...producers] = await Promise.all(
    [TRANSFORM_URL, ...Array.from({ length: PRODUCERS }, () => PRODUCER_URL)].map(spawn),
  );
  return { producers, transform };
}

/** The ids of producer `p`: a contiguous share of 0 … RECORDS - 1. */
function range(p: number): { start: number; end: number } {
  return {
    start: Math.floor((RECORDS * p) / PRODUCERS),
    end: Math.floor((RECORDS * (p + 1)) / PRODUCERS),
  };
}

// --- the runs --------------------------------------------------------------------------------------

interface RunResult {
  seconds: number;
  aggregate: Aggregate;
}

/**
 * The pipeline on channels: producers → syncChannel → transform → syncChannel → main. With
 * `transport` "channelBatched", every stage moves BATCH records per call (`sendManySync`,
 * `recvManySync`) over the same bounded channels.
 */
async function runChannels(transport: "channel" | "channelBatched"): Promise<RunResult> {
  const { producers, transform } = await startWorkers();
  const [recordTx, recordRx] = syncChannel<RawRecord>(BOUND);
  const [enrichedTx, enrichedRx] = syncChannel<Enriched>(BOUND);

  const start = performance.now();
  const job: TransformJob = {
    transport,
    rx: recordRx.transfer(),
    tx: enrichedTx.transfer(),
  };
  transform.postMessage(job);
  producers.forEach((worker, p) => {
    const job: ProducerJob = { transport, ...range(p), tx: recordTx.clone().transfer() };
    worker.postMessage(job);
  });
  recordTx.close(); // the producers hold the only senders now

  const aggregate = new Aggregate();
  const progress = new Progress();
  // Blocking receive: the main thread does nothing else. Ends when the transform stage closes
  // its sender, which it does once every producer has closed theirs.
  if (transport === "channel") {
    for (const record of enrichedRx) {
      aggregate.add(record);
      if ((aggregate.records & 4095) === 0) progress.update(aggregate.records);
    }
  } else {
    for (;;) {
      let batch: Enriched[];
      try {
        batch = enrichedRx.recvManySync(BATCH); // what is ready, up to BATCH
      } catch (error) {
        if (error instanceof RecvError) break;
        throw error;
      }
      for (const record of batch) aggregate.add(record);
      progress.update(aggregate.records);
    }
  }
  progress.update(aggregate.records);
  progress.finish();
  const seconds = (performance.now() - start) / 1000;
  enrichedRx.close();
  return { seconds, aggregate };
}

/** The same pipeline on postMessage: a MessageChannel from each producer to the transform. */
async function runPostMessage(transport: "post" | "batched"): Promise<RunResult> {
  const { producers, transform } = await startWorkers();
  const ports = producers.map(() => new MessageChannel());

  const aggregate = new Aggregate();
  const progress = new Progress();
  const start = performance.now();
  const done = new Promise<void>((resolve) => {
    transform.onmessage = (e: MessageEvent<Enriched | Enriched[] | null>) => {
      const data = e.data;
      if (data === null) return resolve();
      if (Array.isArray(data)) {
        for (const record of data) aggregate.add(record);
        progress.update(aggregate.records);
      } else {
        aggregate.add(data);
        if ((aggregate.records & 4095) === 0) progress.update(aggregate.records);
      }
    };
  });
  const job: TransformJob = { transport, ports: ports.map((c) => c.port2) };
  transform.postMessage(job, job.ports);
  producers.forEach((worker, p) => {
    const job: ProducerJob = { transport, ...range(p), port: ports[p].port1 };
    worker.postMessage(job, [job.port]);
  });

  await done;
  progress.update(aggregate.records);
  progress.finish();
  return { seconds: (performance.now() - start) / 1000, aggregate };
}

// --- main ------------------------------------------------------------------------------------------

console.log(
  `@wasmring/mpsc demo: ${fmt(RECORDS)} records { id, user, amount, tags }\n` +
    `${PRODUCERS} producer workers → transform worker → main thread (aggregate)\n`,
);

const runs: { label: string; transport: Transport; result?: RunResult }[] = [
  { label: "channels, 1 record per call", transport: "channel" },
];
if (!args.values["no-batched"]) {
  runs.push({ label: `channels, ${fmt(BATCH)} records per call`, transport: "channelBatched" });
}
runs.push({ label: "postMessage, 1 record per message", transport: "post" });
if (!args.values["no-batched"]) {
  runs.push({ label: `postMessage, ${fmt(BATCH)} records per message`, transport: "batched" });
}

for (const [i, run] of runs.entries()) {
  console.log(`[${i + 1}/${runs.length}] ${run.label}`);
  run.result = run.transport === "channel" || run.transport === "channelBatched"
    ? await runChannels(run.transport)
    : await runPostMessage(run.transport);
  const { seconds } = run.result;
  console.log(`  ${fmt(RECORDS)} records in ${seconds.toFixed(2)} s\n`);
}

// Each run against the postMessage runs of the same process: on a busy machine the figures move
// between processes, so compare ratios within one run.
const rate = (transport: Transport) => {
  const run = runs.find((r) => r.transport === transport);
  return run === undefined ? undefined : RECORDS / run.result!.seconds;
};
const baselines = [rate("post"), rate("batched")].filter((r) => r !== undefined);
const columns = ["vs 1 per message", `vs ${fmt(BATCH)} per message`].slice(0, baselines.length);
console.log("Throughput (records through the whole pipeline, per second; against postMessage)");
console.log(
  `  ${"".padEnd(40)} ${"records/s".padStart(10)}${columns.map((c) => c.padStart(24)).join("")}`,
);
for (const run of runs) {
  const r = RECORDS / run.result!.seconds;
  const ratios = baselines.map((b) => `${(r / b).toFixed(2)}×`);
  console.log(
    `  ${run.label.padEnd(40)} ${fmt(r).padStart(10)}${ratios.map((c) => c.padStart(24)).join("")}`,
  );
}

console.log("\nAggregate");
const expected = runs[0].result!.aggregate.summary();
console.log(`  ${expected}`);
const idSum = (RECORDS * (RECORDS - 1)) / 2;
const complete = runs[0].result!.aggregate.records === RECORDS &&
  runs[0].result!.aggregate.idSum === idSum;
const same = runs.every((run) => run.result!.aggregate.summary() === expected);
if (complete && same) {
  console.log(`  ✓ every record arrived exactly once, and all ${runs.length} runs agree`);
} else {
  for (const run of runs) console.log(`  ${run.label}: ${run.result!.aggregate.summary()}`);
  console.log("  ✗ the runs disagree or records are missing");
  Deno.exit(1);
}
