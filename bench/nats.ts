// deno run -A bench/nats.ts [--servers host:port] [--quick]
//
// Informational: messages/s and round-trip latency over loopback NATS JetStream
// (`@wasmring/mpsc/nats`), beside a local channel and `postMessage` (main thread ↔ a worker) in
// the same run, for numbers and `{ id, body }`. Without --servers it starts its own nats-server
// (JetStream, a free port of 127.0.0.1, a temporary directory; needs nats-server installed).
// Throughput: one sender streams N messages (each `send` awaited: stored on the server) to one
// receiver; round trip: a message goes out and comes back through a second channel, one at a time
// (the mean over the run, as bench/run.ts measures ping-pong).
// Not in `deno bench` discovery on purpose: it needs a server and takes a minute.
import { parseArgs } from "node:util";
import { syncChannel } from "@wasmring/mpsc";
import { natsChannel, natsReceiver, natsSender, removeNatsChannel } from "@wasmring/mpsc/nats";
import { NatsServer } from "../tests/_helpers/nats_server.ts";
import type { PeerJob } from "./workers/nats_peer.ts";

const args = parseArgs({
  args: Deno.args,
  options: { servers: { type: "string" }, quick: { type: "boolean", default: false } },
});
const Q = args.values.quick ? 0.2 : 1;
const server = args.values.servers === undefined ? await NatsServer.start() : undefined;
const servers = args.values.servers ?? server!.url;

const payloads = {
  number: (i: number): unknown => i,
  "{ id, body }": (i: number): unknown => ({ id: i, body: `message body ${i}` }),
};
type PayloadName = keyof typeof payloads;

const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

async function peer(job: PeerJob): Promise<Worker> {
  const worker = new Worker(new URL("./workers/nats_peer.ts", import.meta.url), { type: "module" });
  await new Promise((resolve) => worker.onmessage = resolve);
  worker.postMessage(job);
  return worker;
}

/** postMessage to a worker that counts: messages/s. */
async function postThroughput(make: (i: number) => unknown, n: number): Promise<number> {
  const worker = await peer({ mode: "post-sink", count: n });
  const done = new Promise((resolve) => worker.onmessage = resolve);
  const start = performance.now();
  for (let i = 0; i < n; i++) worker.postMessage(make(i));
  await done;
  const rate = n / ((performance.now() - start) / 1000);
  worker.terminate();
  return rate;
}

/** A local syncChannel(4096) to a worker in recvSync: messages/s. */
async function channelThroughput(make: (i: number) => unknown, n: number): Promise<number> {
  const [tx, rx] = syncChannel<unknown>(4096);
  const worker = await peer({ mode: "channel-sink", count: n, rx: rx.transfer() });
  const done = new Promise((resolve) => worker.onmessage = resolve);
  const start = performance.now();
  for (let i = 0; i < n; i++) tx.sendSync(make(i));
  await done;
  const rate = n / ((performance.now() - start) / 1000);
  tx.close();
  worker.terminate();
  return rate;
}

/** A NATS channel, sender and receiver on their own connections: messages/s. */
async function natsThroughput(make: (i: number) => unknown, n: number): Promise<number> {
  const name = `bench-${crypto.randomUUID().slice(0, 8)}`;
  const tx = await natsSender<unknown>(name, { servers });
  const rx = await natsReceiver<unknown>(name, { servers, prefetch: 256 });
  const start = performance.now();
  const receiving = (async () => {
    for (let i = 0; i < n; i++) await rx.recv();
  })();
  for (let i = 0; i < n; i++) await tx.send(make(i));
  await receiving;
  const rate = n / ((performance.now() - start) / 1000);
  await tx.close();
  await rx.close();
  await removeNatsChannel(name, { servers });
  return rate;
}

/** Round trips main → worker → main by postMessage: mean µs. */
async function postRoundTrip(make: (i: number) => unknown, n: number): Promise<number> {
  const worker = await peer({ mode: "post-echo", count: n });
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const back = new Promise((resolve) => worker.onmessage = resolve);
    worker.postMessage(make(i));
    await back;
  }
  const mean = ((performance.now() - start) * 1000) / n;
  worker.terminate();
  return mean;
}

/** Round trips main → worker → main on two local channels, both sides in recvSync: mean µs. */
async function channelRoundTrip(make: (i: number) => unknown, n: number): Promise<number> {
  const [outTx, outRx] = syncChannel<unknown>(16);
  const [backTx, backRx] = syncChannel<unknown>(16);
  const worker = await peer({
    mode: "channel-echo",
    count: n,
    rx: outRx.transfer(),
    tx: backTx.transfer(),
  });
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    outTx.sendSync(make(i));
    backRx.recvSync();
  }
  const mean = ((performance.now() - start) * 1000) / n;
  outTx.close();
  backRx.close();
  worker.terminate();
  return mean;
}

/** Round trips over two NATS channels, echoed by a task on its own connections: mean µs. */
async function natsRoundTrip(make: (i: number) => unknown, n: number): Promise<number> {
  const id = crypto.randomUUID().slice(0, 8);
  const [outTx, outRx] = await natsChannel<unknown>(`bench-out-${id}`, { servers });
  const [backTx, backRx] = await natsChannel<unknown>(`bench-back-${id}`, { servers });
  const echo = (async () => {
    for (let i = 0; i < n; i++) await backTx.send(await outRx.recv());
  })();
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    await outTx.send(make(i));
    await backRx.recv();
  }
  const mean = ((performance.now() - start) * 1000) / n;
  await echo;
  for (const end of [outTx, outRx, backTx, backRx]) await end.close();
  for (const name of [`bench-out-${id}`, `bench-back-${id}`]) {
    await removeNatsChannel(name, { servers });
  }
  return mean;
}

const commit = new TextDecoder().decode(
  new Deno.Command("git", { args: ["rev-parse", "--short", "HEAD"], stdout: "piped" }).outputSync()
    .stdout,
).trim();
console.log(
  `bench/nats.ts — Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} CPUs, ` +
    `commit ${commit || "?"}, nats-server at ${servers}${server ? " (started here)" : ""}\n`,
);
console.log(
  `${"payload".padEnd(14)} ${"transport".padEnd(26)} ${"msgs/s".padStart(12)} ` +
    `${"round trip".padStart(12)}`,
);
try {
  for (const name of Object.keys(payloads) as PayloadName[]) {
    const make = payloads[name];
    const rows: [string, number, number][] = [
      [
        "postMessage (worker)",
        await postThroughput(make, Math.round(200_000 * Q)),
        await postRoundTrip(make, Math.round(2000 * Q)),
      ],
      [
        "syncChannel (worker)",
        await channelThroughput(make, Math.round(1_000_000 * Q)),
        await channelRoundTrip(make, Math.round(20_000 * Q)),
      ],
      [
        "NATS JetStream (loopback)",
        await natsThroughput(make, Math.round(10_000 * Q)),
        await natsRoundTrip(make, Math.round(1000 * Q)),
      ],
    ];
    for (const [transport, rate, rtt] of rows) {
      console.log(
        `${name.padEnd(14)} ${transport.padEnd(26)} ${fmt(rate).padStart(12)} ` +
          `${(rtt < 10 ? rtt.toFixed(2) : fmt(rtt)).padStart(9)} µs`,
      );
    }
  }
} finally {
  await server?.stop();
}
