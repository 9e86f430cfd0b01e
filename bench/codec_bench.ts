/**
 * Codec benchmarks: each codec's encode + decode against `structuredClone` (the baseline) and
 * JSON. As on a channel, the encoded bytes are copied into a `SharedArrayBuffer` and decoded
 * from there, so every iteration is encode → copy into shared memory → decode.
 *
 * Run: `deno bench -A --no-check bench/codec_bench.ts`
 *
 * @module
 */

import { bytes, json, structured } from "../src/codec/mod.ts";
import { enrich, makeRecord } from "../examples/workers/demo_workload.ts";

/** Stands in for the ring buffer: encoded messages are copied here before decoding. */
const shared = new Uint8Array(new SharedArrayBuffer(4 << 20));

/** Views of `shared` by length, reused like a receiver reuses its views of the ring. */
const views: Uint8Array[] = [];

function viaShared(bytesOut: Uint8Array): Uint8Array {
  const n = bytesOut.length;
  if (n <= 32) {
    for (let i = 0; i < n; i++) shared[i] = bytesOut[i];
  } else {
    shared.set(bytesOut);
  }
  if (n >= 4096) return shared.subarray(0, n);
  return views[n] ??= shared.subarray(0, n);
}

// One round-trip function per codec keeps each call site monomorphic, as in a channel, where a
// sender and a receiver each use one codec.
// deno-lint-ignore no-explicit-any
const structuredRoundTrip = (value: any) => structured.decode(viaShared(structured.encode(value)));
const jsonRoundTrip = (value: unknown) => json.decode(viaShared(json.encode(value)));
const bytesRoundTrip = (value: Uint8Array) => bytes.decode(viaShared(bytes.encode(value)));

// deno-lint-ignore no-explicit-any
let sink: any;

// --- a small object ------------------------------------------------------------------------------
let i = 0;
Deno.bench("structuredClone", { group: "small object", baseline: true }, () => {
  sink = structuredClone({ id: i++, body: "hello world" });
});
Deno.bench("structured codec", { group: "small object" }, () => {
  sink = structuredRoundTrip({ id: i++, body: "hello world" });
});
Deno.bench("json codec", { group: "small object" }, () => {
  sink = jsonRoundTrip({ id: i++, body: "hello world" });
});
Deno.bench("JSON.stringify + parse", { group: "small object" }, () => {
  sink = JSON.parse(JSON.stringify({ id: i++, body: "hello world" }));
});

// --- a number ------------------------------------------------------------------------------------
Deno.bench("structuredClone", { group: "number", baseline: true }, () => {
  sink = structuredClone(i++);
});
Deno.bench("structured codec (int)", { group: "number" }, () => {
  sink = structuredRoundTrip(i++);
});
Deno.bench("structured codec (double)", { group: "number" }, () => {
  sink = structuredRoundTrip(i++ + 0.5);
});

// --- 64 KiB of bytes -----------------------------------------------------------------------------
const block = new Uint8Array(64 * 1024).map((_, j) => j * 7);
const scratch = new Uint8Array(64 * 1024);
Deno.bench("memcpy×2 (no allocation)", { group: "64 KiB Uint8Array", baseline: true }, () => {
  shared.set(block);
  scratch.set(shared.subarray(0, block.length));
  sink = scratch;
});
// What any copying transport must do at least (and what postMessage does): copy in, then copy
// out into a fresh buffer the receiver owns. Allocating that 64 KiB buffer costs about as much as
// both copies together, so this, not memcpy×2, is the floor for the codecs below.
Deno.bench("copy in + copy out (new Uint8Array)", { group: "64 KiB Uint8Array" }, () => {
  shared.set(block);
  sink = new Uint8Array(shared.subarray(0, block.length));
});
Deno.bench("bytes codec", { group: "64 KiB Uint8Array" }, () => {
  sink = bytesRoundTrip(block);
});
Deno.bench("structured codec", { group: "64 KiB Uint8Array" }, () => {
  sink = structuredRoundTrip(block);
});
Deno.bench("structuredClone", { group: "64 KiB Uint8Array" }, () => {
  sink = structuredClone(block);
});

// --- 1,000 small objects -------------------------------------------------------------------------
const many = Array.from({ length: 1000 }, (_, j) => ({ id: j, body: "hello world" }));
Deno.bench("structuredClone", { group: "1,000 small objects", baseline: true }, () => {
  sink = structuredClone(many);
});
Deno.bench("structured codec", { group: "1,000 small objects" }, () => {
  sink = structuredRoundTrip(many);
});
Deno.bench("json codec", { group: "1,000 small objects" }, () => {
  sink = jsonRoundTrip(many);
});
Deno.bench("JSON.stringify + parse", { group: "1,000 small objects" }, () => {
  sink = JSON.parse(JSON.stringify(many));
});

// --- the demo's records (examples/demo.ts): each stage codes one per call --------------------------
const records = Array.from({ length: 1024 }, (_, j) => makeRecord(j));
const enriched = records.map(enrich);
Deno.bench("structuredClone", { group: "demo record", baseline: true }, () => {
  sink = structuredClone(records[i++ & 1023]);
});
Deno.bench("structured codec, { id, user, amount, tags }", { group: "demo record" }, () => {
  sink = structuredRoundTrip(records[i++ & 1023]);
});
Deno.bench("structured codec, { id, user, cents, flagged }", { group: "demo record" }, () => {
  sink = structuredRoundTrip(enriched[i++ & 1023]);
});

// --- large BigInts: coding must be linear (issue 11: 64 bits at a time was quadratic) ---------
/** A random BigInt of exactly `bytes` bytes (top bit set). */
function randomBigInt(bytes: number): bigint {
  const b = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 65536) crypto.getRandomValues(b.subarray(i, i + 65536));
  b[0] |= 0x80;
  return BigInt("0x" + b.toHex());
}
const halfMiB = randomBigInt(512 << 10);
const oneMiB = randomBigInt(1 << 20);
// The encoding (~1 MiB) exceeds the shared stand-in: decoded from the encoder's own bytes.
Deno.bench("structured codec, 512 KiB", { group: "BigInt", baseline: true }, () => {
  sink = structured.decode(structured.encode(halfMiB));
});
Deno.bench("structured codec, 1 MiB", { group: "BigInt" }, () => {
  sink = structured.decode(structured.encode(oneMiB));
});

// Keep `sink` observable so that nothing is optimised away.
globalThis.addEventListener("unload", () => {
  if (sink === Symbol.for("never")) console.log(sink);
});
