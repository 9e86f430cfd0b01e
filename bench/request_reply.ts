/**
 * Request/reply through a worker (issue 13): one request outstanding at a time, a fresh reply
 * end per request, against `postMessage` with correlation ids — in one run, alternated, medians.
 *
 * - **call**: `await call(requests, n)` — a oneshot made per request, carried in the request,
 *   the worker replies through it (`serve`).
 * - **callSync**: the same, the main thread blocking (Deno's main thread may).
 * - **postMessage**: `worker.postMessage({ id, n })`, the reply matched by its id in a map of
 *   pending promises (the usual hand-written RPC).
 *
 * Two workers, one serving each way; the channel's with `serve` (async receive), or with
 * `--sync-server` a blocking `for (const { request, reply } of requests)` loop.
 *
 *     deno run -A bench/request_reply.ts                  # 20,000 requests per run, 5 runs
 *     deno run -A bench/request_reply.ts --quick          # 2,000, 3 runs
 *     deno run -A bench/request_reply.ts --sync-server
 *
 * @module
 */
import { type Call, call, callSync, channel, spawn } from "@wasmring/mpsc";

const quick = Deno.args.includes("--quick");
const count = quick ? 2_000 : 20_000;
const rounds = quick ? 3 : 5;

const url = new URL("./workers/call_server.ts", import.meta.url);
const [requests, incoming] = channel<Call<number, number>>();
const mode = Deno.args.includes("--sync-server") ? "sync" : "serve";
const server = spawn<number>(url, { mode, requests: incoming });
const poster = spawn<number>(url, { mode: "post" });
const worker = poster.worker as Worker;

const pending = new Map<number, (value: number) => void>();
worker.addEventListener("message", (e: MessageEvent) => {
  const { id, value } = e.data as { id?: number; value?: number };
  if (typeof id !== "number") return; // the library's own messages
  pending.get(id)?.(value!);
  pending.delete(id);
});
let nextId = 0;
function viaPostMessage(n: number): Promise<number> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, resolve);
    worker.postMessage({ id, n });
  });
}

/** Microseconds per request of `count` sequential requests. */
async function time(request: (n: number) => Promise<number> | number): Promise<number> {
  const t0 = performance.now();
  for (let n = 0; n < count; n++) {
    if ((await request(n)) !== n + 1) throw new Error("wrong reply");
  }
  return (performance.now() - t0) * 1000 / count;
}

const kinds = {
  call: (n: number) => call(requests, n),
  callSync: (n: number) => callSync(requests, n),
  postMessage: viaPostMessage,
};
const runs: Record<string, number[]> = { call: [], callSync: [], postMessage: [] };
for (const request of Object.values(kinds)) await time(request); // warm up
for (let r = 0; r < rounds; r++) {
  for (const [name, request] of Object.entries(kinds)) runs[name].push(await time(request));
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const base = median(runs.postMessage);
for (const [name, values] of Object.entries(runs)) {
  const m = median(values);
  console.log(
    `${name.padEnd(12)} ${m.toFixed(2).padStart(7)} µs/request  ` +
      `${(1e6 / m / 1000).toFixed(0).padStart(5)} k requests/s  ` +
      `${(base / m).toFixed(1)}× postMessage   runs ${values.map((v) => v.toFixed(2)).join(" ")}`,
  );
}
requests.close();
worker.postMessage({ stop: true });
console.log(
  `served: ${await server.join()} calls by the channel (${mode}), ` +
    `${await poster.join()} by postMessage`,
);
