/**
 * A channel in one thread: `sendSync` then `recvSync` of one message — the whole per-message
 * cost of the library (encode, the core, copies, decode) without any cross-thread effect —
 * against `structuredClone` (the baseline: what `postMessage` does to a message) and a
 * `MessageChannel` round trip (post on one port, await it on the other).
 *
 * Run: `deno bench -A --no-check bench/channel_bench.ts`
 *
 * @module
 */
import { bytes, channel, string, syncChannel } from "@wasmring/mpsc";
import { BOUND, BYTES_64K, makeItem } from "./workloads.ts";

// deno-lint-ignore no-explicit-any
let sink: any;
let i = 0;

const [numTx, numRx] = channel<number>();
const [numBTx, numBRx] = syncChannel<number>(BOUND);
const [objTx, objRx] = channel<unknown>();
const [objBTx, objBRx] = syncChannel<unknown>(BOUND);
const [bigTx, bigRx] = channel<Uint8Array>();
const [rawTx, rawRx] = channel<Uint8Array>({ codec: bytes });
const [textTx, textRx] = channel<string>();
const [strTx, strRx] = channel<string>({ codec: string });

/** A MessageChannel whose `roundTrip(value)` resolves when `value` arrives on the other port. */
function messageChannel() {
  const { port1, port2 } = new MessageChannel();
  let next: (value: unknown) => void = () => {};
  port2.onmessage = (e) => next(e.data);
  return {
    roundTrip: (value: unknown) =>
      new Promise<unknown>((resolve) => {
        next = resolve;
        port1.postMessage(value);
      }),
    close() {
      port1.close();
      port2.close();
    },
  };
}
const mc = messageChannel();
globalThis.addEventListener("unload", () => mc.close());

// --- a number ----------------------------------------------------------------------------------
Deno.bench("structuredClone", { group: "number", baseline: true }, () => {
  sink = structuredClone(i++);
});
Deno.bench("channel() sendSync + recvSync", { group: "number" }, () => {
  numTx.sendSync(i++);
  sink = numRx.recvSync();
});
Deno.bench(`syncChannel(${BOUND}) sendSync + recvSync`, { group: "number" }, () => {
  numBTx.sendSync(i++);
  sink = numBRx.recvSync();
});
Deno.bench("channel() trySend + tryRecv", { group: "number" }, () => {
  numTx.trySend(i++);
  sink = numRx.tryRecv();
});
Deno.bench("MessageChannel round trip", { group: "number" }, async () => {
  sink = await mc.roundTrip(i++);
});

// --- a small object ----------------------------------------------------------------------------
Deno.bench("structuredClone", { group: "small object", baseline: true }, () => {
  sink = structuredClone(makeItem("object", i++));
});
Deno.bench("channel() sendSync + recvSync", { group: "small object" }, () => {
  objTx.sendSync(makeItem("object", i++));
  sink = objRx.recvSync();
});
Deno.bench(`syncChannel(${BOUND}) sendSync + recvSync`, { group: "small object" }, () => {
  objBTx.sendSync(makeItem("object", i++));
  sink = objBRx.recvSync();
});
Deno.bench("MessageChannel round trip", { group: "small object" }, async () => {
  sink = await mc.roundTrip(makeItem("object", i++));
});

// --- 64 KiB of bytes ---------------------------------------------------------------------------
const big = makeItem("bytes64k", 0) as Uint8Array;
Deno.bench("structuredClone", { group: "64 KiB Uint8Array", baseline: true }, () => {
  sink = structuredClone(big);
});
Deno.bench("channel() sendSync + recvSync (structured)", { group: "64 KiB Uint8Array" }, () => {
  bigTx.sendSync(big);
  sink = bigRx.recvSync();
});
Deno.bench("channel({ codec: bytes }) sendSync + recvSync", {
  group: "64 KiB Uint8Array",
}, () => {
  rawTx.sendSync(big);
  sink = rawRx.recvSync();
});
Deno.bench("new Uint8Array(view) (one copy)", { group: "64 KiB Uint8Array" }, () => {
  sink = new Uint8Array(big);
});
Deno.bench("MessageChannel round trip", { group: "64 KiB Uint8Array" }, async () => {
  sink = await mc.roundTrip(big);
});

// --- 64 K characters of text --------------------------------------------------------------------
const text = "The quick brown fox jumps over the lazy dog. ".repeat(1490).slice(0, 65536);
// structuredClone shares a string within one thread (≈ 10 ns); the floor of a byte transport is
// the text's UTF-8 out and back in.
const utf8Out = new TextEncoder();
const utf8In = new TextDecoder();
Deno.bench("TextEncoder + TextDecoder", { group: "64 K-character string", baseline: true }, () => {
  sink = utf8In.decode(utf8Out.encode(text));
});
Deno.bench("channel() sendSync + recvSync (structured)", { group: "64 K-character string" }, () => {
  textTx.sendSync(text);
  sink = textRx.recvSync();
});
Deno.bench("channel({ codec: string }) sendSync + recvSync", {
  group: "64 K-character string",
}, () => {
  strTx.sendSync(text);
  sink = strRx.recvSync();
});
Deno.bench("MessageChannel round trip", { group: "64 K-character string" }, async () => {
  sink = await mc.roundTrip(text);
});

if (BYTES_64K !== big.length) throw new Error("unexpected");
globalThis.addEventListener("unload", () => {
  if (sink === Symbol.for("never")) console.log(sink);
});
