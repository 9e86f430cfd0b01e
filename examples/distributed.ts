// deno run -A examples/distributed.ts [--records N] [--producers P] [--servers host:port]
//
// The pipeline of examples/demo.ts with its transform stage moved to another process, through
// NATS JetStream (`@wasmring/mpsc/nats`). The stage's code is the demo's own worker, unchanged:
// it still blocks in `for … of` and `sendSync` on local channels; `pipe` feeds them from the
// network and back.
//
//   this process                          transform process (another machine, one day)
//   producer workers ─▶ syncChannel ─pipe─▶ NATS "records" ─pipe─▶ syncChannel ─▶ transform worker
//   main (aggregate) ◀──────────────────── NATS "enriched" ◀─pipe── syncChannel ◀──────┘
//
// Without --servers it starts its own nats-server (JetStream, a free port of 127.0.0.1, a
// temporary directory) and stops it at the end; nats-server must then be installed
// (`apt-get install nats-server`). With --servers it uses that server, and removes the two
// channels it made when done. Disconnection travels down the pipeline: producers close their
// senders, each `pipe` closes the next sender, and the main loop ends when the last stage is done.
import { parseArgs } from "node:util";
import { pipe, RecvError, syncChannel } from "@wasmring/mpsc";
import { natsReceiver, natsSender, removeNatsChannel } from "@wasmring/mpsc/nats";
import { Aggregate, type Enriched, type RawRecord } from "./workers/demo_workload.ts";
import type { ProducerJob } from "./workers/demo_producer.ts";
import type { TransformJob } from "./workers/demo_transform.ts";

const args = parseArgs({
  args: Deno.args,
  options: {
    records: { type: "string", default: "20000" },
    producers: { type: "string", default: "2" },
    servers: { type: "string" },
    stage: { type: "string" }, // internal: "transform" runs the other process's part
    run: { type: "string", default: "" },
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
/** Messages each local channel buffers, and each NATS stream holds unacknowledged, at most. */
const BOUND = 1024;

/** Starts a worker and waits until its module has loaded (it posts "ready"). */
function spawn(url: URL): Promise<Worker> {
  const worker = new Worker(url, { type: "module" });
  return new Promise((resolve, reject) => {
    worker.onmessage = () => resolve(worker);
    worker.onerror = (e) => reject(e.error ?? new Error(e.message));
  });
}

// --- the other process: the transform stage ------------------------------------------------------

if (args.values.stage === "transform") {
  const servers = args.values.servers!;
  const run = args.values.run;
  await using records = await natsReceiver<RawRecord>(`demo-records-${run}`, { servers });
  await using enriched = await natsSender<Enriched>(`demo-enriched-${run}`, {
    servers,
    bound: BOUND,
  });
  // The demo's transform worker, on local channels, exactly as in examples/demo.ts.
  const worker = await spawn(new URL("./workers/demo_transform.ts", import.meta.url));
  const [inTx, inRx] = syncChannel<RawRecord>(BOUND);
  const [outTx, outRx] = syncChannel<Enriched>(BOUND);
  const job: TransformJob = { transport: "channel", rx: inRx.transfer(), tx: outTx.transfer() };
  worker.postMessage(job);
  // NATS → the worker's input, the worker's output → NATS; each ends at disconnection.
  await Promise.all([pipe(records, inTx), pipe(outRx, enriched)]);
  Deno.exit(0);
}

// --- this process: producers, and the aggregate ----------------------------------------------------

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
console.log(
  `@wasmring/mpsc distributed demo: ${fmt(RECORDS)} records { id, user, amount, tags }\n` +
    `${PRODUCERS} producer workers → NATS → transform (another process) → NATS → main\n`,
);

const server = args.values.servers === undefined ? await startServer() : undefined;
const servers = args.values.servers ?? server!.url;
const run = crypto.randomUUID().slice(0, 8); // fresh channels for this run
console.log(`nats-server: ${server ? `started here, on ${servers}` : servers}`);

try {
  // Both channels exist before the other process opens them (bound set by their maker).
  await using records = await natsSender<RawRecord>(`demo-records-${run}`, {
    servers,
    bound: BOUND,
  });
  await using enriched = await natsReceiver<Enriched>(`demo-enriched-${run}`, {
    servers,
    bound: BOUND,
  });
  const stage = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL(import.meta.url).pathname,
      "--stage",
      "transform",
      "--servers",
      servers,
      "--run",
      run,
    ],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();

  const producers = await Promise.all(
    Array.from(
      { length: PRODUCERS },
      () => spawn(new URL("./workers/demo_producer.ts", import.meta.url)),
    ),
  );
  const start = performance.now();
  const [recordTx, recordRx] = syncChannel<RawRecord>(BOUND);
  producers.forEach((worker, p) => {
    const job: ProducerJob = {
      transport: "channel",
      start: Math.floor((RECORDS * p) / PRODUCERS),
      end: Math.floor((RECORDS * (p + 1)) / PRODUCERS),
      tx: recordTx.clone().transfer(),
    };
    worker.postMessage(job);
  });
  recordTx.close(); // the producers hold the only senders now
  const piped = pipe(recordRx, records); // closes `records` once every producer is done
  piped.catch(() => {}); // awaited below; if the other process fails, that error is reported

  // If the other process fails, stop waiting for its records.
  const failed = new AbortController();
  stage.status.then((s) => {
    if (!s.success) failed.abort(new Error(`the transform process failed (exit ${s.code})`));
  });
  const aggregate = new Aggregate();
  for (;;) {
    let record: Enriched;
    try {
      record = await enriched.recv({ signal: failed.signal });
    } catch (error) {
      if (error instanceof RecvError) break; // disconnected: the last stage is done
      throw error;
    }
    aggregate.add(record);
    if (aggregate.records % Math.ceil(RECORDS / 4) === 0) {
      const seconds = (performance.now() - start) / 1000;
      console.log(`  ${fmt(aggregate.records)} records  ${seconds.toFixed(2)} s`);
    }
  }
  await piped;
  const seconds = (performance.now() - start) / 1000;
  const status = await stage.status;
  console.log(
    `  ${fmt(aggregate.records)} records in ${seconds.toFixed(2)} s ` +
      `(${fmt(aggregate.records / seconds)} records/s through two NATS hops)\n`,
  );
  console.log(`Aggregate\n  ${aggregate.summary()}`);
  const complete = aggregate.records === RECORDS &&
    aggregate.idSum === (RECORDS * (RECORDS - 1)) / 2;
  if (!complete || !status.success) {
    console.log("  ✗ records are missing or repeated, or the transform process failed");
    Deno.exitCode = 1;
  } else {
    console.log("  ✓ every record arrived exactly once");
  }
} finally {
  if (server) {
    await server.stop();
  } else {
    for (const name of [`demo-records-${run}`, `demo-enriched-${run}`]) {
      await removeNatsChannel(name, { servers });
    }
  }
}

/** Starts nats-server with JetStream on a free port of 127.0.0.1, in a temporary directory. */
async function startServer(): Promise<{ url: string; stop(): Promise<void> }> {
  const binary = ["nats-server", "/usr/sbin/nats-server", "/usr/local/bin/nats-server"].find(
    (path) => {
      try {
        return new Deno.Command(path, { args: ["--version"], stdout: "null", stderr: "null" })
          .outputSync().success;
      } catch {
        return false;
      }
    },
  );
  if (binary === undefined) {
    console.error(
      "nats-server not found. Install it (Debian/Ubuntu: sudo apt-get install nats-server), or\n" +
        "start one with JetStream (nats-server -js) and pass --servers host:port",
    );
    Deno.exit(1);
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = await Deno.makeTempDir({ prefix: "mpsc_distributed_" });
  const child = new Deno.Command(binary, {
    args: ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", dir],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
    log += chunk;
    if (log.includes("Server is ready")) break;
  }
  if (!log.includes("Server is ready")) throw new Error(`nats-server did not start:\n${log}`);
  return {
    url: `127.0.0.1:${port}`,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await Deno.remove(dir, { recursive: true });
    },
  };
}
